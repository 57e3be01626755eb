"""Counts and sizes in words, the same on the command line, in notifications and on the page."""

from __future__ import annotations

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
