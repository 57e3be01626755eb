"""Third stage of duplicate finding: the same pixels at a size where text can be read.

The 64 px check (core.verify) sees a line of text as a grey smear, so two chat screenshots
with one layout and other words look the same there. This check compares the two pictures
again at up to WORK_SIDE px on the long side (body text keeps an x-height of at least 4 px
when it had 16 px in the larger copy), squeezed to one grid like the thumbnails.

It decides on the worst tile, never on a mean: each TILE x TILE tile may move by up to
MAX_LOCAL_SHIFT px on its own (resampling and re-encoding move edges by a fraction of a
pixel), and what is then left, relative to the tile's own contrast, must stay small. A changed
word or digit leaves about as much as the tile holds; a re-encode leaves a tenth of it.

When the pictures do not line up as they are (a border crop), a shift and zoom per axis are
fitted first, coarse to fine, and only the tiles that both pictures cover are compared.

Pure numpy on grey float32 arrays of equal shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from . import verify
from .strictness import interpolate

#: Long side of the grid both pictures are compared on: the smaller picture's own size, or
#: this when it is larger. Both are resampled to it with LANCZOS, the kernel phones and
#: messengers scale with, so a copy made by scaling lies on the original almost exactly.
WORK_SIDE = 1024
#: For two photos (neither graphic) the grid is smaller: text on photos (captions, signs) is
#: large, and a 12 MP JPEG then decodes at a quarter of its size.
PHOTO_WORK_SIDE = 768
TILE = 16
#: Contrast floor (grey levels): a flat tile is judged against this, not against its noise.
_FLOOR = 10.0
MAX_LOCAL_SHIFT = 1.5
#: Largest change of sharpness a tile may show (as t in a + t * Laplacian(a), in px^2).
MAX_SHARPNESS = 1.0
_RESIDUAL_BLUR = 0
_PEAK = False
_FILTER = False
#: Tiles whose plain difference is at most this (relative) need no fit; batches of tiles
#: fitted at once.
_FIT_ABOVE = 0.2
_FIT_BATCH = 64
#: The coarse look: a quarter of the grid, tiles of 8 px there (32 px of the grid). On the
#: Sans seed-2 set, copies left at most 0.24 there; 59 % of the different pictures that lie
#: on each other left more than 0.8, and every one that did not.
COARSE = 4
COARSE_TILE = 8
COARSE_REJECT = 0.8
_FILTER_RIDGE = 1.0
_FLOOR_SPAN = 60.0
#: Tiles at most this far from a picture edge after a fit are not compared (may be cropped).
_EDGE = 2
#: The shift and zoom are fitted up to this size; each tile's own shift does the rest.
_FIT_SIDE = 256
#: Gauss-Newton steps per pyramid level, at most: 3 left a smooth 2 % crop in a false valley
#: (zoom 0.027 on one axis, 0.050 on the other, for 0.040 on both). A level stops sooner once
#: a step moves less than these.
_FIT_ITERATIONS = 10
_CONVERGED_PX = 0.01
_CONVERGED_ZOOM = 1e-4

# Strictness -> largest residual left in any tile, relative to its contrast (or the floor).
# Tuned on generated text pictures (tests/textpics.py, DejaVu Sans seed 1, 2,110 candidate
# pairs): WhatsApp-like copies, PNG re-saves and half-size resizes left at most 0.30 in their
# worst tile; one changed digit of a grey 32 px value in a settings screen left 0.37 or more,
# other words 1.3 or more.
# At *loose* 0.35 let one settings screen with another value through (Serif seeds 101-102):
# text is the same text at every level, so the looser levels loosen the hashes, not this.
TILE_LIMITS: Mapping[int, float] = {0: 0.335, 25: 0.335, 50: 0.335, 75: 0.32, 100: 0.26}


#: A picture is graphic (a screenshot, page or slide) when at least this share of its 64 px
#: thumbnail is flat: every 3 x 3 neighbourhood within _FLAT_RANGE grey levels.
GRAPHIC_FLAT_SHARE = 0.25
_FLAT_RANGE = 2


def flat_share(thumb: np.ndarray) -> float:
    t = np.asarray(thumb, np.int16)
    p = np.pad(t, 1, mode="edge")
    h, w = t.shape
    views = [p[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]
    spread = np.max(views, axis=0) - np.min(views, axis=0)
    return float(np.mean(spread <= _FLAT_RANGE))


#: A local change at 64 px (grey levels, RMS in the worst 8 x 8 cell) that sends a pair of
#: photos to the full-size check.
LOCAL_CHANGE = 4.0


def graphic(thumb: np.ndarray) -> bool:
    """A screenshot, page or slide rather than a photo (by its flat share)."""
    return flat_share(thumb) >= GRAPHIC_FLAT_SHARE


def needs_check(a: np.ndarray, b: np.ndarray, *, same_size: bool = False) -> bool:
    """The rule for which candidate pairs (64 px thumbnails) are read again at full size:
    either picture is graphic, the two do not match as they lie (a crop, a caption, any local
    change), or they have the same pixel size without the same bytes (a re-save, or a copy
    damaged in a way no decoder reports). Only scaled copies of photos (a messenger's, a web
    export) are spared the decode."""
    return graphic(a) or graphic(b) or same_size or verify.worst_cell(a, b) > LOCAL_CHANGE


@dataclass(frozen=True)
class TileCheck:
    worst: float  # the worst tile's residual relative to its contrast
    fitted: bool  # a shift and zoom had to be fitted first
    tiles: int  # tiles compared


@cache
def tile_limit(strictness: int) -> float:
    return interpolate(strictness, TILE_LIMITS)


def work_size(a: tuple[int, int], b: tuple[int, int], *, graphic: bool = True) -> tuple[int, int]:
    """(width, height) of the common grid for pictures of sizes `a` and `b`."""
    return own_work_size(min((a, b), key=lambda s: s[0] * s[1]), graphic=graphic)


def own_work_size(size: tuple[int, int], *, graphic: bool = True) -> tuple[int, int]:
    """The largest grid a picture of this size is ever compared on."""
    w, h = size
    scale = min(1.0, (WORK_SIDE if graphic else PHOTO_WORK_SIDE) / max(w, h))
    return max(TILE, round(w * scale)), max(TILE, round(h * scale))


def _grad(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.gradient(x, axis=1), np.gradient(x, axis=0)


def _tile_sums(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Sums over TILE x TILE tiles at a stride of TILE / 2 ((rows - 1) x (cols - 1) of them),
    so a word or digit lies wholly inside some tile wherever it falls."""
    half = TILE // 2
    cells = x[: rows * TILE, : cols * TILE].reshape(2 * rows, half, 2 * cols, half).sum(axis=(1, 3))
    out: np.ndarray = cells[:-1, :-1] + cells[1:, :-1] + cells[:-1, 1:] + cells[1:, 1:]
    return out


