"""The checks the duplicates kind asks of a video scan: a pair the video engine found holds
up only where its frames are the same at full size, and a copy with more pixels is the
original only where it holds more picture, not where it is an upscale of a smaller copy
(issue 24: never keep an upscale).

An upscale is told as the pictures' check tells it (fullsize_check.is_upscale): one or two
frames both videos show at the same second (where both show a picture, as their signatures
say) are decoded whole, grey and upright, under a time limit, and the larger copy's detail
beyond the smaller one's resolution is compared with what the smaller one, enlarged, holds.

A pair the engine found is a duplicate only once its frames are the same picture at full size
(issue 24): its 16 px thumbnails cannot tell two screen recordings of one chat layout, or a
tripod shot with and without a passer-by, apart. Frames at the same seconds (a quarter, half
and three quarters of the shorter length: independent of the engine's samples) are decoded
whole and judged by the pictures' rule (core.fullsize.same_picture). A pair that cannot be
read now is not confirmed: a video that cannot be checked is never called a duplicate.
Measured: about 0.1 s a pair of 5 s clips at 540 x 1200, 0.7-0.9 s a pair of 1080p clips
(decoding three whole frames of each is most of it; each frame once per sort).
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core import fullsize, verify
from ..core.media import MediaFile
from ..core.planning import Verification
from ..core.search.pairs import Neighbours
from ..engines.video import BLANK, shared_pictures
from .fullsize_check import UPSCALE_DETAIL_RATIO, detail_ratio
from .video_pool import DEFAULT_TIME_LIMIT
from .video_read import GreyFrame, UnreadableVideo, grey_frames

if TYPE_CHECKING:
    from PIL import Image

    from .features import ScanResult

log = logging.getLogger(__name__)

#: Frames are compared at this fraction of the pictures' working size (see `_same_frame`).
_CODEC_NOISE = 2

#: Frames compared per pair: an upscale is one when every one of them says so.
FRAMES = 2
#: A frame is compared where both signatures surely show a picture there (twice the blank
#: contrast), from 1 s on first (past a fade-in).
_SURE = 2 * BLANK
#: Where a candidate pair's frames are compared (shares of the shorter length); the second
#: set only where the first shows fewer than _MIN_FRAMES pictures (blank frames say nothing).
_AT = (0.25, 0.5, 0.75)
_MORE_AT = (0.125, 0.375, 0.625, 0.875)
_MIN_FRAMES = 2
#: Decoded frames held at once (each at most 1024 px long in grey: under 1 MB).
_HELD = 96


@dataclass(frozen=True)
class _Frame:
    grey: Image.Image  # upright, at most fullsize.WORK_SIDE long (its own largest grid)
    size: tuple[int, int]  # (width, height) as decoded, upright
    thumb: np.ndarray  # 64 px grey, squeezed to a square (as a photo's for the hashes)
    graphic: bool  # a screen recording's or a slide's frame rather than a scene's
    picture: bool  # not blank (video_read.shows_picture)


class VideoCheck:
    """Full-size checks for one scan's duplicate videos (positions into scan.files)."""

    def __init__(
        self,
        scan: ScanResult,
        engine: str,
        *,
        time_limit: float = DEFAULT_TIME_LIMIT,
        strictness: int = 50,
    ) -> None:
        """`time_limit`: seconds to read one pair's frames in (an upscale's, a candidate's)."""
        self._scan = scan
        self._feats = scan.features[engine]
        self._time_limit = time_limit
        self._same_bytes = {p: k for k, group in enumerate(scan.identical) for p in group}
        #: (larger, smaller) -> the detail ratio of each frame compared (empty: not compared).
        self.ratios: dict[tuple[int, int], tuple[float, ...]] = {}
        self._strictness = strictness
        self._held: OrderedDict[tuple[Path, float], _Frame] = OrderedDict()
        #: Pairs (i < j) compared at full size, and whether they are the same video.
        self.read: dict[tuple[int, int], bool] = {}
        self.seconds = 0.0

    def confirm(self, pairs: Neighbours) -> Neighbours:
        """The candidate pairs that hold up: byte-identical, or the same picture at full size
        in every frame compared."""
        started = time.perf_counter()
        keep = np.zeros(len(pairs.i), dtype=bool)
        for n, (i, j) in enumerate(zip(pairs.i.tolist(), pairs.j.tolist())):
            key = (min(i, j), max(i, j))
            if self._identical(*key):
                keep[n] = True
                continue
            if key not in self.read:
                self.read[key] = self._same(*key)
            keep[n] = self.read[key]
        self.seconds += time.perf_counter() - started
        return Neighbours(pairs.i[keep], pairs.j[keep], pairs.distance[keep])

    def _identical(self, i: int, j: int) -> bool:
        a, b = self._same_bytes.get(i), self._same_bytes.get(j)
        return a is not None and a == b

    def _same(self, i: int, j: int) -> bool:
        """Every frame compared shows the same picture in both, within one time limit."""
        infos = self._scan.infos
        length = min(infos[i].duration or 0.0, infos[j].duration or 0.0)
        deadline = time.monotonic() + self._time_limit
        shown = 0
        try:
            for shares in (_AT, _MORE_AT):
                at = tuple(round(length * s, 3) for s in shares)
                a, b = self._held_frames(i, at, deadline), self._held_frames(j, at, deadline)
                for x, y in zip(a, b):
                    if not (x.picture or y.picture):
                        continue  # blank in both: nothing to tell
                    if not self._same_frame(x, y):
                        return False
                    shown += 1
                if shown >= _MIN_FRAMES:
                    break
        except UnreadableVideo as exc:
            log.info("not confirmed (%s): %s", exc, self._scan.files[j].path)
            return False
        return shown > 0

    def _same_frame(self, x: _Frame, y: _Frame) -> bool:
        """The pictures' rule (PairCheck): a scaled copy of a scene that matches at 64 px as
        it lies is spared the full-size look; every other frame pair must pass it."""
        from PIL import Image as PILImage

        if not fullsize.needs_check(x.thumb, y.thumb, same_size=x.size == y.size):
            return True
        size = fullsize.work_size(x.size, y.size, graphic=x.graphic or y.graphic)
        # At half that size: a video codec's noise (blocks, ringing) spread over 2 x 2 pixels.
        # A CRF 30 re-encode's worst tile at full size is 0.32-0.43 (the limit is 0.335), at
        # half size 0.20-0.21; look-alikes stay far above (tests/test_video_confirm.py).
        size = (max(1, size[0] // _CODEC_NOISE), max(1, size[1] // _CODEC_NOISE))
        small = (max(1, size[0] // fullsize.COARSE), max(1, size[1] // fullsize.COARSE))
        a = x.grey.resize(size, PILImage.Resampling.LANCZOS)
        b = y.grey.resize(size, PILImage.Resampling.LANCZOS)
        box = PILImage.Resampling.BOX
        return fullsize.same_picture(
            _array(a.resize(small, box)), _array(b.resize(small, box)), _array(a), _array(b),
            self._strictness,
        )  # fmt: skip

    def _held_frames(self, pos: int, at: Sequence[float], deadline: float) -> list[_Frame]:
        """The frames of `pos` at `at` seconds, decoded once per sort (an LRU)."""
        path = self._scan.files[pos].path
        todo = [t for t in at if (path, t) not in self._held]
        if todo:
            left = deadline - time.monotonic()
            if left <= 0:
                raise UnreadableVideo(f"took longer than {self._time_limit:g} s to check")
            for t, shown in zip(todo, self._frames(pos, todo, time_limit=left)):
                self._held[(path, t)] = _frame(shown)
        out = []
        for t in at:
            self._held.move_to_end((path, t))
            out.append(self._held[(path, t)])
        while len(self._held) > _HELD:
            self._held.popitem(last=False)
        return out

    def graphic(self, pos: int) -> bool:
        """A video is never a screenshot or a page."""
        return False

    def verification(self, members: Sequence[int]) -> Verification | None:
        """Byte-identical where every copy is; full-size where frames were compared."""
        sets = {self._same_bytes.get(k) for k in members}
        if len(members) > 1 and len(sets) == 1 and None not in sets:
            return "byte-identical"
        pairs = [(min(a, b), max(a, b)) for x, a in enumerate(members) for b in members[x + 1 :]]
        return "full-size" if any(self.read.get(p) for p in pairs) else None

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
            b = self._frames(big, at, time_limit=self._time_limit)
            s = self._frames(small, at, time_limit=self._time_limit)
        except UnreadableVideo as exc:
            log.info("upscale not checked (%s): %s", exc, self._scan.files[big].path)
            return ()
        return tuple(
            detail_ratio(PILImage.fromarray(x.pixels), PILImage.fromarray(y.pixels))
            for x, y in zip(b, s)
        )

    def _frames(self, pos: int, at: Sequence[float], *, time_limit: float) -> list[GreyFrame]:
        seen = self._scan.files[pos]
        try:
            now = MediaFile.from_stat(seen.path, os.stat(seen.path, follow_symlinks=False))
        except OSError as exc:
            raise UnreadableVideo(f"cannot read file: {exc.strerror or exc}") from None
        if not now.same_file(seen):
            raise UnreadableVideo("changed since it was read")
        return grey_frames(seen.path, at, time_limit=time_limit)


def shared_seconds(a: np.ndarray, b: np.ndarray, *, count: int = FRAMES) -> tuple[float, ...]:
    """Up to `count` sample seconds where both signatures surely show a picture: from 1 s on
    first (past a fade-in), then the first second."""
    both = shared_pictures(a, b, _SURE)
    return tuple(sorted(both, key=lambda t: (t < 1.0, t))[:count])


def _frame(shown: GreyFrame) -> _Frame:
    """A decoded frame as the pair check holds it."""
    from PIL import Image as PILImage

    whole = PILImage.fromarray(shown.pixels)
    own = fullsize.own_work_size(whole.size)
    held = whole if whole.size == own else whole.resize(own, PILImage.Resampling.LANCZOS)
    thumb = np.asarray(whole.resize((verify.THUMB, verify.THUMB), PILImage.Resampling.BOX))
    return _Frame(held, whole.size, thumb, fullsize.graphic(thumb), shown.picture)


def _array(grey: Image.Image) -> np.ndarray:
    return np.asarray(grey, dtype=np.float32)
