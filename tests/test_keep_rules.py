"""Keep rules (issue 25) on real photos: copies of one photo made with Pillow, with different
dates taken, sizes, metadata, companions and places; each rule keeps the copy it names, and
the reason says which rule decided (", as you asked" when it is one the user set)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from remedia_tray.core.keeper import KeepRuleError
from remedia_tray.errors import RemediaError
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import photo, read_tree, run_remedia

_EXIF_IFD, _MAKE, _MODEL, _DATETIME, _TAKEN = 0x8769, 0x010F, 0x0110, 0x0132, 0x9003
_ARTIST, _SOFTWARE, _COPYRIGHT = 0x013B, 0x0131, 0x8298


def camera_copy(
    dst: Path,
    *,
    taken: str | None = "2024:05:01 10:02:33",
    quality: int = 90,
    scale: float = 1.0,
    exif: bool = True,
    extra: bool = False,
    src: Path | None = None,
) -> Path:
    """A copy of a real photo as a camera (or an app) wrote it: its EXIF set here."""
    with Image.open(src or photo("sunset")) as im:
        im = im.convert("RGB")
        if scale != 1.0:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
        meta = Image.Exif()
        if exif:
            meta[_MAKE], meta[_MODEL] = "Google", "Pixel 7"
            if taken is not None:
                meta[_DATETIME] = taken
                meta.get_ifd(_EXIF_IFD)[_TAKEN] = taken
            if extra:
                meta[_ARTIST], meta[_SOFTWARE], meta[_COPYRIGHT] = "Ann", "Camera 1.0", "(c) Ann"
        dst.parent.mkdir(parents=True, exist_ok=True)
        im.save(dst, "JPEG", quality=quality, exif=meta.tobytes())
    return dst


@dataclass(frozen=True)
class Case:
    keep: tuple[str, ...] | None
    kept: str  # relative to the folder
    reason: str  # the report's reason, exactly


def _sort(root: Path, keep: tuple[str, ...] | None) -> tuple[str, str]:
    report = sort_folder(root, SortOptions(engine="hash", workers=1, dry_run=True, keep=keep))
    assert len(report.groups) == 1, report.groups
    (group,) = report.groups
    assert group.keeper is not None
    return group.keeper.relative_to(root).as_posix(), group.reason


def _dates(root: Path) -> None:
    camera_copy(root / "Camera/new.jpg", taken="2024:05:01 10:02:33")
    camera_copy(root / "Backup/old.jpg", taken="2023:01:02 08:00:00")


def _qualities(root: Path) -> None:
    camera_copy(root / "Camera/fine.jpg", quality=95)
    camera_copy(root / "Camera/small.jpg", quality=80)


def _sizes(root: Path) -> None:
    camera_copy(root / "Camera/full.jpg", quality=80)
    camera_copy(root / "Camera/half.jpg", scale=0.5, quality=95)


def _original(root: Path) -> None:
    camera_copy(root / "Camera/IMG_1.jpg", quality=85)
    camera_copy(root / "Export/IMG_1.jpg", quality=98, exif=False)  # larger, no EXIF


def _metadata(root: Path) -> None:
    camera_copy(root / "Camera/tagged.jpg", quality=85, extra=True)
    camera_copy(root / "Camera/plain.jpg", quality=95)  # larger, fewer EXIF fields


def _set(root: Path) -> None:
    camera_copy(root / "Phone/IMG_2.jpg", quality=85)
    (root / "Phone/IMG_2.xmp").write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n')
    camera_copy(root / "Backup/IMG_2.jpg", quality=95)  # larger, bare


def _folder(root: Path) -> None:
    camera_copy(root / "Camera/IMG_3.jpg", quality=95)
    camera_copy(root / "Library/IMG_3.jpg", quality=75)


def _file_times(root: Path) -> None:
    old = camera_copy(root / "a/old.jpg", exif=False)
    new = camera_copy(root / "b/new.jpg", exif=False)
    os.utime(old, (1_600_000_000, 1_600_000_000))
    os.utime(new, (1_700_000_000, 1_700_000_000))


CASES: dict[str, tuple[object, list[Case]]] = {
    "dates": (_dates, [
        Case(None, "Backup/old.jpg", "oldest (taken 2023-01-02 08:00), same resolution"),
        Case(("oldest",), "Backup/old.jpg", "oldest (taken 2023-01-02 08:00), as you asked"),
        Case(("newest",), "Camera/new.jpg", "newest (taken 2024-05-01 10:02), as you asked"),
    ]),
    "file times": (_file_times, [
        Case(("newest",), "b/new.jpg", "newest by file time, as you asked"),
        Case(("oldest",), "a/old.jpg", "oldest by file time, as you asked"),
    ]),
    "sizes": (_qualities, [
        Case(None, "Camera/fine.jpg", "largest file, same resolution"),
        Case(("smallest",), "Camera/small.jpg", "smallest file, as you asked"),
        Case(("largest",), "Camera/fine.jpg", "largest file, as you asked"),
    ]),
    "resolution": (_sizes, [
        Case(None, "Camera/full.jpg", "most pixels (480x320)"),
        Case(("smallest",), "Camera/half.jpg", "smallest file, as you asked"),
        Case(("smallest", "resolution"), "Camera/half.jpg", "smallest file, as you asked"),
        Case(("resolution", "smallest"), "Camera/full.jpg", "most pixels (480x320), as you asked"),
    ]),
    "original": (_original, [
        Case(None, "Camera/IMG_1.jpg",
             "camera original (EXIF: Google Pixel 7, 2024:05:01 10:02:33)"),
        Case(("largest",), "Export/IMG_1.jpg", "largest file, as you asked"),
        Case(("largest", "original"), "Export/IMG_1.jpg", "largest file, as you asked"),
    ]),
    "metadata": (_metadata, [
        Case(None, "Camera/tagged.jpg", "most metadata (8 EXIF fields), same resolution"),
        Case(("largest",), "Camera/plain.jpg", "largest file, as you asked"),
        Case(("metadata",), "Camera/tagged.jpg", "most metadata (8 EXIF fields), as you asked"),
    ]),
    "set": (_set, [
        Case(None, "Backup/IMG_2.jpg", "largest file, same resolution"),
        Case(("set",), "Phone/IMG_2.jpg", "carries its XMP sidecar, as you asked"),
    ]),
    "folder": (_folder, [
        Case(None, "Camera/IMG_3.jpg", "largest file, same resolution"),
        Case(("folder:Library",), "Library/IMG_3.jpg", "under Library/, as you asked"),
    ]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_rule_keeps_the_copy_it_names(tmp_path: Path, name: str) -> None:
    build, cases = CASES[name]
    root = tmp_path / "photos"
    build(root)  # type: ignore[operator]
    for case in cases:
        assert _sort(root, case.keep) == (case.kept, case.reason), case


def test_folder_rule_takes_an_absolute_path(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    _folder(root)
    assert _sort(root, (f"folder:{root / 'Library'}",))[0] == "Library/IMG_3.jpg"
    # A folder that holds no copy decides nothing: the default rules do.
    (root / "Elsewhere").mkdir()
    assert _sort(root, ("folder:Elsewhere",)) == (
        "Camera/IMG_3.jpg",
        "largest file, same resolution",
    )


def test_a_bad_rule_stops_the_sort_before_it_starts(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    _dates(root)
    before = read_tree(root)
    with pytest.raises(KeepRuleError, match="unknown keep rule 'nwest'; the rules are original"):
        sort_folder(root, SortOptions(engine="hash", workers=1, keep=("nwest",)))
    assert read_tree(root) == before
    assert not (root / ".remedia").exists()


def test_sort_keep_newest_through_the_cli(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    _dates(root)
    done = run_remedia("sort", str(root), "--engine", "hash", "--keep", "newest", "--json")
    assert done.returncode == 0, done.stderr
    assert (root / "Camera/new.jpg").exists()  # the newest stays where it is
    assert (root / "duplicates/new/old.jpg").exists()
    report = json.loads(done.stdout)
    (group,) = report["groups"]
    assert group["reason"] == "newest (taken 2024-05-01 10:02), as you asked"
    # The review page says it too.
    page = (root / ".remedia/review/index.html").read_text(encoding="utf-8")
    assert "Kept new.jpg: newest (taken 2024-05-01 10:02), as you asked" in page


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("nwest", "unknown keep rule 'nwest'; the rules are original, resolution, format, "
                  "metadata, largest, smallest, set, oldest, newest, folder:PATH"),
        ("newest,", "unknown keep rule ''"),
        ("largest,smallest", "keep rules 'largest' and 'smallest' contradict each other"),
        ("newest,newest", "keep rule 'newest' is named twice"),
        ("folder:", "keep rule 'folder:' names no folder (write folder:PATH)"),
        ("path", "unknown keep rule 'path'"),
    ],
)  # fmt: skip
def test_cli_says_which_rule_is_bad(tmp_path: Path, value: str, words: str) -> None:
    root = tmp_path / "photos"
    _dates(root)
    before = read_tree(root)
    done = run_remedia("sort", str(root), "--engine", "hash", "--keep", value)
    assert done.returncode == 2
    assert words in done.stderr
    assert read_tree(root) == before


def test_changed_rules_re_decide_existing_groups_only_with_full(tmp_path: Path) -> None:
    from remedia_tray.filing.mover import undo_last_sort

    root = tmp_path / "photos"
    _dates(root)
    hashed = SortOptions(engine="hash", workers=1)
    sort_folder(root, hashed)  # the default rules keep the oldest
    assert (root / "Backup/old.jpg").exists() and (root / "duplicates/old/new.jpg").exists()
    sorted_once = read_tree(root)
    report = sort_folder(root, SortOptions(engine="hash", workers=1, keep=("newest",)))
    assert report.groups == () and read_tree(root) == sorted_once
    # --full: the newest is kept now. It leaves the group's folder for the old kept copy's
    # place, and the old kept copy takes its place in duplicates/old/.
    full = SortOptions(engine="hash", workers=1, keep=("newest",), full=True)
    (group,) = sort_folder(root, full).groups
    assert group.reason == "newest (taken 2024-05-01 10:02), as you asked"
    assert (root / "Backup/new.jpg").exists() and (root / "duplicates/old/old.jpg").exists()
    assert not (root / "duplicates/old/new.jpg").exists()
    # The next sorts know where the kept copy is: nothing moves again.
    assert sort_folder(root, hashed).groups == ()
    assert sort_folder(root, full).groups[0].moves == ()
    undo_last_sort(root)  # the sort that moved nothing is no journal
    assert read_tree(root) == sorted_once


@pytest.mark.parametrize(
    ("sorted_as", "named_as"),
    [("real", "real"), ("link", "real"), ("link", "link"), ("real", "link")],
)
def test_folder_rule_finds_its_folder_through_a_symlink(
    tmp_path: Path, sorted_as: str, named_as: str
) -> None:
    real = tmp_path / "real"
    camera_copy(real / "Camera" / "IMG_3.jpg", quality=95)  # the larger copy
    camera_copy(real / "Library" / "IMG_3.jpg", quality=75)
    (tmp_path / "link").symlink_to(real)
    root = tmp_path / sorted_as
    rule = f"folder:{tmp_path / named_as / 'Library'}"
    report = sort_folder(root, SortOptions(engine="hash", workers=1, dry_run=True, keep=(rule,)))
    [group] = report.groups
    assert group.keeper == root / "Library" / "IMG_3.jpg", group.reason
    assert group.reason.endswith(", as you asked")


def test_a_folder_rule_naming_no_folder_stops_the_sort(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    camera_copy(root / "Camera" / "IMG_3.jpg", quality=95)
    camera_copy(root / "Library" / "IMG_3.jpg", quality=75)
    before = read_tree(root)
    with pytest.raises(RemediaError, match="keep rule 'folder:Nope' not found") as caught:
        sort_folder(root, SortOptions(engine="hash", workers=1, keep=("folder:Nope",)))
    assert caught.value.exit_code == 2
    done = run_remedia("sort", str(root), "--engine", "hash", "--keep", "folder:Camera/IMG_3.jpg")
    assert done.returncode == 2 and "is not a folder" in done.stderr, done.stderr
    done = run_remedia("sort", str(root), "--engine", "hash", "--keep", "folder:Nope,newest")
    assert done.returncode == 2 and "folder:Nope" in done.stderr, done.stderr
    assert read_tree(root) == before  # nothing moved
