"""Complete linkage: every member similar to every other; same groups for any input order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from remedia_tray.core.grouping import complete_linkage, component_labels


def _edges(pairs: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not pairs:
        z = np.zeros(0)
        return z.astype(int), z.astype(int), z
    i, j, d = zip(*pairs)
    return np.array(i), np.array(j), np.array(d, dtype=float)


def test_chain_is_not_merged() -> None:
    # a~b and b~c but a and c are not similar: single linkage would make one group of three.
    groups = complete_linkage(3, *_edges([(0, 1, 2.0), (1, 2, 3.0)]), threshold=8)
    assert groups == [[0, 1]]


def test_closer_pair_wins_the_shared_member() -> None:
    groups = complete_linkage(3, *_edges([(0, 1, 5.0), (1, 2, 1.0)]), threshold=8)
    assert groups == [[1, 2]]


def test_clique_becomes_one_group() -> None:
    pairs = [(a, b, 1.0) for a in range(4) for b in range(a + 1, 4)]
    assert complete_linkage(6, *_edges(pairs), threshold=2) == [[0, 1, 2, 3]]


def test_must_link_merges_identical_files() -> None:
    assert complete_linkage(4, *_edges([]), threshold=0, must_link=[(1, 3)]) == [[1, 3]]


def test_threshold_cuts_pairs() -> None:
    assert complete_linkage(2, *_edges([(0, 1, 9.0)]), threshold=8) == []


graphs = st.integers(min_value=2, max_value=14).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(
            st.tuples(
                st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, 10).map(float)
            ).filter(lambda e: e[0] != e[1]),
            max_size=40,
            unique_by=lambda e: (min(e[0], e[1]), max(e[0], e[1])),
        ),
        st.randoms(use_true_random=False),
    )
)


@settings(max_examples=200, deadline=None)
@given(graphs)
def test_groups_are_cliques_and_order_independent(data: tuple) -> None:
    n, pairs, rnd = data
    threshold = 6.0
    groups = complete_linkage(n, *_edges(pairs), threshold=threshold)
    dist = {(min(a, b), max(a, b)): d for a, b, d in pairs}
    seen: set[int] = set()
    for g in groups:
        assert len(g) >= 2 and g == sorted(g)
        assert not seen & set(g)
        seen |= set(g)
        for x in g:
            for y in g:
                if x < y:
                    assert dist.get((x, y), 99) <= threshold
    # Shuffle the edge list (and flip some pairs): the result must not change.
    shuffled = [(b, a, d) if rnd.random() < 0.5 else (a, b, d) for a, b, d in pairs]
    rnd.shuffle(shuffled)
    assert complete_linkage(n, *_edges(shuffled), threshold=threshold) == groups


@given(
    st.integers(1, 60).flatmap(
        lambda m: st.tuples(
            st.just(m), st.lists(st.tuples(st.integers(0, m - 1), st.integers(0, m - 1)))
        )
    )
)
def test_component_labels_match_a_plain_union_find(case: tuple[int, list[tuple[int, int]]]) -> None:
    m, edges = case
    parent = list(range(m))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        parent[root(a)] = root(b)
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    labels = component_labels(m, a, b)
    for x in range(m):
        for y in range(m):
            assert (labels[x] == labels[y]) == (root(x) == root(y))
