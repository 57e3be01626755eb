"""What the tray says about its work, pure: the status line, the last batch, and which
batches are worth a notification."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from ..core.wording import plural

Activity = Literal["idle", "working", "paused"]


@dataclass(frozen=True)
class ServiceState:
    """A snapshot for the tray menu and icon."""

    activity: Activity
    status: str
    paused: bool
    strictness: int
    engine: str
    watched: tuple[Path, ...]
    waiting: int  # complete photos not yet sorted (held while paused)
    #: The folder of the last sort that moved photos, for "Review last sort".
    last_sorted: Path | None = None


class Status(NamedTuple):
    activity: Activity
    text: str


def status_line(
    *,
    working: Path | None,
    paused: bool,
    waiting: int,
    arriving: int,
    watched: int,
    last_batch: str,
) -> Status:
    """The icon's activity and the menu's first line.

    `working`: the folder being sorted; `waiting`: complete photos held while paused;
    `arriving`: files not yet complete; `watched`: how many folders; `last_batch`: the line
    `last_batch_line` wrote for the latest batch ("" before the first).
    """
    if working is not None:
        return Status("working", f"Sorting {working.name}…")
    if paused:
        return Status(
            "paused", f"Paused: {plural(waiting, 'new photo')} waiting" if waiting else "Paused"
        )
    if arriving:
        return Status("idle", f"{plural(arriving, 'photo')} arriving…")
    if not watched:
        return Status("idle", "Not watching any folder")
    if last_batch:
        return Status("idle", last_batch)
    return Status("idle", f"Watching {plural(watched, 'folder')}")


def last_batch_line(
    folder: Path, *, new: int, forced: bool, images: int, duplicates: int, when: float
) -> str:
    """'Last: Camera, 3 new, 1 duplicate (14:05)'; a forced sort counts every photo it read."""
    summary = plural(images, "photo") if forced else f"{new} new"
    at = time.strftime("%H:%M", time.localtime(when))
    return f"Last: {folder.name}, {summary}, {plural(duplicates, 'duplicate')} ({at})"


@dataclass(frozen=True)
class Notice:
    """A batch worth a notification; `new_photos` None: word it as a whole-folder sort."""

    new_photos: int | None


def batch_notice(*, forced: bool, handed_on: bool, new: int, moved: bool) -> Notice | None:
    """Notify after a sort someone asked for, or one that found new photos or moved any.

    `handed_on`: the watcher handed on files for this batch; `moved`: the sort moved photos.
    """
    if not (forced or new or moved):
        return None
    return Notice(new_photos=None if forced and not handed_on else new)
