"""Second stage of duplicate finding: is a hash candidate the same frame, or a neighbouring shot?

Hashes are blind to a small shift on smooth photos (sky, sea, gradients), so a burst neighbour
shifted by 5-8 % can hash like a copy. Every candidate pair is therefore registered on small
grey thumbnails (THUMB x THUMB, the photo squeezed to a square like the hashes, so a symmetric
border crop is a zoom): a bounded Lucas-Kanade fit of shift, zoom, gain and offset on a two-level
pyramid. Three numbers decide:

- shift: the fitted translation as a fraction of the frame (a copy ~0; a 5 % burst neighbour
  ~0.05 even on a smooth photo, since the fit follows the low frequencies);
- zoom: |log scale| (a 2 % border crop ~0.04, a 10 % re-frame ~0.11);
- residual: what is left after the fit, in units of the thumbnail's RMS gradient.

Pure numpy; about a millisecond a pair, and pairs that already line up exit early.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from .strictness import interpolate

THUMB = 64  # 64 x 64 uint8 = 4 KB a photo
_MARGIN = 0.08  # compare the central region only: borders differ after crops and shifts

# Strictness -> (max shift, max |log zoom|, max residual). Measured on 146 sources (photos,
# blurred photos, smooth sky/sea regions, gradients) with 13 true copies and 6 hard negatives
# each: at balanced every copy the hashes proposed was accepted, and every shift of 3-12 % and
# every 10 % re-frame was rejected.
VERIFY_LIMITS: Mapping[int, tuple[float, float, float]] = {
    0: (0.022, 0.080, 0.90),
    25: (0.020, 0.070, 0.75),
    50: (0.018, 0.060, 0.60),
    75: (0.013, 0.050, 0.45),
    100: (0.004, 0.010, 0.15),
}
#: Below this residual with no motion at all, a pair is a copy without any fitting.
_EARLY_RESIDUAL = 0.08


@dataclass(frozen=True)
class Alignment:
    shift: float
    zoom: float
    residual: float


@cache
def limits(strictness: int) -> tuple[float, float, float]:
    shift, zoom, residual = (
        interpolate(strictness, {k: v[i] for k, v in VERIFY_LIMITS.items()}) for i in range(3)
    )
    return shift, zoom, residual


def blur(x: np.ndarray) -> np.ndarray:
    """Separable [1 2 1] / 4 with edge replication."""
    p = np.pad(x, 1, mode="edge")
    y = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    out: np.ndarray = 0.25 * y[:, :-2] + 0.5 * y[:, 1:-1] + 0.25 * y[:, 2:]
    return out


def _half(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])
    return out


def _grad(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.gradient(x, axis=1), np.gradient(x, axis=0)


def sample(img: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Bilinear sampling on a separable grid (xs: columns, ys: rows), edges clamped."""
    h, w = img.shape
    xs = np.clip(xs, 0, w - 1.001)
    ys = np.clip(ys, 0, h - 1.001)
    x0 = xs.astype(np.intp)
    y0 = ys.astype(np.intp)
    fx = (xs - x0).astype(np.float32)
    fy = (ys - y0).astype(np.float32)
    rows = img[y0] * (1 - fy)[:, None] + img[y0 + 1] * fy[:, None]
    out: np.ndarray = rows[:, x0] * (1 - fx) + rows[:, x0 + 1] * fx
    return out


_RIDGE = 1e-6 * np.eye(5, dtype=np.float32)


