"""Undo: put back every file of one sort, from its journals (mover.undo_last_sort picks
the sort, with the folder locked)."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..atomicfile import write_atomic
from ..core.media import Skipped
from ..core.planning import free_name
from ..errors import OutsideFolder
from ..layout import OUTPUT_DIRS
from .confined import Confined, Folder
from .formats import (
    Begin,
    ManifestMade,
    ManifestUpdated,
    Mkdir,
    MoveIntent,
    Record,
    Undone,
)
from .journal import Journal, mark_undone, undone
from .moves import remove_ours, rmdir_made, safe_move, same_bytes, settle_half_move, why

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UndoResult:
    """What an undo did. What it could not put back yet stays journaled (`remaining`), and
    the next undo of the folder tries it again before anything older."""

    journal: Path  # the sort's newest journal
    restored: int
    problems: tuple[Skipped, ...]  # done, with something to know (renamed, gone, ...)
    #: Files still where the sort put them, and why each could not go back.
    remaining: tuple[Skipped, ...] = ()
    #: Every journal of the sort: an interrupted sort's and the one that resumed it.
    journals: tuple[Path, ...] = ()

    @property
    def finished(self) -> bool:
        return not self.remaining


_Outcome = Literal["restored", "done", "left"]


def revert(root: Path, sort: list[tuple[Path, list[Record]]]) -> UndoResult:
    """Revert the journals of one sort, newest first: its moves, then each group manifest
    once the last file of its group is back, then the folders it made. Each reverted record
    is marked; a journal with nothing left is marked undone, the others stay for next time."""
    roots = [r[0].root for _, r in sort if r and isinstance(r[0], Begin) and r[0].root]
    confined = Confined(root, aliases=roots)
    restored = 0
    problems: list[Skipped] = []
    remaining: list[Skipped] = []
    waiting: set[Path] = set()  # group folders with a file of this journal, or a newer one, left
    for path, records in sort:
        marks = _Marks(path)
        done = undone(records)
        left: list[tuple[Path, Path]] = []
        try:
            for n in reversed(range(len(records))):
                r = records[n]
                if not isinstance(r, MoveIntent) or n in done:
                    continue
                src, dst = r.src, r.dst
                outcome, note = put_back(confined, src, dst)
                if outcome == "left":
                    left.append((src, dst))
                    waiting.add(dst.parent)
                    remaining.append(note or Skipped(dst, "could not move back"))
                    continue
                restored += outcome == "restored"
                if note is not None:
                    problems.append(note)
                marks.add(n)
            for n in reversed(range(len(records))):
                r = records[n]
                if not isinstance(r, (ManifestMade, ManifestUpdated)) or n in done:
                    continue
                manifest = r.path
                if manifest.parent in waiting:
                    continue  # a manifest goes only with the last file of its group
                if isinstance(r, ManifestMade):
                    remove_ours(confined, manifest)
                else:
                    problem = _restore_manifest(confined, manifest, r.old)
                    if problem is not None:
                        problems.append(problem)
                marks.add(n)
            for r in reversed(records):
                if isinstance(r, Mkdir):
                    rmdir_made(confined, r.path)
        finally:
            marks.close()
        if left:
            _note_left(root, confined, path, left)
        else:
            mark_undone(path)
    paths = tuple(p for p, _ in sort)
    return UndoResult(paths[0], restored, tuple(problems), tuple(remaining), paths)


class _Marks:
    """Appends {"op": "undone", "n": INDEX} to a journal as its records are reverted.

    Not synced one by one: a mark lost in a crash costs only a second look at a record,
    which finds the file back already (every step of an undo can be run again).
    """

    def __init__(self, path: Path) -> None:
        try:
            self._journal: Journal | None = Journal(path)
        except OSError:
            log.warning("cannot mark progress in %s", path, exc_info=True)
            self._journal = None

    def add(self, n: int) -> None:
        if self._journal is not None:
            try:
                self._journal.add(Undone(n), sync=False)
            except OSError:
                log.warning("cannot mark progress in %s", self._journal.path, exc_info=True)

    def close(self) -> None:
        if self._journal is not None:
            with contextlib.suppress(OSError):
                self._journal.sync()
            self._journal.close()


def put_back(confined: Confined, src: Path, dst: Path) -> tuple[_Outcome, Skipped | None]:
    """Revert one journaled move: "restored", "done" (nothing left to do: back already, or
    gone) or "left" (the note says why; the next undo tries again)."""
    try:
        with contextlib.ExitStack() as stack:
            there = _open_existing(stack, confined, dst.parent)
            home = _open_existing(stack, confined, src.parent)
            moved = there / dst.name if there is not None else None
            original = home / src.name if home is not None else None
            if moved is not None and original is not None:
                settle_half_move(original, moved)
            if moved is None or not moved.lexists():
                if original is not None and original.lexists():
                    return "done", None
                return "done", Skipped(dst, "no longer there (moved by someone else); left alone")
            if home is None:  # the original's folder is gone: made again (not journaled)
                home = stack.enter_context(confined.open(src.parent, create=lambda _: None))
                original = home / src.name
            assert original is not None
            if not original.lexists():
                safe_move(moved, original)
                return "restored", None
            if original.is_file() and same_bytes(original, moved):
                os.unlink(moved.arg, dir_fd=moved.dir_fd)  # a verified copy; original was kept
                return "done", None
            name = free_name(src.name, lambda n: (home / n).lexists())
            safe_move(moved, home / name)
            return "restored", Skipped(src, f"another file now has this name; restored as {name}")
    except OutsideFolder as exc:
        return "left", Skipped(dst, f"{exc.short}; left where it is")
    except OSError as exc:
        return "left", Skipped(dst, f"could not move back: {exc.strerror or exc}")


def _open_existing(
    stack: contextlib.ExitStack[Any], confined: Confined, folder: Path
) -> Folder | None:
    try:
        return stack.enter_context(confined.open(folder))
    except (FileNotFoundError, NotADirectoryError):
        return None


def _restore_manifest(confined: Confined, manifest: Path, old: str) -> Skipped | None:
    """A manifest an earlier sort wrote, as it was (if its group folder is still there)."""
    try:
        with confined.open(manifest.parent) as group:
            if not (group / manifest.name).lexists():
                return None
            write_atomic(manifest, old.encode("latin-1"), durable=True)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OutsideFolder, OSError) as exc:
        return Skipped(manifest, f"could not restore: {why(exc)}")
    return None


def _note_left(
    root: Path, confined: Confined, journal: Path, left: list[tuple[Path, Path]]
) -> None:
    """Only the files still in a group are this sort's placements now: one put back is not
    one the user moved out (filing/decisions.py)."""
    from .decisions import note_placements

    def placed(dst: Path) -> bool:
        try:
            return confined.names(dst)[0] in OUTPUT_DIRS
        except (OutsideFolder, IndexError):
            return False

    try:
        note_placements(root, journal, [(s, d) for s, d in left if placed(d)])
    except Exception:  # the memory is a courtesy; the undo itself stands
        log.warning("cannot update the placements of %s", journal, exc_info=True)
