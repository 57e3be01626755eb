from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from remedia_tray.core.keeper import choose_keeper
from remedia_tray.core.media import ImageInfo, MediaFile


def _f(path: str, size: int, mtime: int = 0) -> MediaFile:
    return MediaFile(Path(path), size, mtime, 0, 0)


def test_most_pixels_wins_over_bigger_file() -> None:
    files = [_f("/a/wa.jpg", 900_000), _f("/a/orig.jpg", 500_000)]
    infos = [ImageInfo(1600, 1200, "JPEG", 0), ImageInfo(4000, 3000, "JPEG", 40)]
    choice = choose_keeper(files, infos)
    assert choice.index == 1 and choice.reason.startswith("most pixels")


def test_recompressed_copy_at_same_resolution_loses() -> None:
    files = [_f("/x/IMG-WA0001.jpg", 120_000), _f("/x/IMG_0001.jpg", 480_000)]
    infos = [ImageInfo(1600, 1200, "JPEG", 0), ImageInfo(1600, 1200, "JPEG", 30)]
    assert choose_keeper(files, infos).index == 1


def test_then_metadata_then_age_then_path() -> None:
    info = ImageInfo(10, 10, "JPEG", 0)
    rich = ImageInfo(10, 10, "JPEG", 12)
    assert choose_keeper([_f("/a", 5), _f("/b", 5)], [info, rich]).index == 1
    assert choose_keeper([_f("/a", 5, 200), _f("/b", 5, 100)], [info, info]).reason.startswith(
        "oldest"
    )
    assert choose_keeper([_f("/long/path/a", 5), _f("/b", 5)], [info, info]).index == 1


def test_order_of_input_does_not_matter() -> None:
    files = [_f(f"/p/{k}.jpg", 100 + k % 3, k) for k in range(6)]
    infos = [ImageInfo(10, 10, "JPEG", k % 2) for k in range(6)]
    a = choose_keeper(files, infos)
    b = choose_keeper(files[::-1], infos[::-1])
    assert files[a.index] == files[::-1][b.index]


def test_criteria_are_one_table_in_the_documented_order() -> None:
    from remedia_tray.core.keeper import CRITERIA, DEFAULT_KEEP, DEFAULT_RULES

    names = [c.name for c in CRITERIA]
    assert names == [
        "original",
        "resolution",
        "format",
        "metadata",
        "largest",
        "smallest",
        "set",
        "oldest",
        "newest",
        "path",
    ]
    assert DEFAULT_RULES == (
        "original", "resolution", "format", "metadata", "largest", "set", "oldest",
    )  # fmt: skip
    assert DEFAULT_KEEP.names == (*DEFAULT_RULES, "path") and DEFAULT_KEEP.asked == ()
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for c in CRITERIA:  # the README shows the table as it is
        assert f"| `{c.name}` | {c.means} |" in readme
    assert f"`--keep {','.join(DEFAULT_RULES)}`" in readme  # the default, written out


def test_camera_original_beats_a_larger_copy_without_its_exif() -> None:
    files = [_f("/d/upscaled.png", 9_000_000), _f("/c/IMG_0001.jpg", 900_000)]
    infos = [ImageInfo(3200, 2400, "PNG", 0), ImageInfo(1600, 1200, "JPEG", 30, "Pixel 7")]
    choice = choose_keeper(files, infos)
    assert choice.index == 1 and choice.criterion == "original"
    assert choice.reason.startswith("camera original")


def test_an_upscale_loses_to_the_copy_it_was_made_from() -> None:
    from remedia_tray.core.keeper import Copy, choose, upscale_suspects

    big = Copy.of(_f("/d/big.jpg", 3_000_000, 1), ImageInfo(3200, 2400, "JPEG", 0))
    small = Copy.of(_f("/c/small.jpg", 600_000, 2), ImageInfo(1600, 1200, "JPEG", 0))
    assert choose([big, small]).index == 0  # before the pixels are looked at
    assert upscale_suspects([big, small]) == (0, 1)
    marked = Copy(big.file, big.info, small.detail_pixels, upscaled=True)
    choice = choose([marked, small])
    assert choice.index == 1 and choice.criterion == "resolution"
    assert "upscale" in choice.reason
    assert upscale_suspects([marked, small]) is None  # decided: nothing more to measure


