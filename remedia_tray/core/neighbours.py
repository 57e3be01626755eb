"""Vectorised neighbour search: every pair within a threshold, exact, without an N x N matrix.

Hashes: exact multi-index hashing. The weighted distance w*popcount(dhash ^ dhash') +
(1-w)*popcount(phash ^ phash') is at least sum_c weight_c * popcount(chunk_c ^ chunk_c') over
disjoint bit chunks, so if every chunk differs in more than t_c bits the pair is further than
sum_c weight_c * (t_c + 1). A plan whose chunks satisfy sum_c weight_c * (t_c + 1) > T therefore
finds every pair within T in at least one chunk, by probing the buckets within t_c bit flips
(the general pigeonhole principle). Candidates are then verified with the same float32 formula
as brute force, so both methods return identical pairs. A small cost model picks the plan, or
tiled brute force when that is cheaper (small sets, loose thresholds).

Embeddings: blocked products in fixed-size tiles. For large sets a first pass multiplies short
vectors that bound the cosine from above (mean-centred, principal axes, the tail folded into a
Cauchy-Schwarz term), so the full-width products are computed only for candidates.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from .._platform import usable_cores

Method = Literal["auto", "index", "brute"]
# Embeddings also have "approximate": multi-table hashing (core.ann), exact on every pair it
# finds, used by "auto" from _APPROXIMATE_FROM rows on, where exact search takes minutes.
EmbedMethod = Literal["auto", "index", "brute", "approximate"]


@dataclass(frozen=True)
class Neighbours:
    """Pairs (i < j) whose distance is within the engine's threshold, sorted by (i, j)."""

    i: np.ndarray
    j: np.ndarray
    distance: np.ndarray


_ROW_TILE = 128
_COL_TILE = 4096
# Below this many items brute force is cheaper than planning an index.
_BRUTE_BELOW = 4096
# Pairs expanded per step: bounds transient memory (about 40 bytes per pair).
_EXPAND_STEP = 1 << 21
_MAX_CHUNK_BITS = 24
_MAX_FLIPS = 3
# Chunks must be more than T apart by this much, so float32 rounding can never hide a pair.
_PLAN_MARGIN = 1e-3

# Cost model (CPU seconds), fitted on a 2-core x86 machine; only the ratios matter.
_C_BRUTE_PAIR = 3.0e-9
_C_SORT_ITEM = 2.2e-7
_C_TABLE_SLOT = 2.6e-9
_C_PASS = 1.0e-5
_C_PROBE = 1.0e-8
_C_CANDIDATE = 1.2e-8


def _empty() -> Neighbours:
    empty = np.zeros(0, np.int64)
    return Neighbours(empty, empty, np.zeros(0, np.float32))


def _workers(workers: int) -> int:
    return workers if workers > 0 else usable_cores()


