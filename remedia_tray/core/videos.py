"""Which files are videos: by name, and by the first bytes where the name says nothing.

The one list of video names: the sort reads these as videos (pipeline/video_scan.py) and the
review page shows them as videos (review/view.py). Pure: the caller reads the first bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import TypeVar

_P = TypeVar("_P", bound=PurePath)

#: Suffixes of videos (lower case): every container the reader (PyAV) was seen to read:
#: ISO BMFF (MP4, MOV, M4V, 3GP, 3G2), Matroska and WebM, AVI, MPEG transport streams
#: (AVCHD's MTS, M2TS) and ASF (WMV). Not MPEG program streams (.mpg, .vob): their seeks
#: land past the keyframe, so no sample decodes.
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".mov", ".m4v", ".3gp", ".3g2", ".mkv", ".webm", ".avi", ".mts", ".m2ts", ".wmv"}
)
#: Suffixes that are surely not videos: pictures, RAWs, sidecars, documents.
_NOT_VIDEO = frozenset(
    {
        ".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".gif", ".bmp",
        ".avif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".xmp",
        ".json", ".aae", ".thm", ".txt", ".pdf", ".html", ".md",
    }
)  # fmt: skip
#: ISO BMFF brands of still pictures (HEIF, AVIF): an `ftyp` box does not make a video.
_STILL_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")
#: An MPEG transport stream's packets: the sync byte 0x47 every 188 bytes; in M2TS (AVCHD,
#: Blu-ray) every 192, after a 4-byte time code.
_TS_PACKET, _M2TS_PACKET = 188, 192
#: The first bytes `video_head` looks at: four transport stream packets.
HEAD_BYTES = 4 * _TS_PACKET
_ASF = b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"


def is_video(path: _P, *, head: Callable[[_P], bytes] | None = None) -> bool:
    """A video by its name; where the name says nothing (neither a video's suffix nor a
    picture's or a sidecar's), by its first HEAD_BYTES bytes as `head` reads them (without
    `head`: by name only)."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return True
    if suffix in _NOT_VIDEO or head is None:
        return False
    return video_head(head(path))


def video_head(data: bytes) -> bool:
    """Whether `data`, a file's first bytes, start a video container: ISO BMFF (MP4, MOV,
    3GP; not a HEIF or AVIF picture), Matroska/WebM, AVI, ASF or an MPEG transport stream
    (TS or M2TS)."""
    if data[4:8] == b"ftyp":
        return data[8:12] not in _STILL_BRANDS
    if data[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return True
    if data.startswith((b"\x1a\x45\xdf\xa3", _ASF)):
        return True
    if data.startswith(b"RIFF") and data[8:12] == b"AVI ":
        return True
    return _synced(data, 0, _TS_PACKET) or _synced(data, 4, _M2TS_PACKET)


def _synced(data: bytes, start: int, packet: int) -> bool:
    """The sync byte 0x47 at `start` of each of the first packets `data` holds (three at
    least)."""
    at = range(start, len(data), packet)
    return len(at) >= 3 and all(data[k] == 0x47 for k in at)
