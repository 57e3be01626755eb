"""Reading photos again to judge them: each member of a series, at SCORE_SIDE px.

The scan reads each photo small (64 px for the hash engine), far too small to tell a sharp
frame from a shaken one. Only the members of similar groups are read again, grey only and
reduced by the JPEG decoder (imaging.load_grey: 3/8 of a 12 MP photo), then to SCORE_SIDE px
on the short side so every member is judged at one scale (core/bestshot.py). Each photo's
quality is kept in the feature cache, so a later sort reads only the new members.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._platform import resolve_workers
from ..core import bestshot
from ..core.bestshot import MIN_SIDE, REFERENCE_SIDE, ShotQuality, measure
from ..core.media import MediaFile
from ..errors import UnreadableImage
from .imaging import load_grey

if TYPE_CHECKING:
    from .cache import FeatureCache

log = logging.getLogger(__name__)

#: The short side, in px, a photo is judged at (smaller ones at their own size).
SCORE_SIDE = REFERENCE_SIDE
#: Below this many photos, the calling process reads them itself.
_PARALLEL_MIN = 8


def shot_quality(path: Path) -> ShotQuality:
    """How good a shot `path` is; raises errors.UnreadableImage."""
    from PIL import Image

    loaded = load_grey(path, min_side=SCORE_SIDE)
    image = loaded.image
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


def _fingerprint() -> str:
    """The measure's constants and weights (core/bestshot.py), as 8 hex digits."""
    constants = sorted(
        (name, value)
        for name, value in vars(bestshot).items()
        if name.lstrip("_").isupper() and isinstance(value, int | float | tuple)
    )
    return f"{zlib.crc32(repr((SCORE_SIDE, constants)).encode()):08x}"


#: The feature-cache key of a shot's quality. Re-tuned weights or constants change the
#: fingerprint, so an old score is never read; bump the version when the code of the measure
#: or of the decode changes.
CACHE_KEY = f"shot:v1:{_fingerprint()}"
# sharpness, blur, exposure, noise, score, brightness, pixels
_PACKED = struct.Struct("<6dq")


def _pack(q: ShotQuality) -> bytes:
    return _PACKED.pack(q.sharpness, q.blur, q.exposure, q.noise, q.score, q.brightness, q.pixels)


def _unpack(value: bytes) -> ShotQuality | None:
    if len(value) != _PACKED.size:
        return None
    sharpness, blur, exposure, noise, score, brightness, pixels = _PACKED.unpack(value)
    return ShotQuality(sharpness, blur, exposure, noise, pixels, score, brightness)


class ShotScorer:
    """The qualities of a sort's shots: from the feature cache where it holds them, else read
    (in the scan's worker processes) and put there. A photo that cannot be judged is not
    cached: it is rare (the scan read it), and a passing failure must not stick.

    `read` and `from_cache` count the photos of each kind, over all calls.
    """

    def __init__(
        self, files: Sequence[MediaFile], *, cache: FeatureCache | None = None, workers: int = 1
    ) -> None:
        self._files = {f.path: f for f in files}
        self._cache = cache
        self._workers = workers
        self.read = 0
        self.from_cache = 0

    def __call__(self, paths: Sequence[Path]) -> list[ShotQuality | None]:
        """Each of `paths`' quality, in order (None: it cannot be judged)."""
        known: dict[Path, ShotQuality | None] = {}
        identified = [self._files[p] for p in paths if p in self._files]
        if self._cache is not None and identified:
            for pos, value in self._cache.get_many(identified, CACHE_KEY).items():
                quality = _unpack(value)
                if quality is not None:
                    known[identified[pos].path] = quality
        new = [p for p in dict.fromkeys(paths) if p not in known]
        for path, quality in zip(new, shot_qualities(new, workers=self._workers), strict=True):
            known[path] = quality
            if quality is not None and self._cache is not None and path in self._files:
                self._cache.put(self._files[path], CACHE_KEY, _pack(quality))
        self.read += len(new)
        self.from_cache += len(known) - len(new)
        log.info(
            "best shot: %d photos read, %d from the feature cache", len(new), len(known) - len(new)
        )
        return [known[p] for p in paths]
