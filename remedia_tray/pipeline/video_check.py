"""The checks the duplicates kind asks of a video scan: the pairs the video engine found
stand as they are, and a copy with more pixels is the original only where it holds more
picture, not where it is an upscale of a smaller copy (issue 24: never keep an upscale).

An upscale is told as the pictures' check tells it (fullsize_check.is_upscale): one or two
frames both videos show at the same second (where both show a picture, as their signatures
say) are decoded whole, grey and upright, under a time limit, and the larger copy's detail
beyond the smaller one's resolution is compared with what the smaller one, enlarged, holds.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core.media import MediaFile
from ..core.planning import Verification
from ..engines.video import BLANK, shared_pictures
from .fullsize_check import UPSCALE_DETAIL_RATIO, detail_ratio
from .video_pool import DEFAULT_TIME_LIMIT
from .video_read import UnreadableVideo, grey_frames

if TYPE_CHECKING:
    from ..core.search.pairs import Neighbours
    from .features import ScanResult

log = logging.getLogger(__name__)

#: Frames compared per pair: an upscale is one when every one of them says so.
FRAMES = 2
#: A frame is compared where both signatures surely show a picture there (twice the blank
#: contrast), from 1 s on first (past a fade-in).
_SURE = 2 * BLANK


class VideoCheck:
    """Full-size checks for one scan's duplicate videos (positions into scan.files)."""

    def __init__(
        self, scan: ScanResult, engine: str, *, time_limit: float = DEFAULT_TIME_LIMIT
    ) -> None:
        self._scan = scan
        self._feats = scan.features[engine]
        self._time_limit = time_limit
        self._same_bytes = {p: k for k, group in enumerate(scan.identical) for p in group}
        #: (larger, smaller) -> the detail ratio of each frame compared (empty: not compared).
        self.ratios: dict[tuple[int, int], tuple[float, ...]] = {}
        self.seconds = 0.0

    def confirm(self, pairs: Neighbours) -> Neighbours:
        """The engine's pairs: its frames at matching seconds are the check."""
        return pairs

    def graphic(self, pos: int) -> bool:
        """A video is never a screenshot or a page."""
        return False

    def verification(self, members: Sequence[int]) -> Verification | None:
        """Byte-identical where every copy is; else the frames said so (no picture word)."""
        sets = {self._same_bytes.get(k) for k in members}
        same = len(members) > 1 and len(sets) == 1 and None not in sets
        return "byte-identical" if same else None

    def upscaled(self, big: int, small: int) -> bool:
        """True when every frame compared says `big` holds no more picture than `small`
        enlarged (an upscale of it); False where it cannot tell (the pixel count stands)."""
        started = time.perf_counter()
        try:
            ratios = self._ratios(big, small)
        finally:
            self.seconds += time.perf_counter() - started
        self.ratios[(big, small)] = ratios
        return bool(ratios) and all(r <= UPSCALE_DETAIL_RATIO for r in ratios)

    def _ratios(self, big: int, small: int) -> tuple[float, ...]:
        from PIL import Image as PILImage

        at = shared_seconds(self._feats[big], self._feats[small])
        if not at:
            return ()
        try:
            b = self._frames(big, at)
            s = self._frames(small, at)
        except UnreadableVideo as exc:
            log.info("upscale not checked (%s): %s", exc, self._scan.files[big].path)
            return ()
        return tuple(
            detail_ratio(PILImage.fromarray(x), PILImage.fromarray(y)) for x, y in zip(b, s)
        )

    def _frames(self, pos: int, at: Sequence[float]) -> list[np.ndarray]:
        seen = self._scan.files[pos]
        try:
            now = MediaFile.from_stat(seen.path, os.stat(seen.path, follow_symlinks=False))
        except OSError as exc:
            raise UnreadableVideo(f"cannot read file: {exc.strerror or exc}") from None
        if not now.same_file(seen):
            raise UnreadableVideo("changed since it was read")
        return grey_frames(seen.path, at, time_limit=self._time_limit)


def shared_seconds(a: np.ndarray, b: np.ndarray, *, count: int = FRAMES) -> tuple[float, ...]:
    """Up to `count` sample seconds where both signatures surely show a picture: from 1 s on
    first (past a fade-in), then the first second."""
    both = shared_pictures(a, b, _SURE)
    return tuple(sorted(both, key=lambda t: (t < 1.0, t))[:count])