def _gain_offset(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """b mapped onto a's grey levels by the best gain and offset."""
    av = a if mask is None else a[mask]
    bv = b if mask is None else b[mask]
    db = bv - bv.mean()
    gain = float(db.ravel() @ (av - av.mean()).ravel()) / max(float(db.ravel() @ db.ravel()), 1e-6)
    if not 0.5 <= gain <= 2.0:
        gain = 1.0  # a contrast change this large is not a re-encode; compare as it is
    out: np.ndarray = (b - bv.mean()) * gain + av.mean()
    return out


def worst_tile(
    a: np.ndarray, b: np.ndarray, valid: np.ndarray | None = None, *, stop: float = np.inf
) -> tuple[float, int]:
    """(worst relative residual over the tiles, tiles compared) for aligned `a` and `b`.

    `valid` marks the pixels both pictures cover; tiles not wholly inside are left out.
    The small per-tile fit is run only where the plain difference is over `stop`, worst
    first, and the search ends at the first tile still over it (the answer is then a lower
    bound on the worst tile, over `stop`).
    """
    h, w = a.shape
    rows, cols = h // TILE, w // TILE
    if rows == 0 or cols == 0:
        return 0.0, 0
    n = TILE * TILE
    b = _gain_offset(a, b, valid)
    d = b - a
    s = {k: _tile_sums(v, rows, cols) for k, v in (("a", a), ("aa", a * a), ("b", b), ("bb", b**2))}
    var_a = s["aa"] / n - (s["a"] / n) ** 2
    var_b = s["bb"] / n - (s["b"] / n) ** 2
    contrast = np.maximum(np.sqrt(np.maximum(np.maximum(var_a, var_b), 0.0)), _FLOOR)
    plain = np.sqrt(_tile_sums(d * d, rows, cols) / n) / contrast
    if valid is not None:
        inside = _tile_sums(valid.astype(np.float32), rows, cols) >= n
        plain = np.where(inside, plain, 0.0)
        compared = int(inside.sum())
    else:
        compared = plain.size
    # A fit only lowers a tile's residual: tiles within `stop` as they lie need none.
    doubtful = np.flatnonzero(plain.ravel() > min(stop, _FIT_ABOVE))
    doubtful = doubtful[np.argsort(-plain.ravel()[doubtful], kind="stable")]
    worst = float(np.delete(plain.ravel(), doubtful).max(initial=0.0))
    if len(doubtful) == 0:
        return worst, compared
    padded = np.pad(a, 1, mode="edge")
    half = TILE // 2
    for start in range(0, len(doubtful), _FIT_BATCH):
        batch = doubtful[start : start + _FIT_BATCH]
        r, c = np.divmod(batch, plain.shape[1])
        fitted = _fitted(d, padded, r * half, c * half) / contrast.ravel()[batch]
        worst = max(worst, float(fitted.max()))
        if worst > stop:
            break
    return worst, compared


def clearly_different(a: np.ndarray, b: np.ndarray, *, aligned: bool) -> bool:
    """A first look at a quarter of the grid (`a`, `b`), in COARSE_TILE x COARSE_TILE tiles
    (32 px of the grid), with no per-tile fits: other words or another layout show at once,
    and only pairs that pass take the full check. A pair that does not lie as it is gets its
    shift and zoom fitted here first."""
    fa = verify.blur(np.asarray(a, np.float32))
    fb = verify.blur(np.asarray(b, np.float32))
    valid = None
    if not aligned:
        p = fit(fa, fb)
        xs, ys = _coords(p, fa.shape)
        valid = _inside(ys, fb.shape[0])[:, None] & _inside(xs, fb.shape[1])[None, :]
        fb = verify.sample(fb, xs, ys)
    h, w = fa.shape
    rows, cols = h // COARSE_TILE, w // COARSE_TILE
    if rows == 0 or cols == 0:
        return False
    fb = _gain_offset(fa, fb, valid)
    cut = (slice(0, rows * COARSE_TILE), slice(0, cols * COARSE_TILE))
    a4 = fa[cut].reshape(rows, COARSE_TILE, cols, COARSE_TILE)
    b4 = fb[cut].reshape(rows, COARSE_TILE, cols, COARSE_TILE)
    contrast = np.maximum(np.maximum(a4.std(axis=(1, 3)), b4.std(axis=(1, 3))), _FLOOR)
    diff = np.sqrt(np.mean((b4 - a4) ** 2, axis=(1, 3))) / contrast
    if valid is not None:
        inside = valid[cut].reshape(rows, COARSE_TILE, cols, COARSE_TILE).all(axis=(1, 3))
        diff = diff[inside]
    return bool(diff.size) and float(diff.max()) > COARSE_REJECT


def _fitted(d: np.ndarray, padded: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """RMS of d left in each tile (top-left corners ys, xs) after that tile's own least
    squares on a small shift (Lucas-Kanade on a's gradients) and a change of sharpness (a
    blur adds a multiple of a's Laplacian), both bounded. `padded`: a with a 1 px edge."""
    k = np.arange(TILE)
    rows, cols = ys[:, None, None] + k[None, :, None], xs[:, None, None] + k[None, None, :]
    t = len(ys)
    block = d[rows, cols].reshape(t, -1).astype(np.float64)
    k2 = np.arange(TILE + 2)
    around = padded[ys[:, None, None] + k2[None, :, None], xs[:, None, None] + k2[None, None, :]]
    mid = around[:, 1:-1, 1:-1]
    gx = (around[:, 1:-1, 2:] - around[:, 1:-1, :-2]) / 2
    gy = (around[:, 2:, 1:-1] - around[:, :-2, 1:-1]) / 2
    lap = around[:, :-2, 1:-1] + around[:, 2:, 1:-1] + around[:, 1:-1, :-2] + around[:, 1:-1, 2:]
    lap = lap - 4 * mid
    x = np.stack([gx, gy, lap], axis=-1).reshape(t, -1, 3).astype(np.float64)
    d = block
    gram = np.einsum("tnp,tnq->tpq", x, x)
    rhs = np.einsum("tnp,tn->tp", x, d)  # (t, 3)
    n = TILE * TILE
    coef = np.linalg.solve(gram + 1e-3 * n * np.eye(3), rhs[..., None])[..., 0]
    shift = np.hypot(coef[:, 0], coef[:, 1])
    coef[:, :2] /= np.maximum(shift / MAX_LOCAL_SHIFT, 1.0)[:, None]
    coef[:, 2] = np.clip(coef[:, 2], -MAX_SHARPNESS, MAX_SHARPNESS)
    rest = d - np.einsum("tnp,tp->tn", x, coef)
    out: np.ndarray = np.sqrt(np.mean(rest * rest, axis=1))
    return out


def _half(x: np.ndarray) -> np.ndarray:
    h, w = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    x = x[:h, :w]
    out: np.ndarray = 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])
    return out


