"""The best shot of a series: sharpness, motion blur, exposure, noise and resolution.

Measured on a photo's grey levels at REFERENCE_SIDE px on its short side (pipeline/
shot_quality.py decodes it so). The picture is cut into TILE x TILE tiles; where the detail
is (the SALIENT share of tiles with the most contrast at half size) is judged for sharpness,
so a portrait with a soft background is judged on its subject, and the quietest tiles that
are not clipped tell how much of the fine contrast is noise. Noise adds
contrast between neighbouring pixels everywhere, and bytes to the file: that part is taken
out of the sharpness, so a noisy frame is never judged sharper for it.

Pure numpy; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .wording import plural

#: The short side, in px, the measures are made at; smaller photos are measured as they are,
#: their sharpness scaled to what they would show enlarged to this size.
REFERENCE_SIDE = 1000
TILE = 32
#: Photos with a shorter side are not judged (too few tiles to tell detail from noise).
MIN_SIDE = 32
SALIENT = 0.1
#: The quietest share of tiles (by contrast at half size) noise is measured in, and the
#: quantile of their noise taken (a tile of smooth sky, not of fine texture).
QUIET = 0.25
NOISE_QUANTILE = 0.2
NOISE_MARGIN = 1.5
#: Mean linear light of a well exposed photo (about middle grey, 0.18, in sRGB 0.46).
_MID_GREY = 0.18
#: A mean level this many stops from middle grey is the scene's own (snow, night).
MEAN_TOLERANCE = 1.5
#: Unused headroom counts up to this many stops (a night shot is dark on purpose).
MAX_HEADROOM = 3.0  # and so does a mean level off middle grey
#: What the clipped share of the picture weighs, in stops (highlights are lost for good).
W_CLIPPED_HIGH = 3.0
W_CLIPPED_LOW = 1.0
#: Grey levels at or beyond which a pixel is clipped.
_HIGH, _LOW = 250.0, 4.0

# How the measures add up into one score (tuned on the tune half of tests/bursts.py; see
# the README "How the best shot is chosen").
W_BLUR = 1.0
W_EXPOSURE = 0.5
W_NOISE = 0.15
W_PIXELS = 0.05


@dataclass(frozen=True)
class ShotQuality:
    sharpness: float  # higher is sharper
    blur: float  # motion-blur measure, higher is worse
    exposure: float  # badness of exposure (clipping, mean level), higher is worse
    noise: float  # higher is worse
    pixels: int  # width*height of the original image
    score: float  # overall, higher is better
    brightness: float = 0.0  # mean level in stops from middle grey (below 0: darker)


@dataclass(frozen=True)
class BestShot:
    index: int
    reason: str  # words for a non-technical user


def _grey(pixels: np.ndarray) -> np.ndarray:
    if pixels.ndim == 3:
        rgb = pixels.astype(np.float32)
        luma: np.ndarray = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
        return luma
    if pixels.ndim == 2:
        return pixels.astype(np.float32)
    raise ValueError(f"expected H x W or H x W x 3 pixels, got shape {pixels.shape}")


def _half(grey: np.ndarray) -> np.ndarray:
    """2 x 2 pixels averaged into one; works on the last two axes."""
    h, w = grey.shape[-2] // 2 * 2, grey.shape[-1] // 2 * 2
    g = grey[..., :h, :w]
    out: np.ndarray = (g[..., 0::2, 0::2] + g[..., 1::2, 0::2]) + (
        g[..., 0::2, 1::2] + g[..., 1::2, 1::2]
    )
    return out * 0.25


def _energy(tiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per tile of a stack (n, t, t): the mean of gx^2 and of gy^2, where gx and gy are
    differences of neighbouring pixels."""
    gx = tiles[:, :, 1:] - tiles[:, :, :-1]
    gy = tiles[:, 1:, :] - tiles[:, :-1, :]
    return (gx * gx).mean(axis=(1, 2)), (gy * gy).mean(axis=(1, 2))


def _step(tiles: np.ndarray, dy: int, dx: int) -> float:
    """Mean squared difference of pixels (dy, dx) apart, in every tile of a stack."""
    t = tiles.shape[-1]
    a = tiles[:, dy:, max(dx, 0) : t + min(dx, 0)]
    b = tiles[:, : t - dy, max(-dx, 0) : t - max(dx, 0)]
    return float(((a - b) ** 2).mean())


