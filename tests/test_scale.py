"""Scale machinery: indexed neighbour search == brute force, exact complete linkage at any
component size, batched cache lookups, and scans that resume after an interruption.

Speed and memory targets live in benchmarks/scale.py, not here.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from remedia_tray.core import grouping
from remedia_tray.core.grouping import complete_linkage
from remedia_tray.core.media import MediaFile
from remedia_tray.core.search.cosine import cosine_neighbours
from remedia_tray.core.search.hash import hash_neighbours
from remedia_tray.core.search.hash_plan import plan_hash_index
from remedia_tray.core.search.pairs import Neighbours
from remedia_tray.engines import HashEngine
from remedia_tray.pipeline.cache import FeatureCache
from remedia_tray.pipeline.features import extract_features, media_from_paths

from .conftest import PHOTOS, photo


def planted_hashes(n: int, seed: int, max_flips: int = 3) -> np.ndarray:
    """Random dHash+pHash pairs; a tenth of them in groups of near-copies (some bits flipped)."""
    rng = np.random.default_rng(seed)
    feats = rng.integers(0, 2**64, size=(n, 2), dtype=np.uint64)
    order = rng.permutation(n)
    bits = np.uint64(1) << np.arange(64, dtype=np.uint64)
    pos = 0
    while pos < n // 10:
        size = int(rng.integers(2, 7))
        members = order[pos : pos + size]
        pos += size
        for m in members[1:]:
            for col in range(2):
                flips = rng.choice(64, size=int(rng.integers(0, max_flips + 1)), replace=False)
                feats[m, col] = feats[members[0], col] ^ np.bitwise_or.reduce(
                    bits[flips], initial=0
                )
    return feats


def assert_same(a: Neighbours, b: Neighbours) -> None:
    """Same pairs exactly; distances within float32 rounding (BLAS kernels differ by CPU)."""
    assert np.array_equal(a.i, b.i)
    assert np.array_equal(a.j, b.j)
    np.testing.assert_allclose(a.distance, b.distance, rtol=0, atol=1e-5)
    assert (a.i < a.j).all()


@pytest.mark.slow
def test_indexed_hash_search_equals_brute_force_on_20000_items() -> None:
    n, threshold = 20_000, 8.0
    feats = planted_hashes(n, seed=7)
    plan = plan_hash_index(n, threshold, 0.5)
    assert plan is not None  # the index, not brute force, is what this test is about
    indexed = hash_neighbours(feats, threshold, 0.5)
    brute = hash_neighbours(feats, threshold, 0.5, method="brute")
    assert len(brute.i) > 1000
    assert_same(indexed, brute)
    groups = complete_linkage(n, indexed.i, indexed.j, indexed.distance, threshold)
    assert groups == complete_linkage(n, brute.i, brute.j, brute.distance, threshold)
    assert len(groups) > 400


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("threshold", [0.0, 4.0, 11.0, 14.0])
def test_index_is_exact_for_any_weight_and_threshold(weight: float, threshold: float) -> None:
    feats = planted_hashes(3000, seed=int(weight * 10 + threshold), max_flips=8)
    feats[:40] = feats[0]  # a run of equal hashes
    feats[40:60] = feats[0] ^ np.uint64(1 << 5)
    assert_same(
        hash_neighbours(feats, threshold, weight, method="index"),
        hash_neighbours(feats, threshold, weight, method="brute"),
    )


def test_index_plan_obeys_the_pigeonhole_bound() -> None:
    for n in (10_000, 100_000, 1_000_000):
        for weight in (0.2, 0.5, 0.9):
            plan = plan_hash_index(n, 8.0, weight, force=True)
            assert plan is not None
            weights = (weight, 1.0 - weight)
            # Every pair within 8 must lie within `flips` bits in at least one chunk.
            assert sum(weights[c.column] * (c.flips + 1) for c in plan.chunks) > 8.0
            for col in (0, 1):
                spans = sorted((c.shift, c.shift + c.bits) for c in plan.chunks if c.column == col)
                assert all(b[0] >= a[1] for a, b in zip(spans, spans[1:]))  # disjoint
                assert all(end <= 64 for _, end in spans)
    # Large sets use the index; tiny ones are cheaper by brute force.
    assert plan_hash_index(100_000, 8.0, 0.5) is not None
    assert plan_hash_index(500, 8.0, 0.5) is None


@pytest.mark.slow
def test_pruned_cosine_search_equals_brute_force() -> None:
    rng = np.random.default_rng(3)
    n, dim = 8000, 256
    emb = rng.standard_normal((n, dim), dtype=np.float32)
    # Planted near-copies, and a shared mean direction as real embeddings have.
    copies = emb[1::20]
    emb[1::20] = emb[::20][: len(copies)] + 0.2 * rng.standard_normal(
        copies.shape, dtype=np.float32
    )
    emb += 0.6 * rng.standard_normal(dim, dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    for max_distance in (0.1, 0.3):
        pruned = cosine_neighbours(emb, max_distance, method="index")
        brute = cosine_neighbours(emb, max_distance, method="brute")
        assert len(brute.i) >= 300
        assert_same(pruned, brute)
        exact = 1.0 - np.einsum(
            "ij,ij->i", emb[brute.i].astype(np.float64), emb[brute.j].astype(np.float64)
        )
        assert np.allclose(brute.distance, exact, atol=1e-6)


def planted_embeddings(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows with a shared mean direction (as real embeddings have), every tenth row a
    near copy of the one before (cosine about 0.9 to 0.97); returns (rows, copy pairs)."""
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((n, dim), dtype=np.float32)
    emb += 2.0 * rng.standard_normal(dim, dtype=np.float32) / np.sqrt(dim)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    copies = np.arange(1, n, 10)
    noise = rng.standard_normal((len(copies), dim), dtype=np.float32) / np.sqrt(dim)
    noise *= rng.uniform(0.2, 0.45, size=(len(copies), 1)).astype(np.float32)
    emb[copies] = emb[copies - 1] + noise
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb, np.stack([copies - 1, copies], axis=1)


