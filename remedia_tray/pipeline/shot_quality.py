"""PLACEHOLDER: a shot's quality read from its file (helper i-score delivers the real module)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..core.bestshot import ShotQuality, measure
from ..errors import UnreadableImage
from .imaging import load_image

#: The short side a shot is judged at: the scan's small decode is too small for sharpness.
SCORE_SIDE = 1000


def shot_quality(path: Path) -> ShotQuality:
    """The quality of the picture at `path`; raises UnreadableImage."""
    loaded = load_image(path, min_side=SCORE_SIDE)
    return measure(np.asarray(loaded.image.convert("L")), original_pixels=loaded.info.pixels)


def shot_qualities(paths: Sequence[Path], *, workers: int = 1) -> list[ShotQuality | None]:
    """The quality of each of `paths`; None for one that cannot be read."""

    def one(path: Path) -> ShotQuality | None:
        try:
            return shot_quality(path)
        except UnreadableImage:
            return None

    if workers <= 1 or len(paths) < 2:
        return [one(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, paths))
