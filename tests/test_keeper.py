from __future__ import annotations

from pathlib import Path

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
    from remedia_tray.core.keeper import CRITERIA

    names = [c.name for c in CRITERIA]
    assert names == ["original", "resolution", "format", "metadata", "largest", "oldest", "path"]
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for c in CRITERIA:  # the README shows the table as it is
        assert f"| `{c.name}` | {c.means} |" in readme


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