def _finish(n: int, i: list[np.ndarray], j: list[np.ndarray], d: list[np.ndarray]) -> Neighbours:
    """Concatenate, drop repeats (a pair can be found through several chunks), sort by (i, j)."""
    if not i:
        return _empty()
    ii = np.concatenate(i).astype(np.int64)
    jj = np.concatenate(j).astype(np.int64)
    dd = np.concatenate(d).astype(np.float32)
    keys, first = np.unique(ii * max(n, 1) + jj, return_index=True)
    return Neighbours(keys // max(n, 1), keys % max(n, 1), dd[first])


# --------------------------------------------------------------------------- hashes


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
        return _empty()
    plan = None
    if method != "brute":
        plan = plan_hash_index(n, threshold, dhash_weight, force=method == "index")
    if plan is None:
        return _hash_brute(feats, threshold, dhash_weight)
    return _hash_index(feats, threshold, dhash_weight, plan, _workers(workers))


@dataclass(frozen=True)
class _Prefilter:
    """An integer test implied by distance <= threshold: popcount of `columns` <= `cap`."""

    columns: tuple[int, ...]
    cap: int


def _prefilter(threshold: float, dhash_weight: float) -> _Prefilter:
    """The cheapest sound integer test: one column's popcount, or both columns' sum."""
    target = threshold + _PLAN_MARGIN
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
    return _finish(n, out_i, out_j, out_d)


@dataclass(frozen=True)
class HashChunk:
    """Bits [shift, shift + bits) of column 0 (dHash) or 1 (pHash), probed within `flips` bits."""

    column: int
    shift: int
    bits: int
    flips: int


@dataclass(frozen=True)
class HashPlan:
    chunks: tuple[HashChunk, ...]
    #: Cost-model estimates (seconds) for this plan and for brute force.
    cost: float
    brute_cost: float


@lru_cache(maxsize=4096)
def _volume(bits: int, flips: int) -> int:
    """Bit patterns of `bits` bits with at most `flips` ones: the probes per item and chunk."""
    return sum(math.comb(bits, r) for r in range(flips + 1))


def _chunk_cost(n: int, bits: int, flips: int) -> float:
    slots = 1 << bits
    masks = _volume(bits, flips)
    candidates = n * (n - 1) / 2 * masks / slots
    return (
        n * _C_SORT_ITEM
        + slots * _C_TABLE_SLOT
        + masks * (_C_PASS + _C_PROBE * n / 2)
        + candidates * _C_CANDIDATE
    )


_Layout = tuple[float, tuple[tuple[int, int, int], ...]]


def _column_layouts(n: int, need: int) -> list[_Layout]:
    """Cheapest layout of one 64-bit column per number of units u = sum(flips + 1), u <= need.

    A layout is m chunks of equal width, the first `j` of them one flip more tolerant.
    Returns, for each u, (cost, ((bits, flips, count), ...)).
    """
    none: tuple[tuple[int, int, int], ...] = ()
    best: list[_Layout] = [(0.0, none)] + [(math.inf, none) for _ in range(need)]
    for bits in range(4, _MAX_CHUNK_BITS + 1):
        for m in range(1, 64 // bits + 1):
            for flips in range(_MAX_FLIPS):
                low, high = _chunk_cost(n, bits, flips), _chunk_cost(n, bits, flips + 1)
                for j in range(m + 1):
                    if flips + 1 > _MAX_FLIPS and j:
                        break
                    units = min(need, m * (flips + 1) + j)
                    cost = (m - j) * low + j * high
                    if cost < best[units][0]:
                        layout = tuple(
                            x for x in ((bits, flips + 1, j), (bits, flips, m - j)) if x[2] > 0
                        )
                        best[units] = (cost, layout)
    return best


def plan_hash_index(
    n: int, threshold: float, dhash_weight: float, *, force: bool = False
) -> HashPlan | None:
    """The cheapest exact chunk plan, or None when brute force is estimated to be cheaper."""
    brute = n * (n - 1) / 2 * _C_BRUTE_PAIR
    if n < _BRUTE_BELOW and not force:
        return None
    weights = (dhash_weight, 1.0 - dhash_weight)
    target = threshold + _PLAN_MARGIN
    # Units per column beyond which more tolerance cannot help.
    needs = [int(target / w) + 1 if w > 0 else 0 for w in weights]
    options = [_column_layouts(n, need) if need else _column_layouts(n, 0) for need in needs]
    best_cost, best_pick = math.inf, None
    for u_d, (cost_d, lay_d) in enumerate(options[0]):
        for u_p, (cost_p, lay_p) in enumerate(options[1]):
            if weights[0] * u_d + weights[1] * u_p <= target:
                continue
            if cost_d + cost_p < best_cost:
                best_cost, best_pick = cost_d + cost_p, (lay_d, lay_p)
    if best_pick is None or (best_cost >= brute and not force):
        return None
    chunks: list[HashChunk] = []
    for column, layout in enumerate(best_pick):
        shift = 0
        for bits, flips, count in layout:
            for _ in range(count):
                chunks.append(HashChunk(column, shift, bits, flips))
                shift += bits
    return HashPlan(tuple(chunks), best_cost, brute)


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
        for pa, pb in _chunk_candidates(values[order], chunk.bits, chunk.flips):
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
    return _finish(n, out_i, out_j, out_d)


@lru_cache(maxsize=64)
def _low_masks(bits: int, flips: int) -> np.ndarray:
    """All masks below bit `bits` with at most `flips` ones, 0 first."""
    from itertools import combinations

    masks = [0]
    for r in range(1, min(max(flips, 0), bits) + 1):
        for positions in combinations(range(bits), r):
            masks.append(sum(1 << p for p in positions))
    return np.array(masks, dtype=np.int64)


def _chunk_candidates(
    ordered: np.ndarray, bits: int, flips: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pairs of positions in `ordered` (sorted chunk values) at most `flips` bits apart, once each.

    A direct-address table maps a chunk value to the start of its run in `ordered`. Each item
    with value u probes u ^ f for every mask f of at most `flips` bits, but only when
    u < u ^ f (bit h of u is 0, h = the highest bit of f), so no pair is produced twice. Items
    are visited in sorted order, so the table is read almost sequentially.
    """
    ordered = ordered.astype(np.intp, copy=False)
    n = len(ordered)
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    start = np.flatnonzero(first)
    count = np.diff(start, append=n)
    del first
    table = np.full(1 << bits, -1, dtype=np.intp)
    table[ordered[start]] = start
    run_length = np.zeros(n, dtype=np.intp)
    run_length[start] = count

    multi = np.flatnonzero(count >= 2)
    if len(multi):
        # Equal values: pair each member of a run with the members after it.
        members = np.repeat(start[multi], count[multi])
        members += np.arange(len(members)) - np.repeat(
            np.cumsum(count[multi]) - count[multi], count[multi]
        )
        heads = np.repeat(start[multi], count[multi])
        yield from _to_runs(members, heads, run_length[heads], same=True)
    if flips <= 0:
        return
    probe = np.empty(n, dtype=np.intp)
    for h in range(bits):
        side = np.flatnonzero((ordered & (1 << h)) == 0)
        if not len(side):
            continue
        side_val = ordered[side]
        q = probe[: len(side)]
        top = 1 << h
        for low in _low_masks(h, flips - 1).tolist():
            np.bitwise_xor(side_val, top | low, out=q)
            hh = table[q]
            found = np.flatnonzero(hh >= 0)
            if len(found):
                runs = hh[found]
                yield from _to_runs(side[found], runs, run_length[runs], same=False)


# Runs longer than this are expanded with repeat/cumsum instead of member by member.
_SHORT_RUN = 16


def _to_runs(
    pa: np.ndarray, run_start: np.ndarray, run_len: np.ndarray, *, same: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pairs (pa[k], each member of run k); with `same`, only pairs with pa < pb."""
    if not len(pa):
        return
    longest = int(run_len.max())
    if longest <= _SHORT_RUN:
        # Most runs hold one item: emit member 0 of every run, then member 1 of the longer ones...
        offset = 0
        while True:
            yield _only_after(pa, run_start + offset) if same else (pa, run_start + offset)
            offset += 1
            more = np.flatnonzero(run_len > offset)
            if not len(more):
                return
            pa, run_start, run_len = pa[more], run_start[more], run_len[more]
    ends = np.cumsum(run_len)
    lo = 0
    while lo < len(pa):
        base = int(ends[lo - 1]) if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, base + _EXPAND_STEP, side="right")))
        sizes = run_len[lo:hi]
        if hi == lo + 1 and int(sizes[0]) > _EXPAND_STEP:
            # One run of millions of equal values: walk it in slices.
            for s0 in range(0, int(sizes[0]), _EXPAND_STEP):
                pb = np.arange(s0, min(int(sizes[0]), s0 + _EXPAND_STEP)) + run_start[lo]
                pa_k = np.full(len(pb), pa[lo])
                yield _only_after(pa_k, pb) if same else (pa_k, pb)
        else:
            offsets = np.cumsum(sizes) - sizes
            pb = np.repeat(run_start[lo:hi] - offsets, sizes) + np.arange(int(sizes.sum()))
            pa_k = np.repeat(pa[lo:hi], sizes)
            yield _only_after(pa_k, pb) if same else (pa_k, pb)
        lo = hi