#: Directions a shake is looked for in, in perpendicular pairs (a diagonal step is longer
#: than one across, so only directions of one pair are compared).
_DIRECTIONS = (((0, 1), (1, 0)), ((1, 1), (1, -1)))


def _shake(tiles: np.ndarray, noise_energy: float) -> float:
    """Motion blur, 0 (none) to 1: in each direction, the contrast between neighbours over
    that between pixels two apart (about 1/2 across a sharp edge, 1/4 across one smeared
    over a few pixels); a shake smears one direction, not the one across it."""
    worst = 0.0
    for pair in _DIRECTIONS:
        ratios = []
        for dy, dx in pair:
            near = _step(tiles, dy, dx) - noise_energy
            far = _step(tiles, 2 * dy, 2 * dx) - noise_energy
            ratios.append(max(near, 0.0) / far if far > 1e-6 else 0.0)
        if max(ratios) > 0:
            worst = max(worst, 1.0 - min(ratios) / max(ratios))
    return worst


#: Linear light of each grey level (sRGB, as a power of 2.2).
_LINEAR = (np.arange(256) / 255.0) ** 2.2


def _noise(tiles: np.ndarray) -> float:
    """Sigma of the noise, in grey levels, from the quietest tiles: Immerkaer's estimate (a
    kernel that cancels gradients and most detail), its NOISE_QUANTILE over those tiles."""
    d2 = tiles[:, :-2] - 2 * tiles[:, 1:-1] + tiles[:, 2:]
    response = np.abs(d2[:, :, :-2] - 2 * d2[:, :, 1:-1] + d2[:, :, 2:]).mean(axis=(1, 2))
    # E|response| = 6 * sqrt(2 / pi) * sigma for white noise.
    return float(np.quantile(response, NOISE_QUANTILE)) / (6 * math.sqrt(2 / math.pi))


def _exposure(grey: np.ndarray) -> tuple[float, float]:
    """(badness, brightness): the stops of headroom left unused below white (the brightest
    0.5 % of the picture should come near it), the clipped share, and a mean level more
    than MEAN_TOLERANCE stops from middle grey; brightness is that mean in stops from
    middle grey (below 0: darker)."""
    levels = np.clip(grey + 0.5, 0, 255).astype(np.uint8).ravel()
    hist = np.bincount(levels, minlength=256)
    n = levels.size
    bright = int(np.searchsorted(np.cumsum(hist), 0.995 * n))
    headroom = min(-math.log2(max(float(_LINEAR[bright]), 1e-4)), MAX_HEADROOM)
    high = float(hist[int(_HIGH) :].sum()) / n
    low = float(hist[: int(_LOW) + 1].sum()) / n
    brightness = math.log2(max(float(hist @ _LINEAR) / n, 1e-4) / _MID_GREY)
    off = min(max(0.0, abs(brightness) - MEAN_TOLERANCE), MAX_HEADROOM)
    return headroom + W_CLIPPED_HIGH * high + W_CLIPPED_LOW * low + off, brightness


