"""The tray's note per watched folder: when it was last sorted (`.remedia/tray-state.json`).

The start-up scan hands on only what changed since then, so a note written too late would
lose photos: it records when the sort began, or the oldest change it left out.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..atomicfile import write_atomic
from ..filing.formats import Report, read_json, saved_reports
from ..layout import tray_state_path

log = logging.getLogger(__name__)

#: Kernel file times lag the clock by a few milliseconds at most.
FILE_TIME_LAG = 0.05


def _read(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads(tray_state_path(folder).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def record_sorted(folder: Path, epoch: float) -> None:
    """Every photo of `folder` changed before `epoch` was handled (never raises)."""
    target = tray_state_path(folder)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, json.dumps({"last_sorted": epoch}).encode("utf-8"))
    except OSError as exc:
        log.warning("cannot record the sort time of %s: %s", folder, exc)


def last_sorted(folder: Path) -> float | None:
    """Epoch before which every photo of `folder` was handled (None: never sorted)."""
    last = _read(folder).get("last_sorted")
    if isinstance(last, (int, float)):
        return float(last)
    # Sorted before, but not by the tray (`remedia sort`): when its newest sort started.
    return newest_sort_started(folder)


def newest_sort_started(folder: Path) -> float | None:
    """When the newest sort of `folder` began, from its report (None: no readable report)."""
    newest = next(saved_reports(folder), None)
    if newest is None:
        return None
    try:
        seconds = Report.from_dict(read_json(newest)).seconds
        return newest.stat().st_mtime - seconds - FILE_TIME_LAG
    except (OSError, ValueError, TypeError, KeyError):
        return None


def oldest_change(paths: Iterable[Path], default: float) -> float:
    """The oldest ctime or mtime of `paths` that still exist, and at most `default`."""
    oldest = default
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        oldest = min(oldest, st.st_ctime, st.st_mtime)
    return oldest
