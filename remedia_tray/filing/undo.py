"""Undo: put back every file of one sort, from its journals (mover.undo_last_sort picks
the sort, with the folder locked)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..atomicfile import write_atomic
from ..core.media import Skipped
from ..errors import OutsideFolder
from ..layout import OUTPUT_DIRS
from .confined import Confined
from .formats import Begin, ManifestMade, ManifestUpdated, Mkdir, MoveIntent, Record
from .journal import Marks, ever_undone, mark_undone, undone
from .moves import put_back, remove_ours, rmdir_made, why
from .sets import sets_moved, undo_set

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
    #: How many files are still out: a media set that stays is one entry in `remaining`.
    files_left: int = 0

    @property
    def finished(self) -> bool:
        return not self.remaining


def revert(root: Path, sort: list[tuple[Path, list[Record]]]) -> UndoResult:
    """Revert the journals of one sort, newest first: its moves, then each group manifest
    once the last file of its group is back, then the folders it made. Each reverted record
    is marked; a journal with nothing left is marked undone, the others stay for next time."""
    roots = [r[0].root for _, r in sort if r and isinstance(r[0], Begin) and r[0].root]
    confined = Confined(root, aliases=roots)
    tally = _Tally()
    files_left = 0
    for path, records in sort:
        marks = Marks(path)
        try:
            left = _revert_moves(confined, records, marks, tally)
            files_left += len(left)
            _revert_manifests(confined, records, marks, tally)
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
    return UndoResult(
        paths[0], tally.restored, tuple(tally.problems), tuple(tally.remaining), paths, files_left
    )


@dataclass
class _Tally:
    restored: int = 0
    problems: list[Skipped] = field(default_factory=list)
    remaining: list[Skipped] = field(default_factory=list)
    #: Group folders with a file of this journal, or a newer one, left.
    waiting: set[Path] = field(default_factory=set)


def _revert_moves(
    confined: Confined, records: list[Record], marks: Marks, tally: _Tally
) -> list[tuple[Path, Path]]:
    """The moves of one journal, newest first; a media set's as one (filing/sets.py).
    What could not go back yet (src, dst)."""
    done = undone(records)
    sets = sets_moved(records)
    ours = ever_undone(records)
    seen: set[Path] = set()
    left: list[tuple[Path, Path]] = []
    for n in reversed(range(len(records))):
        r = records[n]
        if not isinstance(r, MoveIntent):
            continue
        if r.unit is not None and r.unit in sets:
            if r.unit not in seen:
                seen.add(r.unit)
                left += _revert_set(confined, sets[r.unit], marks, tally, (done, ours))
            continue
        if n in done:
            continue
        outcome, note = put_back(confined, r.src, r.dst)
        if outcome == "left":
            left.append((r.src, r.dst))
            tally.waiting.add(r.dst.parent)
            tally.remaining.append(note or Skipped(r.dst, "could not move back"))
            continue
        tally.restored += outcome == "restored"
        if note is not None:
            tally.problems.append(note)
        marks.add(n)
    return left


def _revert_set(
    confined: Confined,
    members: list[tuple[int, MoveIntent]],
    marks: Marks,
    tally: _Tally,
    marked: tuple[set[int], set[int]],
) -> list[tuple[Path, Path]]:
    done, ours = marked
    got = undo_set(confined, members, marks, done=done, ours=ours)
    tally.restored += got.restored
    tally.problems += got.problems
    if got.left is None:
        return []
    tally.remaining.append(got.left)  # once for the set, on its picture
    tally.waiting.update(m.dst.parent for _, m in members)
    return [(m.src, m.dst) for _, m in members if os.path.lexists(m.dst)]


def _revert_manifests(
    confined: Confined, records: list[Record], marks: Marks, tally: _Tally
) -> None:
    done = undone(records)
    for n in reversed(range(len(records))):
        r = records[n]
        if not isinstance(r, (ManifestMade, ManifestUpdated)) or n in done:
            continue
        manifest = r.path
        if manifest.parent in tally.waiting:
            continue  # a manifest goes only with the last file of its group
        if isinstance(r, ManifestMade):
            remove_ours(confined, manifest)
        else:
            problem = _restore_manifest(confined, manifest, r.old)
            if problem is not None:
                tally.problems.append(problem)
        marks.add(n)


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
