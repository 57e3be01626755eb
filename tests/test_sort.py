"""End to end: sort real photos, check the tree, undo, and survive crashes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remedia_tray.errors import FolderNotFound, NothingToUndo
from remedia_tray.filing import mover
from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import PHOTOS, all_dirs, photo, read_tree, save_as, whatsapp_copy

HASH = SortOptions(engine="hash", workers=1)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "lib"
    cam, wa, dl = root / "Camera", root / "WhatsApp", root / "Downloads"
    for name in ("sunset", "peaks", "life", "coffee"):
        (cam).mkdir(parents=True, exist_ok=True)
        shutil.copy2(photo(name), cam / f"{name}.jpg")
    whatsapp_copy(photo("sunset"), wa / "IMG-WA0001.jpg")
    whatsapp_copy(photo("life"), wa / "IMG-WA0002.jpg")
    save_as(photo("peaks"), dl / "peaks.png", "PNG")
    dl.mkdir(parents=True, exist_ok=True)
    shutil.copy2(photo("coffee"), dl / "coffee (1).jpg")
    (dl / "notes.txt").write_text("hello")
    (dl / "broken.jpg").write_bytes(photo("cat").read_bytes()[:2000])
    shutil.copy2(photo("cat"), dl / "cat.jpg")
    return root


def test_sort_moves_copies_and_keeps_best_in_place(library: Path) -> None:
    report = sort_folder(library, HASH)
    tree = read_tree(library)
    # Originals stay; copies go to duplicates/<named after the kept file>/.
    for name in ("sunset", "life", "coffee"):
        assert f"Camera/{name}.jpg" in tree
    assert "duplicates/sunset/IMG-WA0001.jpg" in tree
    assert "duplicates/life/IMG-WA0002.jpg" in tree
    assert "Downloads/cat.jpg" in tree  # unique photo untouched
    groups = {g.folder.name: g for g in report.duplicate_groups}
    assert set(groups) == {"sunset", "life", "peaks", "coffee"}
    assert "most pixels" in groups["sunset"].reason
    manifest = json.loads((library / "duplicates/sunset/remedia-group.json").read_text())
    assert manifest["kept"] == str(library / "Camera/sunset.jpg")
    reasons = {p.path.name: p.reason for p in report.skipped}
    assert reasons["notes.txt"].startswith("not an image")
    assert "truncated" in reasons["broken.jpg"] or "corrupt" in reasons["broken.jpg"]
    assert report.duplicates_moved == 4 and not report.failed


def test_dry_run_touches_nothing(library: Path) -> None:
    before = read_tree(library)
    dirs = all_dirs(library)
    report = sort_folder(library, SortOptions(engine="hash", dry_run=True, workers=1))
    assert report.duplicates_moved == 4
    assert read_tree(library) == before
    assert all_dirs(library) == dirs
    assert not (library / ".remedia").exists()


def test_undo_restores_exact_tree(library: Path) -> None:
    before, dirs = read_tree(library), all_dirs(library)
    sort_folder(library, HASH)
    assert read_tree(library) != before
    result = undo_last_sort(library)
    assert result.restored == 4 and not result.problems
    assert read_tree(library) == before
    assert all_dirs(library) == dirs
    with pytest.raises(NothingToUndo):
        undo_last_sort(library)


def test_second_sort_is_stable_and_uses_cache(library: Path) -> None:
    first = sort_folder(library, HASH)
    assert first.decoded > 0
    tree = read_tree(library)
    second = sort_folder(library, HASH)
    assert second.decoded == 0  # moved files keep their identity in the cache
    assert not second.groups and read_tree(library) == tree


def test_crash_mid_sort_is_undone(library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before, dirs = read_tree(library), all_dirs(library)
    real_move = mover.safe_move
    calls = {"n": 0}

    def crashing_move(src: Path, dst: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            os.link(src, dst)  # die between the link and the unlink of a move
            raise SystemExit("simulated crash")
        real_move(src, dst)

    monkeypatch.setattr(mover, "safe_move", crashing_move)
    with pytest.raises(SystemExit):
        sort_folder(library, HASH)
    monkeypatch.setattr(mover, "safe_move", real_move)
    undo_last_sort(library)
    assert read_tree(library) == before
    assert all_dirs(library) == dirs


def test_next_run_recovers_after_crash(library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_move = mover.safe_move
    calls = {"n": 0}

    def crashing_move(src: Path, dst: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("simulated crash")
        real_move(src, dst)

    monkeypatch.setattr(mover, "safe_move", crashing_move)
    with pytest.raises(SystemExit):
        sort_folder(library, HASH)
    monkeypatch.setattr(mover, "safe_move", real_move)
    sort_folder(library, HASH)
    names = set(read_tree(library))
    assert {"duplicates/sunset/IMG-WA0001.jpg", "duplicates/life/IMG-WA0002.jpg"} <= names
    assert (
        len([n for n in names if n.startswith("duplicates/") and n.endswith((".jpg", ".png"))]) == 4
    )


def test_never_overwrites_existing_group_files(library: Path) -> None:
    blocker = library / "duplicates" / "sunset"
    blocker.mkdir(parents=True)
    (blocker / "IMG-WA0001.jpg").write_bytes(b"user's own file")
    sort_folder(library, HASH)
    assert (blocker / "IMG-WA0001.jpg").read_bytes() == b"user's own file"
    moved = [p for p in (library / "duplicates").rglob("IMG-WA0001*.jpg") if p.parent != blocker]
    assert len(moved) == 1


def test_missing_folder_has_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FolderNotFound, match="folder not found"):
        sort_folder(tmp_path / "nope", HASH)


def test_same_groups_for_any_layout(tmp_path: Path) -> None:
    # The same photos under shuffled names give the same grouping.
    def build(root: Path, order: list[str]) -> None:
        for k, name in enumerate(order):
            shutil.copy2(photo(name), root / f"{k:02d}_{name}.jpg")
            whatsapp_copy(photo(name), root / f"{k:02d}_{name}_wa.jpg", side=300)

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    build(a, list(PHOTOS))
    build(b, list(reversed(PHOTOS)))
    ra = sort_folder(a, SortOptions(engine="hash", dry_run=True, workers=1))
    rb = sort_folder(b, SortOptions(engine="hash", dry_run=True, workers=1))

    def key(report) -> set:  # type: ignore[no-untyped-def]
        return {frozenset(p.name.split("_", 1)[1] for p in g.members) for g in report.groups}

    assert key(ra) == key(rb) and len(ra.groups) == len(PHOTOS)


names = st.sampled_from(["a.jpg", "b.jpg", "IMG 1.jpg", "é.jpg", "x.png", "c (2).jpg", "d"])
trees = st.lists(
    st.tuples(
        st.sampled_from(["", "sub", "sub/deep", "duplicates", "Ω"]),
        names,
        st.sampled_from([*PHOTOS, "junk"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(trees)
def test_sort_then_undo_restores_any_tree(
    tmp_path_factory: pytest.TempPathFactory, spec: list
) -> None:
    root = tmp_path_factory.mktemp("tree")
    for folder, name, source, small in spec:
        target = root / folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source == "junk":
            target.write_bytes(b"junk")
        elif small:
            whatsapp_copy(photo(source), target.with_suffix(".tmpjpg"), side=200)
            target.with_suffix(".tmpjpg").replace(target)
        else:
            shutil.copy2(photo(source), target)
    before, dirs = read_tree(root), all_dirs(root)
    files_before = sorted(before.values())
    report = sort_folder(root, HASH)
    after = read_tree(root)
    # Nothing lost, nothing overwritten: the same bytes, plus our group manifests.
    assert (
        sorted(v for k, v in after.items() if not k.endswith("remedia-group.json")) == files_before
    )
    if report.journal is not None:
        undo_last_sort(root)
    assert read_tree(root) == before
    assert all_dirs(root) == dirs


def test_new_copy_joins_the_existing_group(library: Path) -> None:
    sort_folder(library, HASH)
    whatsapp_copy(photo("sunset"), library / "Later" / "IMG-WA0099.jpg", side=280)
    report = sort_folder(library, HASH)
    assert [g.folder.name for g in report.groups] == ["sunset"]
    assert (library / "duplicates/sunset/IMG-WA0099.jpg").exists()
    assert (library / "Camera/sunset.jpg").exists()
    undo_last_sort(library)  # undoes only the second sort
    assert (library / "Later/IMG-WA0099.jpg").exists()
    assert (library / "duplicates/sunset/IMG-WA0001.jpg").exists()


def test_identical_copies_are_all_cached(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    shutil.copy2(photo("umang"), root / "a" / "x.jpg")
    shutil.copy2(photo("umang"), root / "b" / "x.jpg")
    os.utime(root / "b" / "x.jpg", ns=(10**18, 10**18))
    os.utime(root / "a" / "x.jpg", ns=(2 * 10**18, 2 * 10**18))  # b is older: b stays
    first = sort_folder(root, HASH)
    assert first.decoded == 1  # the byte-identical copy is not decoded
    assert (root / "b" / "x.jpg").exists() and not (root / "a" / "x.jpg").exists()
    shutil.copy2(photo("cat"), root / "new.jpg")
    again = sort_folder(root, HASH)
    assert again.decoded == 1  # only the new photo; the kept copy came from the cache
