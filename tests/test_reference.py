"""Reference folders (issue 25): read, never moved; a group with a member there keeps it.

Every tree is made of the real photos in tests/data: camera originals with EXIF (Pillow),
WhatsApp-style re-saves and byte copies. "Nothing moves" is the whole tree's hashes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from remedia_tray.core.planning import GroupSpec, Move, PlannedGroup, SortPlan, plan_sort
from remedia_tray.core.reference import outermost
from remedia_tray.errors import FolderNotFound, RemediaError
from remedia_tray.filing.mover import apply_plan, undo_last_sort
from remedia_tray.pipeline.reference import check_references
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import photo, read_tree, whatsapp_copy
from .mediafiles import jpeg

REPO = Path(__file__).resolve().parents[1]


def _options(*references: Path, **kw: object) -> SortOptions:
    return SortOptions(engine="hash", workers=1, references=references, **kw)  # type: ignore[arg-type]


def _library(tmp_path: Path, *, inside: bool) -> tuple[Path, Path]:
    """FOLDER with two camera originals (full EXIF) and an unrelated photo; a reference
    folder (inside FOLDER or beside it) with WhatsApp re-saves of the two originals, and two
    copies of one of them (in two of its folders)."""
    root = tmp_path / "photos"
    ref = root / "Library" if inside else tmp_path / "Library"
    for name in ("sunset", "peaks"):
        jpeg(photo(name), root / "DCIM" / f"IMG_{name}.jpg")
        whatsapp_copy(root / "DCIM" / f"IMG_{name}.jpg", ref / "2023" / f"{name}.jpg")
    (ref / "backup").mkdir()
    shutil.copy2(ref / "2023" / "peaks.jpg", ref / "backup" / "peaks.jpg")
    shutil.copy2(photo("coffee"), root / "DCIM" / "coffee.jpg")
    return root, ref


@pytest.mark.parametrize("inside", [True, False], ids=["inside", "outside"])
def test_the_reference_copy_is_kept_and_the_camera_original_moves(
    tmp_path: Path, inside: bool
) -> None:
    root, ref = _library(tmp_path, inside=inside)
    before = read_tree(ref)
    report = sort_folder(root, _options(ref))
    assert read_tree(ref) == before  # nothing under the reference moved, or changed
    tree = read_tree(root)
    # The camera originals (full EXIF, larger) went to duplicates/: the re-saves are kept.
    assert "duplicates/sunset/IMG_sunset.jpg" in tree
    assert "DCIM/IMG_sunset.jpg" not in tree and "DCIM/IMG_peaks.jpg" not in tree
    assert "DCIM/coffee.jpg" in tree
    kept = {g.keeper: g.reason for g in report.duplicate_groups}
    assert kept[ref / "2023" / "sunset.jpg"] == f"in your reference folder {ref}"
    # The two copies in the reference both stay, and the report says so (text and JSON).
    peaks = next(g for g in report.groups if g.keeper == ref / "2023" / "peaks.jpg")
    assert peaks.stayed == (ref / "backup" / "peaks.jpg",)
    assert [m.src.name for m in peaks.moves] == ["IMG_peaks.jpg"]
    note = next(n for n in report.notes if "are copies of one photo" in n)
    assert str(ref / "backup" / "peaks.jpg") in note and str(ref / "2023" / "peaks.jpg") in note
    assert report.report_path is not None
    assert note in json.loads(report.report_path.read_text())["notes"]


def test_without_the_reference_the_camera_original_is_kept(tmp_path: Path) -> None:
    """The same tree sorted without --reference: the keeper rules keep the originals and move
    the re-saves out of the library (what the reference folder prevents)."""
    root, _ = _library(tmp_path, inside=True)
    sort_folder(root, _options())
    tree = read_tree(root)
    assert {"DCIM/IMG_sunset.jpg", "DCIM/IMG_peaks.jpg"} <= tree.keys()
    assert "Library/2023/sunset.jpg" not in tree


def test_undo_after_a_sort_with_references_is_exact(tmp_path: Path) -> None:
    root, ref = _library(tmp_path, inside=False)
    before, ref_before = read_tree(root), read_tree(ref)
    assert sort_folder(root, _options(ref)).duplicates_moved == 2
    undo_last_sort(root)
    assert read_tree(root) == before and read_tree(ref) == ref_before
    assert sorted(os.listdir(root)) == [".remedia", "DCIM"]  # no group folder left behind


def test_a_later_sort_never_moves_the_reference(tmp_path: Path) -> None:
    """A copy that lands in the reference after a first sort does not take the kept copy's
    place: the reference copy stays, and the copy in FOLDER goes to duplicates/."""
    root, ref = _library(tmp_path, inside=True)
    sort_folder(root, _options())  # first sort without references: the originals stayed
    shutil.copy2(root / "DCIM" / "coffee.jpg", ref / "coffee.jpg")
    before = read_tree(ref)
    report = sort_folder(root, _options(ref, full=True))
    assert read_tree(ref) == before
    assert (root / "duplicates" / "coffee" / "coffee.jpg").exists()
    assert any(g.keeper == ref / "coffee.jpg" for g in report.groups)


def test_a_second_folder_reads_the_reference_from_the_cache(tmp_path: Path) -> None:
    """The reference's features live in the feature cache (keyed by file identity, in the
    user's cache folder): a second folder naming it decodes none of its photos again."""
    ref = tmp_path / "Library"
    ref.mkdir()
    for name in ("sunset", "peaks", "life", "ridge"):
        shutil.copy2(photo(name), ref / f"{name}.jpg")
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        shutil.copy2(photo("cat"), folder / "cat.jpg")
    one = sort_folder(first, _options(ref))
    two = sort_folder(second, _options(ref))
    assert (one.decoded, one.from_cache) == (5, 0)
    assert (two.decoded, two.from_cache) == (1, 4)  # only second's own photo is read


