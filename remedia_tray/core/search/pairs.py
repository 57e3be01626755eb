"""The pairs every search returns, and the few steps all searches share to build them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Neighbours:
    """Pairs (i < j) whose distance is within the engine's threshold, sorted by (i, j)."""

    i: np.ndarray
    j: np.ndarray
    distance: np.ndarray


#: Pairs expanded per step: bounds transient memory (about 40 bytes per pair).
EXPAND_STEP = 1 << 21
# Runs longer than this are expanded with repeat/cumsum instead of member by member.
_SHORT_RUN = 16


def no_pairs() -> Neighbours:
    empty = np.zeros(0, np.int64)
    return Neighbours(empty, empty, np.zeros(0, np.float32))


def finish(n: int, i: list[np.ndarray], j: list[np.ndarray], d: list[np.ndarray]) -> Neighbours:
    """Concatenate, drop repeats (a pair can be found through several chunks), sort by (i, j)."""
    if not i:
        return no_pairs()
    ii = np.concatenate(i).astype(np.int64)
    jj = np.concatenate(j).astype(np.int64)
    dd = np.concatenate(d).astype(np.float32)
    keys, first = np.unique(ii * max(n, 1) + jj, return_index=True)
    return Neighbours(keys // max(n, 1), keys % max(n, 1), dd[first])


def query_pairs(
    query: np.ndarray, rows: list[np.ndarray], cols: list[np.ndarray], d: list[np.ndarray], n: int
) -> Neighbours:
    """(query row, column) hits as pairs (i < j), each once; self-pairs dropped."""
    if not rows:
        return no_pairs()
    q = query[np.concatenate(rows)]
    c = np.concatenate(cols).astype(np.int64)
    keep = q != c
    q, c, dist = q[keep], c[keep], np.concatenate(d)[keep]
    return finish(n, [np.minimum(q, c)], [np.maximum(q, c)], [dist])


def to_runs(
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
        hi = max(lo + 1, int(np.searchsorted(ends, base + EXPAND_STEP, side="right")))
        sizes = run_len[lo:hi]
        if hi == lo + 1 and int(sizes[0]) > EXPAND_STEP:
            # One run of millions of equal values: walk it in slices.
            for s0 in range(0, int(sizes[0]), EXPAND_STEP):
                pb = np.arange(s0, min(int(sizes[0]), s0 + EXPAND_STEP)) + run_start[lo]
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
