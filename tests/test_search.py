"""core/search: the pairs type and the steps every search shares, and each family against a
plain all-pairs loop on small sets."""

from __future__ import annotations

import numpy as np
import pytest

from remedia_tray._platform import resolve_workers, usable_cores
from remedia_tray.core.search.cosine import (
    cosine_cross,
    cosine_neighbours,
    cosine_query,
    l2_normalise,
)
from remedia_tray.core.search.grid import radius_neighbours, radius_query
from remedia_tray.core.search.hash import hash_distance, hash_neighbours, hash_query
from remedia_tray.core.search.hash_plan import HashPlan, chunk_candidates, plan_hash_index
from remedia_tray.core.search.pairs import Neighbours, finish, no_pairs, query_pairs, to_runs


def as_set(found: Neighbours) -> set[tuple[int, int]]:
    return set(zip(found.i.tolist(), found.j.tolist()))


def test_finish_drops_repeats_and_sorts_by_pair() -> None:
    i = [np.array([3, 0, 1]), np.array([0])]
    j = [np.array([4, 2, 2]), np.array([2])]
    d = [np.array([0.5, 0.1, 0.2]), np.array([0.9])]
    found = finish(5, i, j, d)
    assert found.i.tolist() == [0, 1, 3] and found.j.tolist() == [2, 2, 4]
    assert found.distance.tolist() == pytest.approx([0.1, 0.2, 0.5])  # the first one found
    assert found.i.dtype == np.int64 and found.distance.dtype == np.float32


def test_no_pairs_is_empty_and_typed() -> None:
    empty = no_pairs()
    assert len(empty.i) == len(empty.j) == len(empty.distance) == 0
    assert finish(3, [], [], []).i.dtype == np.int64


def test_query_pairs_orders_each_pair_and_drops_self_pairs() -> None:
    query = np.array([2, 5])
    found = query_pairs(query, [np.array([0, 0, 1])], [np.array([2, 1, 0])], [np.ones(3)], 6)
    assert as_set(found) == {(1, 2), (0, 5)}


@pytest.mark.parametrize("same", [True, False])
def test_to_runs_pairs_each_item_with_each_member_of_its_run(same: bool) -> None:
    pa = np.array([0, 4, 7])
    starts = np.array([0, 2, 5])
    lengths = np.array([3, 1, 40])
    got = {
        (int(a), int(b)) for x, y in to_runs(pa, starts, lengths, same=same) for a, b in zip(x, y)
    }
    want = {(int(a), s + k) for a, s, n in zip(pa, starts, lengths) for k in range(n)}
    assert got == ({p for p in want if p[0] < p[1]} if same else want)


def test_chunk_candidates_finds_every_pair_within_the_flips_once() -> None:
    rng = np.random.default_rng(3)
    values = np.sort(rng.integers(0, 1 << 6, 300))
    got = [(int(a), int(b)) for x, y in chunk_candidates(values, 6, 1) for a, b in zip(x, y)]
    pairs = {(min(a, b), max(a, b)) for a, b in got}
    assert len(got) == len(pairs)
    want = {
        (a, b)
        for a in range(300)
        for b in range(a + 1, 300)
        if bin(int(values[a]) ^ int(values[b])).count("1") <= 1
    }
    assert pairs == want


def test_a_hash_plan_is_its_chunks() -> None:
    plan = plan_hash_index(50_000, 8.0, 0.5)
    assert isinstance(plan, HashPlan) and plan.chunks
    assert not hasattr(plan, "cost") and not hasattr(plan, "brute_cost")


def _hashes(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**63, size=(n // 4, 2), dtype=np.uint64)
    bits = np.uint64(1) << rng.integers(0, 64, size=(n, 2)).astype(np.uint64)
    return base[rng.integers(0, len(base), n)] ^ bits


def test_hash_methods_match_a_plain_loop() -> None:
    feats = _hashes(300, 1)
    want = {
        (a, b)
        for a in range(300)
        for b in range(a + 1, 300)
        if hash_distance(feats[a, 0], feats[a, 1], feats[b, 0], feats[b, 1], 0.5)
        <= np.float32(4.0 + 1e-6)
    }
    for method in ("brute", "index"):
        assert as_set(hash_neighbours(feats, 4.0, 0.5, method=method, workers=2)) == want
    query = np.array([0, 10, 299])
    touching = {p for p in want if p[0] in query or p[1] in query}
    assert as_set(hash_query(feats, query, 4.0, 0.5)) == touching


def test_cosine_methods_match_a_plain_loop() -> None:
    rng = np.random.default_rng(2)
    emb = l2_normalise(rng.standard_normal((200, 16)).astype(np.float32))
    emb = l2_normalise(np.concatenate([emb, emb + 0.1 * rng.standard_normal(emb.shape)]))
    sims = emb @ emb.T
    want = {(a, b) for a in range(400) for b in range(a + 1, 400) if sims[a, b] >= 0.9 - 1e-6}
    for method in ("brute", "index"):
        assert as_set(cosine_neighbours(emb, 0.1, method=method)) == want
    assert as_set(cosine_query(emb, np.array([3]), 0.1)) == {p for p in want if 3 in p}
    hits = cosine_cross(emb[:200] * 3.0, emb[200:210], 0.1)  # the library need not be unit
    assert set(hits.tolist()) >= {a for a, b in want if a < 200 and 200 <= b < 210}


def test_radius_search_matches_a_plain_loop() -> None:
    pts = np.random.default_rng(4).standard_normal((300, 5)) * 2
    diff = pts[:, None] - pts[None]
    dist = np.sqrt((diff**2).sum(-1))
    want = {(a, b) for a in range(300) for b in range(a + 1, 300) if dist[a, b] <= 0.8}
    assert as_set(radius_neighbours(pts, 0.8)) == want
    assert as_set(radius_query(pts, np.array([7]), 0.8)) == {p for p in want if 7 in p}


def test_workers_at_or_below_zero_mean_every_usable_core() -> None:
    assert resolve_workers(3) == 3
    assert resolve_workers(0) == resolve_workers(-1) == usable_cores()
