"""Hash engine: weighted dHash + pHash for true duplicates, each pair verified on pixels.

The hashes find candidates; every candidate is then checked on a 64 x 64 grey thumbnail made
from the same decoded image (core.verify), so a burst neighbour or re-framed shot is not called
a copy even where the hashes cannot see the shift (sky, sea, gradients).

Fine textures (a brick wall, a star field, a page of text) alias when squeezed to 9 x 8 or
32 x 32, so a 2 % border crop can move their hashes by 10-16 bits. A second candidate channel
catches those: the thumbnail's 4 x 4 layout of mean grey levels, which such a crop barely moves,
searched within a small radius. Its candidates go through the same pixel check.

The hashes are imagehash's (same bits; see tests/test_hash_engine.py), computed in numpy: the
32x32 DCT-II that imagehash takes from scipy is two small matrix products here, which spares
every process about a second of scipy import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..core import verify
from ..core.search.grid import radius_neighbours, radius_query
from ..core.search.hash import hash_distance, hash_neighbours, hash_query
from ..core.search.pairs import Neighbours
from ..core.strictness import interpolate
from .base import MediaKind, SimilarityEngine

if TYPE_CHECKING:
    from PIL import Image

# Strictness -> max weighted Hamming distance (of 64 bits). Calibrated on shared/data/photos:
# copies stay within 3.5 bits (WhatsApp-like, PNG/WebP, EXIF-rotated), different photos rarely
# come closer than 12, a stereo pair merges at 12 and a horizontal flip sits near 31.
HASH_THRESHOLDS: dict[int, float] = {0: 14.0, 25: 11.0, 50: 8.0, 75: 4.0, 100: 0.0}


# Strictness -> radius of the layout channel: RMS difference of the 4 x 4 layouts, in grey
# levels. On shared/data/photos the border crops the hashes miss sit within 1.25; different
# textured photos are almost never this close (a few night shots of one series in Holidays).
# It narrows with the hash threshold and is off at exact, where only the hashes propose.
LAYOUT_RADIUS: dict[int, float] = {
    k: 1.5 * t / HASH_THRESHOLDS[50] for k, t in HASH_THRESHOLDS.items()
}
#: Only thumbnails with at least this much detail (RMS grey levels off their 4 x 4 layout) take
#: part: flat ones hash stably, and black or overcast frames would crowd the layout cells.
LAYOUT_MIN_DETAIL = 4.0
_LAYOUT = 4
#: Layout, detail and one float of padding: nine 64-bit words in the library index.
_KEY_FLOATS = _LAYOUT * _LAYOUT + 2

_PHASH_SIDE = 32


def _dct_matrix(n: int) -> np.ndarray:
    """Unnormalised DCT-II as scipy.fftpack.dct computes it: y = M @ x."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))


_DCT32 = _dct_matrix(_PHASH_SIDE)


def _orthonormal_dct(n: int) -> np.ndarray:
    m: np.ndarray = _dct_matrix(n) * np.sqrt(1.0 / (2 * n))
    m[0] /= np.sqrt(2.0)
    return m