def _coords(p: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Where each column and row of `a` falls in `b`: c + (1 + s) * (x - c) + t, per axis."""
    h, w = shape
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    xs = cx + (1 + p[2]) * (np.arange(w, dtype=np.float64) - cx) + p[0]
    ys = cy + (1 + p[3]) * (np.arange(h, dtype=np.float64) - cy) + p[1]
    return xs, ys


def _fit_level(a: np.ndarray, b: np.ndarray, p: np.ndarray, iters: int) -> np.ndarray:
    """Gauss-Newton on B(c + (1+s)(x-c) + t) = g*A + o; p = [tx, ty, sx, sy] at this level."""
    h, w = a.shape
    m = max(1, round(0.06 * min(h, w)))
    core = (slice(m, h - m), slice(m, w - m))
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    xx = (np.arange(w, dtype=np.float32) - cx)[None, :][:, core[1]]
    yy = (np.arange(h, dtype=np.float32) - cy)[:, None][core[0], :]
    ac = a[core]
    for _ in range(iters):
        xs, ys = _coords(p, a.shape)
        warped = verify.sample(b, xs, ys)
        gx, gy = _grad(warped)
        gx, gy = gx[core], gy[core]
        jac = np.stack(
            [gx.ravel(), gy.ravel(), (gx * xx).ravel(), (gy * yy).ravel(), -ac.ravel(),
             -np.ones(ac.size, np.float32)],
            axis=1,
        )  # fmt: skip
        rhs = -(jac.T @ warped[core].ravel())
        try:
            step = np.linalg.solve(jac.T @ jac + 1e-6 * np.eye(6), rhs)
        except np.linalg.LinAlgError:  # a flat picture: nothing to align on
            break
        p = p + step[:4]
        p[2:] = np.clip(p[2:], -0.25, 0.25)
        p[:2] = np.clip(p[:2], -0.3 * w, 0.3 * h)
        if (
            max(abs(step[0]), abs(step[1])) < _CONVERGED_PX
            and max(abs(step[2]), abs(step[3])) < _CONVERGED_ZOOM
        ):
            break
    return p


def fit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shift and zoom per axis taking `a`'s grid into `b`, coarse (64-128 px) to _FIT_SIDE."""
    pyramid = [(a, b)]
    while max(pyramid[-1][0].shape) > 128:
        pa, pb = pyramid[-1]
        pyramid.append((_half(pa), _half(pb)))
    p = np.zeros(4)
    for level, (la, lb) in enumerate(reversed(pyramid)):
        if level:
            p[:2] *= 2
        if max(la.shape) <= _FIT_SIDE:
            p = _fit_level(la, lb, p, _FIT_ITERATIONS)
    return p


def compare(
    a: np.ndarray, b: np.ndarray, *, aligned: bool = False, stop: float = np.inf
) -> TileCheck:
    """How far the worst tile of `b` is from `a` (grey arrays of one shape).

    `aligned`: the pictures are known to lie on each other (the 64 px fit found no shift or
    zoom), so no fit of a shift and zoom is tried. `stop`: the limit that decides; a worst
    tile over it may be reported lower than it is, but still over it.
    """
    fa = verify.blur(np.asarray(a, np.float32))
    fb = verify.blur(np.asarray(b, np.float32))
    worst, tiles = worst_tile(fa, fb, stop=stop)
    if aligned or worst <= min(stop, tile_limit(100)):
        return TileCheck(worst, False, tiles)
    p = fit(fa, fb)
    xs, ys = _coords(p, fa.shape)
    h, w = fb.shape
    valid = _inside(ys, h)[:, None] & _inside(xs, w)[None, :]
    fitted, tiles_fitted = worst_tile(fa, verify.sample(fb, xs, ys), valid, stop=stop)
    if fitted < worst:
        return TileCheck(fitted, True, tiles_fitted)
    return TileCheck(worst, False, tiles)


def _inside(coords: np.ndarray, size: int) -> np.ndarray:
    """Which coordinates fall inside 0..size-1, less _EDGE at each end of that run."""
    idx = np.flatnonzero((coords >= 0) & (coords <= size - 1))
    out = np.zeros(len(coords), dtype=bool)
    if len(idx) > 2 * _EDGE:
        out[idx[0] + _EDGE : idx[-1] - _EDGE + 1] = True
    return out


def same_pixels(a: np.ndarray, b: np.ndarray, strictness: int, *, aligned: bool = False) -> bool:
    """True when `b` is `a` re-encoded, resized or cropped by a few percent, text included."""
    limit = tile_limit(strictness)
    return compare(a, b, aligned=aligned, stop=limit).worst <= limit


def same_picture(
    coarse_a: np.ndarray,
    coarse_b: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    strictness: int,
    *,
    aligned: bool = False,
) -> bool:
    """The full-size rule for one pair of grey pictures on one grid (`a`, `b`): a first look
    at a quarter of it (`coarse_a`, `coarse_b`, a COARSE-th of each side), then every tile.
    Photos and the frames of videos are both judged by it."""
    if clearly_different(coarse_a, coarse_b, aligned=aligned):
        return False
    return same_pixels(a, b, strictness, aligned=aligned)


#: The 64 px fit's shift and zoom below which a pair lies as it is (a quarter of a thumbnail
#: pixel); any crop of 1 % or more is fitted again at full size.
_ALIGNED_SHIFT = 0.25 / verify.THUMB
_ALIGNED_ZOOM = 0.005


def aligned_at_64px(a: np.ndarray, b: np.ndarray) -> bool:
    # Fitted even when the still residual is low: on a smooth picture a 2 % crop looks aligned.
    found = verify.align(a, b, early=False)
    return found.shift <= _ALIGNED_SHIFT and found.zoom <= _ALIGNED_ZOOM