def _tile_stack(grey: np.ndarray) -> np.ndarray:
    """The picture as a stack of tiles (n, t, t), t about TILE px at REFERENCE_SIDE."""
    short = min(grey.shape)
    tile = max(8, TILE * short // REFERENCE_SIDE // 2 * 2)  # an even size, at half size too
    rows, cols = grey.shape[0] // tile, grey.shape[1] // tile
    cut = grey[: rows * tile, : cols * tile].reshape(rows, tile, cols, tile)
    stack: np.ndarray = cut.swapaxes(1, 2).reshape(rows * cols, tile, tile)
    return stack


def measure(pixels: np.ndarray, *, original_pixels: int) -> ShotQuality:
    """The quality of one photo from its pixels (uint8, H x W or H x W x 3) at about
    REFERENCE_SIDE px on the short side; `original_pixels` is its full width * height."""
    grey = _grey(pixels)
    while min(grey.shape) >= 2 * REFERENCE_SIDE:  # the caller gave more than needed
        grey = _half(grey)
    short = min(grey.shape)
    if short < MIN_SIDE:
        raise ValueError(f"picture too small to judge ({grey.shape[1]}x{grey.shape[0]} px)")
    tiles = _tile_stack(grey)
    half = _half(tiles)  # at half size, noise hardly counts: where the detail is, levels
    order = np.argsort(np.add(*_energy(half)))
    salient = order[-max(4, round(SALIENT * order.size)) :]
    level = half.mean(axis=(1, 2))
    # Noise hides in black and white: the quietest tiles between them, unless there are
    # too few (a night shot), where the quietest of all.
    usable = order[(level[order] > 8) & (level[order] < 245)]
    if usable.size < 0.1 * order.size:
        usable = order
    noise = _noise(tiles[usable[: max(4, round(QUIET * usable.size))]])
    # In gx^2 + gy^2, white noise adds 4 sigma^2; the estimate runs low (a low quantile, and
    # JPEG keeps less of the finest grain it looks at), so more is taken: never too little.
    noise_energy = NOISE_MARGIN * 4 * noise * noise
    detail = tiles[salient]
    xx, yy = _energy(detail)
    # Noise adds its energy to every tile: without it, what is left is the picture's detail.
    sx = max(float(xx.mean()) - noise_energy / 2, 0.0)
    sy = max(float(yy.mean()) - noise_energy / 2, 0.0)
    enlarge = min(1.0, short / REFERENCE_SIDE)  # a small photo enlarged shows less detail
    sharpness = math.sqrt(sx + sy) * enlarge
    blur = _shake(detail, noise_energy / 2)
    exposure, brightness = _exposure(half)  # at half size: noise does not lift the shadows
    score = (
        math.log(sharpness + 0.1)
        - W_BLUR * blur
        - W_EXPOSURE * exposure
        - W_NOISE * noise
        + W_PIXELS * math.log(max(original_pixels, 1) / 1e6)
    )
    return ShotQuality(sharpness, blur, exposure, noise, int(original_pixels), score, brightness)


def best_shot(qualities: Sequence[ShotQuality]) -> BestShot:
    """The member with the best score (the first of equals), and why, in plain words."""
    if not qualities:
        raise ValueError("no photos to choose from")
    index = max(range(len(qualities)), key=lambda i: (qualities[i].score, -i))
    return BestShot(index, _reason(qualities, index))


def _reason(qualities: Sequence[ShotQuality], index: int) -> str:
    n = len(qualities)
    if n == 1:
        return "the only photo"
    best = qualities[index]
    others = [q for i, q in enumerate(qualities) if i != index]
    runner = max(others, key=lambda q: q.score)
    of = f"of {plural(n, 'photo')}"
    # The measure that gave the best its lead over the runner-up says why.
    leads = {
        "sharp": math.log(best.sharpness + 0.1) - math.log(runner.sharpness + 0.1),
        "blur": W_BLUR * (runner.blur - best.blur),
        "exposure": W_EXPOSURE * (runner.exposure - best.exposure),
        "noise": W_NOISE * (runner.noise - best.noise),
        "pixels": W_PIXELS * math.log(max(best.pixels, 1) / max(runner.pixels, 1)),
    }
    why = max(leads, key=lambda k: leads[k])
    sharpest = best.sharpness >= max(q.sharpness for q in others)
    if leads[why] <= 0:
        return f"as good as the next best {of}"
    if why == "sharp" and sharpest:
        ratio = best.sharpness / max(runner.sharpness, 1e-9)
        return f"sharpest {of} ({_times(ratio)} as sharp as the next best)"
    head, detail = {
        "sharp": (f"sharp and well exposed: the best balance {of}", ""),
        "blur": (f"least shaken {of}", "the next best shows motion blur"),
        "exposure": (f"best exposed {of}", f"the next best is {_too(runner, best)}"),
        "noise": (f"least grainy {of}", "the next best shows more noise"),
        "pixels": (f"most pixels {of}", f"{best.pixels / 1e6:.1f} MP"),
    }[why]
    if sharpest and why != "sharp":
        head += ", and the sharpest"
    return f"{head} ({detail})" if detail else head


def _times(ratio: float) -> str:
    return f"{ratio:.1f} times" if ratio < 10 else f"{ratio:.0f} times"


def _too(runner: ShotQuality, best: ShotQuality) -> str:
    return "darker" if runner.brightness < best.brightness else "brighter or loses highlights"
