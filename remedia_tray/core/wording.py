"""Counts and sizes in words, the same on the command line, in notifications and on the page."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .planning import Verification

_VERIFIED: dict[str, str] = {
    "byte-identical": "byte-identical",
    "64px": "same pixels at 64 px",
    "full-size": "same pixels at full size, text compared",
}


def verification_words(verified: Verification | str) -> str | None:
    """How a duplicates group was verified, as the report and the page say it (None: not
    said, as in reports of older versions)."""
    return _VERIFIED.get(verified)


def plural(count: int, one: str, many: str | None = None) -> str:
    """'1 photo', '2 photos'; `many` for irregular plurals ('duplicate copies')."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def human_bytes(n: float) -> str:
    """'512 B', '3.2 MB': the largest unit below 1024, up to GB."""
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GB"


def megabytes(n: float) -> str:
    """Always in MB, so sizes on one page compare at a glance: '0.42 MB', '1,204 MB'."""
    mb = n / (1024 * 1024)
    if mb >= 100:
        return f"{mb:,.0f} MB"
    if mb >= 0.1 or n == 0:
        return f"{mb:.1f} MB"
    return f"{mb:.2f} MB" if mb >= 0.01 else "<0.01 MB"


#: Characters that reorder or hide what follows them: the bidirectional marks, embeddings,
#: overrides and isolates. Other format characters (the zero-width joiner of emoji) stay.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def shown(text: object) -> str:
    """A file name as it may be shown on a terminal or a page: control characters (C0, C1,
    DEL), line separators and bidirectional controls become visible escapes (`\\x1b`,
    `\\u202e`); bytes that are not UTF-8 (surrogate-escaped) become `\\xNN`."""
    out = []
    for ch in str(text):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a raw byte of a name that is not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def media_count(files: int, videos: int) -> str:
    """'12 photos' or '12 photos and 3 videos': `files` counts the videos too."""
    photos = plural(files - videos, "photo")
    return f"{photos} and {plural(videos, 'video')}" if videos else photos
