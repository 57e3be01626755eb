"""Vectorised neighbour search: every pair within a threshold, without an N x N matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Neighbours:
    """Pairs (i < j) whose distance is within the engine's threshold."""

    i: np.ndarray
    j: np.ndarray
    distance: np.ndarray


_ROW_TILE = 256
_COL_TILE = 8192
_EMB_BLOCK = 1024


def _empty() -> Neighbours:
    empty = np.zeros(0, np.int64)
    return Neighbours(empty, empty, np.zeros(0, np.float32))


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
        return _empty()
    return Neighbours(
        np.concatenate(out_i).astype(np.int64),
        np.concatenate(out_j).astype(np.int64),
        np.concatenate(out_d),
    )


def cosine_neighbours(embeddings: np.ndarray, max_distance: float) -> Neighbours:
    """Pairs with 1 - cosine <= max_distance; rows must be L2-normalised. Blocked products."""
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = len(emb)
    min_sim = np.float32(1.0 - max_distance - 1e-6)
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    for r0 in range(0, n, _EMB_BLOCK):
        r1 = min(n, r0 + _EMB_BLOCK)
        sims = emb[r0:r1] @ emb[r0:].T
        rows, cols = np.nonzero(sims >= min_sim)
        ii, jj = rows + r0, cols + r0
        keep = ii < jj
        if keep.any():
            out_i.append(ii[keep])
            out_j.append(jj[keep])
            out_d.append(1.0 - sims[rows[keep], cols[keep]])
    if not out_i:
        return _empty()
    return Neighbours(
        np.concatenate(out_i).astype(np.int64),
        np.concatenate(out_j).astype(np.int64),
        np.clip(np.concatenate(out_d), 0.0, 2.0).astype(np.float32),
    )
