"""Radius search: pairs within a Euclidean radius among short vectors, through a grid.

The vectors hold a few to a few dozen values; the grid lies on the leading coordinates. Every
coordinate of a pair within r differs by at most r, so with cells of side r the pair sits in
the same or an adjacent cell on each gridded axis. Exact; the work is the pairs in adjacent
cells, not n^2. Put the widest-spread coordinates first (e.g. an orthonormal transform ordered
by variance): they make the cells selective.
"""

from __future__ import annotations

import numpy as np

from .pairs import Neighbours, finish, no_pairs, to_runs

_GRID_AXES = 4


def _grid_cells(points: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(cell key of each point, key offsets of the 3^d adjacent cells, 0 first)."""
    d = min(_GRID_AXES, points.shape[1])
    cells = np.floor(points[:, :d] / radius).astype(np.int64)
    cells -= cells.min(axis=0) - 1  # a free cell on each side: adjacent keys never wrap
    width = cells.max(axis=0) + 2
    radix = np.concatenate([[1], np.cumprod(width[:-1])]).astype(np.int64)
    steps = np.array(np.meshgrid(*[[0, -1, 1]] * d, indexing="ij")).reshape(d, -1).T
    return cells @ radix, steps @ radix


def _grid_pairs(points: np.ndarray, rows: np.ndarray, radius: float, *, upper: bool) -> Neighbours:
    """Pairs (row in `rows`, any point) within `radius`; with `upper`, each pair once."""
    n = len(points)
    if n < 2 or len(rows) == 0 or not radius > 0:
        return no_pairs()
    keys, offsets = _grid_cells(points, radius)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    if upper:
        offsets = offsets[offsets >= 0]  # a pair of cells once; within a cell, pairs i < j
    limit = radius * radius * (1 + 1e-9)
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    for offset in offsets.tolist():
        target = keys[rows] + offset
        lo = np.searchsorted(ordered, target, side="left")
        count = np.searchsorted(ordered, target, side="right") - lo
        hit = np.flatnonzero(count)
        for pa, pb in to_runs(rows[hit], lo[hit], count[hit], same=False):
            pb = order[pb]
            keep = pa != pb if not (upper and offset == 0) else pa < pb
            pa, pb = pa[keep], pb[keep]
            diff = points[pa].astype(np.float64) - points[pb]
            d2 = np.einsum("ij,ij->i", diff, diff)
            near = d2 <= limit
            if near.any():
                out_i.append(np.minimum(pa[near], pb[near]))
                out_j.append(np.maximum(pa[near], pb[near]))
                out_d.append(np.sqrt(d2[near]).astype(np.float32))
    return finish(n, out_i, out_j, out_d)


def radius_neighbours(points: np.ndarray, radius: float) -> Neighbours:
    """All pairs with Euclidean distance <= radius, exact (grid on the leading coordinates)."""
    pts = np.ascontiguousarray(points, dtype=np.float64)
    return _grid_pairs(pts, np.arange(len(pts)), radius, upper=True)


def radius_query(points: np.ndarray, query: np.ndarray, radius: float) -> Neighbours:
    """`radius_neighbours`, only the pairs that involve a `query` row: O(k) probes, not n^2."""
    pts = np.ascontiguousarray(points, dtype=np.float64)
    return _grid_pairs(pts, np.unique(np.asarray(query, dtype=np.int64)), radius, upper=False)