def test_approximate_cosine_search_finds_a_subset_of_exact_pairs() -> None:
    emb, planted = planted_embeddings(3000, 128, seed=5)
    for max_distance in (0.1, 0.15):
        approx = cosine_neighbours(emb, max_distance, method="approximate")
        brute = cosine_neighbours(emb, max_distance, method="brute")
        assert len(brute.i) >= 100
        exact = {(int(a), int(b)): float(d) for a, b, d in zip(brute.i, brute.j, brute.distance)}
        assert (approx.i < approx.j).all()
        for a, b, d in zip(approx.i.tolist(), approx.j.tolist(), approx.distance.tolist()):
            if (a, b) in exact:
                assert abs(exact[(a, b)] - d) <= 1e-5
            else:  # only a pair on the threshold itself may be decided differently
                assert abs(d - max_distance) <= 1e-5
        # Every planted pair within the threshold is found (the plan misses about 1e-6 of them).
        dist = 1.0 - np.einsum("ij,ij->i", emb[planted[:, 0]], emb[planted[:, 1]])
        want = {tuple(p) for p in planted[dist <= max_distance - 1e-4].tolist()}
        got = set(zip(approx.i.tolist(), approx.j.tolist()))
        assert len(want) >= 100
        assert want <= got


def test_approximate_search_is_deterministic_and_handles_tiny_inputs() -> None:
    emb, _ = planted_embeddings(500, 64, seed=6)
    first = cosine_neighbours(emb, 0.15, method="approximate")
    assert_same(first, cosine_neighbours(emb, 0.15, method="approximate"))
    assert len(cosine_neighbours(emb[:1], 0.15, method="approximate").i) == 0
    same_rows = np.repeat(emb[:1], 5, axis=0)
    assert len(cosine_neighbours(same_rows, 0.15, method="approximate").i) == 10


@pytest.mark.slow
def test_lsh_plan_and_oversized_bucket_are_searched_whole() -> None:
    from remedia_tray.core.search import ann

    plan = ann.plan_lsh(1_000_000)
    assert plan.groups == 2 and plan.tables >= 30
    # Identical rows fill one bucket past the cap: all pairs still come out, once each.
    n = ann._BUCKET_CAP + 100
    rows = np.tile(np.eye(1, 16, dtype=np.float32), (n, 1))
    found = cosine_neighbours(rows, 0.01, method="approximate")
    assert len(found.i) == n * (n - 1) // 2
    assert (found.i < found.j).all()


