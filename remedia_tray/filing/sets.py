"""Media sets on disk: a picture and its companions move as one unit, so no rollback,
recovery or undo leaves one split (see core/mediasets.py for what a set is).

A set's moves are journaled with its `unit` (the picture's original path) and end with a
"set-done" record. A set cut short (a member failed, or the sort crashed between members)
is put back whole: reverting is the conservative choice, since its first members went to
names planned from a listing that may be stale by now, while every original name is free
(the journal proves each was theirs).

Undo takes a set moved whole ("set-done") back whole, or leaves it whole in its group:
every member is checked first (still there, its original name free, its folders
writable), and when one still fails half-way, the members already back are put forward
again, each marked "redone" before it moves (a crash then leaves a state the next undo
reads). A member the user deleted, or renamed, since is gone: the rest goes back.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..core.media import Skipped
from ..core.mediasets import Role
from ..core.planning import Move
from ..errors import OutsideFolder
from .confined import Confined, Folder
from .formats import MoveIntent, Record, SetDone, Undone
from .journal import Journal, Marks, undone
from .moves import open_existing, put_back, safe_move, same_bytes, settle_half_move, why

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
    """Each moved picture's companions, where they all went (for the group manifest); a
    late companion that `joins` a picture already in the folder is listed with it."""
    where = {m.src: m.dst for m in moves if m.unit is not None and m.role is None}
    found: dict[Path, list[tuple[Role, Path]]] = {}
    for m in moves:
        if m.unit is not None and m.role is not None and m.unit in where:
            found.setdefault(where[m.unit], []).append((m.role, m.dst))
        elif m.joins is not None and m.role is not None:
            found.setdefault(m.joins, []).append((m.role, m.dst))
    return found


Members = Sequence[tuple[int, MoveIntent]]  # (record index, move), in journal order


def sets_moved(records: Sequence[Record]) -> dict[Path, list[tuple[int, MoveIntent]]]:
    """The journaled moves of each set the sort moved whole ("set-done"), by unit."""
    finished = {r.unit for r in records if isinstance(r, SetDone)}
    found: dict[Path, list[tuple[int, MoveIntent]]] = {}
    for n, r in enumerate(records):
        if isinstance(r, MoveIntent) and r.unit is not None and r.unit in finished:
            found.setdefault(r.unit, []).append((n, r))
    return found


@dataclass(frozen=True)
class SetUndone:
    """What an undo did with one set: `left` says why it stays (still journaled), if so."""

    restored: int
    problems: tuple[Skipped, ...]
    left: Skipped | None


_Where = Literal["out", "home", "gone"]


def undo_set(
    confined: Confined, members: Members, marks: Marks, *, done: set[int], ours: set[int]
) -> SetUndone:
    """Put one set back whole, or leave it whole where the sort put it.

    `done`: its records marked undone; `ours`: those an undo ever marked (a member back
    home with such a mark went back by an undo, and goes forward again if the set stays).
    """
    where: dict[int, _Where] = {}
    for n, m in members:
        try:
            where[n] = _where(confined, m)
        except (OutsideFolder, OSError) as exc:
            return _stay(confined, members, marks, (ours, done), m, why(exc))
    for n, m in members:
        blocked = _blocked(confined, m) if where[n] == "out" else None
        if blocked is not None:
            return _stay(confined, members, marks, (ours, done), m, blocked)
    restored, problems, back = 0, [], set[int]()
    for n, m in reversed(members):
        if where[n] != "out":
            continue
        marks.add(n, sync=True)  # before it moves: a crash leaves it known as ours
        outcome, note = put_back(confined, m.src, m.dst)
        if outcome == "left":
            reason = note.reason if note is not None else "could not move back"
            moved = back | {n}
            return _stay(confined, members, marks, (ours | moved, done | moved), m, reason)
        back.add(n)
        restored += outcome == "restored"
        if note is not None:
            problems.append(note)
    for n, m in members:
        if where[n] == "gone":
            problems.append(Skipped(m.dst, "no longer there (deleted or renamed); the rest "
                                    "of its set went back"))  # fmt: skip
        if where[n] != "out" and n not in done:
            marks.add(n)
    return SetUndone(restored, tuple(problems), None)


def _where(confined: Confined, m: MoveIntent) -> _Where:
    """Where a member is: still where the sort put it, back home, or gone (a half-done
    move a crash cut short is settled first)."""
    with contextlib.ExitStack() as stack:
        there = open_existing(stack, confined, m.dst.parent)
        home = open_existing(stack, confined, m.src.parent)
        moved = there / m.dst.name if there is not None else None
        original = home / m.src.name if home is not None else None
        if moved is not None and original is not None:
            settle_half_move(original, moved)
        if moved is not None and moved.lexists():
            return "out"
        return "home" if original is not None and original.lexists() else "gone"


def _blocked(confined: Confined, m: MoveIntent) -> str | None:
    """Why a member cannot go back, as far as can be known before trying; None if it can."""
    try:
        with contextlib.ExitStack() as stack:
            there = open_existing(stack, confined, m.dst.parent)
            home = open_existing(stack, confined, m.src.parent)
            if there is None:
                return "its group folder is gone"
            if home is None:
                return _unwritable(_existing_parent(confined, m.src.parent))
            original, moved = home / m.src.name, there / m.dst.name
            if original.lexists() and not (original.is_file() and same_bytes(original, moved)):
                return f"another file now has the name {m.src.name} in {_rel(confined, home)}"
            return _unwritable(home) or _unwritable(there)
    except (OutsideFolder, OSError) as exc:
        return why(exc)


def _existing_parent(confined: Confined, folder: Path) -> Path:
    """The nearest folder that exists on the way to `folder` (a missing one is made)."""
    while folder != confined.root and not os.path.isdir(folder):
        folder = folder.parent
    return folder


def _unwritable(folder: Folder | Path) -> str | None:
    path = folder.real if isinstance(folder, Folder) else folder
    if os.access(path, os.W_OK | os.X_OK):
        return None
    return f"the folder {path.name or path} is read-only"


def _rel(confined: Confined, folder: Folder | Path) -> str:
    path = folder.path if isinstance(folder, Folder) else folder
    try:
        return "/".join(confined.names(path)) or "the folder"
    except OutsideFolder:
        return str(path)


def _stay(
    confined: Confined,
    members: Members,
    marks: Marks,
    marked: tuple[set[int], set[int]],
    member: MoveIntent,
    reason: str,
) -> SetUndone:
    """The set stays in its group: the members an undo moved back go forward again, each
    marked "redone" before it moves; reported once, on its picture.

    `marked`: the records an undo ever marked, and those marked undone now (withdrawn).
    """
    ours, done = marked
    split = 0
    for n, m in members:
        if n not in ours:
            continue
        try:
            home = _where(confined, m) == "home"
            if home or n in done:
                marks.redo(n)  # withdraws its "undone" mark: the next undo retries it
            if home:
                _forward(confined, m)
        except (OutsideFolder, OSError) as exc:
            split += 1
            log.warning("cannot put %s forward again: %s", m.src, why(exc))
    picture = next((m for _, m in members if m.role is None), members[0][1])
    group = _rel(confined, picture.dst.parent)
    text = f"the set of {len(members)} files stays together in {group}: {member.src.name}: {reason}"
    if split:
        text += f" ({split} of them went back and could not return; `remedia undo` retries)"
    return SetUndone(0, (), Skipped(picture.dst, text))


def _forward(confined: Confined, m: MoveIntent) -> None:
    with confined.open(m.src.parent) as home, confined.open(m.dst.parent) as there:
        safe_move(home / m.src.name, there / m.dst.name)
