"""Search for the bundled AI engine (effnet): embeddings that carry a quarter-turned copy.

Each feature row holds two embeddings of `dim` values: the photo as stored and turned 90
degrees (some cameras and editors save a quarter turn without an EXIF tag). A pair's distance
is its best match of as-stored/as-stored, as-stored/turned and turned/as-stored, each found by
the exact cosine search of core.search.
"""

from __future__ import annotations

import numpy as np

from ..core.search.cosine import cosine_cross, cosine_neighbours, cosine_query, l2_normalise
from ..core.search.pairs import Neighbours


def rotation_aware_neighbours(features: np.ndarray, dim: int, max_distance: float) -> Neighbours:
    """Pairs whose best rotation match is within `max_distance`.

    Each row holds two unit embeddings: the photo as stored and turned 90 degrees. The
    similarity of a pair is the best of as-stored/as-stored, as-stored/turned and
    turned/as-stored, which covers a photo saved a quarter turn off either way. One blocked
    search over the 2N stacked rows finds every combination; pairs from the same photo and the
    turned/turned combination are dropped, and each pair keeps its smallest distance.
    """
    feats = np.asarray(features, dtype=np.float32)
    n = len(feats)
    stacked = l2_normalise(np.concatenate([feats[:, :dim], feats[:, dim : 2 * dim]]))
    return _best_rotation(cosine_neighbours(stacked, max_distance), n)


def rotation_aware_query(
    features: np.ndarray, dim: int, max_distance: float, query: np.ndarray
) -> Neighbours:
    """`rotation_aware_neighbours`, only the pairs that involve a `query` row."""
    feats = np.asarray(features, dtype=np.float32)
    n = len(feats)
    stacked = l2_normalise(np.concatenate([feats[:, :dim], feats[:, dim : 2 * dim]]))
    query = np.asarray(query, dtype=np.int64)
    found = cosine_query(stacked, np.concatenate([query, query + n]), max_distance)
    return _best_rotation(found, n)


def _best_rotation(found: Neighbours, n: int) -> Neighbours:
    keep = found.i < n  # i < j, so this drops turned/turned pairs
    a, b, d = found.i[keep], found.j[keep] % n, found.distance[keep]
    own = a != b
    a, b, d = a[own], b[own], d[own]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((d, hi, lo))
    lo, hi, d = lo[order], hi[order], d[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return Neighbours(lo[first].astype(np.int64), hi[first].astype(np.int64), d[first])


def rotation_aware_distance(a: np.ndarray, b: np.ndarray, dim: int) -> float:
    """One pair's distance: 1 - the best of the three rotation matches, within 0..2."""
    a0, a1 = l2_normalise(a[:dim]), l2_normalise(a[dim : 2 * dim])
    b0, b1 = l2_normalise(b[:dim]), l2_normalise(b[dim : 2 * dim])
    best = max(float(a0 @ b0), float(a0 @ b1), float(a1 @ b0))
    return min(2.0, max(0.0, 1.0 - best))


def rotation_aware_cross(
    library: np.ndarray, new: np.ndarray, dim: int, max_distance: float
) -> np.ndarray:
    """`cosine_cross` for rows that carry a quarter-turned copy (see rotation_aware_neighbours):
    as-stored against both of the new photo's, and turned against its as-stored one."""
    new = np.asarray(new, dtype=np.float32)
    both = np.concatenate([new[:, :dim], new[:, dim : 2 * dim]])
    stored = cosine_cross(library[:, :dim], both, max_distance)
    turned = cosine_cross(library[:, dim : 2 * dim], new[:, :dim], max_distance)
    return np.union1d(stored, turned)