def naive_complete_linkage(
    n: int, pairs: dict[tuple[int, int], float], threshold: float
) -> list[list[int]]:
    """Textbook agglomeration: repeatedly merge the closest pair of clusters."""
    clusters = [[k] for k in range(n)]

    def dist(a: list[int], b: list[int]) -> float:
        worst = 0.0
        for x in a:
            for y in b:
                worst = max(worst, pairs.get((min(x, y), max(x, y)), np.inf))
        return worst

    while True:
        best = (np.inf, -1, -1)
        for p in range(len(clusters)):
            for q in range(p + 1, len(clusters)):
                best = min(best, (dist(clusters[p], clusters[q]), p, q))
        if best[0] > threshold:
            break
        _, p, q = best
        clusters[p] = clusters[p] + clusters.pop(q)
    return sorted(sorted(c) for c in clusters if len(c) >= 2)


def random_graph(
    rng: np.random.Generator, n: int, density: float, ties: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i, j = np.triu_indices(n, 1)
    keep = rng.random(len(i)) < density
    i, j = i[keep], j[keep]
    d = rng.integers(0, 6, len(i)).astype(float) if ties else rng.random(len(i)) * 5
    return i, j, d


def test_complete_linkage_matches_textbook_agglomeration() -> None:
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(3, 16))
        i, j, d = random_graph(rng, n, float(rng.uniform(0.2, 0.9)), ties=False)
        expected = naive_complete_linkage(n, dict(zip(zip(i.tolist(), j.tolist()), d)), 3.0)
        assert complete_linkage(n, i, j, d, 3.0) == expected


