"""Hash engine: weighted dHash + pHash for true duplicates.

The hashes are imagehash's (same bits; see tests/test_hash_engine.py), computed in numpy: the
32x32 DCT-II that imagehash takes from scipy is two small matrix products here, which spares
every process about a second of scipy import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..core.neighbours import Neighbours, hash_neighbours
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
    feature_dim = 2

    def __init__(self, *, strictness: int = 50, dhash_weight: float = 0.5) -> None:
        if not 0.0 <= dhash_weight <= 1.0:
            raise ValueError("dhash_weight must be within 0..1")
        super().__init__(strictness=strictness)
        self.dhash_weight = dhash_weight

    @property
    def cache_key(self) -> str:
        return "hash:dhash8+phash8:v1"

    @property
    def label(self) -> str:
        return "dHash+pHash"

    def prepare(self, image: Image.Image) -> np.ndarray:
        grey = image.convert("L")
        return np.array([dhash(grey), phash(grey)], dtype=np.uint64)

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        x = np.bitwise_count(np.asarray(a, np.uint64) ^ np.asarray(b, np.uint64))
        return float(self.dhash_weight * x[0] + (1.0 - self.dhash_weight) * x[1])

    def neighbours(self, features: np.ndarray) -> Neighbours:
        return hash_neighbours(features, self._threshold, self.dhash_weight)