def test_the_tray_batch_respects_references(tmp_path: Path) -> None:
    """The batch path (library index, no walk): a copy of a reference photo that arrives goes
    to duplicates/, and a copy that arrives in an inside reference stays (the one in FOLDER
    moves); both references' photos come from the index."""
    root = tmp_path / "photos"
    inside, outside = root / "Library", tmp_path / "Archive"
    jpeg(photo("sunset"), outside / "sunset.jpg")
    (root / "DCIM").mkdir(parents=True)
    shutil.copy2(photo("peaks"), root / "DCIM" / "peaks.jpg")
    inside.mkdir()
    shutil.copy2(photo("life"), inside / "life.jpg")
    assert sort_folder(root, _options(inside, outside)).groups == ()
    before = {**read_tree(inside), **read_tree(outside)}
    whatsapp_copy(outside / "sunset.jpg", root / "Inbox" / "IMG-WA0001.jpg")  # arrives
    shutil.copy2(root / "DCIM" / "peaks.jpg", inside / "peaks.jpg")  # arrives in the reference
    arrived = (root / "Inbox" / "IMG-WA0001.jpg", inside / "peaks.jpg")
    report = sort_folder(root, _options(inside, outside, arrived=arrived))
    assert report.mode == "batch"
    kept = {g.keeper for g in report.groups}
    assert kept == {outside / "sunset.jpg", inside / "peaks.jpg"}
    tree = read_tree(root)
    assert "duplicates/sunset/IMG-WA0001.jpg" in tree and "duplicates/peaks/peaks.jpg" in tree
    assert "Library/peaks.jpg" in tree and "DCIM/peaks.jpg" not in tree
    assert {**read_tree(inside), **read_tree(outside)} == {
        **before,
        "peaks.jpg": tree["Library/peaks.jpg"],
    }


def test_other_references_do_not_use_the_library_index(tmp_path: Path) -> None:
    """The index of a sort without the reference does not hold its photos: a batch with the
    reference walks the folder instead, and finds the reference copy."""
    root, ref = tmp_path / "photos", tmp_path / "Library"
    jpeg(photo("sunset"), ref / "sunset.jpg")
    (root / "DCIM").mkdir(parents=True)
    shutil.copy2(photo("peaks"), root / "DCIM" / "peaks.jpg")
    sort_folder(root, _options())
    whatsapp_copy(ref / "sunset.jpg", root / "DCIM" / "IMG-WA0001.jpg")
    report = sort_folder(root, _options(ref, arrived=(root / "DCIM" / "IMG-WA0001.jpg",)))
    assert report.mode == "walk"
    assert [g.keeper for g in report.groups] == [ref / "sunset.jpg"]


