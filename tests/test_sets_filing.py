"""A media set (a picture and its companions) is planned, moved, undone and recovered as one.

Real files: JPEGs from tests/data, a MOV of any bytes, XMP and Takeout JSON text. The scan
does not find sets yet here: the tests give `plan_sort` the companions it will provide.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from remedia_tray.core.planning import Companions, GroupSpec, plan_sort
from remedia_tray.filing import mover, moves, sets
from remedia_tray.filing.formats import (
    Manifest,
    MoveIntent,
    SetDone,
    Undone,
    grown_manifest,
    new_manifest,
    parse_record,
    read_manifest,
)
from remedia_tray.filing.formats.journal import Group, Redone
from remedia_tray.filing.journal import active_journals, read_records
from remedia_tray.filing.mover import apply_plan, recover_incomplete, undo_last_sort
from remedia_tray.filing.report import SortReport, save_report
from remedia_tray.layout import data_dir
from remedia_tray.pipeline.placed import read_placed
from remedia_tray.review.actions import run_action

from .conftest import photo, read_tree


def live_set(folder: Path, stem: str = "IMG_0001", picture: str = "sunset") -> Companions:
    """A JPEG with its Live video, Apple sidecar, XMP and Takeout JSON; its companions."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(photo(picture), folder / f"{stem}.JPG")
    (folder / f"{stem}.MOV").write_bytes(b"\0\0\0\x18ftypqt  " + os.urandom(2048))
    (folder / f"{stem}.AAE").write_text("<plist><dict/></plist>\n")
    (folder / f"{stem}.JPG.xmp").write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n')
    (folder / f"{stem}.JPG.json").write_text(json.dumps({"title": f"{stem}.JPG"}))
    return (
        ("live", folder / f"{stem}.MOV"),
        ("aae", folder / f"{stem}.AAE"),
        ("xmp", folder / f"{stem}.JPG.xmp"),
        ("json", folder / f"{stem}.JPG.json"),
    )


def library(root: Path) -> tuple[GroupSpec, dict[Path, Companions]]:
    """sunset.jpg kept in place; Phone/IMG_0001.JPG (a copy, with its set) moves."""
    root.mkdir()
    shutil.copy2(photo("sunset"), root / "sunset.jpg")
    phone = root / "Phone"
    companions = {phone / "IMG_0001.JPG": live_set(phone)}
    spec = GroupSpec(
        "duplicates", root / "sunset.jpg", "byte-identical",
        (root / "sunset.jpg", phone / "IMG_0001.JPG"), True,
    )  # fmt: skip
    return spec, companions


def sort(root: Path, spec: GroupSpec, companions: dict[Path, Companions]) -> mover.ApplyResult:
    plan = plan_sort(root, [spec], exists=os.path.lexists, companions=companions)
    return apply_plan(plan, root=root)


