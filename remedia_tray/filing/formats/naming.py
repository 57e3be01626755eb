"""`sort-<stamp>` names: journals, reports and review pages of one sort share the stamp."""

from __future__ import annotations

import time

PREFIX = "sort-"


def stamp(ns: int) -> str:
    """Local date and time, then the nanoseconds: "20240131-235959-123456789"."""
    # One clock reading for both parts: read twice, a second can tick over in between.
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(ns // 10**9)) + f"-{ns % 10**9:09d}"


def sort_name(ns: int | None = None) -> str:
    """ "sort-<stamp>" of `ns` (nanoseconds since the epoch), or of the clock read once now."""
    return PREFIX + stamp(time.time_ns() if ns is None else ns)
