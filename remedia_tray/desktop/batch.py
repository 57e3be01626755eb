"""One tray batch around `sort_folder`: the files it leaves for later, the new photos it used."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..filing.report import SortReport


def leave_for_later(
    batch: frozenset[Path],
    *,
    waiting: Callable[[Path], bool],
    settle: float,
    excluded: list[Path],
    clock: Callable[[], float] = time.time,
) -> Callable[[Path], bool]:
    """The sort's `exclude`: files still arriving and complete ones of the next batch.

    `waiting(path)`: the watcher or the queue holds `path` for a later batch. What is left
    out is appended to `excluded`, so the next start-up scan looks at it again.
    """

    def later(path: Path) -> bool:
        if path in batch:
            return False
        if waiting(path):
            return True
        try:
            return clock() - os.stat(path).st_mtime < settle  # being written now
        except OSError:
            return True

    def exclude(path: Path) -> bool:
        if later(path):
            excluded.append(path)
            return True
        return False

    return exclude


def count_new(folder: Path, paths: frozenset[Path], report: SortReport) -> int:
    """Photos of this batch the sort used: moved, or still there, and not skipped."""
    if not paths:
        return 0
    skipped = {s.path for s in report.skipped} | {s.path for s in report.failed}
    moved = {m.src for g in report.groups for m in g.moves}
    present = [p for p in paths if p not in skipped and (p in moved or p.exists())]
    kept = _user_kept(folder, [p for p in present if p not in moved])
    return sum(1 for p in present if p not in kept)


def _user_kept(folder: Path, paths: list[Path]) -> set[Path]:
    """Photos the user chose to keep apart before: the sort leaves them, they are not new."""
    if not paths:
        return set()
    from ..filing.decisions import exclude_remembered
    from ..pipeline.features import media_from_paths

    files, _ = media_from_paths(paths)
    try:
        return set(exclude_remembered(folder, files, save=False).kept)
    except Exception:
        return set()
