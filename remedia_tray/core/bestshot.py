"""PLACEHOLDER: the best shot of a series (helper i-score delivers the real module).

The contract is the one i-score builds: `measure` a decoded picture, `best_shot` of a series.
This stand-in judges sharpness only (the variance of the Laplacian).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ShotQuality:
    sharpness: float
    blur: float
    exposure: float
    noise: float
    pixels: int
    score: float


def measure(pixels: np.ndarray, *, original_pixels: int) -> ShotQuality:
    """The quality of one decoded picture (H x W gray, or H x W x 3)."""
    gray = pixels.astype(np.float64)
    if gray.ndim == 3:
        gray = gray.mean(axis=2)
    lap = gray[1:-1, :-2] + gray[1:-1, 2:] + gray[:-2, 1:-1] + gray[2:, 1:-1] - 4 * gray[1:-1, 1:-1]
    sharpness = float(lap.var()) if lap.size else 0.0
    return ShotQuality(sharpness, 0.0, 0.0, 0.0, original_pixels, sharpness)


@dataclass(frozen=True)
class BestShot:
    index: int
    reason: str


def best_shot(qualities: Sequence[ShotQuality]) -> BestShot:
    """The best of a series (the first of equals), and why."""
    if not qualities:
        raise ValueError("best_shot of an empty series")
    index = max(range(len(qualities)), key=lambda k: (qualities[k].score, -k))
    return BestShot(index, "sharpest")
