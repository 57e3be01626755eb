"""Reading photos again to judge them: each member of a series, at SCORE_SIDE px.

The scan reads each photo small (64 px for the hash engine), far too small to tell a sharp
frame from a shaken one. Only the members of similar groups are read again, with JPEG DCT
scaling (load_image: 1/2 of a 12 MP photo, not all of it), then reduced to SCORE_SIDE px on
the short side so every member is judged at one scale (core/bestshot.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._platform import resolve_workers
from ..core.bestshot import MIN_SIDE, REFERENCE_SIDE, ShotQuality, measure
from ..errors import UnreadableImage
from .imaging import load_image

log = logging.getLogger(__name__)

#: The short side, in px, a photo is judged at (smaller ones at their own size).
SCORE_SIDE = REFERENCE_SIDE
#: Below this many photos, the calling process reads them itself.
_PARALLEL_MIN = 8


def shot_quality(path: Path) -> ShotQuality:
    """How good a shot `path` is; raises errors.UnreadableImage."""
    from PIL import Image

    # load_image asks the JPEG decoder for twice min_side: half of SCORE_SIDE gets the
    # smallest DCT scale whose short side is still at least SCORE_SIDE.
    loaded = load_image(path, min_side=SCORE_SIDE // 2)
    image = loaded.image.convert("L")
    short = min(image.size)
    if short > SCORE_SIDE:
        size = (round(image.width * SCORE_SIDE / short), round(image.height * SCORE_SIDE / short))
        image = image.resize(size, Image.Resampling.BOX)
    if short < MIN_SIDE:
        raise UnreadableImage(f"too small to judge ({image.width}x{image.height} px)")
    return measure(np.asarray(image), original_pixels=loaded.info.width * loaded.info.height)


def _quality_or_none(path: Path) -> ShotQuality | None:
    try:
        return shot_quality(path)
    except UnreadableImage as exc:
        log.info("not judged: %s: %s", path, exc)
        return None
    except Exception:  # one odd file never ends the run
        log.warning("unexpected error judging %s", path, exc_info=True)
        return None


def shot_qualities(paths: Sequence[Path], *, workers: int = 1) -> list[ShotQuality | None]:
    """Each photo's quality, in order; None for one that cannot be read. `workers` <= 0 uses
    every usable core (the scan's worker processes)."""
    workers = resolve_workers(workers)
    if workers == 1 or len(paths) < _PARALLEL_MIN:
        return [_quality_or_none(p) for p in paths]
    from .features import worker_pool

    return list(worker_pool(workers).map(_quality_or_none, paths, chunksize=4))
