"""Hash engine: weighted dHash + pHash for true duplicates, each pair verified on pixels.

The hashes find candidates; every candidate is then checked on a 64 x 64 grey thumbnail made
from the same decoded image (core.verify), so a burst neighbour or re-framed shot is not called
a copy even where the hashes cannot see the shift (sky, sea, gradients).

The hashes are imagehash's (same bits; see tests/test_hash_engine.py), computed in numpy: the
32x32 DCT-II that imagehash takes from scipy is two small matrix products here, which spares
every process about a second of scipy import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..core import verify
from ..core.neighbours import Neighbours, hash_neighbours, hash_query
from .base import SimilarityEngine

if TYPE_CHECKING:
    from PIL import Image

# Strictness -> max weighted Hamming distance (of 64 bits). Calibrated on shared/data/photos:
# copies stay within 3.5 bits (WhatsApp-like, PNG/WebP, EXIF-rotated), different photos rarely
# come closer than 12, a stereo pair merges at 12 and a horizontal flip sits near 31.
HASH_THRESHOLDS: dict[int, float] = {0: 14.0, 25: 11.0, 50: 8.0, 75: 4.0, 100: 0.0}


_PHASH_SIDE = 32


def _dct_matrix(n: int) -> np.ndarray:
    """Unnormalised DCT-II as scipy.fftpack.dct computes it: y = M @ x."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))


_DCT32 = _dct_matrix(_PHASH_SIDE)


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
    kind = "duplicates"
    metric = "bits"
    thresholds = HASH_THRESHOLDS
    decode_side: ClassVar[int] = 128
    feature_dtype: ClassVar[str] = "uint64"
    #: dHash, pHash, then the verification thumbnail's bytes as 64-bit words.
    feature_dim = 2 + verify.THUMB * verify.THUMB // 8
    #: The library is searched on the two hashes; thumbnails are read for candidates only.
    search_width: ClassVar[int | None] = 2

    def __init__(self, *, strictness: int = 50, dhash_weight: float = 0.5) -> None:
        if not 0.0 <= dhash_weight <= 1.0:
            raise ValueError("dhash_weight must be within 0..1")
        super().__init__(strictness=strictness)
        self.dhash_weight = dhash_weight

    @property
    def cache_key(self) -> str:
        return f"hash:dhash8+phash8+thumb{verify.THUMB}:v2"

    @property
    def label(self) -> str:
        return "dHash+pHash"

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
        return self.distance(a, b) <= self.threshold and self._same_frame(a, b)

    def _same_frame(self, a: np.ndarray, b: np.ndarray) -> bool:
        if len(a) < self.feature_dim or len(b) < self.feature_dim:
            return True  # hashes only (a caller with bare hashes): nothing more to check
        return verify.same_frame(self.thumbnail(a), self.thumbnail(b), self.strictness)

    def neighbours(self, features: np.ndarray) -> Neighbours:
        """Candidate pairs by hash distance, each confirmed on the thumbnails."""
        feats = np.asarray(features, dtype=np.uint64)
        found = hash_neighbours(feats[:, :2], self._threshold, self.dhash_weight)
        return self._confirmed(feats, found)

    def neighbours_of(self, features: np.ndarray, query: np.ndarray) -> Neighbours:
        feats = np.asarray(features, dtype=np.uint64)
        found = hash_query(feats[:, :2], query, self._threshold, self.dhash_weight)
        return self._confirmed(feats, found)

    def _confirmed(self, feats: np.ndarray, found: Neighbours) -> Neighbours:
        if feats.shape[1] < self.feature_dim or len(found.i) == 0:
            return found
        keep = np.array(
            [self._same_frame(feats[i], feats[j]) for i, j in zip(found.i, found.j)], dtype=bool
        )
        return Neighbours(found.i[keep], found.j[keep], found.distance[keep])
