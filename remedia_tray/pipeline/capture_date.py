"""When a photo or video was taken, read from its header without decoding a pixel.

Only the keep rules `oldest` and `newest` need it, and only for the copies of one group that
every rule before them left tied: a photo's EXIF DateTimeOriginal, else its DateTime; a
QuickTime/MP4 video's creation time. None when there is none (or the file cannot be read):
the file time counts then.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

from .imaging import heif_supported
from .quicktime import movie_created

_EXIF_IFD, _DATETIME, _TAKEN = 0x8769, 0x0132, 0x9003
#: Containers whose creation time lives in `moov/mvhd`.
_QUICKTIME = frozenset({".mov", ".mp4", ".m4v", ".3gp", ".3g2"})


def capture_date(path: Path) -> datetime | None:
    """The date taken, in local time (naive, as EXIF writes it); None when unknown."""
    if path.suffix.lower() in _QUICKTIME:
        created = movie_created(path)
        return None if created is None else created.astimezone().replace(tzinfo=None)
    return exif_date(_exif_text(path))


def _exif_text(path: Path) -> object:
    """DateTimeOriginal, else DateTime, as written; None when there is neither."""
    from PIL import Image

    heif_supported()  # registers the HEIC opener once
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a large photo's size warning: no pixels are read
            with Image.open(path) as im:
                if im.format == "PNG" and "exif" not in im.info:
                    return None  # an eXIf chunk after the pixels: reading it decodes them
                exif = im.getexif()
                return exif.get_ifd(_EXIF_IFD).get(_TAKEN) or exif.get(_DATETIME)
    except Exception:  # unreadable or malformed: the file time counts
        return None


def exif_date(text: object) -> datetime | None:
    """An EXIF date ("2024:05:01 10:02:33", NULs and sub-seconds allowed); None if invalid."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if not isinstance(text, str):
        return None
    text = text.strip("\x00 ")[:19]
    for form in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return None
