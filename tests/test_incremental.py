"""Incremental cost (issue 13): k new photos are k searches, exact, against the library."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from remedia_tray.core.library import attach
from remedia_tray.core.search.cosine import cosine_neighbours, cosine_query, l2_normalise
from remedia_tray.core.search.hash import hash_neighbours, hash_query
from remedia_tray.engines.effnet_search import rotation_aware_neighbours, rotation_aware_query
from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.layout import library_index_path
from remedia_tray.pipeline.library_index import load_index
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import PHOTOS, photo, read_tree, whatsapp_copy

HASH = SortOptions(engine="hash", workers=1)


def _touching(found: object, query: np.ndarray) -> set[tuple[int, int, float]]:
    i, j, d = found.i, found.j, found.distance  # type: ignore[attr-defined]
    asked = set(query.tolist())
    return {
        (int(a), int(b), round(float(x), 4)) for a, b, x in zip(i, j, d) if a in asked or b in asked
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hash_query_finds_exactly_the_pairs_of_a_full_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**63, size=(300, 2), dtype=np.uint64)
    flips = np.uint64(1) << rng.integers(0, 64, size=(300, 2)).astype(np.uint64)
    feats = np.concatenate([base, base ^ flips])  # every row has a near twin
    query = rng.choice(len(feats), size=25, replace=False)
    full = hash_neighbours(feats, 6.0, 0.5, method="brute")
    assert _touching(hash_query(feats, query, 6.0, 0.5), query) == _touching(full, query)
    assert len(_touching(full, query)) >= 20  # twins of the query rows (some share one)


@pytest.mark.parametrize("seed", [0, 1])
def test_cosine_queries_find_exactly_the_pairs_of_a_full_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(400, 32)).astype(np.float32)
    emb[200:] = emb[:200] + 0.2 * rng.normal(size=(200, 32)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    query = rng.choice(400, size=30, replace=False)
    full = cosine_neighbours(emb, 0.1, method="brute")
    assert _touching(cosine_query(emb, query, 0.1), query) == _touching(full, query)
    two = np.concatenate([emb, np.roll(emb, 1, axis=0)], axis=1)  # "as stored" and "turned"
    got = rotation_aware_query(two, 32, 0.1, query)
    assert _touching(got, query) == _touching(rotation_aware_neighbours(two, 32, 0.1), query)


def test_attach_keeps_complete_linkage_with_members_that_joined() -> None:
    # Items 2 and 3 are each close to group {0, 1} but far from each other: only one joins.
    i = np.array([2, 2, 3, 3])
    j = np.array([0, 1, 0, 1])
    d = np.array([1.0, 1.0, 2.0, 2.0])
    assert attach([[0, 1]], [2, 3], i, j, d, 3.0) == {2: 0}
    # With 2-3 close too, both join.
    assert attach([[0, 1]], [2, 3], np.r_[i, 2], np.r_[j, 3], np.r_[d, 1.0], 3.0) == {2: 0, 3: 0}


def test_a_new_copy_is_searched_against_settled_photos(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    (root / "Camera").mkdir(parents=True)
    for name in PHOTOS:
        shutil.copy2(photo(name), root / "Camera" / f"{name}.jpg")
    first = sort_folder(root, HASH)
    assert first.groups == () and library_index_path(root).exists()
    whatsapp_copy(photo("umang"), root / "WhatsApp" / "IMG-WA0001.jpg")
    whatsapp_copy(photo("umang"), root / "WhatsApp" / "IMG-WA0002.jpg", side=200)
    before = read_tree(root)
    report = sort_folder(root, HASH)
    (group,) = report.groups
    assert group.keeper == root / "Camera/umang.jpg"
    assert sorted(p.name for p in (root / "duplicates/umang").glob("*.jpg")) == [
        "IMG-WA0001.jpg",
        "IMG-WA0002.jpg",
    ]
    undo_last_sort(root)
    assert read_tree(root) == before
    # An index made for other settings is not trusted: the sort compares everything.
    stricter = sort_folder(root, SortOptions(engine="hash", workers=1, strictness=90))
    assert stricter.groups and (root / "duplicates/umang/IMG-WA0001.jpg").exists()


def _batch(root: Path, *arrived: Path) -> SortOptions:
    return SortOptions(engine="hash", workers=1, arrived=arrived)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """Eight different photos, sorted once (nothing to group): the index holds all eight."""
    root = tmp_path / "photos"
    (root / "Camera").mkdir(parents=True)
    for name in PHOTOS:
        shutil.copy2(photo(name), root / "Camera" / f"{name}.jpg")
    assert sort_folder(root, HASH).groups == ()
    return root


def test_a_batch_reads_only_what_arrived_and_the_index_remembers_it(library: Path) -> None:
    root = library
    index = load_index(root, _key(root))
    assert index is not None and len(index) == len(PHOTOS)
    copy = whatsapp_copy(photo("umang"), root / "WhatsApp" / "IMG-WA0001.jpg")
    report = sort_folder(root, _batch(root, copy, root / "WhatsApp" / "gone.jpg"))
    assert report.mode == "batch" and report.decoded == 1
    assert report.images == len(PHOTOS) + 1 and report.files_seen == len(PHOTOS) + 1
    assert {"discovery", "features", "search", "moves"} <= set(report.stages)
    assert set(report.stages) <= {"discovery", "features", "search", "full-size check", "moves"}
    (group,) = report.groups
    assert group.keeper == root / "Camera/umang.jpg"
    after = load_index(root, _key(root))
    assert after is not None and len(after) == len(PHOTOS) + 1
    assert root / "duplicates/umang/IMG-WA0001.jpg" in after
    assert after.kept == {root / "duplicates/umang": root / "Camera/umang.jpg"}
    # A second copy finds the group through the kept copy, as a walk of the folder would.
    second = whatsapp_copy(photo("umang"), root / "Later" / "IMG-WA0002.jpg", side=200)
    report = sort_folder(root, _batch(root, second))
    assert [m.dst for g in report.groups for m in g.moves] == [
        root / "duplicates/umang/IMG-WA0002.jpg"
    ]
    # Photos the library already holds are not new.
    again = sort_folder(root, _batch(root, root / "Camera/umang.jpg", second))
    assert again.mode == "batch" and again.decoded == 0 and again.groups == ()


def test_a_deleted_library_photo_is_forgotten_not_matched(library: Path) -> None:
    root = library
    (root / "Camera/umang.jpg").unlink()  # the user deleted it; no sort saw that
    copy = whatsapp_copy(photo("umang"), root / "WhatsApp" / "IMG-WA0001.jpg")
    report = sort_folder(root, _batch(root, copy))
    assert report.mode == "batch" and report.groups == ()
    assert copy.exists()
    index = load_index(root, _key(root))
    assert index is not None and root / "Camera/umang.jpg" not in index
    assert copy in index and len(index) == len(PHOTOS)


def test_without_a_usable_index_a_batch_walks_the_folder(library: Path) -> None:
    root = library
    copy = whatsapp_copy(photo("umang"), root / "WhatsApp" / "IMG-WA0001.jpg")
    before = read_tree(root)
    assert sort_folder(root, _batch(root, copy)).mode == "batch"
    # Undo moves files behind the index's back: it is not trusted until a sort writes it.
    undo_last_sort(root)
    assert read_tree(root) == before and load_index(root, _key(root)) is None
    other = whatsapp_copy(photo("cat"), root / "WhatsApp" / "IMG-WA0002.jpg")
    report = sort_folder(root, _batch(root, other))
    assert report.mode == "walk"  # and it finds the copy the undo put back too
    assert {g.keeper for g in report.groups} == {root / "Camera/umang.jpg", root / "Camera/cat.jpg"}
    assert load_index(root, _key(root)) is not None
    # A damaged index is ignored the same way.
    (library_index_path(root) / "ids.npz").write_bytes(b"not an index")
    assert load_index(root, _key(root)) is None


def _key(root: Path) -> str:
    from remedia_tray.engines.registry import select_engines
    from remedia_tray.sorter import _index_key

    return _index_key(list(select_engines("hash", strictness=50).engines), HASH)


@pytest.mark.parametrize("seed", [0, 1])
def test_library_candidates_hold_every_pair_a_full_search_finds(seed: int) -> None:
    # float16 rows as the index stores them; the library is read tile by tile.
    from remedia_tray.core.search.cosine import cosine_cross
    from remedia_tray.engines.effnet_search import rotation_aware_cross

    rng = np.random.default_rng(seed)
    dim, n = 32, 20000
    lib = rng.normal(size=(n, 2 * dim)).astype(np.float32)
    new = lib[rng.choice(n, 40, replace=False)] + 0.15 * rng.normal(size=(40, 2 * dim))
    new[:10, :dim], new[:10, dim:] = new[:10, dim:].copy(), new[:10, :dim].copy()  # turned
    new = new.astype(np.float32)
    lib16 = lib.astype(np.float16)
    both = np.concatenate([lib16.astype(np.float32), new])
    query = np.arange(n, n + 40)
    exact = rotation_aware_query(both, dim, 0.1, query)
    wanted = np.unique(np.concatenate([exact.i, exact.j]))
    wanted = wanted[wanted < n]
    assert len(wanted) >= 40
    got = rotation_aware_cross(lib16, new, dim, 0.1)
    assert set(wanted.tolist()) <= set(got.tolist())
    assert len(got) <= len(wanted) + 2  # a superset, not a flood
    plain = cosine_query(l2_normalise(both[:, :dim]), query, 0.1)
    hits = np.unique(np.concatenate([plain.i, plain.j]))
    assert set(hits[hits < n].tolist()) <= set(
        cosine_cross(lib16[:, :dim], new[:, :dim], 0.1).tolist()
    )


def test_a_row_is_the_same_file_without_inode_numbers_where_the_platform_gives_none() -> None:
    from remedia_tray.core.media import MediaFile

    seen = MediaFile(Path("a.jpg"), 100, 5, 0, 0)  # os.scandir on Windows: no inode
    assert seen.same_file(MediaFile(Path("a.jpg"), 100, 5, 7, 42))
    assert not seen.same_file(MediaFile(Path("a.jpg"), 101, 5, 7, 42))
    assert not MediaFile(Path("a.jpg"), 100, 5, 7, 41).same_file(
        MediaFile(Path("a.jpg"), 100, 5, 7, 42)
    )