# --- the two guards -------------------------------------------------------------------------


def test_planning_never_moves_a_reference_member(tmp_path: Path) -> None:
    """Similar photos and duplicates alike: members in a reference stay, the rest move; a
    group where only reference members would move is held whole."""
    ref, root = tmp_path / "ref", tmp_path
    a, b, c = ref / "a.jpg", root / "b.jpg", root / "c.jpg"
    specs = [
        GroupSpec("similar", b, "series", (b, a, c), keep_best_in_place=False),
        GroupSpec("duplicates", a, "kept", (a, ref / "x" / "a.jpg"), keep_best_in_place=True),
    ]
    plan = plan_sort(root, specs, exists=lambda p: False, references=(ref,))
    (series,) = plan.groups
    assert [m.src for m in series.moves] == [b, c] and series.stayed == (a,)
    (held,) = plan.held
    assert held.moves == () and held.stayed == (ref / "x" / "a.jpg",)
    assert plan.references == (ref,)


def test_the_mover_refuses_a_move_out_of_a_reference(tmp_path: Path) -> None:
    """The last check: a plan that would move a reference's file (whatever made it) leaves
    it in place and reports why; the other moves of the plan are made."""
    root = tmp_path / "photos"
    ref = root / "Library"
    ref.mkdir(parents=True)
    shutil.copy2(photo("sunset"), ref / "sunset.jpg")
    shutil.copy2(photo("sunset"), root / "copy.jpg")
    folder = root / "duplicates" / "sunset"
    moves = (
        Move(ref / "sunset.jpg", folder / "sunset.jpg"),
        Move(root / "copy.jpg", folder / "copy.jpg"),
    )
    group = PlannedGroup("duplicates", folder, None, ref / "sunset.jpg", "test",
                         (ref / "sunset.jpg", root / "copy.jpg"), moves)  # fmt: skip
    result = apply_plan(SortPlan(root, (group,), (ref,)), root=root)
    assert (ref / "sunset.jpg").exists() and (folder / "copy.jpg").exists()
    assert [(f.path, f.reason) for f in result.failed] == [
        (ref / "sunset.jpg", f"in your reference folder {ref}: never moved")
    ]


# --- what users give --------------------------------------------------------------------------


def test_bad_references_are_refused_before_anything_moves(tmp_path: Path) -> None:
    root, ref = _library(tmp_path, inside=True)
    before = read_tree(tmp_path)
    (tmp_path / "file.jpg").write_bytes(b"not a folder")
    cases: list[tuple[Path, type[Exception], str]] = [
        (tmp_path / "missing", FolderNotFound, "reference folder not found"),
        (tmp_path / "file.jpg", FolderNotFound, "reference is not a folder"),
        (root, RemediaError, "is the folder being sorted"),
        (tmp_path, RemediaError, "holds the folder being sorted"),
        (root / "duplicates", FolderNotFound, "reference folder not found"),
    ]
    (root / "similar" / "x").mkdir(parents=True)
    cases.append((root / "similar" / "x", RemediaError, "in ReMedia's own folders"))
    for given, error, message in cases:
        with pytest.raises(error, match=message):
            sort_folder(root, _options(ref, given))
        with pytest.raises(error, match=message):
            sort_folder(root, _options(ref, given, dry_run=True))
    (root / "similar" / "x").rmdir()
    (root / "similar").rmdir()
    (tmp_path / "file.jpg").unlink()
    assert read_tree(tmp_path) == before and not (root / ".remedia").exists()


def test_a_symlinked_reference_is_the_folder_it_leads_to(tmp_path: Path) -> None:
    root, ref = _library(tmp_path, inside=True)
    link = tmp_path / "my-library"
    link.symlink_to(ref)
    assert check_references(root, [link]) == (ref,)
    before = read_tree(ref)
    sort_folder(root, _options(link))
    assert read_tree(ref) == before and not (root / "DCIM" / "IMG_sunset.jpg").exists()


