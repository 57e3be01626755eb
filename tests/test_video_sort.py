"""Duplicate videos through a real sort: a phone backup with copies, re-encodes and clips that
only look alike (tests/videofiles.py: video_backup). At balanced every copy is found and
nothing else (pair precision and recall 1.0), the original stays, damaged files are skipped
with a reason, undo restores the tree, a rescan decodes nothing, a hung read is stopped."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.filing.report import SortReport
from remedia_tray.layout import MANIFEST_NAME, thumbs_dir
from remedia_tray.pipeline.previews import thumb_name
from remedia_tray.pipeline.video_pool import read_videos
from remedia_tray.sorter import SortOptions, sort_folder

from . import videofiles as vf
from .conftest import PHOTOS, photo, read_tree, run_remedia

pytest.importorskip("av")

HASH = SortOptions(engine="hash", workers=2)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return vf.video_backup(tmp_path_factory.mktemp("videos") / "backup", [photo(n) for n in PHOTOS])


@pytest.fixture
def backup(built: Path, tmp_path: Path) -> Path:
    root = tmp_path / "backup"
    shutil.copytree(built, root)
    return root


def _pairs(sets: list[tuple[str, ...]]) -> set[frozenset[str]]:
    return {frozenset(p) for s in sets for p in itertools.combinations(s, 2)}


def _video_pairs(report: SortReport) -> set[frozenset[str]]:
    groups = [
        tuple(str(p.relative_to(report.folder)) for p in g.members)
        for g in report.groups
        if g.kind == "duplicates"
    ]
    return _pairs(groups)


def _media(root: Path) -> dict[str, str]:
    """The tree without the group folders' manifests."""
    return {p: h for p, h in read_tree(root).items() if Path(p).name != MANIFEST_NAME}


def _check_sorted(root: Path, before: dict[str, str], report: SortReport) -> None:
    truth = _pairs(list(vf.SAME_VIDEO))
    found = _video_pairs(report)
    assert found == truth, (found - truth, truth - found)  # precision and recall 1.0
    after = _media(root)
    assert sorted(after.values()) == sorted(before.values())  # nothing lost, nothing added
    for original, *copies in vf.SAME_VIDEO:
        assert after[original] == before[original]  # the original stays in place
        for copy in copies:
            assert copy not in after
            (now,) = [p for p, h in after.items() if p.startswith("duplicates/")
                      and h == before[copy] and Path(p).name == Path(copy).name]  # fmt: skip
            assert Path(now).parent.name == Path(original).stem
    skipped = {str(s.path.relative_to(root)): s.reason for s in report.skipped}
    assert set(skipped) == set(vf.DAMAGED), skipped
    for path, reason in vf.DAMAGED.items():
        assert skipped[path].startswith(reason), skipped[path]
    assert not any("not an image" in s.reason for s in report.skipped)


def test_a_balanced_sort_finds_every_copy_and_nothing_else(backup: Path) -> None:
    before = read_tree(backup)
    report = sort_folder(backup, HASH)
    _check_sorted(backup, before, report)
    assert report.videos == 16 and report.images == 17
    kept = {g.keeper.name: g.reason for g in report.groups if g.keeper is not None}
    assert kept["VID_0007.mov"].startswith("camera original (EXIF: Apple iPhone 13)")
    assert kept["VID_0008.mp4"].startswith("camera original (EXIF: Android 13)")
    # Each group's review facts carry the length; each video read left its poster.
    assert {report.details[m].duration for g in report.groups for m in g.members} == {3.0}
    thumbs = thumbs_dir(backup)
    for m in (m.dst for g in report.groups for m in g.moves):
        with Image.open(thumbs / thumb_name(os.stat(m))) as poster:
            assert max(poster.size) == 320 and poster.getextrema()[0][1] > 64  # not black
    undo_last_sort(backup)
    assert read_tree(backup) == before


def test_a_rescan_decodes_nothing(backup: Path) -> None:
    first = sort_folder(backup, SortOptions(engine="hash", workers=2, dry_run=True))
    again = sort_folder(backup, SortOptions(engine="hash", workers=2, dry_run=True))
    videos = 19  # the damaged ones included; the byte copy is never decoded
    assert first.decoded == 1 + videos - 1 and first.from_cache == 0
    assert again.decoded == 0 and again.from_cache == 1 + videos - 1
    assert _video_pairs(again) == _video_pairs(first) == _pairs(list(vf.SAME_VIDEO))
    assert again.groups == first.groups


