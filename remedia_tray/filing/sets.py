"""Media sets on disk: a picture and its companions move as one unit, so no rollback,
recovery or undo leaves one split (see core/mediasets.py for what a set is).

A set's moves are journaled with its `unit` (the picture's original path) and end with a
"set-done" record. A set cut short (a member failed, or the sort crashed between members)
is put back whole: reverting is the conservative choice, since its first members went to
names planned from a listing that may be stale by now, while every original name is free
(the journal proves each was theirs).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ..core.mediasets import Role
from ..core.planning import Move
from .confined import Confined
from .formats import MoveIntent, Record, SetDone, Undone
from .journal import Journal, undone
from .undo import put_back

log = logging.getLogger(__name__)


def roll_back(confined: Confined, done: Sequence[tuple[int, Move]], journal: Journal) -> int:
    """Put back the members of a set moved already (record index, move), newest first, each
    marked undone in the journal (an undo or a recovery then leaves it be); how many could
    not go back (still journaled: the next undo tries again)."""
    left = 0
    for n, move in reversed(done):
        outcome, note = put_back(confined, move.src, move.dst)
        if outcome == "left":
            left += 1
            log.warning("%s: %s", move.dst, note.reason if note else "could not move back")
            continue
        try:
            journal.add(Undone(n), sync=False)
        except OSError:  # a second look at it later finds it back already
            log.warning("cannot mark %s as put back", move.dst, exc_info=True)
    return left


def open_sets(records: Sequence[Record]) -> list[tuple[int, Move]]:
    """The journaled moves (index, move) of sets cut short: no "set-done", not undone."""
    finished = {r.unit for r in records if isinstance(r, SetDone)}
    marked = undone(records)
    return [
        (n, Move(r.src, r.dst, r.unit, r.role))
        for n, r in enumerate(records)
        if isinstance(r, MoveIntent)
        and r.unit is not None
        and r.unit not in finished
        and n not in marked
    ]


def revert_open_sets(confined: Confined, path: Path, records: Sequence[Record]) -> int:
    """A crashed sort's sets cut short, put back whole (recovery); how many files could not
    go back yet."""
    cut = open_sets(records)
    if not cut:
        return 0
    journal = Journal(path)
    try:
        return roll_back(confined, cut, journal)
    finally:
        journal.close()


def companions_of(moves: Sequence[Move]) -> dict[Path, list[tuple[Role, Path]]]:
    """Each moved picture's companions, where they all went (for the group manifest)."""
    where = {m.src: m.dst for m in moves if m.unit is not None and m.role is None}
    found: dict[Path, list[tuple[Role, Path]]] = {}
    for m in moves:
        if m.unit is not None and m.role is not None and m.unit in where:
            found.setdefault(where[m.unit], []).append((m.role, m.dst))
    return found
