"""The checks that read photos again: candidate pairs at full size, and upscales.

A scan reads each photo once, small. Two decisions need more pixels than that:
- whether a candidate pair is the same picture where the 64 px thumbnail cannot tell
  (text, graphics, crops; the rule is `core.fullsize.needs_check`), and
- whether the copy with more pixels holds more picture, or is an upscale of a smaller one.
Only the files those decisions are about are decoded again, strictly (no tolerance for
truncated data), each at most once per size.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core import fullsize
from ..core.neighbours import Neighbours
from ..core.planning import Verification
from ..errors import UnreadableImage
from .imaging import load_image

if TYPE_CHECKING:
    from PIL import Image

    from .features import ScanResult

log = logging.getLogger(__name__)

#: Reduced pictures held at once (at most 1024 px long, under 1 MB each in grey).
_HELD = 256
#: An upscale's detail beyond the smaller copy's resolution is at most this many times what
#: the smaller copy itself enlarged (LANCZOS) shows; a larger original's is 1.5 to 3 times.
UPSCALE_DETAIL_RATIO = 1.3


class PairCheck:
    """Full-size checks for one scan's duplicate candidates (positions into scan.files)."""

    def __init__(
        self, scan: ScanResult, thumbnail: Callable[[int], np.ndarray], strictness: int
    ) -> None:
        self._scan = scan
        self._thumb = thumbnail  # position -> the 64 px grey thumbnail the scan made
        self._strictness = strictness
        self._same_bytes = {p: k for k, group in enumerate(scan.identical) for p in group}
        self._decoded: OrderedDict[int, Image.Image] = OrderedDict()
        self._small: dict[int, Image.Image] = {}  # a sixteenth of those: kept for the scan
        #: Pairs (i < j) read at full size, and what they gave.
        self.read: dict[tuple[int, int], bool] = {}
        self.decodes = 0
        self.seconds = 0.0

    def identical(self, i: int, j: int) -> bool:
        a, b = self._same_bytes.get(i), self._same_bytes.get(j)
        return a is not None and a == b

    def confirm(self, pairs: Neighbours) -> Neighbours:
        """The candidate pairs that hold up: byte-identical, a plain copy of a photo, or the
        same pixels at full size."""
        keep = np.ones(len(pairs.i), dtype=bool)
        for k, (i, j) in enumerate(zip(pairs.i.tolist(), pairs.j.tolist())):
            keep[k] = self.holds(i, j)
        return Neighbours(pairs.i[keep], pairs.j[keep], pairs.distance[keep])

    def holds(self, i: int, j: int) -> bool:
        if i > j:
            i, j = j, i
        if self.identical(i, j):
            return True
        if (i, j) in self.read:
            return self.read[(i, j)]
        if not fullsize.needs_check(self._thumb(i), self._thumb(j)):
            return True
        started = time.perf_counter()
        try:
            same = self._same_at_full_size(i, j)
        except UnreadableImage as exc:
            # Gone or rewritten since the scan read it: the 64 px verdict stands, and the
            # mover, which checks every file is still the one that was read, leaves it be.
            log.info("not compared at full size (%s)", exc)
            return True
        finally:
            self.seconds += time.perf_counter() - started
        self.read[(i, j)] = same
        return same

    def verification(self, members: Sequence[int]) -> Verification:
        """How a group's copies were told to be the same."""
        pairs = [(a, b) for x, a in enumerate(members) for b in members[x + 1 :]]
        if all(self.identical(a, b) for a, b in pairs):
            return "byte-identical"
        if any((min(a, b), max(a, b)) in self.read for a, b in pairs):
            return "full-size"
        return "64px"

    def upscaled(self, big: int, small: int) -> bool:
        """True when `big` has no more picture than `small`, enlarged (an upscale of it)."""
        from PIL import Image as PILImage
        from PIL import ImageChops

        try:
            b = self._grey(big)
            s = self._grey(small)
        except UnreadableImage:
            return False  # cannot tell: the pixel count stands
        box, up = PILImage.Resampling.BOX, PILImage.Resampling.BICUBIC

        def detail(x: Image.Image) -> float:
            """What x holds beyond the smaller copy's resolution (RMS grey levels)."""
            return _rms(ImageChops.difference(x, x.resize(s.size, box).resize(b.size, up)))

        enlarged = s.resize(b.size, PILImage.Resampling.LANCZOS)
        return detail(b) <= UPSCALE_DETAIL_RATIO * max(detail(enlarged), 0.25)

    def _same_at_full_size(self, i: int, j: int) -> bool:
        a_info, b_info = self._scan.infos[i], self._scan.infos[j]
        size = fullsize.work_size((a_info.width, a_info.height), (b_info.width, b_info.height))
        aligned = fullsize.aligned_at_64px(self._thumb(i), self._thumb(j))
        small = (max(1, size[0] // fullsize.COARSE), max(1, size[1] // fullsize.COARSE))
        if fullsize.clearly_different(
            _array(self._coarse(i), small), _array(self._coarse(j), small), aligned=aligned
        ):
            return False
        a = _array(self._reduced(i), size)
        b = _array(self._reduced(j), size)
        return fullsize.same_pixels(a, b, self._strictness, aligned=aligned)

    def _coarse(self, pos: int) -> Image.Image:
        held = self._small.get(pos)
        if held is None:
            from PIL import Image as PILImage

            grey = self._reduced(pos)
            size = (max(1, grey.width // fullsize.COARSE), max(1, grey.height // fullsize.COARSE))
            held = self._small[pos] = grey.resize(size, PILImage.Resampling.BOX)
        return held

    def _reduced(self, pos: int) -> Image.Image:
        """The photo in grey at the largest grid it is compared on, decoded once."""
        held = self._decoded.get(pos)
        if held is not None:
            self._decoded.move_to_end(pos)
            return held
        info = self._scan.infos[pos]
        size = fullsize.own_work_size((info.width, info.height))
        # load_image asks the JPEG decoder for twice min_side: reduced by DCT scaling to at
        # least twice the grid, then resampled down (core.fullsize says how).
        loaded = load_image(self._scan.files[pos].path, min_side=min(size))
        self.decodes += 1
        from PIL import Image as PILImage

        grey = loaded.image.convert("L")
        if grey.size != size:
            grey = grey.resize(size, PILImage.Resampling.LANCZOS)
        self._decoded[pos] = grey
        while len(self._decoded) > _HELD:
            self._decoded.popitem(last=False)
        return grey

    def _grey(self, pos: int) -> Image.Image:
        """The whole photo in grey (for upscales; not held)."""
        info = self._scan.infos[pos]
        loaded = load_image(self._scan.files[pos].path, min_side=min(info.width, info.height))
        self.decodes += 1
        return loaded.image.convert("L")

    def checked(self) -> Iterable[tuple[int, int]]:
        return self.read.keys()


def _array(grey: Image.Image, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image as PILImage

    if grey.size != size:
        grey = grey.resize(size, PILImage.Resampling.LANCZOS)
    return np.asarray(grey, dtype=np.float32)


def _rms(diff: Image.Image) -> float:
    hist = diff.histogram()
    total = sum(hist)
    return math.sqrt(sum(k * k * c for k, c in enumerate(hist)) / max(total, 1))