def test_sparse_and_dense_paths_agree_even_with_ties(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    for trial in range(40):
        n = int(rng.integers(5, 120))
        i, j, d = random_graph(rng, n, float(rng.uniform(0.05, 0.9)), ties=trial % 2 == 0)
        perm = rng.permutation(len(i))
        monkeypatch.setattr(grouping, "DENSE_MIN", 10**9)
        sparse = complete_linkage(n, i[perm], j[perm], d[perm], 3.0)
        monkeypatch.setattr(grouping, "DENSE_MIN", 0)
        monkeypatch.setattr(grouping, "DENSE_MAX", 10**9)
        dense = complete_linkage(n, i, j, d, 3.0)
        assert sparse == dense


def test_a_large_component_is_linked_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3,000 items in one sparse component (a chain with skips): once this fell back to a greedy
    # merge; now the sparse chain must agree with the dense matrix, item for item.
    rng = np.random.default_rng(2)
    n = 3000
    i = np.concatenate([np.arange(n - 1), np.arange(n - 2)])
    j = np.concatenate([np.arange(1, n), np.arange(2, n)])
    d = rng.integers(0, 8, len(i)).astype(float)
    sparse = complete_linkage(n, i, j, d, 6.0)
    monkeypatch.setattr(grouping, "DENSE_MIN", 0)
    monkeypatch.setattr(grouping, "DENSE_MAX", 10**9)
    assert complete_linkage(n, i, j, d, 6.0) == sparse
    pairs = {(int(a), int(b)): float(x) for a, b, x in zip(i, j, d)}
    for g in sparse:
        assert all(pairs.get((x, y), 99.0) <= 6.0 for k, x in enumerate(g) for y in g[k + 1 :])
    assert len(sparse) > 500


def test_cache_lookups_are_batched_and_committed_incrementally(tmp_path: Path) -> None:
    files = [
        MediaFile(Path(f"/p/{k}.jpg"), 100 + k, 10**18 + k, 42, 10**6 + k) for k in range(5000)
    ]
    cache = FeatureCache(tmp_path, flush_seconds=0.0)
    for f in files[::2]:
        cache.put(f, "a", f"{f.ino}".encode())
        cache.put(f, "b", b"x")
    # Committed already: a second connection (another process after a crash) sees them.
    other = FeatureCache(tmp_path)
    got = other.get_many(files, "a")
    assert sorted(got) == list(range(0, 5000, 2))
    assert all(got[pos] == f"{files[pos].ino}".encode() for pos in got)
    assert len(other.get_many(files, "b")) == 2500
    assert other.get_many(files[1::2], "a") == {}
    assert other.get_many([], "a") == {}
    other.close()
    cache.close()


def make_photos(folder: Path, count: int) -> list[Path]:
    """Distinct small JPEGs cut from the real test photos (a different crop for each)."""
    folder.mkdir()
    paths = []
    for k in range(count):
        with Image.open(photo(PHOTOS[k % len(PHOTOS)])) as im:
            im = im.convert("RGB")
            w, h = im.size
            step = k // len(PHOTOS)
            left, top = (w // 40) * step, (h // 40) * step
            im = im.crop((left, top, left + w * 3 // 4, top + h * 3 // 4)).resize((320, 240))
        path = folder / f"img_{k:03d}.jpg"
        im.save(path, quality=85)
        paths.append(path)
    return paths


class StopAfter:
    """A progress sink that presses Ctrl-C after `k` finished files."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.done = 0
        self.total = -1

    def __call__(self, desc: str, total: int) -> StopAfter:
        self.total = total
        return self

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.done >= self.k:
            raise KeyboardInterrupt

    def close(self) -> None:
        pass


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_interrupted_scan_resumes_without_recomputing(tmp_path: Path, workers: int) -> None:
    n, k = 60, 23  # 60 >= the parallel minimum, so workers=2 really uses a process pool
    files, _ = media_from_paths(make_photos(tmp_path / "photos", n))
    engine = HashEngine()
    fresh = extract_features(files, [engine], workers=1)

    cache = FeatureCache(tmp_path / "cache")
    stop = StopAfter(k)
    with pytest.raises(KeyboardInterrupt):
        extract_features(files, [engine], cache=cache, workers=workers, progress=stop)
    assert stop.total == n and stop.done == k
    assert multiprocessing.active_children() == []  # the pool is gone, not left running
    del cache  # no close(): what was finished must already be on disk

    resumed = extract_features(
        files, [engine], cache=FeatureCache(tmp_path / "cache"), workers=workers
    )
    assert resumed.from_cache == k
    assert resumed.decoded == n - k
    assert np.array_equal(resumed.features[engine.name], fresh.features[engine.name])
    again = extract_features(
        files, [engine], cache=FeatureCache(tmp_path / "cache"), workers=workers
    )
    assert again.decoded == 0 and again.from_cache == n


@pytest.mark.slow
def test_parallel_scan_gives_the_same_features_and_counts_every_file(tmp_path: Path) -> None:
    files, _ = media_from_paths(make_photos(tmp_path / "photos", 64))

    class Count(StopAfter):
        def update(self, n: int = 1) -> None:
            self.done += n

    bar = Count(0)
    serial = extract_features(files, [HashEngine()], workers=1)
    parallel = extract_features(files, [HashEngine()], workers=0, progress=bar)
    assert bar.done == bar.total == 64
    assert np.array_equal(serial.features["hash"], parallel.features["hash"])
    assert [f.path for f in serial.files] == [f.path for f in parallel.files]


def test_the_approximate_search_is_only_chosen_where_its_recall_is_measured() -> None:
    from remedia_tray.core.search.cosine import approximate_suits
    from remedia_tray.engines.clip import THRESHOLDS as CLIP
    from remedia_tray.engines.effnet import THRESHOLDS as BUNDLED

    assert approximate_suits(1_000_000, 0.15)  # CLIP at its default and stricter
    assert all(approximate_suits(1_000_000, d) for d in CLIP.values() if d <= 0.15)
    assert not approximate_suits(1_000_000, CLIP[0])  # loose CLIP (cosine 0.8): exact
    # The bundled model calls photos similar far below cosine 0.85: never approximate.
    assert not any(approximate_suits(10**7, d) for d in BUNDLED.values())
    assert not approximate_suits(199_999, 0.05)
