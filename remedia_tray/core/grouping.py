"""Complete-linkage grouping: a photo joins a group only if it is similar to every member.

Pure functions over indices. Inputs are the candidate pairs within the threshold (from an
engine's neighbour search); every other pair counts as "not similar" (infinitely far). Items
must be in a canonical order (the caller sorts by path), which makes the result independent of
input order; the order of the pairs themselves never matters.

Algorithm: exact agglomerative complete linkage cut at the threshold, by the
nearest-neighbour chain, run separately on each connected component of the pair graph (a
group never spans two components). Ties go to the lowest index (the chain's predecessor first,
as the algorithm requires), so the result is deterministic.

Cost, for n items and E pairs: O(n + E log E) to clean the pairs and find components
(vectorised hooking and pointer jumping), nothing at all for items without a pair, and O(1)
per isolated pair. A component of m > 2 items and e pairs runs the chain either on sparse
neighbour maps, O(e) memory and O(sum of neighbour-map sizes touched) time (close to O(e) for
the small groups photos form), or, when the component is large and dense, on an m x m matrix,
O(m^2) time and memory. Both give
identical results; only components are ever materialised, never an n x n matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# A component uses the dense matrix when it has at least this many members, at most
# DENSE_MAX, and at least a quarter of all possible pairs (the matrix is then the smaller).
DENSE_MIN = 48
DENSE_MAX = 4096


def complete_linkage(
    n: int,
    i: np.ndarray,
    j: np.ndarray,
    distance: np.ndarray,
    threshold: float,
    *,
    must_link: Sequence[Sequence[int]] = (),
) -> list[list[int]]:
    """Groups of two or more indices; members ascending, groups ordered by first member.

    `must_link` sets (e.g. byte-identical files) are merged at distance 0 whatever the pairs say.
    """
    lo, hi, d = _clean_pairs(n, i, j, distance, threshold, must_link)
    if n == 0 or len(lo) == 0:
        return []

    # Only items that have a pair take part; `nodes` is ascending, so ids keep their order.
    nodes, inverse = np.unique(np.concatenate([lo, hi]), return_inverse=True)
    a, b = inverse[: len(lo)], inverse[len(lo) :]
    m = len(nodes)
    labels = component_labels(m, a, b)
    sizes = np.bincount(labels)

    groups: list[list[int]] = []
    # A component with two items is one pair within the threshold: a group as it stands.
    pair_edges = np.flatnonzero(sizes[labels[a]] == 2)
    groups.extend([int(x), int(y)] for x, y in zip(lo[pair_edges], hi[pair_edges]))

    big = np.flatnonzero(sizes[labels[a]] > 2)
    if len(big):
        groups.extend(_link_components(lo[big], hi[big], d[big], labels[a[big]], threshold))
    groups.sort()
    return groups


def component_labels(m: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the graph with edges (a, b) over 0..m-1: labels 0..k-1.

    Vectorised hooking and pointer jumping: each round hooks every edge's larger root under
    the smaller one, then flattens the trees; a few rounds suffice for photo graphs.
    """
    parent = np.arange(m)
    while True:
        ra, rb = parent[a], parent[b]
        moving = ra != rb
        if not moving.any():
            break
        np.minimum.at(parent, np.maximum(ra, rb)[moving], np.minimum(ra, rb)[moving])
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    _, labels = np.unique(parent, return_inverse=True)
    return labels.reshape(-1)