def test_overlapping_references_count_once(tmp_path: Path) -> None:
    a = tmp_path / "a"
    assert outermost([a / "x", a, a / "x" / "y", tmp_path / "b", a]) == (a, tmp_path / "b")
    root, ref = _library(tmp_path, inside=False)
    assert check_references(root, [ref / "2023", ref, ref / "backup"]) == (ref,)
    report = sort_folder(root, _options(ref / "2023", ref))
    assert {g.keeper for g in report.duplicate_groups} == {ref / "2023" / "sunset.jpg",
                                                            ref / "2023" / "peaks.jpg"}  # fmt: skip


# --- as a user that file permissions apply to -----------------------------------------------

_SORT = """
import json, sys
from pathlib import Path
from remedia_tray.errors import RemediaError
from remedia_tray.sorter import SortOptions, sort_folder
try:
    r = sort_folder(sys.argv[1], SortOptions(engine="hash", workers=1,
                                             references=(Path(sys.argv[2]),)))
except RemediaError as exc:
    print(json.dumps({"error": str(exc)}))
else:
    print(json.dumps({"moved": [str(m.dst) for g in r.groups for m in g.moves],
                      "failed": [f.reason for f in r.failed], "notes": list(r.notes)}))
"""


def _unprivileged() -> Callable[[], None] | None:
    if os.geteuid() != 0:
        return None
    if not sys.platform.startswith("linux"):
        pytest.skip("dropping root's capabilities is Linux-only")
    from .faults.test_environment import _without_dac_override

    return _without_dac_override


def _sort_as_user(root: Path, ref: Path) -> dict[str, list[str] | str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _SORT, str(root), str(ref)], env=env, capture_output=True,
        text=True, timeout=300, preexec_fn=_unprivileged(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _listing(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry below `folder` (itself included) with its mode, size and mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [".", *dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.relpath(os.path.join(dirpath, name), folder)] = (
                st.st_mode, st.st_size, st.st_mtime_ns)  # fmt: skip
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_a_read_only_reference_outside_is_never_written(tmp_path: Path) -> None:
    root, ref = _library(tmp_path, inside=False)
    for dirpath, _, filenames in os.walk(ref):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o444)
        os.chmod(dirpath, 0o555)
    try:
        before = _listing(ref)
        out = _sort_as_user(root, ref)
        assert _listing(ref) == before  # no file, folder, lock or preview added or touched
        assert sorted(Path(p).name for p in out["moved"]) == ["IMG_peaks.jpg", "IMG_sunset.jpg"]
        assert out["failed"] == [] and len(out["notes"]) == 1
    finally:
        for dirpath, _, _ in os.walk(ref):
            os.chmod(dirpath, 0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_an_unreadable_reference_is_a_clear_error(tmp_path: Path) -> None:
    root, ref = _library(tmp_path, inside=False)
    before = read_tree(root)
    os.chmod(ref, 0o000)
    try:
        out = _sort_as_user(root, ref)
    finally:
        os.chmod(ref, 0o755)
    assert out == {
        "error": f"cannot read reference folder {ref} (Permission denied); nothing was moved"
    }
    assert read_tree(root) == before


def test_keep_this_one_on_the_review_page_never_moves_a_reference_copy(tmp_path: Path) -> None:
    # "Keep this one" puts the chosen copy back and moves the kept one into the group folder:
    # when the kept one is in a reference folder, the page's action is refused, nothing moves.
    from remedia_tray.review.actions import Refused, run_action

    root, ref = _library(tmp_path, inside=True)
    report = sort_folder(root, _options(ref))
    assert report.report_path is not None
    assert json.loads(report.report_path.read_text())["references"] == [str(ref)]
    before = read_tree(root)
    with pytest.raises(Refused) as refused:
        run_action(
            root, action="keep", group="duplicates/sunset", path="duplicates/sunset/IMG_sunset.jpg"
        )
    assert refused.value.status == 409
    assert f"in your reference folder {ref}: never moved" in str(refused.value)
    assert read_tree(root) == before
