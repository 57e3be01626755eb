"""Hash engine: weighted dHash + pHash (imagehash) for true duplicates."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..neighbours import Neighbours, hash_neighbours
from ..strictness import interpolate
from .base import SimilarityEngine

if TYPE_CHECKING:
    from PIL import Image

# Strictness -> max weighted Hamming distance (of 64 bits). Calibrated on shared/data/photos:
# copies stay within 3.5 bits (WhatsApp-like, PNG/WebP, EXIF-rotated), different photos rarely
# come closer than 12, a stereo pair merges at 12 and a horizontal flip sits near 31.
HASH_THRESHOLDS: dict[int, float] = {0: 14.0, 25: 11.0, 50: 8.0, 75: 4.0, 100: 0.0}


class HashEngine(SimilarityEngine):
    name: ClassVar[str] = "hash"
    kind = "duplicates"
    decode_side: ClassVar[int] = 128
    feature_dtype: ClassVar[str] = "uint64"
    feature_dim = 2

    def __init__(self, *, strictness: int = 50, dhash_weight: float = 0.5) -> None:
        if not 0.0 <= dhash_weight <= 1.0:
            raise ValueError("dhash_weight must be within 0..1")
        self.strictness = strictness
        self.dhash_weight = dhash_weight
        self._threshold = interpolate(strictness, HASH_THRESHOLDS)

    @property
    def cache_key(self) -> str:
        return "hash:dhash8+phash8:v1"

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def description(self) -> str:
        return f"dHash+pHash (max distance {self._threshold:g} of 64 bits)"

    def prepare(self, image: Image.Image) -> np.ndarray:
        import imagehash

        grey = image.convert("L")
        d = int(str(imagehash.dhash(grey)), 16)
        p = int(str(imagehash.phash(grey)), 16)
        return np.array([d, p], dtype=np.uint64)

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        x = np.bitwise_count(np.asarray(a, np.uint64) ^ np.asarray(b, np.uint64))
        return float(self.dhash_weight * x[0] + (1.0 - self.dhash_weight) * x[1])

    def neighbours(self, features: np.ndarray) -> Neighbours:
        return hash_neighbours(features, self._threshold, self.dhash_weight)
