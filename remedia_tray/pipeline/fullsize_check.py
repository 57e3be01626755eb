"""The checks that read photos again: candidate pairs at full size, and upscales.

A scan reads each photo once, small. Two decisions need more pixels than that:
- whether a candidate pair is the same picture where the 64 px thumbnail cannot tell
  (text, graphics, crops; the rule is `core.fullsize.needs_check`), and
- whether the copy with more pixels holds more picture, or is an upscale of a smaller one.
Only the files those decisions are about are decoded again, strictly (no tolerance for
truncated data), each at most once per worker. Many pairs are shared out to the scan's
worker processes.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core import fullsize
from ..core.media import ImageInfo, MediaFile
from ..core.planning import Verification
from ..core.search.pairs import Neighbours
from ..errors import UnreadableImage
from .imaging import load_image

if TYPE_CHECKING:
    from PIL import Image

    from .features import ScanResult

log = logging.getLogger(__name__)

#: Reduced pictures held at once by one reader (at most 1024 px long, under 1 MB in grey).
_HELD = 256
#: An upscale's detail beyond the smaller copy's resolution is at most this many times what
#: the smaller copy itself enlarged (LANCZOS) shows; a larger original's is 1.5 to 3 times.
UPSCALE_DETAIL_RATIO = 1.3
#: Below this many pairs to read, the main process reads them itself.
_PARALLEL_MIN = 4


@dataclass(frozen=True)
class _Photo:
    file: MediaFile  # as the scan saw it
    info: ImageInfo
    thumb: np.ndarray  # the 64 px grey thumbnail the scan made

    @property
    def path(self) -> Path:
        return self.file.path

    def load(self, min_side: int) -> Image.Image:
        """The photo in grey; UnreadableImage if it is no longer the file the scan read."""
        try:
            now = MediaFile.from_stat(self.path, os.stat(self.path, follow_symlinks=False))
        except OSError as exc:
            raise UnreadableImage(f"cannot read file: {exc.strerror or exc}") from None
        if not now.same_file(self.file):
            raise UnreadableImage("changed since it was read")
        return load_image(self.path, min_side=min_side).image.convert("L")


class _Reader:
    """Decodes photos for the pair check, each once at its largest grid (an LRU), and
    compares pairs. Lives in the main process or in a worker."""

    def __init__(self, strictness: int) -> None:
        self.strictness = strictness
        self._reduced: OrderedDict[tuple[Path, bool], Image.Image] = OrderedDict()
        self._coarse: dict[tuple[Path, bool], Image.Image] = {}

    def same(self, a: _Photo, b: _Photo) -> bool:
        """Raises UnreadableImage when either file cannot be decoded now."""
        g = fullsize.graphic(a.thumb) or fullsize.graphic(b.thumb)
        size = fullsize.work_size(
            (a.info.width, a.info.height), (b.info.width, b.info.height), graphic=g
        )
        aligned = fullsize.aligned_at_64px(a.thumb, b.thumb)
        small = (max(1, size[0] // fullsize.COARSE), max(1, size[1] // fullsize.COARSE))
        return fullsize.same_picture(
            _array(self._small(a, g), small), _array(self._small(b, g), small),
            _array(self._grid(a, g), size), _array(self._grid(b, g), size), self.strictness,
            aligned=aligned,
        )  # fmt: skip

    def _grid(self, photo: _Photo, graphic: bool) -> Image.Image:
        """The photo in grey at the largest grid it is compared on."""
        key = (photo.path, graphic)
        held = self._reduced.get(key)
        if held is not None:
            self._reduced.move_to_end(key)
            return held
        from PIL import Image as PILImage

        size = fullsize.own_work_size((photo.info.width, photo.info.height), graphic=graphic)
        # load_image asks the JPEG decoder for twice min_side: reduced by DCT scaling to at
        # least the grid, then resampled down (core.fullsize says how).
        grey = photo.load(max(1, math.ceil(min(size) / 2)))
        if grey.size != size:
            grey = grey.resize(size, PILImage.Resampling.LANCZOS)
        self._reduced[key] = grey
        while len(self._reduced) > _HELD:
            self._reduced.popitem(last=False)
        return grey

    def _small(self, photo: _Photo, graphic: bool) -> Image.Image:
        held = self._coarse.get((photo.path, graphic))
        if held is None:
            from PIL import Image as PILImage

            grey = self._grid(photo, graphic)
            size = (max(1, grey.width // fullsize.COARSE), max(1, grey.height // fullsize.COARSE))
            held = grey.resize(size, PILImage.Resampling.BOX)
            self._coarse[(photo.path, graphic)] = held
        return held


def _read_pairs(
    photos: dict[int, _Photo], pairs: list[tuple[int, int]], strictness: int
) -> list[bool | None]:
    """Worker job: each pair's verdict; None where a file cannot be decoded now."""
    reader = _Reader(strictness)
    out: list[bool | None] = []
    for i, j in pairs:
        try:
            out.append(reader.same(photos[i], photos[j]))
        except UnreadableImage:
            out.append(None)
    return out