def test_the_cli_sorts_videos(backup: Path) -> None:
    before = read_tree(backup)
    done = run_remedia("sort", str(backup), "--engine", "hash", "--workers", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    after = _media(backup)
    moved = sorted(p for p in after if p.startswith("duplicates/"))
    assert len(moved) == sum(len(s) - 1 for s in vf.SAME_VIDEO), moved
    assert all(original in after for original, *_ in vf.SAME_VIDEO)
    assert "not an image" not in done.stdout + done.stderr
    assert "  1 photo and 16 videos (" in done.stdout  # counted apart
    undone = run_remedia("undo", str(backup))
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert read_tree(backup) == before


def test_a_tray_batch_groups_an_arrived_video_with_the_folders_videos(backup: Path) -> None:
    sort_folder(backup, HASH)
    sorted_tree = read_tree(backup)
    # A second WhatsApp copy of the first clip arrives, and a new clip of its own.
    copy = vf.whatsapp(backup / "DCIM" / "VID_0001.mov", backup / "Inbox" / "VID-WA0002.mp4",
                       side=320)  # fmt: skip
    new = vf.pan_clip(photo("umang"), backup / "Inbox" / "VID_0012.mp4", size=(320, 180))
    report = sort_folder(backup, SortOptions(engine="hash", workers=2, arrived=(copy, new)))
    assert report.mode == "batch" and report.skipped == ()
    (group,) = report.groups
    assert group.keeper == backup / "DCIM" / "VID_0001.mov"
    assert [m.src for m in group.moves] == [copy]
    assert group.moves[0].dst.parent == group.folder == backup / "duplicates" / "VID_0001"
    assert new.exists()
    undo_last_sort(backup)
    assert {k: v for k, v in read_tree(backup).items() if not k.startswith("Inbox/")} == (
        sorted_tree
    )


def test_a_tray_batch_sees_the_videos_of_a_reference_folder_outside(tmp_path: Path) -> None:
    library, ref = tmp_path / "library", tmp_path / "phone"
    original = vf.pan_clip(photo("cat"), ref / "VID_0001.mp4", size=(320, 180))
    (library / "Inbox").mkdir(parents=True)
    (library / "IMG_0001.jpg").write_bytes(photo("life").read_bytes())
    options = {"engine": "hash", "workers": 1, "references": (ref,)}
    sort_folder(library, SortOptions(**options))  # type: ignore[arg-type]
    copy = vf.whatsapp(original, library / "Inbox" / "VID-WA0001.mp4", side=240)
    report = sort_folder(library, SortOptions(arrived=(copy,), **options))  # type: ignore[arg-type]
    assert report.mode == "batch"
    (group,) = report.groups  # as a whole sort finds it
    assert group.keeper == original and [m.src for m in group.moves] == [copy]
    assert original.exists() and not copy.exists()


def test_a_dry_run_moves_nothing(backup: Path) -> None:
    before = read_tree(backup)
    report = sort_folder(backup, SortOptions(engine="hash", workers=2, dry_run=True))
    assert _video_pairs(report) == _pairs(list(vf.SAME_VIDEO))
    assert read_tree(backup) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_hung_read_is_stopped_and_the_others_are_read(tmp_path: Path, built: Path) -> None:
    # Nothing writes into this pipe: opening it blocks for ever, as a hung decode would.
    hung = tmp_path / "clip.mp4"
    os.mkfifo(hung)
    good = [built / "DCIM" / "VID_0001.mov", built / "DCIM" / "VID_0002.mp4"]
    outcomes = dict(read_videos([good[0], hung, good[1]], workers=1, time_limit=3.0))
    assert outcomes[1].reason == "took longer than 3 s to read (stopped)"
    # The worker that hung was replaced: the file after it was read.
    assert outcomes[0].info is not None and outcomes[2].info is not None


def test_a_sort_goes_on_when_videos_run_out_of_time(backup: Path) -> None:
    before = read_tree(backup)
    report = sort_folder(
        backup, SortOptions(engine="hash", workers=2, video_time_limit=1e-6, dry_run=True)
    )
    stopped = [s for s in report.skipped if s.reason.startswith("took longer than")]
    assert len(stopped) == 19  # every video, the byte copy with the one it shares a read with
    assert report.images == 1 and report.groups == () and read_tree(backup) == before
