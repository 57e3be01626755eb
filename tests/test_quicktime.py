"""The movie header reader (pipeline/quicktime.py): real PyAV files and hand-made boxes."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from remedia_tray.pipeline.mediasets import is_live_video
from remedia_tray.pipeline.quicktime import movie_seconds

from .conftest import photo
from .mediafiles import video, video_seconds

pytest.importorskip("av")


def _box(kind: bytes, payload: bytes, *, large: bool = False) -> bytes:
    if large:  # 64-bit size after the type
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _mvhd(timescale: int, duration: int, *, version: int = 0) -> bytes:
    if version == 1:
        body = struct.pack(">B3xQQIQ", 1, 0, 0, timescale, duration)
    else:
        body = struct.pack(">B3xIIII", 0, 0, 0, timescale, duration)
    return _box(b"mvhd", body + bytes(80))


@pytest.mark.parametrize(
    ("name", "seconds", "faststart"),
    [("live.mov", 2.5, False), ("live.mp4", 2.0, False), ("long.mov", 10.0, False),
     ("fast.mp4", 3.0, True)],
)  # fmt: skip
def test_reads_the_length_of_videos_made_with_pyav(
    tmp_path: Path, name: str, seconds: float, faststart: bool
) -> None:
    path = video(photo("peaks"), tmp_path / name, seconds=seconds, fps=10, side=160)
    if faststart:  # moov before mdat, as phones write it
        data = path.read_bytes()
        path.write_bytes(_moov_first(data))
    got = movie_seconds(path)
    assert got is not None
    assert abs(got - video_seconds(path)) <= 0.1
    assert is_live_video(path) is (seconds <= 4)


def _moov_first(data: bytes) -> bytes:
    boxes, pos = [], 0
    while pos < len(data):
        size = struct.unpack(">I", data[pos : pos + 4])[0]
        boxes.append(data[pos : pos + size])
        pos += size
    # The chunk offsets would be wrong for playback; the header reader does not care.
    return b"".join(sorted(boxes, key=lambda b: b[4:8] != b"ftyp" and b[4:8] != b"moov"))


@pytest.mark.parametrize("version", [0, 1])
def test_mvhd_versions_and_64_bit_boxes(tmp_path: Path, version: int) -> None:
    ftyp = _box(b"ftyp", b"qt  \x00\x00\x02\x00qt  ")
    mdat = _box(b"mdat", bytes(5000), large=True)
    moov = _box(b"moov", _mvhd(600, 1800, version=version), large=version == 1)
    (tmp_path / "a.mov").write_bytes(ftyp + mdat + moov)
    assert movie_seconds(tmp_path / "a.mov") == 3.0


def test_a_box_running_to_the_end_of_the_file(tmp_path: Path) -> None:
    moov = _mvhd(1000, 2500)
    data = _box(b"ftyp", b"mp42") + struct.pack(">I4s", 0, b"moov") + moov
    (tmp_path / "a.mp4").write_bytes(data)
    assert movie_seconds(tmp_path / "a.mp4") == 2.5


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a video at all, just words",
        bytes(range(256)) * 40,
        _box(b"ftyp", b"qt  ") + _box(b"mdat", bytes(100)),  # no moov
        _box(b"moov", _box(b"trak", bytes(40))),  # no mvhd
        _box(b"moov", _mvhd(0, 100)),  # no timescale
        _box(b"moov", _mvhd(600, 0xFFFFFFFF)),  # length unknown
        _box(b"moov", _mvhd(600, 1800))[:30],  # cut inside the header
        struct.pack(">I4s", 4, b"moov") + bytes(100),  # a size smaller than its header
        struct.pack(">I4sQ", 1, b"moov", 2**62),  # a 64-bit size past the end
    ],
)
def test_damaged_files_have_no_length_and_are_not_live(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "IMG_1.MOV"
    path.write_bytes(data)
    assert movie_seconds(path) is None
    assert not is_live_video(path)


def test_truncated_real_video_is_not_live(tmp_path: Path) -> None:
    path = video(photo("cat"), tmp_path / "IMG_1.MOV", seconds=2.0, fps=10, side=160)
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])  # moov was at the end
    assert movie_seconds(path) is None
    assert not is_live_video(path)
    assert movie_seconds(tmp_path / "missing.mov") is None
