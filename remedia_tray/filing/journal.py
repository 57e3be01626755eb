"""Append-only JSONL journal: each intent is on disk (fsync) before the move it describes.

A journal is one sort's (or one review action's). Its records are declared in
formats/journal.py: "begin" (with the "run" it belongs to), "mkdir", "group", "move",
"moved", "set-done", "manifest", "manifest-update", "review", "end". A sort that was
interrupted ends, once the next sort has tidied it, with {"op": "end", "recovered": true}; the
next sort that moves files continues its run (same "run" in its "begin"), so one undo reverts
both. An undo marks each record it has reverted with {"op": "undone", "n": INDEX} and renames
the journal to *.undone.jsonl once nothing is left, so an undo cut short can be finished.
A media set that could not go back whole is put forward again, each of its files marked
{"op": "redone", "n": INDEX} first (its "undone" mark withdrawn: the next undo retries).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..layout import journal_dir
from .formats import Begin, End, MoveIntent, Record, Undone, as_records, parse_record, sort_name
from .formats.journal import Redone
from .formats.naming import PREFIX

log = logging.getLogger(__name__)

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


def _next_name(folder: Path) -> str:
    """A name that sorts after every journal already there: undo takes the newest by name,
    so a clock set back (or two sorts in one tick) must not reorder them."""
    name = sort_name(time.time_ns())
    names = (p.name for p in folder.iterdir() if p.name.startswith(PREFIX))
    newest = max((n.split(".", 1)[0] for n in names), default="")
    # "X1.jsonl" sorts after "X.jsonl" ("1" > ".").
    return name if name > newest else newest + "1"


class Journal:
    """Appends whole records: a write that fails (disk full) leaves no torn line behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)
        flags |= getattr(os, "O_NOFOLLOW", 0)  # a journal swapped for a link is not written
        self._fd = os.open(path, flags, 0o644)
        #: Records in the journal: the index the next record gets ("undone" marks name it).
        self.count = len(read_journal(path)) if os.fstat(self._fd).st_size else 0

    @classmethod
    def create(cls, root: Path) -> Journal:
        """A new journal in `root`'s journal folder, named after every one there."""
        folder = journal_dir(root)
        folder.mkdir(parents=True, exist_ok=True)
        journal = cls(folder / f"{_next_name(folder)}{_ACTIVE}")
        _fsync_dir(folder)
        return journal

    def add(self, record: Record, *, sync: bool = True) -> None:
        """Append one record (see formats/journal.py)."""
        self.write(record.to_dict(), sync=sync)

    def write(self, record: Mapping[str, Any], *, sync: bool = True) -> None:
        """Append one record as its JSON object (`add` writes the declared ones)."""
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
            self.count += 1
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


def read_records(path: Path) -> list[Record]:
    """The records of `read_journal`, typed (same positions)."""
    return [parse_record(r) for r in read_journal(path)]


def active_journals(root: Path) -> list[Path]:
    """Journals of `root` not yet undone, oldest first."""
    folder = journal_dir(root)
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


def iter_moves(records: Sequence[Record | Mapping[str, Any]]) -> Iterator[MoveIntent]:
    yield from (r for r in as_records(records) if isinstance(r, MoveIntent))


Records = Sequence[Record | Mapping[str, Any]]


def run_of(path: Path, records: Records) -> str:
    """The sort the user ran that this journal is part of (older journals: each its own)."""
    typed = as_records(records[:1])
    run = typed[0].run if typed and isinstance(typed[0], Begin) else None
    return run if run is not None else path.name.split(".", 1)[0]


def resumable(records: Records) -> bool:
    """An interrupted sort, tidied by a later sort's recovery, that no sort has continued or
    finished yet: the next sort to move files continues its run."""
    last = as_records(records[-1:])
    return bool(last) and isinstance(last[0], End) and last[0].recovered


def undone(records: Records) -> set[int]:
    """Indexes (in `records`) of the records an undo has reverted already (and not put
    forward again since: see Redone)."""
    found: set[int] = set()
    for r in as_records(records):
        if isinstance(r, Undone):
            found.add(r.n)
        elif isinstance(r, Redone):
            found.discard(r.n)
    return found


def ever_undone(records: Records) -> set[int]:
    """Indexes of the records an undo has touched (marked undone, maybe redone since)."""
    return {r.n for r in as_records(records) if isinstance(r, (Undone, Redone))}


class Marks:
    """Appends {"op": "undone", "n": INDEX} to a journal as an undo reverts its records (and
    {"op": "redone", ...} as it puts a set forward again).

    Plain marks are not synced one by one: a mark lost in a crash costs only a second look
    at a record, which finds the file back already (every step of an undo can be run again).
    A journal that cannot be written only loses the marks (logged).
    """

    def __init__(self, path: Path) -> None:
        try:
            self._journal: Journal | None = Journal(path)
        except OSError:
            log.warning("cannot mark progress in %s", path, exc_info=True)
            self._journal = None

    def add(self, n: int, *, sync: bool = False) -> None:
        self._write(Undone(n), sync=sync)

    def redo(self, n: int) -> None:
        """Record n's move stands again: journaled (synced) before the file goes forward."""
        self._write(Redone(n), sync=True)

    def _write(self, record: Record, *, sync: bool) -> None:
        if self._journal is not None:
            try:
                self._journal.add(record, sync=sync)
            except OSError:
                log.warning("cannot mark progress in %s", self._journal.path, exc_info=True)

    def close(self) -> None:
        if self._journal is not None:
            with contextlib.suppress(OSError):
                self._journal.sync()
            self._journal.close()