def test_no_pixels_are_measured_when_the_metadata_tells() -> None:
    from remedia_tray.core.keeper import Copy, upscale_suspects

    camera = Copy.of(_f("/c/a.jpg", 900_000), ImageInfo(4000, 3000, "JPEG", 40, "Pixel 7"))
    copy = Copy.of(_f("/w/b.jpg", 200_000), ImageInfo(1600, 1200, "JPEG", 0))
    assert upscale_suspects([camera, copy]) is None


def test_a_raw_is_kept_over_a_jpeg_rendition_of_it() -> None:
    from remedia_tray.core.keeper import Copy, choose, upscale_suspects

    raw = Copy.of(_f("/c/IMG_0001.DNG", 25_000_000), ImageInfo(6000, 4000, "DNG", 30, "Canon"))
    # The camera's JPEG with its EXIF, and an exported JPEG at a larger size: neither wins.
    jpeg = Copy.of(_f("/c/IMG_0001.JPG", 8_000_000), ImageInfo(6000, 4000, "JPEG", 60, "Canon"))
    big = Copy.of(_f("/e/IMG_0001.jpg", 12_000_000), ImageInfo(8000, 6000, "JPEG", 60, "Canon"))
    for other in (jpeg, big):
        choice = choose([other, raw])
        assert choice.index == 1 and choice.criterion == "original"
        assert choice.reason.startswith("camera RAW (DNG; the other copy is a JPEG rendition")
    # Without make and model a RAW is still the camera's own file.
    bare = Copy.of(_f("/c/a.nef", 20_000_000), ImageInfo(4000, 3000, "NEF", 0))
    assert choose([jpeg, bare]).index == 1
    assert upscale_suspects([bare, jpeg]) is None  # a RAW is never measured as an upscale


def test_raw_formats_are_camera_formats() -> None:
    from remedia_tray.core.keeper import CAMERA_FORMATS, RAW_FORMATS

    assert {"DNG", "CR2", "CR3", "NEF", "ARW", "RAF", "ORF", "RW2"} <= RAW_FORMATS
    assert RAW_FORMATS <= CAMERA_FORMATS


def test_the_copy_carrying_its_set_wins_over_a_bare_copy() -> None:
    from remedia_tray.core.keeper import Copy, choose

    info = ImageInfo(4032, 3024, "HEIF", 40, "Apple iPhone 13")
    bare = Copy.of(_f("/backup/IMG_0001.HEIC", 3_000_000, 1), info)
    full = Copy(_f("/phone/DCIM/IMG_0001.HEIC", 3_000_000, 2), info, info.pixels,
                companions=("live", "xmp"))  # fmt: skip
    choice = choose([bare, full])
    assert choice.index == 1 and choice.criterion == "set"
    assert choice.reason == "carries its Live video and XMP sidecar, same resolution"
    # More companions win over fewer.
    some = Copy(bare.file, info, info.pixels, companions=("json",))
    choice = choose([some, full])
    assert choice.index == 1 and "the other copy carries less" in choice.reason
    one = choose([bare, Copy(full.file, info, info.pixels, companions=("raw",))])
    assert one.reason.startswith("carries its RAW")


def test_resolution_then_format_come_before_the_set() -> None:
    from remedia_tray.core.keeper import Copy, choose

    small = ImageInfo(1600, 1200, "HEIF", 40)
    large = ImageInfo(4032, 3024, "PNG", 0)
    with_set = Copy(_f("/a/IMG_1.HEIC", 900_000), small, small.pixels, companions=("live",))
    assert choose([with_set, Copy.of(_f("/b/IMG_1.png", 9_000_000), large)]).index == 1
    # A sidecar does not make a re-save the original: the camera format stays.
    same = ImageInfo(1600, 1200, "PNG", 0)
    png = Copy(_f("/a/IMG_1.png", 900_000), same, same.pixels, companions=("xmp",))
    jpeg = Copy.of(_f("/b/IMG_1.jpg", 900_000), ImageInfo(1600, 1200, "JPEG", 9))
    choice = choose([png, jpeg])
    assert choice.index == 1 and choice.criterion == "format"
    # Nor does a Takeout JSON make a lossy re-save of a screenshot better than the PNG.
    shot = Copy(_f("/a/Screenshot_1.png", 90_000), same, same.pixels, graphic=True)
    resave = Copy(
        _f("/b/Screenshot_1.jpg", 60_000), ImageInfo(1600, 1200, "JPEG", 0), same.pixels,
        graphic=True, companions=("json",),
    )  # fmt: skip
    assert choose([resave, shot]).index == 1
    # Same format: the set decides.
    jpeg_set = Copy(_f("/a/IMG_2.jpg", 900_000), ImageInfo(1600, 1200, "JPEG", 9), same.pixels,
                    companions=("xmp",))  # fmt: skip
    assert choose([jpeg, jpeg_set]).criterion == "set"


