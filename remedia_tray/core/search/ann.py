"""Approximate all-pairs cosine search for large sets: multi-table cross-polytope hashing.

Each table hashes every unit vector by two independent groups of `m` Gaussian projections; a
group's code is the index and sign of its largest projection, so a table has (2m)^2 buckets.
The chance that two vectors share a bucket depends only on the angle between them (Gaussian
projections are rotation invariant), never on how the collection is spread, so the recall at a
given cosine is a property of the plan. Pairs are looked for only inside buckets, with one
float32 product per pair: every pair found is decided exactly as the exact search decides it;
only pairs that share no bucket in any table are missed.

Measured on 512-d vectors (2 groups of 32): a pair at cosine 0.92 shares a table's bucket
with probability 0.30, at 0.85 (the loosest default threshold) 0.17, an unrelated pair
0.00028. With 46 tables (the plan for a million rows) a pair at 0.92 is missed with
probability about 1e-7, one at 0.85 about 2e-4.

Memory: one int32 code per row and table, plus one bucket's rows at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# Rows hashed per step: bounds the projection buffer (step x pool floats).
_STEP = 8192
# Projections are drawn once into a pool; each group uses m columns of it picked at random.
# This costs one product of width _POOL per row instead of tables x groups x m, and the few
# columns two groups share leave them nearly independent (the recall is measured, not assumed).
_POOL = 1024
# Buckets up to this many rows are searched in batches of equal-ish size; a larger one is
# split by one more group of projections (see _join).
_BUCKET_CAP = 4096
_MAX_SPLITS = 3
_TILE = 2048
_BATCH_FLOATS = 1 << 23
# Buckets smaller than this are searched in batches (a Python step per bucket would cost
# more than its product); larger ones one by one, where x @ x.T runs as one symmetric BLAS call.
_BATCH_BELOW = 64


@dataclass(frozen=True)
class LshPlan:
    """`tables` tables of `groups` cross-polytope codes over `m` projections each."""

    tables: int
    m: int
    groups: int
    seed: int = 0


# (m, groups) by the rows they suit (buckets of about 250 rows at most: products big enough
# for BLAS to run near full speed, few enough pairs),
# and the chance a pair at cosine 0.92 shares a table's bucket, measured on random 512-d
# pairs. Gaussian projections make it depend on the angle, not on how the rows are spread.
_LAYOUTS = ((1 << 18, 16, 2, 0.346), (1 << 62, 32, 2, 0.298))
#: The lowest cosine threshold the plans are measured for (a pair there shares a table's
#: bucket with chance 0.17). Looser thresholds, such as the bundled AI model's (cosine 0.2 to
#: 0.47), would need many times the tables: the exact search serves them.
MIN_COSINE = 0.85


def plan_lsh(n: int, miss: float = 1e-7) -> LshPlan:
    """A layout for n rows, with tables enough to miss a pair at 0.92 with chance `miss`."""
    _, m, groups, share = next(layout for layout in _LAYOUTS if n <= layout[0])
    tables = math.ceil(math.log(miss) / math.log(1.0 - share))
    return LshPlan(tables=tables, m=m, groups=groups)


def lsh_pairs(
    emb: np.ndarray, min_sim: np.float32, plan: LshPlan
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(i, j, float32 similarity) with i < j and similarity >= min_sim, bucket by bucket.

    A pair can come out once per table it shares a bucket in; the caller drops repeats.
    """
    n = len(emb)
    rng = np.random.default_rng(plan.seed)
    codes = _codes(emb, plan, rng)
    for t in range(plan.tables):
        order = np.argsort(codes[t], kind="stable")
        sorted_codes = codes[t][order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        sizes = np.diff(np.r_[starts, n])
        for b in np.flatnonzero(sizes >= _BATCH_BELOW).tolist():
            yield from _join(emb, order[starts[b] : starts[b] + sizes[b]], min_sim, plan, rng, 0)
        small = np.flatnonzero((sizes >= 2) & (sizes < _BATCH_BELOW))
        yield from _join_batched(emb, order, starts[small], sizes[small], min_sim)
    del codes


def _codes(emb: np.ndarray, plan: LshPlan, rng: np.random.Generator) -> np.ndarray:
    """One int32 bucket code per table and row."""
    n, dim = emb.shape
    # Projections as rows: the columns a group picks are then whole rows to gather, and the
    # largest |value| is a running comparison along contiguous rows (5x faster than columns).
    pool_t = np.ascontiguousarray(rng.standard_normal((dim, _POOL), dtype=np.float32).T)
    picks = np.stack(
        [rng.choice(_POOL, size=plan.m, replace=False) for _ in range(plan.tables * plan.groups)]
    )
    out = np.empty((plan.tables, n), dtype=np.int32)
    for s in range(0, n, _STEP):
        h = pool_t @ emb[s : s + _STEP].T  # (pool, rows)
        width = h.shape[1]
        k = np.abs(h)[picks.ravel()].reshape(len(picks), plan.m, width).argmax(axis=1)
        negative = h[picks[np.arange(len(picks))[:, None], k], np.arange(width)[None, :]] < 0
        code = (2 * k + negative).astype(np.int32).reshape(plan.tables, plan.groups, width)
        total = np.zeros((plan.tables, width), dtype=np.int32)
        for g in range(plan.groups):
            total = total * (2 * plan.m) + code[:, g]
        out[:, s : s + width] = total
    return out


def _argmax_codes(h: np.ndarray, m: int) -> np.ndarray:
    """Per row and group of m values: 2 * (index of the largest |value|) + (it is < 0)."""
    h = h.reshape(len(h), -1, m)
    k = np.abs(h).argmax(axis=2)
    negative = np.take_along_axis(h, k[:, :, None], axis=2)[:, :, 0] < 0
    codes: np.ndarray = (2 * k + negative).astype(np.int32)
    return codes


def _join_batched(
    emb: np.ndarray, order: np.ndarray, starts: np.ndarray, sizes: np.ndarray, min_sim: np.float32
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Pairs within many small buckets: buckets of similar size padded to one size, one
    batched product per batch (a Python loop per bucket would cost more than the products)."""
    by_size = np.argsort(sizes, kind="stable")
    starts, sizes = starts[by_size], sizes[by_size]
    dim = emb.shape[1]
    lo = 0
    while lo < len(sizes):
        width = int(sizes[min(len(sizes) - 1, lo + 63)])
        count = max(1, _BATCH_FLOATS // (width * dim))
        hi = min(len(sizes), lo + count)
        width = int(sizes[hi - 1])
        offsets = np.arange(width)
        valid = offsets[None, :] < sizes[lo:hi, None]
        slots = np.where(valid, starts[lo:hi, None] + offsets[None, :], starts[lo:hi, None])
        members = order[slots]
        rows = emb[members]
        # A contiguous transposed copy: numpy hands stacked products to BLAS only then.
        sims = np.matmul(rows, np.ascontiguousarray(rows.transpose(0, 2, 1)))
        # Upper triangle of each bucket, real rows only (padding repeats the first row).
        hit = sims >= min_sim
        hit &= np.triu(np.ones((width, width), dtype=bool), 1)[None]
        hit &= valid[:, None, :]
        bb, rr, cc = np.nonzero(hit)
        if len(bb):
            a, b = members[bb, rr], members[bb, cc]
            yield np.minimum(a, b), np.maximum(a, b), sims[bb, rr, cc]
        lo = hi


def _join(
    emb: np.ndarray,
    members: np.ndarray,
    min_sim: np.float32,
    plan: LshPlan,
    rng: np.random.Generator,
    depth: int,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every pair of one bucket within min_sim.

    Dense regions of a real collection can fill one bucket with far more than the cap: such
    a bucket is split by one more group of projections (more misses there, bounded cost), and
    after a few splits searched in tiles (all its pairs, however slow).
    """
    if len(members) > _BUCKET_CAP and depth < _MAX_SPLITS:
        proj = rng.standard_normal((emb.shape[1], plan.m), dtype=np.float32)
        sub = _argmax_codes(emb[members] @ proj, plan.m)[:, 0]
        order = np.argsort(sub, kind="stable")
        members, sub = members[order], sub[order]
        starts = np.flatnonzero(np.r_[True, sub[1:] != sub[:-1]])
        ends = np.r_[starts[1:], len(members)]
        for s, e in zip(starts.tolist(), ends.tolist()):
            if e - s >= 2:
                yield from _join(emb, members[s:e], min_sim, plan, rng, depth + 1)
        return
    rows = emb[members]
    for r0 in range(0, len(members), _TILE):
        # Rows r0.. against themselves and the rows after them: each pair once.
        sims = rows @ rows.T if len(rows) <= _TILE else rows[r0 : r0 + _TILE] @ rows[r0:].T
        rr, cc = np.nonzero(sims >= min_sim)
        keep = rr < cc
        if keep.any():
            rr, cc = rr[keep], cc[keep]
            a, b = members[rr + r0], members[cc + r0]
            yield np.minimum(a, b), np.maximum(a, b), sims[rr, cc]