def _clean_pairs(
    n: int,
    i: np.ndarray,
    j: np.ndarray,
    distance: np.ndarray,
    threshold: float,
    must_link: Sequence[Sequence[int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs within the threshold as (lo < hi, distance), each once at its smallest distance."""
    i = np.asarray(i, dtype=np.int64).ravel()
    j = np.asarray(j, dtype=np.int64).ravel()
    d = np.asarray(distance, dtype=np.float64).ravel()
    within = d <= threshold + 1e-9
    i, j, d = i[within], j[within], d[within]
    extra_i: list[int] = []
    extra_j: list[int] = []
    for group in must_link:
        for pos, x in enumerate(group):
            for y in group[:pos]:
                extra_i.append(int(y))
                extra_j.append(int(x))
    if extra_i:
        i = np.concatenate([i, np.asarray(extra_i, np.int64)])
        j = np.concatenate([j, np.asarray(extra_j, np.int64)])
        d = np.concatenate([d, np.zeros(len(extra_i))])
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    keep = lo != hi
    lo, hi, d = lo[keep], hi[keep], d[keep]
    if len(lo) == 0:
        return lo, hi, d
    key = lo * max(n, int(hi.max()) + 1) + hi
    order = np.lexsort((d, key))
    key = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    pick = order[first]
    return lo[pick], hi[pick], d[pick]


def _link_components(
    lo: np.ndarray, hi: np.ndarray, d: np.ndarray, comp: np.ndarray, threshold: float
) -> list[list[int]]:
    """Complete linkage inside each component of three or more items."""
    order = np.argsort(comp, kind="stable")
    lo, hi, d, comp = lo[order], hi[order], d[order], comp[order]
    bounds = np.flatnonzero(np.diff(comp)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(comp)]])
    limit = threshold + 1e-9
    lo_l, hi_l, d_l = lo.tolist(), hi.tolist(), d.tolist()
    groups: list[list[int]] = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        members = sorted(set(lo_l[s:e]) | set(hi_l[s:e]))
        size = len(members)
        edges = e - s
        if DENSE_MIN <= size <= DENSE_MAX and 4 * edges >= size * (size - 1) // 2:
            clusters = _nn_chain_dense(members, lo[s:e], hi[s:e], d[s:e], limit)
        else:
            clusters = _nn_chain_sparse(members, lo_l[s:e], hi_l[s:e], d_l[s:e], limit)
        groups.extend(sorted(c) for c in clusters if len(c) >= 2)
    return groups


def _nn_chain_sparse(
    members: list[int], lo: list[int], hi: list[int], d: list[float], limit: float
) -> list[list[int]]:
    """Exact complete linkage on neighbour maps; a missing entry means 'too far'.

    Merging A and B keeps a neighbour C only if both A-C and B-C are within reach (the
    complete-linkage distance is the larger one, and any missing pair makes it infinite).
    """
    near: dict[int, dict[int, float]] = {x: {} for x in members}
    for x, y, dist in zip(lo, hi, d):
        near[x][y] = dist
        near[y][x] = dist
    clusters: dict[int, list[int]] = {x: [x] for x in members}
    done: list[list[int]] = []
    chain: list[int] = []
    next_start = 0
    while True:
        if not chain:
            while next_start < len(members) and members[next_start] not in clusters:
                next_start += 1
            if next_start == len(members):
                return done
            chain.append(members[next_start])
        a = chain[-1]
        row = near[a]
        if not row:
            # Nothing left within reach of `a`; complete linkage never shrinks distances.
            done.append(clusters.pop(a))
            chain.pop()
            continue
        best = min(row.values())
        if len(chain) >= 2 and row.get(chain[-2]) == best:
            b = chain[-2]  # prefer the chain's predecessor on ties, as the algorithm requires
        else:
            b = min(c for c, v in row.items() if v == best)
        if len(chain) >= 2 and b == chain[-2]:
            chain.pop()
            chain.pop()
            keep, gone = (a, b) if a < b else (b, a)
            row_k, row_g = near[keep], near[gone]
            merged: dict[int, float] = {}
            for c, v in row_k.items():
                w = row_g.get(c)
                if w is not None:
                    merged[c] = v if v >= w else w
            for c in row_k:
                if c != gone:
                    del near[c][keep]
            for c in row_g:
                if c != keep:
                    del near[c][gone]
            for c, v in merged.items():
                near[c][keep] = v
            near[keep] = merged
            near[gone] = {}
            clusters[keep] = clusters[keep] + clusters.pop(gone)
        else:
            chain.append(b)


def _nn_chain_dense(
    members: list[int], lo: np.ndarray, hi: np.ndarray, d: np.ndarray, limit: float
) -> list[list[int]]:
    """The same algorithm on an m x m matrix, for large dense components."""
    ids = np.asarray(members, dtype=np.int64)
    li, lj = np.searchsorted(ids, lo), np.searchsorted(ids, hi)
    m = len(ids)
    inf = np.inf
    dist = np.full((m, m), inf, dtype=np.float64)
    dist[li, lj] = d
    dist[lj, li] = d
    np.fill_diagonal(dist, inf)
    active = np.ones(m, dtype=bool)
    local: dict[int, list[int]] = {k: [k] for k in range(m)}
    done: list[list[int]] = []
    chain: list[int] = []
    while active.any():
        if not chain:
            chain.append(int(np.argmax(active)))
        a = chain[-1]
        row = dist[a]
        b = int(np.argmin(row))  # first (lowest) index among ties
        best = row[b]
        if len(chain) >= 2 and row[chain[-2]] == best:
            b = chain[-2]
        if best > limit:
            done.append(local.pop(a))
            active[a] = False
            dist[a, :] = inf
            dist[:, a] = inf
            chain.pop()
            continue
        if len(chain) >= 2 and b == chain[-2]:
            chain.pop()
            chain.pop()
            keep, gone = min(a, b), max(a, b)
            merged = np.maximum(dist[keep], dist[gone])
            dist[keep, :] = merged
            dist[:, keep] = merged
            dist[keep, keep] = inf
            dist[gone, :] = inf
            dist[:, gone] = inf
            active[gone] = False
            local[keep] = local[keep] + local.pop(gone)
        else:
            chain.append(b)
    return [[members[k] for k in cluster] for cluster in done]
