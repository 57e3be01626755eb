"""Hash search: every pair of (dHash, pHash) rows within a weighted Hamming distance, exact.

Two methods give identical pairs: tiled brute force, each tile screened by an integer popcount
test, and the multi-index plan of hash_plan. Candidates of both are verified with the same
float32 formula (`hash_distance`). A query searches only the pairs of some rows (new photos).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..._platform import resolve_workers
from .hash_plan import PLAN_MARGIN, HashChunk, HashPlan, chunk_candidates, plan_hash_index
from .pairs import Neighbours, finish, no_pairs, query_pairs

Method = Literal["auto", "index", "brute"]

_ROW_TILE = 128
_COL_TILE = 4096
# A query reads this many (query row, column) distances per tile.
_QUERY_TILE = 1 << 16


def hash_distance(
    d_a: np.ndarray, p_a: np.ndarray, d_b: np.ndarray, p_b: np.ndarray, dhash_weight: float
) -> np.ndarray:
    """Weighted Hamming distance in float32; one formula for every search method."""
    wd, wp = np.float32(dhash_weight), np.float32(1.0 - dhash_weight)
    dist = wd * np.bitwise_count(d_a ^ d_b).astype(np.float32)
    dist += wp * np.bitwise_count(p_a ^ p_b)
    return np.asarray(dist, dtype=np.float32)


def _limit(threshold: float) -> np.ndarray:
    """The float32 acceptance limit (a 0-d array), shared by every search method."""
    return np.asarray(threshold + 1e-6, dtype=np.float32)


def hash_neighbours(
    features: np.ndarray,
    threshold: float,
    dhash_weight: float,
    *,
    method: Method = "auto",
    workers: int = 0,
) -> Neighbours:
    """All pairs with weighted dHash+pHash distance <= threshold; exact with every method.

    `method="auto"` uses the multi-index when the cost model says it is cheaper than brute force.
    `workers` threads search index chunks in parallel (0: one per CPU core).
    """
    feats = np.ascontiguousarray(features, dtype=np.uint64).reshape(-1, 2)
    if not 0.0 <= dhash_weight <= 1.0:
        raise ValueError("dhash_weight must be within 0..1")
    n = len(feats)
    if n < 2 or threshold < 0:
        return no_pairs()
    plan = None
    if method != "brute":
        plan = plan_hash_index(n, threshold, dhash_weight, force=method == "index")
    if plan is None:
        return _hash_brute(feats, threshold, dhash_weight)
    return _hash_index(feats, threshold, dhash_weight, plan, resolve_workers(workers))


@dataclass(frozen=True)
class _Prefilter:
    """An integer test implied by distance <= threshold: popcount of `columns` <= `cap`."""

    columns: tuple[int, ...]
    cap: int


def _prefilter(threshold: float, dhash_weight: float) -> _Prefilter:
    """The cheapest sound integer test: one column's popcount, or both columns' sum."""
    target = threshold + PLAN_MARGIN
    weights = (dhash_weight, 1.0 - dhash_weight)
    # Relative cost per pair: one popcount pass is 1, a second one 0.8 more, and every
    # survivor costs about 20 for the float distance.
    options: list[tuple[float, _Prefilter]] = []
    for col, w in enumerate(weights):
        if w > 0:
            cap = min(64, int(target / w))
            options.append((1.0 + 20 * _tail(64, cap), _Prefilter((col,), cap)))
    if min(weights) > 0:
        cap = min(128, int(target / min(weights)))
        options.append((1.8 + 20 * _tail(128, cap), _Prefilter((0, 1), cap)))
    return min(options, key=lambda o: o[0])[1]


def _tail(bits: int, cap: int) -> float:
    """Share of random pairs within `cap` bits of `bits`."""
    return sum(math.comb(bits, r) for r in range(cap + 1)) / 2.0**bits


def _hash_brute(feats: np.ndarray, threshold: float, dhash_weight: float) -> Neighbours:
    """Exact all-pairs search in cache-sized tiles: O(n^2) time, O(tile) memory.

    Each tile is screened with an integer popcount test implied by the threshold; the few
    survivors get the float32 distance.
    """
    n = len(feats)
    cols = (np.ascontiguousarray(feats[:, 0]), np.ascontiguousarray(feats[:, 1]))
    test = _prefilter(threshold, dhash_weight)
    limit = _limit(threshold)
    rows_t, cols_t = min(n, _ROW_TILE), min(n, _COL_TILE)
    xor = np.empty((rows_t, cols_t), dtype=np.uint64)
    count = np.empty((rows_t, cols_t), dtype=np.uint8)
    extra = np.empty((rows_t, cols_t), dtype=np.uint8)
    near = np.empty((rows_t, cols_t), dtype=bool)
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    for r0 in range(0, n, _ROW_TILE):
        r1 = min(n, r0 + _ROW_TILE)
        for c0 in range(r0, n, _COL_TILE):
            c1 = min(n, c0 + _COL_TILE)
            shape = (slice(0, r1 - r0), slice(0, c1 - c0))
            x, cnt, ok = xor[shape], count[shape], near[shape]
            for k, col in enumerate(test.columns):
                np.bitwise_xor(cols[col][r0:r1, None], cols[col][None, c0:c1], out=x)
                if k == 0:
                    np.bitwise_count(x, out=cnt)
                else:
                    np.add(cnt, np.bitwise_count(x, out=extra[shape]), out=cnt)
            np.less_equal(cnt, test.cap, out=ok)
            rows, cc = np.nonzero(ok)
            ii, jj = rows + r0, cc + c0
            keep = np.flatnonzero(ii < jj)
            if not len(keep):
                continue
            ii, jj = ii[keep], jj[keep]
            dist = hash_distance(cols[0][ii], cols[1][ii], cols[0][jj], cols[1][jj], dhash_weight)
            within = np.flatnonzero(dist <= limit)
            if len(within):
                out_i.append(ii[within])
                out_j.append(jj[within])
                out_d.append(dist[within])
    return finish(n, out_i, out_j, out_d)


def _hash_index(
    feats: np.ndarray, threshold: float, dhash_weight: float, plan: HashPlan, workers: int
) -> Neighbours:
    n = len(feats)
    columns = (np.ascontiguousarray(feats[:, 0]), np.ascontiguousarray(feats[:, 1]))
    test = _prefilter(threshold, dhash_weight)
    limit = _limit(threshold)

    def run(chunk: HashChunk) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        mask = np.uint64((1 << chunk.bits) - 1)
        values = ((columns[chunk.column] >> np.uint64(chunk.shift)) & mask).astype(np.intp)
        order = np.argsort(values, kind="stable")
        # Columns in bucket order: candidate pairs then read memory almost sequentially.
        ordered = (columns[0][order], columns[1][order])
        found: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
        for pa, pb in chunk_candidates(values[order], chunk.bits, chunk.flips):
            total = np.zeros(len(pa), dtype=np.uint8)
            for col in test.columns:
                total += np.bitwise_count(ordered[col][pa] ^ ordered[col][pb])
            ok = np.flatnonzero(total <= test.cap)
            if not len(ok):
                continue
            pa, pb = pa[ok], pb[ok]
            dist = hash_distance(
                ordered[0][pa], ordered[1][pa], ordered[0][pb], ordered[1][pb], dhash_weight
            )
            within = np.flatnonzero(dist <= limit)
            if len(within):
                a, b = order[pa[within]], order[pb[within]]
                found[0].append(np.minimum(a, b))
                found[1].append(np.maximum(a, b))
                found[2].append(dist[within])
        return found

    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    threads = max(1, min(workers, len(plan.chunks)))
    results: Iterator[tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]]
    if threads == 1:
        results = map(run, plan.chunks)
    else:
        # numpy releases the GIL in the heavy loops, so chunks really run side by side.
        pool = ThreadPoolExecutor(max_workers=threads)
        results = pool.map(run, plan.chunks)
    try:
        for a, b, dist in results:
            out_i += a
            out_j += b
            out_d += dist
    finally:
        if threads > 1:
            pool.shutdown(cancel_futures=True)
    return finish(n, out_i, out_j, out_d)


def hash_query(
    features: np.ndarray, query: np.ndarray, threshold: float, dhash_weight: float
) -> Neighbours:
    """Pairs within `threshold` that involve at least one of the `query` rows."""
    feats = np.ascontiguousarray(features, dtype=np.uint64).reshape(-1, 2)
    query = np.unique(np.asarray(query, dtype=np.int64))
    n = len(feats)
    if n < 2 or len(query) == 0 or threshold < 0:
        return no_pairs()
    limit = _limit(threshold)
    qd, qp = feats[query, 0], feats[query, 1]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    dists: list[np.ndarray] = []
    step = max(1, _QUERY_TILE // len(query))
    for c0 in range(0, n, step):
        c1 = min(n, c0 + step)
        dist = hash_distance(
            qd[:, None], qp[:, None], feats[None, c0:c1, 0], feats[None, c0:c1, 1], dhash_weight
        )
        rr, cc = np.nonzero(dist <= limit)
        if len(rr):
            rows.append(rr)
            cols.append(cc + c0)
            dists.append(dist[rr, cc])
    return query_pairs(query, rows, cols, dists, n)
