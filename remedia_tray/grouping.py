"""Complete-linkage grouping: a photo joins a group only if it is similar to every member.

Pure functions over indices. Inputs are the candidate pairs within the threshold (from an
engine's vectorised search); every other pair counts as "not similar". Items must be in a
canonical order (the caller sorts by path), which makes the result independent of input order.

Cost: connected components of the candidate graph (linear in pairs), then exact agglomerative
complete linkage inside each component with the nearest-neighbour-chain algorithm on a dense
component matrix: O(m^2) time and memory for a component of m items. Real components are small
(tens); components larger than `MAX_DENSE` fall back to a greedy, still clique-valid merge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_DENSE = 6000


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
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    d = np.asarray(distance, dtype=np.float64)
    within = d <= threshold + 1e-9
    i, j, d = i[within], j[within], d[within]
    extra_i, extra_j = [], []
    for group in must_link:
        for a in group[1:]:
            for b in group:
                if b < a:
                    extra_i.append(b)
                    extra_j.append(a)
    if extra_i:
        i = np.concatenate([i, np.asarray(extra_i, np.int64)])
        j = np.concatenate([j, np.asarray(extra_j, np.int64)])
        d = np.concatenate([d, np.zeros(len(extra_i))])
    if n == 0 or len(i) == 0:
        return []
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    keep = lo != hi
    lo, hi, d = lo[keep], hi[keep], d[keep]

    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(lo)), (lo, hi)), shape=(n, n))
    n_comp, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels, minlength=n_comp)

    # Edges sorted by component so each component's edges are one slice.
    edge_comp = labels[lo]
    order = np.argsort(edge_comp, kind="stable")
    lo, hi, d, edge_comp = lo[order], hi[order], d[order], edge_comp[order]
    starts = np.searchsorted(edge_comp, np.arange(n_comp + 1))

    groups: list[list[int]] = []
    members_by_comp = _members_by_label(labels, n_comp)
    for comp in np.nonzero(sizes >= 2)[0]:
        members = members_by_comp[comp]
        s, e = starts[comp], starts[comp + 1]
        if len(members) == 2:
            groups.append([int(members[0]), int(members[1])])
            continue
        local = {int(m): k for k, m in enumerate(members)}
        li = np.array([local[int(x)] for x in lo[s:e]], dtype=np.int64)
        lj = np.array([local[int(x)] for x in hi[s:e]], dtype=np.int64)
        if len(members) <= MAX_DENSE:
            clusters = _nn_chain(len(members), li, lj, d[s:e], threshold)
        else:
            clusters = _greedy(len(members), li, lj, d[s:e])
        for cluster in clusters:
            if len(cluster) >= 2:
                groups.append(sorted(int(members[k]) for k in cluster))
    groups.sort()
    return groups


def _members_by_label(labels: np.ndarray, n_comp: int) -> list[np.ndarray]:
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_comp + 1))
    return [order[bounds[c] : bounds[c + 1]] for c in range(n_comp)]


def _nn_chain(
    m: int, li: np.ndarray, lj: np.ndarray, d: np.ndarray, threshold: float
) -> list[list[int]]:
    """Exact complete linkage cut at `threshold`, ties broken by lowest index."""
    inf = np.inf
    dist = np.full((m, m), inf, dtype=np.float64)
    dist[li, lj] = d
    dist[lj, li] = d
    np.fill_diagonal(dist, inf)
    active = np.ones(m, dtype=bool)
    members: dict[int, list[int]] = {k: [k] for k in range(m)}
    done: list[list[int]] = []
    chain: list[int] = []
    limit = threshold + 1e-9
    while active.any():
        if not chain:
            chain.append(int(np.argmax(active)))
        a = chain[-1]
        row = dist[a]
        b = int(np.argmin(row))  # first (lowest) index among ties
        best = row[b]
        if len(chain) >= 2 and row[chain[-2]] == best:
            b = chain[-2]  # prefer the chain's predecessor on ties, as the algorithm requires
        if best > limit:
            # Nothing left within reach of `a`; complete linkage never shrinks distances.
            done.append(members.pop(a))
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
            members[keep] = members[keep] + members.pop(gone)
        else:
            chain.append(b)
    return done


def _greedy(m: int, li: np.ndarray, lj: np.ndarray, d: np.ndarray) -> list[list[int]]:
    """Merge along edges in (distance, i, j) order when every cross pair is an edge."""
    edges = {(int(a), int(b)) if a < b else (int(b), int(a)) for a, b in zip(li, lj)}
    order = np.lexsort((lj, li, d))
    owner = list(range(m))
    members: dict[int, list[int]] = {k: [k] for k in range(m)}
    for k in order:
        ca, cb = owner[int(li[k])], owner[int(lj[k])]
        if ca == cb:
            continue
        if all(((x, y) if x < y else (y, x)) in edges for x in members[ca] for y in members[cb]):
            keep, gone = min(ca, cb), max(ca, cb)
            for x in members[gone]:
                owner[x] = keep
            members[keep].extend(members.pop(gone))
    return list(members.values())