def _only_after(pa: np.ndarray, pb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.flatnonzero(pa < pb)
    return pa[keep], pb[keep]


# --------------------------------------------------------------------------- embeddings

_EMB_ROWS = 2048
_EMB_COLS = 8192
# Float32 products are exact to about 1e-5 here; candidates get this much slack, then the
# pair is decided by one float64 dot product, the same for every method.
_EMB_SLACK = 1e-3
_PRUNE_BELOW = 8192
_PRUNE_DIMS = (32, 64, 96, 128, 192, 256, 384)
# Cost ratio of verifying one candidate pair to one full-width multiply-add per pair.
_VERIFY_PAIR = 4e-7
_GEMM_FLOP = 1.0e-11
# Exact search of 200,000 random 512-d rows takes minutes on 2 cores (it grows as n^2).
_APPROXIMATE_FROM = 200_000


def cosine_neighbours(
    embeddings: np.ndarray, max_distance: float, *, method: EmbedMethod = "auto"
) -> Neighbours:
    """Pairs with 1 - cosine <= max_distance; rows must be L2-normalised.

    "brute" and "index" are exact: candidates come from tiled float32 products (with slack),
    and each is decided by a float32 product of the two full rows. "approximate" (what "auto"
    uses from 200,000 rows on) decides the pairs it finds the same way but may miss a few
    (core.ann states how few). Memory: one tile plus O(n * dim).
    """
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    n = len(emb)
    if n < 2:
        return _empty()
    min_sim = 1.0 - max_distance - 1e-6
    if method == "approximate" or (method == "auto" and approximate_suits(n, max_distance)):
        return _approximate(emb, min_sim)
    rows_m, cols_m = emb, emb
    if method == "index" or (method == "auto" and n >= _PRUNE_BELOW):
        bound = _cosine_bound(emb, min_sim, force=method == "index")
        if bound is not None:
            rows_m, cols_m = bound
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    pruned = rows_m is not emb
    slack = np.float32(min_sim - _EMB_SLACK) if pruned else np.float32(min_sim)
    for r0, c0, hot, tile in _tile_candidates(rows_m, cols_m, slack):
        c1 = c0 + tile.shape[1]
        # Decide on real float32 products: the tile itself when it holds them, else one BLAS
        # product of the surviving rows (a per-pair gather is ~10x slower on dense sets).
        sims = tile[hot] if not pruned else emb[hot + r0] @ emb[c0:c1].T
        rr, cc = np.nonzero(sims >= np.float32(min_sim))
        ii, jj = hot[rr] + r0, cc + c0
        keep = ii < jj
        if keep.any():
            out_i.append(ii[keep])
            out_j.append(jj[keep])
            out_d.append(np.clip(1.0 - sims[rr[keep], cc[keep]], 0.0, 2.0).astype(np.float32))
    return _finish(n, out_i, out_j, out_d)


def approximate_suits(n: int, max_distance: float) -> bool:
    """Whether "auto" takes the approximate search: a large set, and a threshold tight enough
    for its plan's recall (core.ann.MIN_COSINE); otherwise the exact search, however long."""
    from .ann import MIN_COSINE

    return n >= _APPROXIMATE_FROM and 1.0 - max_distance >= MIN_COSINE - 1e-9


def _approximate(emb: np.ndarray, min_sim: float) -> Neighbours:
    from .ann import lsh_pairs, plan_lsh

    n = len(emb)
    found = _empty()
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    held = 0
    for i, j, sims in lsh_pairs(emb, np.float32(min_sim), plan_lsh(n)):
        out_i.append(i)
        out_j.append(j)
        out_d.append(np.clip(1.0 - sims, 0.0, 2.0).astype(np.float32))
        held += len(i)
        if held > _EXPAND_STEP:
            # A pair comes back from every table it shares a bucket in: drop repeats as we go,
            # so memory follows the distinct pairs (a burst of near-identical photos has many).
            found = _finish(n, [found.i, *out_i], [found.j, *out_j], [found.distance, *out_d])
            out_i, out_j, out_d, held = [], [], [], 0
    return _finish(n, [found.i, *out_i], [found.j, *out_j], [found.distance, *out_d])


def _tile_candidates(
    rows_m: np.ndarray, cols_m: np.ndarray, bound: np.float32
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """(r0, c0, rows with a value >= bound, tile) for upper-triangle tiles of rows_m . cols_m.

    The tile is a view of one reused buffer: consume it before the next one is produced.
    """
    n = len(rows_m)
    buf = np.empty((min(n, _EMB_ROWS), min(n, _EMB_COLS)), dtype=np.float32)
    for r0 in range(0, n, _EMB_ROWS):
        r1 = min(n, r0 + _EMB_ROWS)
        block = rows_m[r0:r1]
        for c0 in range(r0, n, _EMB_COLS):
            c1 = min(n, c0 + _EMB_COLS)
            tile = buf[: r1 - r0, : c1 - c0]
            np.matmul(block, cols_m[c0:c1].T, out=tile)
            hot = np.flatnonzero(tile.max(axis=1) >= bound)
            if len(hot):
                yield r0, c0, hot, tile


def _cosine_bound(
    emb: np.ndarray, min_sim: float, *, force: bool = False
) -> tuple[np.ndarray, np.ndarray] | None:
    """Short row/column vectors whose product bounds the cosine from above, or None.

    With mean m, c_x = m.x and z = x - m: x.y = c_x + c_y - |m|^2 + z_x.z_y. Split z on
    orthonormal axes A (principal axes of a sample) into head = A^T z (k values) and the rest,
    of norm t = sqrt(|z|^2 - |head|^2): z_x.z_y <= head_x.head_y + t_x t_y (Cauchy-Schwarz).
    Rows get [head, g, 1, t] and columns [head, 1, g, t] with g = c - |m|^2 / 2, so one product
    of width k + 3 bounds x.y. Any orthonormal A keeps the bound valid; good axes make it tight.
    k is chosen on a sample: the narrowest that still rules out almost every pair.
    """
    n, dim = emb.shape
    rng = np.random.default_rng(0)
    fit = emb[np.sort(rng.choice(n, size=min(n, 16384), replace=False))]
    mean = fit.mean(axis=0, dtype=np.float64)
    centred = fit - mean.astype(np.float32)
    _, axes = np.linalg.eigh((centred.T @ centred).astype(np.float64))
    axes = np.ascontiguousarray(axes[:, ::-1])  # largest variance first
    widths = [k for k in _PRUNE_DIMS if k < dim]
    if not widths:
        return None
    sample_r = rng.choice(n, size=min(n, 512), replace=False)
    sample_c = rng.choice(n, size=min(n, 4096), replace=False)
    head_r, g_r, norm_r = _project(emb[sample_r], mean, axes[:, : widths[-1]])
    head_c, g_c, norm_c = _project(emb[sample_c], mean, axes[:, : widths[-1]])
    other = sample_r[:, None] != sample_c[None, :]
    prod = np.add.outer(g_r, g_c)
    done = 0
    full_cost = n * n / 2 * dim * _GEMM_FLOP
    best = (full_cost, dim)
    for k in widths:
        prod += head_r[:, done:k] @ head_c[:, done:k].T
        done = k
        tail_r = _tail_norm(norm_r, head_r[:, :k])
        tail_c = _tail_norm(norm_c, head_c[:, :k])
        passing = int(np.count_nonzero((prod + np.outer(tail_r, tail_c) >= min_sim) & other))
        rate = (passing + 1) / prod.size  # +1: never trust an empty sample completely
        cost = n * n / 2 * ((k + 3) * _GEMM_FLOP + rate * _VERIFY_PAIR)
        if cost < best[0]:
            best = (cost, k)
    k = best[1]
    if k >= dim:
        if not force:
            return None
        k = widths[-1]
    rows = np.empty((n, k + 3), dtype=np.float32)
    cols = np.empty((n, k + 3), dtype=np.float32)
    step = 16384
    for s in range(0, n, step):
        e = min(n, s + step)
        head, g, norm = _project(emb[s:e], mean, axes[:, :k])
        tail = _tail_norm(norm, head)
        rows[s:e, :k] = head
        cols[s:e, :k] = head
        rows[s:e, k], rows[s:e, k + 1], rows[s:e, k + 2] = g, 1.0, tail
        cols[s:e, k], cols[s:e, k + 1], cols[s:e, k + 2] = 1.0, g, tail
    return rows, cols


def _project(
    emb: np.ndarray, mean: np.ndarray, axes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(head on `axes`, g = m.x - |m|^2 / 2, |x - m|^2), in float64."""
    x = emb.astype(np.float64)
    g = x @ mean - float(mean @ mean) / 2
    z = x - mean
    return z @ axes, g, np.einsum("ij,ij->i", z, z)


def _tail_norm(norm2: np.ndarray, head: np.ndarray) -> np.ndarray:
    tail2 = norm2 - np.einsum("ij,ij->i", head, head)
    # Rounding can make the rest look shorter than it is; a little extra keeps the bound.
    return np.asarray(np.sqrt(np.maximum(tail2, 0.0)) + 1e-6, dtype=np.float64)


# -- embeddings that carry a quarter-turned copy ------------------------------------------


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    out: np.ndarray = x / np.maximum(norms, np.float32(1e-12))
    return out


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
    a0, a1 = l2_normalise(a[:dim]), l2_normalise(a[dim : 2 * dim])
    b0, b1 = l2_normalise(b[:dim]), l2_normalise(b[dim : 2 * dim])
    best = max(float(a0 @ b0), float(a0 @ b1), float(a1 @ b0))
    return min(2.0, max(0.0, 1.0 - best))


# --------------------------------------------------------------------------- queries
# A sort that adds k photos to a library of n asks k questions, not n: pairs between the
# query rows and every row, O(k * n) work in tiles, exact (the same formulas as above).

_QUERY_TILE = 1 << 16


def _pairs_of(
    query: np.ndarray, rows: list[np.ndarray], cols: list[np.ndarray], d: list[np.ndarray], n: int
) -> Neighbours:
    """(query row, column) hits as pairs (i < j), each once; self-pairs dropped."""
    if not rows:
        return _empty()
    q = query[np.concatenate(rows)]
    c = np.concatenate(cols).astype(np.int64)
    keep = q != c
    q, c, dist = q[keep], c[keep], np.concatenate(d)[keep]
    return _finish(n, [np.minimum(q, c)], [np.maximum(q, c)], [dist])


def hash_query(
    features: np.ndarray, query: np.ndarray, threshold: float, dhash_weight: float
) -> Neighbours:
    """Pairs within `threshold` that involve at least one of the `query` rows."""
    feats = np.ascontiguousarray(features, dtype=np.uint64).reshape(-1, 2)
    query = np.unique(np.asarray(query, dtype=np.int64))
    n = len(feats)
    if n < 2 or len(query) == 0 or threshold < 0:
        return _empty()
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
    return _pairs_of(query, rows, cols, dists, n)


def cosine_query(embeddings: np.ndarray, query: np.ndarray, max_distance: float) -> Neighbours:
    """Pairs with 1 - cosine <= max_distance involving a `query` row; rows L2-normalised."""
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    query = np.unique(np.asarray(query, dtype=np.int64))
    n = len(emb)
    if n < 2 or len(query) == 0:
        return _empty()
    min_sim = np.float32(1.0 - max_distance - 1e-6)
    q = emb[query]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    dists: list[np.ndarray] = []
    step = max(1, _QUERY_TILE * 4 // len(query))
    for c0 in range(0, n, step):
        sims = q @ emb[c0 : c0 + step].T
        rr, cc = np.nonzero(sims >= min_sim)
        if len(rr):
            rows.append(rr)
            cols.append(cc + c0)
            dists.append(np.clip(1.0 - sims[rr, cc], 0.0, 2.0).astype(np.float32))
    return _pairs_of(query, rows, cols, dists, n)


# Library rows near new ones: a superset, decided afterwards on the full features.
_CROSS_ROWS = 8192
# The library side is normalised per tile here and once per row by the exact search, which
# can round differently: candidates get this much room.
_CROSS_SLACK = 1e-4


def cosine_cross(library: np.ndarray, new: np.ndarray, max_distance: float) -> np.ndarray:
    """Rows of `library` within `max_distance` (1 - cosine) of some `new` row, sorted.

    Neither side needs to be normalised; the library is read tile by tile (it may be a
    memory-mapped float16 file far larger than memory allows in float32).
    """
    if len(library) == 0 or len(new) == 0:
        return np.zeros(0, np.int64)
    q = np.ascontiguousarray(l2_normalise(new).T)
    min_sim = np.float32(1.0 - max_distance - 1e-6 - _CROSS_SLACK)
    hits: list[np.ndarray] = []
    buf = np.empty((min(len(library), _CROSS_ROWS), library.shape[1]), dtype=np.float32)
    for r0 in range(0, len(library), _CROSS_ROWS):
        src = library[r0 : r0 + _CROSS_ROWS]
        tile = buf[: len(src)]
        np.copyto(tile, src)
        # Scaling the best product by the row's norm is the same test as normalising the row
        # first, on a matrix a fifth of the size.
        norms = np.sqrt(np.einsum("ij,ij->i", tile, tile))
        best = (tile @ q).max(axis=1)
        near = np.flatnonzero(best >= min_sim * np.maximum(norms, np.float32(1e-12)))
        if len(near):
            hits.append(near + r0)
    return np.concatenate(hits).astype(np.int64) if hits else np.zeros(0, np.int64)


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


# --------------------------------------------------------------------------- small vectors
# Pairs within a Euclidean radius among short vectors (a few to a few dozen values), through a
# grid on the leading coordinates: every coordinate of a pair within r differs by at most r,
# so with cells of side r the pair sits in the same or an adjacent cell on each gridded axis.
# Exact; the work is the pairs in adjacent cells, not n^2. Put the widest-spread coordinates
# first (e.g. an orthonormal transform ordered by variance): they make the cells selective.

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
        return _empty()
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
        for pa, pb in _to_runs(rows[hit], lo[hit], count[hit], same=False):
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
    return _finish(n, out_i, out_j, out_d)


def radius_neighbours(points: np.ndarray, radius: float) -> Neighbours:
    """All pairs with Euclidean distance <= radius, exact (grid on the leading coordinates)."""
    pts = np.ascontiguousarray(points, dtype=np.float64)
    return _grid_pairs(pts, np.arange(len(pts)), radius, upper=True)


def radius_query(points: np.ndarray, query: np.ndarray, radius: float) -> Neighbours:
    """`radius_neighbours`, only the pairs that involve a `query` row: O(k) probes, not n^2."""
    pts = np.ascontiguousarray(points, dtype=np.float64)
    return _grid_pairs(pts, np.unique(np.asarray(query, dtype=np.int64)), radius, upper=False)