def test_a_set_moves_whole_beside_its_picture_and_undo_is_exact(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    spec, companions = library(root)
    before = read_tree(root)
    result = sort(root, spec, companions)
    assert not result.failed
    group = root / "duplicates/sunset"
    assert sorted(p.name for p in group.iterdir()) == [
        "IMG_0001.AAE", "IMG_0001.JPG", "IMG_0001.JPG.json", "IMG_0001.JPG.xmp",
        "IMG_0001.MOV", "remedia-group.json",
    ]  # fmt: skip
    assert not (root / "Phone").exists() or not any((root / "Phone").iterdir())
    records = read_records(result.journal)
    assert SetDone(root / "Phone/IMG_0001.JPG") in records
    manifest = read_manifest(group)
    assert manifest is not None
    assert dict(manifest.companions)[str(group / "IMG_0001.JPG")] == (
        ("live", str(group / "IMG_0001.MOV")),
        ("aae", str(group / "IMG_0001.AAE")),
        ("xmp", str(group / "IMG_0001.JPG.xmp")),
        ("json", str(group / "IMG_0001.JPG.json")),
    )
    (placed,) = read_placed(root)
    assert [m.path.name for m in placed.members] == ["IMG_0001.JPG"]
    assert [r for r, _ in placed.companions_of(group / "IMG_0001.JPG")] == [
        "live", "aae", "xmp", "json",
    ]  # fmt: skip
    undo_last_sort(root)
    assert read_tree(root) == before


def test_a_set_is_renamed_together_when_its_names_are_taken(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    spec, companions = library(root)
    group = root / "duplicates/sunset"
    group.mkdir(parents=True)
    (group / "IMG_0001.MOV").write_bytes(b"someone else's video")
    before = read_tree(root)
    result = sort(root, dataclasses.replace(spec, folder=group), companions)
    assert not result.failed
    names = sorted(p.name for p in group.iterdir() if p.name.startswith("IMG_0001 (2)"))
    assert names == [
        "IMG_0001 (2).AAE", "IMG_0001 (2).JPG", "IMG_0001 (2).JPG.json",
        "IMG_0001 (2).JPG.xmp", "IMG_0001 (2).MOV",
    ]  # fmt: skip
    undo_last_sort(root)
    assert read_tree(root) == before


@pytest.mark.parametrize("which", [1, 3, 4])
def test_a_member_that_cannot_move_keeps_the_set_whole(tmp_path: Path, which: int) -> None:
    root = tmp_path / "lib"
    spec, companions = library(root)
    plan = plan_sort(root, [spec], exists=os.path.lexists, companions=companions)
    taken = plan.moves[which].dst  # a file takes a member's name after planning
    taken.parent.mkdir(parents=True)
    taken.write_bytes(b"appeared mid-sort")
    before = read_tree(root)
    result = apply_plan(plan, root=root)
    assert read_tree(root) == before  # the members moved already went back
    (problem,) = result.failed
    assert problem.path == root / "Phone/IMG_0001.JPG"
    assert problem.reason == (
        f"{plan.moves[which].src.name}: another file took its name in the group folder; "
        "left in place; the set of 5 files stays together where it was"
    )
    assert not result.moved
    records = read_records(result.journal)
    assert sum(isinstance(r, Undone) for r in records) == which  # each put back, journaled
    assert not any(isinstance(r, SetDone) for r in records)
    undo_last_sort(root)
    assert read_tree(root) == before


def test_a_set_and_a_lone_file_beside_it_are_independent(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    spec, companions = library(root)
    shutil.copy2(photo("sunset"), root / "Phone/copy.jpg")
    spec = GroupSpec(spec.kind, spec.best, spec.reason, (*spec.members, root / "Phone/copy.jpg"),
                     True)  # fmt: skip
    plan = plan_sort(root, [spec], exists=os.path.lexists, companions=companions)
    (plan.moves[2].dst.parent).mkdir(parents=True)
    plan.moves[2].dst.write_bytes(b"taken")
    before = read_tree(root)
    result = apply_plan(plan, root=root)
    assert [m.src.name for m in result.moved] == ["copy.jpg"]  # the sort carries on
    assert len(result.failed) == 1
    undo_last_sort(root)
    after = read_tree(root)
    assert after == before


class Crash(BaseException):
    """A crash between two members of a set (as a kill would leave the journal)."""


def crash_at(monkeypatch: pytest.MonkeyPatch, k: int) -> None:
    real = mover.safe_move
    calls = [0]

    def move(src: object, dst: object) -> None:
        calls[0] += 1
        if calls[0] == k:
            raise Crash
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(mover, "safe_move", move)


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("then", ["undo", "recover"])
def test_a_crash_between_members_never_leaves_a_set_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, k: int, then: str
) -> None:
    root = tmp_path / "lib"
    spec, companions = library(root)
    before = read_tree(root)
    crash_at(monkeypatch, k)
    with pytest.raises(Crash):
        sort(root, spec, companions)
    monkeypatch.undo()
    assert len(read_tree(root)) == len(before)  # k - 1 members moved, nothing lost
    if then == "undo":
        undo_last_sort(root)
    else:
        assert recover_incomplete(root)  # what the next sort does first
        records = read_records(active_journals(root)[-1])
        assert sum(isinstance(r, Undone) for r in records) == k
    assert read_tree(root) == before
    if then == "recover":  # the next sort moves the set whole; its undo undoes both
        result = sort(root, spec, companions)
        assert len(result.moved) == 5 and not result.failed
        undo_last_sort(root)
        assert read_tree(root) == before


def test_records_of_sets_read_back_and_old_ones_read_unchanged() -> None:
    a, b, u = Path("/r/a.MOV"), Path("/r/g/a.MOV"), Path("/r/a.JPG")
    intent = MoveIntent(a, b, u, "live")
    data = {"op": "move", "src": str(a), "dst": str(b), "unit": str(u), "role": "live"}
    assert intent.to_dict() == data and parse_record(data) == intent
    assert parse_record(SetDone(u).to_dict()) == SetDone(u)
    assert MoveIntent(a, b).to_dict() == {"op": "move", "src": str(a), "dst": str(b)}
    assert parse_record({**data, "role": "nonsense"}).to_dict() == {**data, "role": "nonsense"}


def test_manifest_companions_field_is_optional() -> None:
    info = Group(Path("/r/similar/g"), "similar", None, Path("/r/a.JPG"), "r")
    plain = new_manifest(info, [(Path("/r/a.JPG"), Path("/r/similar/g/a.JPG"))])
    assert "companions" not in json.loads(plain)
    assert Manifest.from_dict(json.loads(plain)).companions == ()
    sets = {Path("/r/similar/g/b.JPG"): [("live", Path("/r/similar/g/b.MOV"))]}
    grown = grown_manifest(plain, info, [(Path("/r/b.JPG"), Path("/r/similar/g/b.JPG"))], sets)
    assert grown is not None
    assert json.loads(grown)["companions"] == {
        "/r/similar/g/b.JPG": [{"role": "live", "path": "/r/similar/g/b.MOV"}]
    }
    assert Manifest.from_dict(json.loads(grown)).companions == (
        ("/r/similar/g/b.JPG", (("live", "/r/similar/g/b.MOV"),)),
    )


def sorted_set(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A library whose set the sort moved whole into duplicates/sunset; the tree before."""
    root = tmp_path / "lib"
    spec, companions = library(root)
    before = read_tree(root)
    assert not sort(root, spec, companions).failed
    return root, before


GROUP_FILES = {"IMG_0001.AAE", "IMG_0001.JPG", "IMG_0001.JPG.json", "IMG_0001.JPG.xmp",
               "IMG_0001.MOV", "remedia-group.json"}  # fmt: skip


def test_undo_keeps_a_set_whole_while_a_companions_name_is_taken(tmp_path: Path) -> None:
    root, before = sorted_set(tmp_path)
    (root / "Phone/IMG_0001.AAE").write_text("the user's own edits\n")  # taken meanwhile
    result = undo_last_sort(root)
    group = root / "duplicates/sunset"
    assert {p.name for p in group.iterdir()} == GROUP_FILES  # whole, in its group
    assert [p.name for p in (root / "Phone").iterdir()] == ["IMG_0001.AAE"]
    assert result.restored == 0 and not result.finished
    (left,) = result.remaining  # the set, once
    assert left.path == group / "IMG_0001.JPG"
    assert left.reason == (
        "the set of 5 files stays together in duplicates/sunset: IMG_0001.AAE: "
        "another file now has the name IMG_0001.AAE in Phone"
    )
    assert (root / "Phone/IMG_0001.AAE").read_text() == "the user's own edits\n"
    (root / "Phone/IMG_0001.AAE").unlink()  # the user frees the name: undo retries the set
    assert undo_last_sort(root).finished
    assert read_tree(root) == before
    assert not active_journals(root)


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EACCES])
def test_a_member_failing_mid_undo_puts_the_set_forward_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    root, before = sorted_set(tmp_path)
    sorted_tree = read_tree(root)
    real = moves.safe_move
    calls = [0]

    def move(src: object, dst: object) -> None:
        calls[0] += 1
        if calls[0] == 2:  # the second member of the set on its way back
            raise OSError(error, os.strerror(error))
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(moves, "safe_move", move)
    result = undo_last_sort(root)
    monkeypatch.undo()
    assert read_tree(root) == sorted_tree  # the member back already went forward again
    (left,) = result.remaining
    assert left.reason.startswith("the set of 5 files stays together in duplicates/sunset: ")
    assert os.strerror(error) in left.reason
    records = read_records(active_journals(root)[-1])
    assert sum(isinstance(r, Redone) for r in records) == 2  # the one back, the one failed
    assert undo_last_sort(root).finished  # the next undo retries the whole set
    assert read_tree(root) == before


@pytest.mark.parametrize("at", [1, 2])
def test_a_crash_while_putting_a_set_forward_is_finished_by_the_next_undo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    root, before = sorted_set(tmp_path)
    real_back, real_forward = moves.safe_move, sets.safe_move
    calls = [0]

    def back(src: object, dst: object) -> None:
        calls[0] += 1
        if calls[0] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_back(src, dst)  # type: ignore[arg-type]

    forwards = [0]

    def forward(src: object, dst: object) -> None:
        forwards[0] += 1
        if forwards[0] == at:
            raise Crash
        real_forward(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(moves, "safe_move", back)
    monkeypatch.setattr(sets, "safe_move", forward)
    with pytest.raises(Crash):
        undo_last_sort(root)
    monkeypatch.undo()
    assert len(read_tree(root)) == len(before) + 1  # split for now, nothing lost (+ manifest)
    assert undo_last_sort(root).finished
    assert read_tree(root) == before


def test_a_member_the_user_deleted_does_not_hold_back_the_rest(tmp_path: Path) -> None:
    root, before = sorted_set(tmp_path)
    (root / "duplicates/sunset/IMG_0001.JPG.json").unlink()  # the user's choice
    result = undo_last_sort(root)
    assert result.finished and result.restored == 4
    (gone,) = result.problems
    assert gone.path == root / "duplicates/sunset/IMG_0001.JPG.json"
    del before["Phone/IMG_0001.JPG.json"]
    assert read_tree(root) == before


@pytest.mark.parametrize("action", ["not-duplicate", "undo-group"])
def test_a_review_action_takes_a_picture_out_with_its_set(tmp_path: Path, action: str) -> None:
    root = tmp_path / "lib"
    spec, companions = library(root)
    before = read_tree(root)
    plan = plan_sort(root, [spec], exists=os.path.lexists, companions=companions)
    result = apply_plan(plan, root=root)
    assert not result.failed
    report = SortReport(
        folder=root, dry_run=False, strictness=2, engines={}, files_seen=6, images=2,
        decoded=2, from_cache=0, groups=plan.groups, skipped=(), failed=(),
        journal=result.journal, seconds=0.0,
    )  # fmt: skip
    save_report(report, data_dir(root))
    path = None if action == "undo-group" else "duplicates/sunset/IMG_0001.JPG"
    done = run_action(root, action=action, group="duplicates/sunset", path=path)
    assert not done.problems
    after = {p: h for p, h in read_tree(root).items() if not p.endswith("remedia-group.json")}
    assert after == before  # the picture went back with its companions
    assert [m.role for m in done.moved] == [None, "live", "aae", "xmp", "json"]
    assert SetDone(root / "duplicates/sunset/IMG_0001.JPG") in read_records(done.journal)
    undo_last_sort(root)  # the action: the set goes back into its group whole
    assert {p.name for p in (root / "duplicates/sunset").iterdir()} == GROUP_FILES
    undo_last_sort(root)  # the sort
    assert read_tree(root) == before


def test_keep_moves_the_old_kept_copy_into_the_group_with_its_set(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    shutil.copy2(photo("sunset"), root / "sunset.jpg")
    phone = root / "Phone"
    companions = {phone / "IMG_0001.JPG": live_set(phone)}
    spec = GroupSpec(
        "duplicates", phone / "IMG_0001.JPG", "carries its Live video",
        (phone / "IMG_0001.JPG", root / "sunset.jpg"), True,
    )  # fmt: skip
    before = read_tree(root)
    plan = plan_sort(root, [spec], exists=os.path.lexists, companions=companions)
    result = apply_plan(plan, root=root)
    assert not result.failed and (phone / "IMG_0001.MOV").exists()
    report = SortReport(
        folder=root, dry_run=False, strictness=2, engines={}, files_seen=6, images=2,
        decoded=2, from_cache=0, groups=plan.groups, skipped=(), failed=(),
        journal=result.journal, seconds=0.0,
    )  # fmt: skip
    save_report(report, data_dir(root))
    done = run_action(
        root, action="keep", group="duplicates/IMG_0001", path="duplicates/IMG_0001/sunset.jpg"
    )
    assert not done.problems
    # The chosen copy is back in place; the old kept copy went into the group with its set.
    assert (root / "sunset.jpg").exists() and not (phone / "IMG_0001.JPG").exists()
    group = {p.name for p in (root / "duplicates/IMG_0001").iterdir()}
    assert {"IMG_0001.JPG", "IMG_0001.MOV", "IMG_0001.AAE", "IMG_0001.JPG.xmp"} <= group
    assert not any(phone.iterdir())  # nothing of the set left behind
    undo_last_sort(root)  # the action
    undo_last_sort(root)  # the sort
    assert read_tree(root) == before
