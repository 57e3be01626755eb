"""Hash engine: weighted dHash + pHash (imagehash) for true duplicates."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..strictness import interpolate
from .base import Neighbours, SimilarityEngine

if TYPE_CHECKING:
    from PIL import Image

# Strictness -> max weighted Hamming distance (of 64 bits). Calibrated on shared/data/photos:
# copies stay within 3.5 bits (WhatsApp-like, PNG/WebP, EXIF-rotated), different photos rarely
# come closer than 12, a stereo pair merges at 12 and a horizontal flip sits near 31.
HASH_THRESHOLDS: dict[int, float] = {0: 14.0, 25: 11.0, 50: 8.0, 75: 4.0, 100: 0.0}

_ROW_TILE = 256
_COL_TILE = 8192


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


def hash_neighbours(features: np.ndarray, threshold: float, dhash_weight: float) -> Neighbours:
    """Exact all-pairs search in cache-sized tiles (no N x N matrix)."""
    feats = np.ascontiguousarray(features, dtype=np.uint64).reshape(-1, 2)
    n = len(feats)
    d_all, p_all = feats[:, 0], feats[:, 1]
    wd, wp = np.float32(dhash_weight), np.float32(1.0 - dhash_weight)
    limit = np.float32(threshold + 1e-6)
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    for r0 in range(0, n, _ROW_TILE):
        r1 = min(n, r0 + _ROW_TILE)
        dr, pr = d_all[r0:r1, None], p_all[r0:r1, None]
        for c0 in range(r0, n, _COL_TILE):
            c1 = min(n, c0 + _COL_TILE)
            dist = wd * np.bitwise_count(dr ^ d_all[None, c0:c1]).astype(np.float32)
            dist += wp * np.bitwise_count(pr ^ p_all[None, c0:c1])
            rows, cols = np.nonzero(dist <= limit)
            ii, jj = rows + r0, cols + c0
            keep = ii < jj
            if keep.any():
                out_i.append(ii[keep])
                out_j.append(jj[keep])
                out_d.append(dist[rows[keep], cols[keep]])
    if not out_i:
        empty = np.zeros(0, np.int64)
        return Neighbours(empty, empty, np.zeros(0, np.float32))
    return Neighbours(
        np.concatenate(out_i).astype(np.int64),
        np.concatenate(out_j).astype(np.int64),
        np.concatenate(out_d),
    )