def test_rules_put_the_users_criteria_first_then_the_default_then_the_path() -> None:
    from remedia_tray.core.keeper import parse_rules

    rules = parse_rules(["newest", "folder:Library"], root=Path("/p"))
    assert rules.names == (
        "newest", "folder:Library", "original", "resolution", "format", "metadata", "largest",
        "set", "path",
    )  # fmt: skip
    assert rules.asked == ("newest", "folder:Library")
    assert parse_rules(["smallest"]).names[:2] == ("smallest", "original")
    assert "largest" not in parse_rules(["smallest"]).names  # never both
    assert parse_rules(None).asked == ()


@pytest.mark.parametrize(
    ("rules", "words"),
    [
        (["nwest"], "unknown keep rule 'nwest'; the rules are original, resolution, format, "
                    "metadata, largest, smallest, set, oldest, newest, folder:PATH"),
        ([], "no keep rule given"),
        (["", " "], "no keep rule given"),
        (["path"], "unknown keep rule 'path'"),
        (["oldest", "newest"], "keep rules 'oldest' and 'newest' contradict each other"),
        (["set", "set"], "keep rule 'set' is named twice"),
        (["folder: "], "names no folder"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_named_with_the_valid_ones(rules: list[str], words: str) -> None:
    from remedia_tray.core.keeper import KeepRuleError, parse_rules

    with pytest.raises(KeepRuleError, match=re.escape(words)):
        parse_rules(rules)


def test_folder_rule_prefers_copies_under_the_folder_relative_to_the_sorted_one() -> None:
    from remedia_tray.core.keeper import Copy, choose, parse_rules

    info = ImageInfo(10, 10, "JPEG", 3)
    camera = Copy.of(_f("/p/Camera/a.jpg", 900), info)
    library = Copy.of(_f("/p/Library/2024/a.jpg", 100), info)
    other = Copy.of(_f("/q/Library/a.jpg", 100), info)  # another folder's Library
    choice = choose([camera, library, other], parse_rules(["folder:Library"], root=Path("/p")))
    assert choice.index == 1 and choice.reason == "under Library/, as you asked"
    assert choice.criterion == "folder:Library"


def test_the_date_taken_is_read_only_where_it_decides() -> None:
    from remedia_tray.core.keeper import Copy, choose, parse_rules

    info = ImageInfo(10, 10, "JPEG", 3, "Pixel 7")
    a = Copy.of(_f("/p/a.jpg", 500, 3_000_000_000_000_000_000), info)  # newer file time
    b = Copy.of(_f("/p/b.jpg", 500, 1_000_000_000_000_000_000), info)
    c = Copy.of(_f("/p/c.jpg", 400, 900_000_000_000_000_000), info)  # smaller: out first
    dates = {"/p/a.jpg": datetime(2020, 1, 1, 9, 0), "/p/b.jpg": datetime(2024, 5, 1, 10, 2)}
    read: list[str] = []

    def taken(copy: Copy) -> datetime | None:
        read.append(str(copy.file.path))
        return dates.get(str(copy.file.path))

    newest = parse_rules(["newest"])
    choice = choose([a, b, c], newest, taken=taken)
    assert choice.index == 1 and choice.reason == "newest (taken 2024-05-01 10:02), as you asked"
    assert sorted(read) == ["/p/a.jpg", "/p/b.jpg", "/p/c.jpg"]  # first rule: all are tied
    read.clear()
    choice = choose([a, b, c], taken=taken)  # the default: largest before oldest
    assert choice.index == 0 and choice.reason == "oldest (taken 2020-01-01 09:00), same resolution"
    assert sorted(read) == ["/p/a.jpg", "/p/b.jpg"]  # c lost on size: its date is not read
    read.clear()
    assert choose([a, c], taken=taken).criterion == "largest" and read == []
    # Without a date taken, the file time decides, and the reason says so.
    choice = choose([a, b], newest, taken=lambda _: None)
    assert choice.index == 0 and choice.reason == "newest by file time, as you asked"
    same = datetime(2024, 5, 1, 10, 2)
    choice = choose([a, b], newest, taken=lambda _: same)
    assert choice.reason == "newest by file time, same date taken, as you asked"
