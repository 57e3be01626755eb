"""The multi-index plan for hash search: which bit chunks to index, and their candidates.

The weighted distance w*popcount(dhash ^ dhash') + (1-w)*popcount(phash ^ phash') is at least
sum_c weight_c * popcount(chunk_c ^ chunk_c') over disjoint bit chunks, so if every chunk
differs in more than t_c bits the pair is further than sum_c weight_c * (t_c + 1). A plan whose
chunks satisfy sum_c weight_c * (t_c + 1) > T therefore finds every pair within T in at least
one chunk, by probing the buckets within t_c bit flips (the general pigeonhole principle). A
small cost model picks the plan, or none when tiled brute force is cheaper (small sets, loose
thresholds).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .pairs import to_runs

# Below this many items brute force is cheaper than planning an index.
_BRUTE_BELOW = 4096
_MAX_CHUNK_BITS = 24
_MAX_FLIPS = 3
#: Chunks must be more than T apart by this much, so float32 rounding can never hide a pair.
PLAN_MARGIN = 1e-3

# Cost model (CPU seconds), fitted on a 2-core x86 machine; only the ratios matter.
_C_BRUTE_PAIR = 3.0e-9
_C_SORT_ITEM = 2.2e-7
_C_TABLE_SLOT = 2.6e-9
_C_PASS = 1.0e-5
_C_PROBE = 1.0e-8
_C_CANDIDATE = 1.2e-8


@dataclass(frozen=True)
class HashChunk:
    """Bits [shift, shift + bits) of column 0 (dHash) or 1 (pHash), probed within `flips` bits."""

    column: int
    shift: int
    bits: int
    flips: int


@dataclass(frozen=True)
class HashPlan:
    """The chunks a multi-index search probes; together they find every pair within T."""

    chunks: tuple[HashChunk, ...]


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
    target = threshold + PLAN_MARGIN
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
    return HashPlan(tuple(chunks))


@lru_cache(maxsize=64)
def _low_masks(bits: int, flips: int) -> np.ndarray:
    """All masks below bit `bits` with at most `flips` ones, 0 first."""
    from itertools import combinations

    masks = [0]
    for r in range(1, min(max(flips, 0), bits) + 1):
        for positions in combinations(range(bits), r):
            masks.append(sum(1 << p for p in positions))
    return np.array(masks, dtype=np.int64)


def chunk_candidates(
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
        yield from to_runs(members, heads, run_length[heads], same=True)
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
                yield from to_runs(side[found], runs, run_length[runs], same=False)
