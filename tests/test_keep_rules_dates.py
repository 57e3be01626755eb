"""The date taken for the keep rules `oldest` and `newest`, read from the header: EXIF of
real photos saved here with Pillow, and a video's creation time in one made with PyAV."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image

from remedia_tray.pipeline.capture_date import capture_date, exif_date
from remedia_tray.pipeline.quicktime import movie_created

from .conftest import photo

_EXIF_IFD, _DATETIME, _TAKEN = 0x8769, 0x0132, 0x9003


def _save(dst: Path, fmt: str, *, taken: str | None = None, changed: str | None = None) -> Path:
    with Image.open(photo("peaks")) as im:
        meta = Image.Exif()
        if changed is not None:
            meta[_DATETIME] = changed
        if taken is not None:
            meta.get_ifd(_EXIF_IFD)[_TAKEN] = taken
        im.convert("RGB").save(dst, fmt, exif=meta.tobytes())
    return dst


def test_date_taken_comes_before_the_date_changed(tmp_path: Path) -> None:
    both = _save(
        tmp_path / "a.jpg", "JPEG", taken="2021:07:04 18:30:05", changed="2024:01:01 00:00:00"
    )
    assert capture_date(both) == datetime(2021, 7, 4, 18, 30, 5)
    changed = _save(tmp_path / "b.jpg", "JPEG", changed="2019:02:03 04:05:06")
    assert capture_date(changed) == datetime(2019, 2, 3, 4, 5, 6)
    assert capture_date(photo("peaks")) is None  # no EXIF at all: the file time counts


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_other_formats_carry_it_too(tmp_path: Path, fmt: str) -> None:
    path = _save(tmp_path / f"a.{fmt.lower()}", fmt, taken="2020:02:29 12:00:00")
    assert capture_date(path) == datetime(2020, 2, 29, 12, 0, 0)


def test_heic(tmp_path: Path) -> None:
    from remedia_tray.pipeline.imaging import heif_supported

    if not heif_supported():
        pytest.skip("pillow-heif is not installed")
    path = _save(tmp_path / "a.heic", "HEIF", taken="2023:03:03 03:03:03")
    assert capture_date(path) == datetime(2023, 3, 3, 3, 3, 3)


def test_unreadable_files_have_none(tmp_path: Path) -> None:
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(
        _save(tmp_path / "a.jpg", "JPEG", taken="2021:07:04 18:30:05").read_bytes()[:40]
    )
    (tmp_path / "note.txt").write_text("not a photo")
    for path in (cut, tmp_path / "note.txt", tmp_path / "missing.jpg", tmp_path / "x.mov"):
        assert capture_date(path) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024:05:01 10:02:33", datetime(2024, 5, 1, 10, 2, 33)),
        ("2024:05:01 10:02:33\x00", datetime(2024, 5, 1, 10, 2, 33)),
        (b"2024:05:01 10:02:33", datetime(2024, 5, 1, 10, 2, 33)),
        ("2024-05-01T10:02:33.120+02:00", datetime(2024, 5, 1, 10, 2, 33)),
        ("0000:00:00 00:00:00", None),
        ("    :  :     :  :  ", None),
        ("", None),
        (20240501, None),
    ],
)
def test_exif_date_text(text: object, expected: datetime | None) -> None:
    assert exif_date(text) == expected


def _video(path: Path, created: str | None) -> Path:
    av = pytest.importorskip("av")
    import numpy as np

    with av.open(str(path), "w") as out:
        if created is not None:
            out.metadata["creation_time"] = created
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * k, np.uint8), "rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_a_videos_creation_time(tmp_path: Path) -> None:
    clip = _video(tmp_path / "clip.mp4", "2024-05-01T10:02:33.000000Z")
    utc = datetime(2024, 5, 1, 10, 2, 33, tzinfo=timezone.utc)
    assert movie_created(clip) == utc
    # As EXIF writes dates: local time, naive.
    assert capture_date(clip) == utc.astimezone().replace(tzinfo=None)
    assert capture_date(clip.rename(tmp_path / "clip.MOV")) is not None


def test_a_video_without_one_has_none(tmp_path: Path) -> None:
    clip = _video(tmp_path / "clip.mp4", None)
    assert movie_created(clip) is None  # written as 0 (1904): unset
    assert capture_date(clip) is None
