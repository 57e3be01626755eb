"""Media sets enter the scan (issue 23): only each set's picture is read, its companions go
with it and are never "skipped"; a batch sees the companions already in its folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from remedia_tray.engines.registry import select_engines
from remedia_tray.pipeline.discovery import iter_files
from remedia_tray.pipeline.features import extract_features
from remedia_tray.pipeline.mediasets import FoundSets, find_media_sets, with_companions
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import photo
from .mediafiles import heic, jpeg, phone_backup, video

pytest.importorskip("av")
pytest.importorskip("pillow_heif")

COMPANIONS = {
    "IMG_0001.HEIC": [("aae", "IMG_0001.AAE"), ("live", "IMG_0001.MOV"),
                      ("edited", "IMG_E0001.JPG"), ("aae", "IMG_O0001.AAE")],
    "IMG_0002.jpg": [("json", "IMG_0002.jpg.json"), ("xmp", "IMG_0002.jpg.xmp")],
    "IMG_0002(1).jpg": [("json", "IMG_0002.jpg(1).json")],
    "IMG_0003.JPG": [("raw", "IMG_0003.DNG"), ("xmp", "IMG_0003.xmp")],
    "IMG_0004.jpg": [("live", "IMG_0004.MP4")],
}  # fmt: skip
PRIMARIES = [
    "IMG_0001.HEIC", "IMG_0002(1).jpg", "IMG_0002.jpg", "IMG_0003.JPG", "IMG_0004.jpg",
    "IMG_0005.HEIC", "IMG_0005.MOV", "notes.txt",
]  # fmt: skip


@pytest.fixture(scope="module")
def backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return phone_backup(
        tmp_path_factory.mktemp("phone") / "DCIM", [photo("cat"), photo("peaks"), photo("ridge")]
    )


def _named(found: FoundSets) -> dict[str, list[tuple[str, str]]]:
    return {p.name: [(r, m.path.name) for r, m in ms] for p, ms in found.companions.items()}


def test_a_phone_backup_is_found_as_sets(backup: Path) -> None:
    found = find_media_sets(list(iter_files(backup)))
    assert [f.path.name for f in found.primaries] == PRIMARIES
    assert _named(found) == COMPANIONS
    assert found.joining == {}
    assert found.count == 18
    # The 10 s video beside IMG_0005.HEIC is a video of its own; the RAW beside a JPEG is not
    # read (the JPEG stands for the pair).
    assert backup / "IMG_0005.MOV" not in found.companion_paths
    assert backup / "IMG_0003.DNG" in found.companion_paths


def test_the_scan_carries_companions_and_reads_only_pictures(backup: Path) -> None:
    found = find_media_sets(list(iter_files(backup)))
    engines = select_engines("hash").engines
    scan = with_companions(extract_features(found.primaries, engines), found)
    assert sorted(f.path.name for f in scan.files) == sorted(PRIMARIES[:6])
    assert sorted(s.path.name for s in scan.skipped) == ["IMG_0005.MOV", "notes.txt"]
    assert _named(FoundSets((), scan.companions)) == COMPANIONS


def test_no_companion_is_skipped_by_a_sort(backup: Path, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    shutil.copytree(backup, root / "DCIM")
    report = sort_folder(root, SortOptions(engine="hash", workers=1, dry_run=True))
    # The 10 s video is a video of its own: read as one (issue 24), not skipped.
    assert sorted(s.path.name for s in report.skipped) == ["notes.txt"]
    assert report.files_seen == 18 and report.images == 7 and report.videos == 1
    # Sets are grouped by their pictures; a companion moves only with its picture.
    moves = [m for g in report.groups for m in g.moves]
    assert {m.src.name for m in moves if m.role is None} <= set(PRIMARIES[:6])
    assert {m.unit for m in moves if m.role is not None} <= {m.src for m in moves}


def test_a_lone_raw_is_a_picture_and_two_videos_are_videos(tmp_path: Path) -> None:
    (tmp_path / "DSC_1.NEF").write_bytes(b"II*\x00" + bytes(100))
    (tmp_path / "DSC_1.xmp").write_text("<x/>")
    video(photo("cat"), tmp_path / "clip.mov", seconds=1.0, fps=5, side=160)
    found = find_media_sets(list(iter_files(tmp_path)))
    assert [f.path.name for f in found.primaries] == ["DSC_1.NEF", "clip.mov"]
    assert _named(found) == {"DSC_1.NEF": [("xmp", "DSC_1.xmp")]}


def test_a_set_still_being_copied_waits_whole(backup: Path) -> None:
    found = find_media_sets(list(iter_files(backup)))
    waiting = found.without(lambda p: p.name == "IMG_0001.MOV")
    assert [f.path.name for f in waiting.primaries] == PRIMARIES[1:]
    assert "IMG_0001.HEIC" not in _named(waiting)


# A batch: what arrives is matched against the files already in its folder.


def test_companions_that_arrive_alone_join_the_picture_already_there(tmp_path: Path) -> None:
    heic(photo("cat"), tmp_path / "IMG_0001.HEIC")
    mov = video(photo("cat"), tmp_path / "IMG_0001.MOV", seconds=2.0, fps=5, side=160)
    (tmp_path / "IMG_0001.AAE").write_text("<plist/>")
    arrived = [f for f in iter_files(tmp_path) if f.path.suffix != ".HEIC"]
    found = find_media_sets(arrived, look_around=True)
    assert found.primaries == () and found.companions == {}
    assert {p.name: [(r, m.path.name) for r, m in ms] for p, ms in found.joining.items()} == {
        "IMG_0001.HEIC": [("aae", "IMG_0001.AAE"), ("live", "IMG_0001.MOV")]
    }
    # Without looking around, the lone arrivals are files of their own, as before.
    alone = find_media_sets(arrived)
    assert {f.path for f in alone.primaries} == {mov, tmp_path / "IMG_0001.AAE"}


def test_a_picture_that_arrives_late_takes_its_companions_along(tmp_path: Path) -> None:
    video(photo("cat"), tmp_path / "IMG_0001.MOV", seconds=2.0, fps=5, side=160)
    jpeg(photo("peaks"), tmp_path / "other.jpg")
    pic = heic(photo("cat"), tmp_path / "IMG_0001.HEIC")
    found = find_media_sets([f for f in iter_files(tmp_path) if f.path == pic], look_around=True)
    assert [f.path for f in found.primaries] == [pic]
    assert _named(found) == {"IMG_0001.HEIC": [("live", "IMG_0001.MOV")]}


def test_a_tray_batch_never_reports_companions_as_skipped(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    jpeg(photo("peaks"), root / "DCIM" / "IMG_0002.jpg")
    heic(photo("cat"), root / "DCIM" / "IMG_0001.HEIC")
    assert sort_folder(root, SortOptions(engine="hash", workers=1)).groups == ()
    mov = video(photo("cat"), root / "DCIM" / "IMG_0001.MOV", seconds=2.0, fps=5, side=160)
    side = root / "DCIM" / "IMG_0002.jpg.xmp"
    side.write_text("<x/>")
    long = video(photo("cat"), root / "DCIM" / "IMG_0003.MOV", seconds=6.0, fps=2, side=160)
    report = sort_folder(
        root, SortOptions(engine="hash", workers=1, dry_run=True, arrived=(mov, side, long))
    )
    # The picture's Live video is not read; the 6 s video is a video of its own (issue 24).
    assert report.mode == "batch" and report.decoded == 1 and report.videos == 1
    assert report.skipped == ()


# A companion that arrives after its picture was sorted into a group folder follows it there.


def _two_sorted_copies(root: Path) -> Path:
    """Phone/IMG_0001.HEIC with its AAE stays; two bare backups of it moved into one
    duplicates folder (the second renamed "IMG_0001 (2).HEIC"). The group folder."""
    heic(photo("cat"), root / "Phone" / "IMG_0001.HEIC")
    (root / "Phone" / "IMG_0001.AAE").write_text("<plist/>")
    for name in ("Backup", "Backup2"):
        (root / name).mkdir()
        shutil.copy2(root / "Phone" / "IMG_0001.HEIC", root / name / "IMG_0001.HEIC")
    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    (group,) = report.groups
    assert sorted(m.dst.name for m in group.moves) == ["IMG_0001 (2).HEIC", "IMG_0001.HEIC"]
    return group.folder


@pytest.mark.parametrize("mode", ["walk", "batch"])
def test_a_late_companion_joins_its_picture_in_its_group_folder(tmp_path: Path, mode: str) -> None:
    from remedia_tray.filing.formats import read_manifest
    from remedia_tray.filing.mover import undo_last_sort
    from remedia_tray.pipeline.placed import moved_pictures, read_placed

    from .conftest import read_tree

    root = tmp_path / "photos"
    group = _two_sorted_copies(root)
    where = moved_pictures(root)
    picture_now = where[root / "Backup2" / "IMG_0001.HEIC"]
    before = read_tree(root)
    mov = video(photo("cat"), root / "Backup2" / "img_0001.mov", seconds=2.0, fps=5, side=160)
    before["Backup2/img_0001.mov"] = read_tree(root)["Backup2/img_0001.mov"]
    arrived = (mov,) if mode == "batch" else None
    report = sort_folder(root, SortOptions(engine="hash", workers=1, arrived=arrived))
    assert report.mode == mode and report.skipped == () and report.failed == ()
    dst = group / f"{picture_now.stem}.mov"  # the picture's stem, the MOV's own suffix
    assert [(m.src, m.dst) for g in report.groups for m in g.moves] == [(mov, dst)]
    assert dst.exists() and not mov.exists()
    # The manifest lists it with its picture: the next sort carries it, never reads it.
    manifest = read_manifest(group)
    assert manifest is not None and (str(mov), str(dst)) in manifest.moved
    (placed,) = read_placed(root)
    assert placed.companions_of(picture_now) == (("live", dst),)
    assert dst not in {m.path for m in placed.members}
    again = sort_folder(root, SortOptions(engine="hash", workers=1))
    assert again.skipped == () and again.groups == ()
    undo_last_sort(root)
    assert read_tree(root) == before  # the manifest too


def test_a_late_companion_whose_name_is_taken_stays_and_says_why(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    group = _two_sorted_copies(root)
    (group / "IMG_0001.AAE").write_text("<plist>mine</plist>")
    (root / "Backup" / "IMG_0001.AAE").write_text("<plist/>")
    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    assert report.groups == ()
    assert [(s.path.name, s.reason) for s in report.skipped] == [
        ("IMG_0001.AAE", f"its picture is in duplicates/{group.name}, where IMG_0001.AAE is "
         "taken; left in place")
    ]  # fmt: skip
