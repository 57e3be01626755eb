"""Append-only JSONL journal: each intent is on disk (fsync) before the move it describes.

A journal is one sort's (or one review action's). Records: "begin" (with the "run" it belongs
to), "mkdir", "group", "move", "moved", "manifest", "manifest-update", "end". A sort that was
interrupted ends, once the next sort has tidied it, with {"op": "end", "recovered": true}; the
next sort that moves files continues its run (same "run" in its "begin"), so one undo reverts
both. An undo marks each record it has reverted with {"op": "undone", "n": INDEX} and renames
the journal to *.undone.jsonl once nothing is left, so an undo cut short can be finished.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..layout import JOURNAL_DIR

_ACTIVE = ".jsonl"
_UNDONE = ".undone.jsonl"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open folders; NTFS metadata is journaled anyway
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _stamp(ns: int) -> str:
    # One clock reading for both parts: read twice, a second can tick over in between.
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(ns // 10**9)) + f"-{ns % 10**9:09d}"


def _next_stamp(folder: Path) -> str:
    """A name that sorts after every journal already there: undo takes the newest by name,
    so a clock set back (or two sorts in one tick) must not reorder them."""
    stamp = _stamp(time.time_ns())
    names = (p.name for p in folder.iterdir() if p.name.startswith("sort-"))
    newest = max((n[len("sort-") :].split(".", 1)[0] for n in names), default="")
    # "X1.jsonl" sorts after "X.jsonl" ("1" > ".").
    return stamp if stamp > newest else newest + "1"


class Journal:
    """Appends whole records: a write that fails (disk full) leaves no torn line behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
        flags |= getattr(os, "O_NOFOLLOW", 0)  # a journal swapped for a link is not written
        self._fd = os.open(path, flags, 0o644)

    @classmethod
    def create(cls, data_dir: Path) -> Journal:
        folder = data_dir / JOURNAL_DIR
        folder.mkdir(parents=True, exist_ok=True)
        journal = cls(folder / f"sort-{_next_stamp(folder)}{_ACTIVE}")
        _fsync_dir(folder)
        return journal

    def write(self, record: dict[str, Any], *, sync: bool = True) -> None:
        # ASCII escapes keep undecodable (surrogate-escaped) file names round-tripping.
        line = (json.dumps(record) + "\n").encode("ascii")
        size = os.fstat(self._fd).st_size
        if size and not self._ends_with_newline(size):
            line = b"\n" + line  # after a torn line (power cut): start a fresh one
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view) :]
            if sync:
                os.fsync(self._fd)
        except OSError:
            try:
                os.ftruncate(self._fd, size)  # all of the record or none of it
            except OSError:
                pass
            raise

    def _ends_with_newline(self, size: int) -> bool:
        os.lseek(self._fd, size - 1, os.SEEK_SET)  # appends still go to the end (O_APPEND)
        return os.read(self._fd, 1) == b"\n"

    def sync(self) -> None:
        """Records written with sync=False, on disk now."""
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Records in order; a torn line (crash or full disk mid-write) is skipped."""
    records = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def active_journals(data_dir: Path) -> list[Path]:
    """Journals not yet undone, oldest first."""
    folder = data_dir / JOURNAL_DIR
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.name.endswith(_ACTIVE) and not p.name.endswith(_UNDONE)
    )


def mark_undone(path: Path) -> Path:
    target = path.with_name(path.name[: -len(_ACTIVE)] + _UNDONE)
    os.replace(path, target)
    _fsync_dir(path.parent)
    return target


def iter_moves(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from (r for r in records if r.get("op") == "move")


def run_of(path: Path, records: list[dict[str, Any]]) -> str:
    """The sort the user ran that this journal is part of (older journals: each its own)."""
    run = records[0].get("run") if records and records[0].get("op") == "begin" else None
    return run if isinstance(run, str) else path.name.split(".", 1)[0]


def resumable(records: list[dict[str, Any]]) -> bool:
    """An interrupted sort, tidied by a later sort's recovery, that no sort has continued or
    finished yet: the next sort to move files continues its run."""
    return bool(records) and records[-1].get("op") == "end" and records[-1].get("recovered") is True


def undone(records: list[dict[str, Any]]) -> set[int]:
    """Indexes (in `records`) of the records an undo has reverted already."""
    return {r["n"] for r in records if r.get("op") == "undone" and isinstance(r.get("n"), int)}
