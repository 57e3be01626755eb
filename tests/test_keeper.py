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