class PairCheck:
    """Full-size checks for one scan's duplicate candidates (positions into scan.files)."""

    def __init__(
        self,
        scan: ScanResult,
        thumbnail: Callable[[int], np.ndarray],
        strictness: int,
        *,
        workers: int = 1,
    ) -> None:
        self._scan = scan
        self._thumb = thumbnail  # position -> the 64 px grey thumbnail the scan made
        self._workers = workers
        self._reader = _Reader(strictness)
        self._same_bytes = {p: k for k, group in enumerate(scan.identical) for p in group}
        #: Pairs (i < j) read at full size, and what they gave.
        self.read: dict[tuple[int, int], bool] = {}
        self.seconds = 0.0

    def identical(self, i: int, j: int) -> bool:
        a, b = self._same_bytes.get(i), self._same_bytes.get(j)
        return a is not None and a == b

    def confirm(self, pairs: Neighbours) -> Neighbours:
        """The candidate pairs that hold up: byte-identical, a scaled copy of a photo, or the
        same pixels at full size."""
        started = time.perf_counter()
        todo: list[tuple[int, int]] = []
        for i, j in zip(pairs.i.tolist(), pairs.j.tolist()):
            key = (min(i, j), max(i, j))
            if key not in self.read and not self.identical(*key) and self._needs_reading(*key):
                todo.append(key)
        todo = sorted(set(todo))
        for key, verdict in zip(todo, self._read(todo)):
            if verdict is None:
                # Gone or rewritten since the scan read it: the 64 px verdict stands, and the
                # mover, which checks every file is still the one that was read, leaves it be.
                log.info("not compared at full size: %s", self._scan.files[key[1]].path)
            else:
                self.read[key] = verdict
        keep = np.array(
            [self.read.get((min(i, j), max(i, j)), True) for i, j in zip(pairs.i, pairs.j)],
            dtype=bool,
        )
        self.seconds += time.perf_counter() - started
        return Neighbours(pairs.i[keep], pairs.j[keep], pairs.distance[keep])

    def graphic(self, pos: int) -> bool:
        """A screenshot, page or slide rather than a photo (by its flat share)."""
        return fullsize.graphic(self._thumb(pos))

    def _needs_reading(self, i: int, j: int) -> bool:
        a, b = self._scan.infos[i], self._scan.infos[j]
        same_size = (a.width, a.height) == (b.width, b.height)
        return fullsize.needs_check(self._thumb(i), self._thumb(j), same_size=same_size)

    def _photo(self, pos: int) -> _Photo:
        return _Photo(self._scan.files[pos], self._scan.infos[pos], self._thumb(pos))

    def _read(self, todo: list[tuple[int, int]]) -> list[bool | None]:
        if self._workers <= 1 or len(todo) < _PARALLEL_MIN:
            out: list[bool | None] = []
            for i, j in todo:
                try:
                    out.append(self._reader.same(self._photo(i), self._photo(j)))
                except UnreadableImage:
                    out.append(None)
            return out
        from .features import worker_pool

        # Contiguous runs of the sorted pairs: a photo's pairs mostly stay in one job, so
        # it is decoded about once per worker.
        jobs = self._workers * 2
        step = -(-len(todo) // jobs)
        chunks = [todo[s : s + step] for s in range(0, len(todo), step)]
        pool = worker_pool(self._workers)
        futures = []
        for chunk in chunks:
            photos = {p: self._photo(p) for pair in chunk for p in pair}
            futures.append(pool.submit(_read_pairs, photos, chunk, self._reader.strictness))
        out = []
        for chunk, future in zip(chunks, futures):
            try:
                out.extend(future.result())
            except Exception:  # a worker that died: this process reads that share itself
                log.warning("pair check in a worker failed; reading here", exc_info=True)
                photos = {p: self._photo(p) for pair in chunk for p in pair}
                out.extend(_read_pairs(photos, chunk, self._reader.strictness))
        return out

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
        try:
            b = self._whole(big)
            s = self._whole(small)
        except UnreadableImage:
            return False  # cannot tell: the pixel count stands
        return is_upscale(b, s)

    def _whole(self, pos: int) -> Image.Image:
        """The whole photo in grey (for upscales; not held)."""
        info = self._scan.infos[pos]
        return self._photo(pos).load(min(info.width, info.height))


def detail_ratio(big: Image.Image, small: Image.Image) -> float:
    """How many times more detail the grey picture `big` holds beyond the resolution of the
    grey `small` than `small` itself, enlarged (LANCZOS) to `big`'s size, holds there: about
    1 for an upscale of `small`, 1.5 to 3 for a larger original."""
    from PIL import Image as PILImage
    from PIL import ImageChops

    box, up = PILImage.Resampling.BOX, PILImage.Resampling.BICUBIC

    def detail(x: Image.Image) -> float:
        """What x holds beyond the smaller copy's resolution (RMS grey levels)."""
        return _rms(ImageChops.difference(x, x.resize(small.size, box).resize(big.size, up)))

    enlarged = small.resize(big.size, PILImage.Resampling.LANCZOS)
    return detail(big) / max(detail(enlarged), 0.25)


def is_upscale(big: Image.Image, small: Image.Image) -> bool:
    """`big` holds no more picture than `small` enlarged: an upscale of it (grey pictures)."""
    return detail_ratio(big, small) <= UPSCALE_DETAIL_RATIO


def _array(grey: Image.Image, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image as PILImage

    if grey.size != size:
        grey = grey.resize(size, PILImage.Resampling.LANCZOS)
    return np.asarray(grey, dtype=np.float32)


def _rms(diff: Image.Image) -> float:
    hist = diff.histogram()
    total = sum(hist)
    return math.sqrt(sum(k * k * c for k, c in enumerate(hist)) / max(total, 1))