def _fit(a: np.ndarray, b: np.ndarray, p: np.ndarray, iters: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Newton on B(c + (1+s)(x-c) + t) = g*A(x) + o over the central region.

    `p` = [tx, ty, s], in pixels of this level. Returns p and the residual after the fit.
    """
    n = a.shape[0]
    m = max(1, round(n * _MARGIN))
    c = (n - 1) / 2.0
    grid = np.arange(n, dtype=np.float32)
    core = slice(m, n - m)
    ac = a[core, core].ravel()
    xx = (grid[core] - c)[None, :]
    yy = (grid[core] - c)[:, None]
    jac = np.empty((ac.size, 5), np.float32)
    jac[:, 3] = -ac
    jac[:, 4] = -1.0
    for _ in range(iters):
        xs = c + (1 + p[2]) * (grid - c) + p[0]
        ys = c + (1 + p[2]) * (grid - c) + p[1]
        warped = sample(b, xs, ys)
        gx, gy = _grad(warped)
        gx, gy = gx[core, core], gy[core, core]
        jac[:, 0] = gx.ravel()
        jac[:, 1] = gy.ravel()
        jac[:, 2] = (gx * xx + gy * yy).ravel()
        try:
            step = np.linalg.solve(jac.T @ jac + _RIDGE, -(jac.T @ warped[core, core].ravel()))
        except np.linalg.LinAlgError:  # a flat picture: nothing to align on
            break
        p = p + np.array([step[0], step[1], step[2]], np.float64)
        p[2] = min(max(p[2], -0.25), 0.25)
        p[:2] = np.clip(p[:2], -0.3 * n, 0.3 * n)
    xs = c + (1 + p[2]) * (grid - c) + p[0]
    ys = c + (1 + p[2]) * (grid - c) + p[1]
    return p, _photometric_residual(ac, sample(b, xs, ys)[core, core].ravel())


def _photometric_residual(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """b minus the best gain * a + offset."""
    da = a - a.mean()
    gain = float(da @ (b - b.mean())) / max(float(da @ da), 1e-6)
    out: np.ndarray = (b - b.mean()) - gain * da
    return out


def _gradient_scale(a: np.ndarray) -> float:
    n = a.shape[0]
    m = max(1, round(n * _MARGIN))
    gx, gy = _grad(a)
    g = float(np.sqrt(np.mean(gx[m:-m, m:-m] ** 2 + gy[m:-m, m:-m] ** 2)))
    return max(g, 1.0)  # a floor, so featureless thumbnails never divide by about zero


def _still_residual(fa: np.ndarray, fb: np.ndarray) -> float:
    """What is left of blurred `fb` against `fa` as they lie, in units of `fa`'s gradient."""
    n = fa.shape[0]
    m = max(1, round(n * _MARGIN))
    core = (slice(m, n - m), slice(m, n - m))
    still = _photometric_residual(fa[core].ravel(), fb[core].ravel())
    return float(np.sqrt(np.mean(still * still))) / _gradient_scale(fa)


#: Tiles of the thumbnail in which `worst_cell` looks for a local change.
_CELL = 8


def worst_cell(a: np.ndarray, b: np.ndarray) -> float:
    """The largest RMS difference (grey levels) in any 8 x 8 cell of the thumbnails as they
    lie, after one gain and offset: a scaled copy leaves a level or two everywhere, a changed
    caption or a crop leaves much more somewhere."""
    fa = blur(np.asarray(a, np.float32))
    fb = blur(np.asarray(b, np.float32))
    n = fa.shape[0] // _CELL * _CELL
    fa, fb = fa[:n, :n], fb[:n, :n]
    rest = _photometric_residual(fb.ravel(), fa.ravel()).reshape(n, n)
    cells = (rest * rest).reshape(n // _CELL, _CELL, n // _CELL, _CELL).mean(axis=(1, 3))
    return float(np.sqrt(cells.max()))


def align(a: np.ndarray, b: np.ndarray, *, early: bool = True) -> Alignment:
    """How thumbnail `b` sits on thumbnail `a`; with `early`, no fit when it lies as it is."""
    fa = blur(np.asarray(a, np.float32))
    fb = blur(np.asarray(b, np.float32))
    n = fa.shape[0]
    scale = _gradient_scale(fa)
    residual0 = _still_residual(fa, fb)
    if early and residual0 <= _EARLY_RESIDUAL:
        return Alignment(0.0, 0.0, residual0)
    p, _ = _fit(_half(fa), _half(fb), np.zeros(3), 4)  # coarse level: 32 px
    p, rest = _fit(fa, fb, np.array([p[0] * 2, p[1] * 2, p[2]]), 3)
    residual = float(np.sqrt(np.mean(rest * rest))) / scale
    shift = float(max(abs(p[0]), abs(p[1]))) / n  # per axis, so a corner crop counts once
    return Alignment(shift, abs(float(np.log1p(p[2]))), residual)


def same_frame(a: np.ndarray, b: np.ndarray, strictness: int) -> bool:
    """True when `b` is `a` up to re-encoding, resizing and a border crop of about 2 %."""
    max_shift, max_zoom, max_residual = limits(strictness)
    found = align(a, b)
    return found.shift <= max_shift and found.zoom <= max_zoom and found.residual <= max_residual
