"""The length of a QuickTime/MP4 video from its `moov/mvhd` box, read without decoding.

A Live Photo's motion is a `.MOV` (or `.MP4`) of about 3 s beside its picture; a longer
video of the same name is a video of its own. The length is in the movie header: `mvhd`
inside `moov`, which a camera may write before or after the media data (`mdat`). Only the
box headers on the way are read (a few hundred bytes): `mdat` is skipped with a seek.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

# Boxes on the way to moov/mvhd are few; this bounds a file made of tiny boxes.
_MAX_BOXES = 64
_HEADER = 8
#: QuickTime counts its times in seconds from here.
_EPOCH_1904 = datetime(1904, 1, 1, tzinfo=timezone.utc)


def _boxes(f: BinaryIO, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in [start, end), headers only."""
    found: list[tuple[bytes, int, int]] = []
    pos = start
    while pos + _HEADER <= end and len(found) < _MAX_BOXES:
        f.seek(pos)
        head = f.read(_HEADER)
        if len(head) < _HEADER:
            break
        size, kind = struct.unpack(">I4s", head)
        payload = pos + _HEADER
        if size == 1:  # 64-bit size follows the type
            large = f.read(8)
            if len(large) < 8:
                break
            (size,) = struct.unpack(">Q", large)
            payload += 8
        elif size == 0:  # runs to the end of the file
            size = end - pos
        if size < payload - pos or pos + size > end:
            break  # damaged or truncated: nothing past here can be trusted
        found.append((kind, payload, pos + size))
        pos += size
    return found


def _find(f: BinaryIO, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for found, payload, stop in _boxes(f, start, end):
        if found == kind:
            return payload, stop
    return None


def _mvhd(path: Path) -> bytes:
    """The first 32 bytes of the `moov/mvhd` payload; b"" when there is none."""
    try:
        with open(path, "rb") as f:
            end = f.seek(0, 2)
            moov = _find(f, 0, end, b"moov")
            if moov is None:
                return b""
            mvhd = _find(f, moov[0], moov[1], b"mvhd")
            if mvhd is None:
                return b""
            f.seek(mvhd[0])
            return f.read(min(32, mvhd[1] - mvhd[0]))
    except OSError:
        return b""


def movie_seconds(path: Path) -> float | None:
    """The video's length in seconds from `moov/mvhd`, or None when it cannot be read."""
    return _mvhd_seconds(_mvhd(path))


def movie_created(path: Path) -> datetime | None:
    """The video's creation time (UTC) from `moov/mvhd`; None when unset or unreadable."""
    body = _mvhd(path)
    if len(body) >= 12 and body[0] == 1:
        (seconds,) = struct.unpack(">Q", body[4:12])
    elif len(body) >= 8 and body[0] == 0:
        (seconds,) = struct.unpack(">I", body[4:8])
    else:
        return None
    if seconds == 0:
        return None  # the writer left it unset (1904-01-01)
    try:
        return _EPOCH_1904 + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _mvhd_seconds(body: bytes) -> float | None:
    """Duration / timescale of an mvhd payload (version 0: 32-bit times, 1: 64-bit)."""
    if not body:
        return None
    if body[0] == 1 and len(body) >= 32:
        timescale, duration = struct.unpack(">IQ", body[20:32])
    elif body[0] == 0 and len(body) >= 20:
        timescale, duration = struct.unpack(">II", body[12:20])
    else:
        return None
    if timescale == 0 or duration in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return None  # no timescale, or a length the writer left unknown
    return float(duration) / float(timescale)