_DCT_LAYOUT = _orthonormal_dct(_LAYOUT)
# Coefficients low frequency first: the grid search cuts on the leading (widest-spread) ones.
_LAYOUT_ORDER = sorted(range(_LAYOUT * _LAYOUT), key=lambda c: (c // _LAYOUT + c % _LAYOUT, -c))


def layouts(thumbs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(4 x 4 layout of each thumbnail as orthonormal DCT coefficients / 4, its detail).

    The coefficients keep Euclidean distance, so their distance is the RMS difference of the
    layouts in grey levels; detail is the RMS difference of the thumbnail from its layout.
    """
    thumbs = np.asarray(thumbs, dtype=np.float32)
    n, side = len(thumbs), thumbs.shape[-1]
    k = side // _LAYOUT
    cells = thumbs.reshape(n, _LAYOUT, k, _LAYOUT, k).mean(axis=(2, 4), dtype=np.float64)
    flat = thumbs.reshape(n, -1)
    # Within a cell, the mean square off the cell mean is mean(x^2) - mean(x)^2.
    power = np.einsum("ij,ij->i", flat, flat, dtype=np.float64) / flat.shape[1]
    detail = np.sqrt(np.maximum(power - np.mean(cells**2, axis=(1, 2)), 0.0))
    coef = np.einsum("ki,nij,lj->nkl", _DCT_LAYOUT, cells, _DCT_LAYOUT).reshape(n, -1)
    out = coef[:, _LAYOUT_ORDER] / _LAYOUT
    return out.astype(np.float32), detail.astype(np.float32)


def _pack(bits: np.ndarray) -> int:
    """Row-major bits, first bit most significant (imagehash's hex order)."""
    return int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big")


def dhash(grey: Image.Image) -> int:
    """64-bit difference hash: is each pixel of a 9x8 thumbnail darker than its right neighbour."""
    from PIL import Image as PILImage

    pixels = np.asarray(grey.resize((9, 8), PILImage.Resampling.LANCZOS), dtype=np.int16)
    return _pack(pixels[:, 1:] > pixels[:, :-1])


def phash(grey: Image.Image) -> int:
    """64-bit perceptual hash: the 8x8 lowest DCT frequencies of a 32x32 thumbnail vs median."""
    from PIL import Image as PILImage

    small = grey.resize((_PHASH_SIDE, _PHASH_SIDE), PILImage.Resampling.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    low = _DCT32[:8] @ pixels @ _DCT32[:8].T
    return _pack(low > np.median(low))


class HashEngine(SimilarityEngine):
    name: ClassVar[str] = "hash"
    reads: ClassVar[MediaKind] = "pictures"
    kind = "duplicates"
    metric = "bits"
    thresholds = HASH_THRESHOLDS
    decode_side: ClassVar[int] = 128
    feature_dtype: ClassVar[str] = "uint64"
    #: dHash, pHash, then the verification thumbnail's bytes as 64-bit words.
    feature_dim = 2 + verify.THUMB * verify.THUMB // 8

    def __init__(self, *, strictness: int = 50, dhash_weight: float = 0.5) -> None:
        if not 0.0 <= dhash_weight <= 1.0:
            raise ValueError("dhash_weight must be within 0..1")
        super().__init__(strictness=strictness)
        self.dhash_weight = dhash_weight
        self._layout_radius = interpolate(strictness, LAYOUT_RADIUS)

    @property
    def cache_key(self) -> str:
        return f"hash:dhash8+phash8+thumb{verify.THUMB}:v2"

    @property
    def label(self) -> str:
        return "dHash+pHash"

    def load(self) -> None:
        """Nothing to load: the hashes need no model."""

    def prepare(self, image: Image.Image) -> np.ndarray:
        from PIL import Image as PILImage

        grey = image.convert("L")
        side = verify.THUMB
        thumb = np.asarray(grey.resize((side, side), PILImage.Resampling.BOX), dtype=np.uint8)
        words = np.ascontiguousarray(thumb).reshape(-1).view(np.uint64)
        return np.concatenate([np.array([dhash(grey), phash(grey)], dtype=np.uint64), words])

    @staticmethod
    def thumbnail(features: np.ndarray) -> np.ndarray:
        """The verification thumbnail stored in one photo's features."""
        words = np.ascontiguousarray(np.asarray(features, np.uint64)[2:])
        return words.view(np.uint8).reshape(verify.THUMB, verify.THUMB)

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        x = np.bitwise_count(np.asarray(a[:2], np.uint64) ^ np.asarray(b[:2], np.uint64))
        return float(self.dhash_weight * x[0] + (1.0 - self.dhash_weight) * x[1])

    def are_similar(self, a: np.ndarray, b: np.ndarray) -> bool:
        close = self.distance(a, b) <= self.threshold or self._same_layout(a, b)
        return close and self._same_frame(a, b)

    def _same_layout(self, a: np.ndarray, b: np.ndarray) -> bool:
        if len(a) < self.feature_dim or len(b) < self.feature_dim or self._layout_radius <= 0:
            return False
        coef, detail = layouts(np.stack([self.thumbnail(a), self.thumbnail(b)]))
        if detail.min() < LAYOUT_MIN_DETAIL:
            return False
        diff = coef[0].astype(np.float64) - coef[1]
        return float(diff @ diff) <= self._layout_radius**2 * (1 + 1e-9)  # as radius_neighbours

    def _same_frame(self, a: np.ndarray, b: np.ndarray) -> bool:
        if len(a) < self.feature_dim or len(b) < self.feature_dim:
            return True  # hashes only (a caller with bare hashes): nothing more to check
        return verify.same_frame(self.thumbnail(a), self.thumbnail(b), self.strictness)

    def neighbours(self, features: np.ndarray) -> Neighbours:
        """Candidate pairs by hash distance or layout, each confirmed on the thumbnails."""
        feats = np.asarray(features, dtype=np.uint64)
        found = hash_neighbours(feats[:, :2], self._threshold, self.dhash_weight)
        return self._confirmed(feats, self._with_layout(feats, found, None))

    def neighbours_of(self, features: np.ndarray, query: np.ndarray) -> Neighbours:
        feats = np.asarray(features, dtype=np.uint64)
        found = hash_query(feats[:, :2], query, self._threshold, self.dhash_weight)
        return self._confirmed(feats, self._with_layout(feats, found, query))

    def search_keys(self, features: np.ndarray) -> np.ndarray:
        """The two hashes, then the layout and its detail as float32 in 64-bit words: what a
        library search needs; thumbnails are read back for candidates only."""
        feats = np.asarray(features, dtype=np.uint64)
        coef, detail = self._layouts(feats)
        extra = np.zeros((len(feats), _KEY_FLOATS), dtype=np.float32)
        extra[:, : coef.shape[1]], extra[:, coef.shape[1]] = coef, detail
        return np.concatenate([feats[:, :2], extra.view(np.uint64)], axis=1)

    def library_candidates(self, library: np.ndarray, new: np.ndarray) -> np.ndarray:
        lib = np.asarray(library, dtype=np.uint64)
        keys = np.concatenate([lib, self.search_keys(new)])
        n = len(lib)
        query = np.arange(n, len(keys))
        found = hash_query(keys[:, :2], query, self._threshold, self.dhash_weight)
        hits = [found.i, found.j]
        if self._layout_radius > 0:
            extra = np.ascontiguousarray(keys[:, 2:]).view(np.float32)
            coef, detail = extra[:, : _LAYOUT * _LAYOUT], extra[:, _LAYOUT * _LAYOUT]
            hits += self._layout_pairs(coef, detail, query)
        every = np.concatenate(hits)
        return np.unique(every[every < n])

    def _with_layout(
        self, feats: np.ndarray, found: Neighbours, query: np.ndarray | None
    ) -> Neighbours:
        """`found` plus the pairs of the layout channel (of `query` rows, when given).

        A pair found only by its layout is given the threshold as its distance (at most), so
        grouping treats it as a candidate like any other; the pixel check still decides.
        """
        if feats.shape[1] < self.feature_dim or self._layout_radius <= 0 or len(feats) < 2:
            return found
        i, j = self._layout_pairs(*self._layouts(feats), query)
        if len(i) == 0:
            return found
        d = hash_distance(feats[i, 0], feats[i, 1], feats[j, 0], feats[j, 1], self.dhash_weight)
        d = np.minimum(d, np.float32(self._threshold))
        ii = np.concatenate([found.i, i])
        jj = np.concatenate([found.j, j])
        dd = np.concatenate([found.distance, d])
        keys, first = np.unique(ii * len(feats) + jj, return_index=True)
        return Neighbours(keys // len(feats), keys % len(feats), dd[first])

    def _layout_pairs(
        self, coef: np.ndarray, detail: np.ndarray, query: np.ndarray | None
    ) -> list[np.ndarray]:
        """[i, j]: rows whose layouts are within the radius (involving a `query` row, when
        given), among those with detail enough to take part."""
        rows = np.flatnonzero(detail >= LAYOUT_MIN_DETAIL)
        if query is None:
            near = radius_neighbours(coef[rows], self._layout_radius)
        else:
            asked = np.flatnonzero(np.isin(rows, np.asarray(query, dtype=np.int64)))
            near = radius_query(coef[rows], asked, self._layout_radius)
        return [rows[near.i], rows[near.j]]

    @staticmethod
    def _layouts(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Layouts of every row's thumbnail, in blocks (a million rows hold 4 GB of them)."""
        n = len(feats)
        coef = np.empty((n, _LAYOUT * _LAYOUT), dtype=np.float32)
        detail = np.empty(n, dtype=np.float32)
        step = 4096
        for s in range(0, n, step):
            words = np.ascontiguousarray(feats[s : s + step, 2:])
            thumbs = words.view(np.uint8).reshape(-1, verify.THUMB, verify.THUMB)
            coef[s : s + step], detail[s : s + step] = layouts(thumbs)
        return coef, detail

    def _confirmed(self, feats: np.ndarray, found: Neighbours) -> Neighbours:
        if feats.shape[1] < self.feature_dim or len(found.i) == 0:
            return found
        keep = np.array(
            [self._same_frame(feats[i], feats[j]) for i, j in zip(found.i, found.j)], dtype=bool
        )
        return Neighbours(found.i[keep], found.j[keep], found.distance[keep])
