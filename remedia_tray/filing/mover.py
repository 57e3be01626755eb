"""The only module that moves files: journaled moves that never overwrite (a sort's plan,
a review action), the group manifests, and the tidying of a sort a crash cut short.
Undo is in undo.py; the file-level steps both use, in moves.py."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..atomicfile import write_atomic
from ..core.media import MediaFile, Skipped
from ..core.planning import Move, PlannedGroup, SortPlan, free_name
from ..core.reference import never_moved, reference_of
from ..errors import NothingToUndo, OutsideFolder, RemediaError
from ..layout import (
    MANIFEST_NAME,
    OUTPUT_DIRS,
    data_dir,
    forget_library_index,
    journal_dir,
    lock_path,
)
from .confined import Confined, Folder, Place, check_own_folders
from .formats import (
    EFFECTS,
    Begin,
    End,
    Group,
    ManifestMade,
    ManifestUpdated,
    Mkdir,
    Moved,
    MoveIntent,
    Record,
    Review,
    RunEnd,
    SetDone,
    Undone,
    grown_manifest,
    manifest_path,
    new_manifest,
    read_manifest,
)
from .formats.manifest import readable
from .journal import (
    Journal,
    active_journals,
    mark_undone,
    read_journal,
    read_records,
    resumable,
    run_of,
)
from .locking import folder_lock
from .moves import PART_SUFFIX, opened, remove_ours, rmdir_made, safe_move, settle_half_move, why

# The fault harness (tests/faults/site) counts the steps of mover._undo.
from .sets import companions_of, revert_open_sets, roll_back
from .undo import UndoResult
from .undo import revert as _undo

# Where callers have always found them.
__all__ = [
    "PART_SUFFIX",
    "ApplyResult",
    "UndoResult",
    "apply_moves",
    "apply_plan",
    "end_resumed_run",
    "read_existing_groups",
    "recover_incomplete",
    "safe_move",
    "undo_last_sort",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApplyResult:
    moved: tuple[Move, ...]
    failed: tuple[Skipped, ...]
    journal: Path


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied; left in place"
    if exc.errno == errno.ENOSPC:
        return "disk full; left in place"
    if exc.errno == errno.ENOENT:
        return "file vanished before it could be moved"
    if exc.errno == errno.EEXIST:
        return "another file took its name in the group folder; left in place"
    return f"could not move ({exc.strerror or exc}); left in place"


def apply_plan(
    plan: SortPlan, *, root: Path, expected: Mapping[Path, MediaFile] | None = None
) -> ApplyResult:
    """Carry out `plan`, journaling each step before doing it. Failures skip that file only.

    `expected` (what the scan saw of each file) leaves files that changed since they were
    read where they are: a photo still being copied is never moved on stale information.
    Raises OutsideFolder, before moving anything, when a group folder is a symlink or not
    inside `root`; one swapped for a link during the sort fails only the moves into it.
    """
    confined = Confined(root)
    _refuse_outside(confined, {g.folder for g in plan.groups})
    journal = _start_journal(root, resume=True)
    moved: list[Move] = []
    failed: list[Skipped] = []
    try:
        for group in plan.groups:
            group_moves: list[Move] = []
            info = _group_record(group)
            announce: list[Record] = [info]  # until the group's first move
            for unit in _units(group.moves):
                refused = _in_reference(unit, plan.references)
                if refused is not None:
                    failed.append(refused)
                    continue
                done, problem = _move_unit(confined, unit, journal, announce, expected)
                group_moves += done
                if problem is not None:
                    failed.append(problem)
            moved.extend(group_moves)
            if group_moves:
                problem = _write_manifest(info, group_moves, journal, confined)
                if problem is not None:
                    failed.append(problem)
        with contextlib.suppress(OSError):  # without it, the next sort settles the journal
            journal.add(End())
    finally:
        journal.close()
    return ApplyResult(tuple(moved), tuple(failed), journal.path)


def _units(moves: Sequence[Move]) -> list[list[Move]]:
    """The moves in units that move as one: a media set's (same `unit`), or one file's."""
    units: list[list[Move]] = []
    for move in moves:
        if move.unit is not None and units and units[-1][0].unit == move.unit:
            units[-1].append(move)
        else:
            units.append([move])
    return units


def _move_unit(
    confined: Confined,
    unit: list[Move],
    journal: Journal,
    announce: list[Record],
    expected: Mapping[Path, MediaFile] | None,
) -> tuple[list[Move], Skipped | None]:
    """Move one file, or one media set as a whole: when a member cannot move, the members
    moved already go back (journaled) and the set stays where it was, whole."""
    is_set = unit[0].unit is not None
    for move in unit:  # a set moves only when none of it changed since the scan
        changed = _changed_since_scan(move.src, expected)
        if changed:
            return [], _set_problem(unit, move, changed) if is_set else Skipped(move.src, changed)
    done: list[tuple[int, Move]] = []
    for move in unit:
        dst = _move_one(confined, move, journal, announce, exact=is_set)
        if isinstance(dst, Skipped):
            if not is_set:
                return [], dst
            left = roll_back(confined, done, journal)
            return [], _set_problem(unit, move, dst.reason, left)
        done.append((journal.count - 1, dataclasses.replace(move, dst=dst)))
        with contextlib.suppress(OSError):  # a note for people; undo needs only "move"
            journal.add(Moved(dst), sync=False)
    if is_set:
        with contextlib.suppress(OSError):  # without it, recovery puts the whole set back
            journal.add(SetDone(unit[0].src), sync=False)
    return [m for _, m in done], None


def _in_reference(unit: Sequence[Move], references: Sequence[Path]) -> Skipped | None:
    """The last check before a move: nothing in a reference folder moves, whatever planned it."""
    for move in unit:
        ref = reference_of(move.src, references)
        if ref is not None:
            return Skipped(unit[0].src, never_moved(ref))
    return None


def _set_problem(unit: list[Move], member: Move, reason: str, left: int = 0) -> Skipped:
    """Why a set did not move, reported on its picture."""
    n = len(unit)
    whole = (
        f"the set of {n} files stays together where it was"
        if not left
        else f"{left} of its set of {n} files could not go back yet (`remedia undo` retries)"
    )
    return Skipped(unit[0].src, f"{member.src.name}: {reason}; {whole}")


def _move_one(
    confined: Confined,
    move: Move,
    journal: Journal,
    announce: list[Record] | None = None,
    *,
    exact: bool = False,
) -> Path | Skipped:
    """One journaled, no-clobber move under the rule; where it went, or why it stayed.

    `announce`: records journaled (once, then emptied) just before this move's own record.
    `exact`: a member of a set goes to its planned name or not at all (a free name of its
    own would part it from its set's stem).
    """
    try:
        with (
            confined.open(move.src.parent) as home,
            _made(confined, move.dst.parent, journal) as there,
        ):
            dst = there / move.dst.name if exact else _free(there, move.dst.name)
            if dst.lexists():  # journaled only once free: undo trusts the name was ours
                raise FileExistsError(errno.EEXIST, "destination exists", str(dst.path))
            while announce:  # lets a crash's recovery write the group's manifest
                journal.add(announce[0], sync=False)
                del announce[0]  # only once written: a failed write is tried again
            journal.add(MoveIntent(move.src, dst.path, move.unit, move.role))
            safe_move(home / move.src.name, dst)
    except OutsideFolder as exc:
        return Skipped(move.src, f"{exc.short}; left in place")
    except OSError as exc:
        return Skipped(move.src, _reason(exc))
    return dst.path


def _refuse_outside(confined: Confined, folders: Iterable[Path]) -> None:
    """OutsideFolder (nothing moved yet) when a destination has a symlink on the way."""
    for folder in sorted(folders):
        try:
            confined.check(folder)
        except OutsideFolder as exc:
            raise exc.before_any_move() from None


def _made(
    confined: Confined, folder: Path, journal: Journal
) -> contextlib.AbstractContextManager[Folder]:
    """`folder` opened under the rule; each folder made on the way is journaled first."""
    return confined.open(folder, create=lambda p: journal.add(Mkdir(p)))


def _free(folder: Folder, name: str) -> Place:
    return folder / free_name(name, lambda n: (folder / n).lexists())


def _start_journal(root: Path, *, resume: bool) -> Journal:
    """A journal with its first record on disk, or RemediaError: no journal, no moves.

    `resume`: a sort continues the run of an interrupted sort the next sort tidied (see
    journal.resumable), so that one undo reverts both.
    """
    journal = None
    try:
        Confined(root).check(journal_dir(root))
    except OutsideFolder as exc:
        raise exc.before_any_move() from None
    forget_library_index(root)
    try:
        run = _resumable_run(root) if resume else None
        journal = Journal.create(root)
        run = run or journal.path.name.split(".", 1)[0]
        journal.add(Begin(root, run))
    except OSError as exc:
        if journal is not None:
            journal.close()
            with contextlib.suppress(OSError):
                journal.path.unlink()  # empty: it would only hide the previous sort from undo
        why = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise RemediaError(
            f"cannot write the undo journal in {data_dir(root)} ({why}); nothing was moved"
        ) from None
    return journal


def _resumable_run(root: Path) -> str | None:
    journals = active_journals(root)
    if not journals:
        return None
    records = read_journal(journals[-1])
    return run_of(journals[-1], records) if resumable(records) else None


def end_resumed_run(root: Path) -> None:
    """A sort that found nothing left to move has finished the interrupted sort it resumed:
    the next sort starts a run of its own. Call with the folder lock held."""
    journals = active_journals(root)
    if not journals or not resumable(read_journal(journals[-1])):
        return
    try:
        journal = Journal(journals[-1])
    except OSError:
        return  # read-only: the next sort would join this run, and undo both
    try:
        journal.add(RunEnd())
    except OSError:
        log.warning("cannot close the run of %s", journals[-1], exc_info=True)
    finally:
        journal.close()


def _changed_since_scan(src: Path, expected: Mapping[Path, MediaFile] | None) -> str | None:
    if expected is None or src not in expected:
        return None
    seen = expected[src]
    try:
        st = os.stat(src, follow_symlinks=False)
    except FileNotFoundError:
        return "file vanished before it could be moved"
    except OSError as exc:
        return f"cannot check the file before moving it ({exc.strerror or exc}); left in place"
    if not seen.same_file(MediaFile.from_stat(src, st)):
        return "changed since it was read (still being written?); left in place, sort again"
    return None


def _group_record(group: PlannedGroup) -> Group:
    return Group(group.folder, group.kind, group.keeper, group.best, group.reason)


def _write_manifest(
    info: Group, moves: Sequence[Move], journal: Journal, confined: Confined
) -> Skipped | None:
    """Write FOLDER/remedia-group.json (journaled first); returns the problem, if any."""
    path = manifest_path(info.folder)
    try:
        with confined.open(info.folder) as group:
            place = group / path.name
            if place.is_file():  # a group folder an earlier sort made: it grows
                return _update_manifest(place, info, moves, journal)
            journal.add(ManifestMade(path))
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            flags |= getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(place.arg, flags, 0o666, dir_fd=place.dir_fd)
            try:  # O_EXCL: never replaces a file
                with open(fd, "wb") as fh:
                    fh.write(new_manifest(info, _pairs(moves), companions_of(moves)))
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(place.arg, dir_fd=place.dir_fd)  # ours, half-written (disk full)
                raise
    except (OutsideFolder, OSError) as exc:
        return Skipped(path, f"could not write group manifest ({why(exc)})")
    return None


def _pairs(moves: Sequence[Move]) -> list[tuple[Path, Path]]:
    return [(m.src, m.dst) for m in moves]


def _update_manifest(
    place: Place, info: Group, moves: Sequence[Move], journal: Journal
) -> Skipped | None:
    """Add this sort's moves (and a new kept copy) to an existing manifest; undo restores it.

    The old text goes into the journal first; the new one replaces it atomically, so the
    manifest is always one or the other. `place` is in a folder checked by the caller.
    """
    try:
        with opened(place) as fd, open(fd, "rb", closefd=False) as fh:
            old = fh.read()
    except OSError:
        return None  # unreadable: it only held hints; leave it as it is
    new = grown_manifest(old, info, _pairs(moves), companions_of(moves))
    if new is None:
        return None  # damaged: the same
    try:
        journal.add(ManifestUpdated(place.path, old.decode("latin-1")))
        write_atomic(place.path, new, durable=True)
    except OSError as exc:
        return Skipped(place.path, f"could not update group manifest ({exc.strerror or exc})")
    return None


def _finish_manifests(records: Sequence[Record], journal: Journal, confined: Confined) -> None:
    """Write the manifests a crash kept a sort from writing, so the next run reuses the
    group folders instead of starting "name (2)" beside them."""
    groups: dict[Path, tuple[Group, list[Move]]] = {}
    journaled: set[Path] = set()
    current = None
    for r in records:
        if isinstance(r, Group):
            current = r.folder
            groups[current] = (r, [])
        elif isinstance(r, MoveIntent) and current is not None:
            groups[current][1].append(Move(r.src, r.dst, r.unit, r.role))
        elif isinstance(r, ManifestMade):
            journaled.add(r.path)
    for folder, (info, moves) in groups.items():
        done = [m for m in moves if os.path.lexists(m.dst) and not os.path.lexists(m.src)]
        path = manifest_path(folder)
        if not done:
            continue
        if path in journaled and not readable(path):
            remove_ours(confined, path)  # ours, cut short by the crash
        problem = _write_manifest(info, done, journal, confined)
        if problem is not None:
            log.warning("%s: %s", problem.path, problem.reason)


def undo_last_sort(root: Path, *, wait: float = 10.0) -> UndoResult:
    """Put back every file of the most recent sort; an interrupted sort and the sort that
    resumed it are one. Files that cannot go back yet are in `remaining` (see UndoResult)."""
    root = Path(root)
    check_own_folders(root)
    with folder_lock(lock_path(root), wait=wait):
        forget_library_index(root)
        journals = active_journals(root)
        while journals:
            newest = journals.pop()
            records = read_records(newest)
            if not any(getattr(r, "op", None) in EFFECTS for r in records):
                mark_undone(newest)  # a sort that crashed before touching anything
                continue
            run = run_of(newest, records)
            sort = [(newest, records)]
            for path in reversed(journals):
                earlier = read_records(path)
                if run_of(path, earlier) != run:
                    break
                sort.append((path, earlier))
            return _undo(root, sort)
        raise NothingToUndo(f"no sort of {root} left to undo")


def recover_incomplete(root: Path) -> list[Path]:
    """Tidy journals of sorts that crashed: finish no half-moves, drop our partial copies.

    A journal an undo has begun on is the undo's to finish, not a crashed sort.
    """
    fixed = []
    confined = Confined(root)
    for path in active_journals(root):
        records = read_records(path)
        if any(isinstance(r, (End, Undone)) for r in records):
            continue
        for r in reversed(records):
            if isinstance(r, MoveIntent):
                _settle(confined, r.src, r.dst)
        try:  # a set the crash cut short goes back whole (see sets.py for why)
            if revert_open_sets(confined, path, records):
                log.warning("%s: a media set could not go back whole yet", path)
            records = read_records(path)  # with the marks of what went back
        except OSError:
            log.warning("cannot put back the sets cut short in %s", path, exc_info=True)
        for r in reversed(records):
            if isinstance(r, Mkdir):
                rmdir_made(confined, r.path)  # left empty by the crash
        journal = Journal(path)
        try:
            _finish_manifests(records, journal, confined)
            journal.add(End(recovered=True))  # resumable by the next sort
        except OSError:  # disk full: settling again next time is harmless
            log.warning("cannot mark %s as recovered", path, exc_info=True)
            continue
        finally:
            journal.close()
        fixed.append(path)
    return fixed


def _settle(confined: Confined, src: Path, dst: Path) -> None:
    try:
        with confined.open(src.parent) as home, confined.open(dst.parent) as there:
            settle_half_move(home / src.name, there / dst.name)
    except (FileNotFoundError, NotADirectoryError):
        return  # a folder is gone: no half-done move in it
    except OutsideFolder as exc:
        log.warning("not settling the move of %s: %s", src, exc)


def read_existing_groups(root: Path) -> dict[Path, Path]:
    """Best photo -> group folder, from the manifests of earlier sorts."""
    found: dict[Path, Path] = {}
    for kind in OUTPUT_DIRS:
        base = root / kind
        if not base.is_dir():
            continue
        for folder in sorted(p.parent for p in base.glob(f"*/{MANIFEST_NAME}")):
            manifest = read_manifest(folder)
            if manifest is not None and manifest.best is not None:
                found.setdefault(Path(manifest.best), folder)
            # (a damaged manifest only costs the reuse of its folder)
    return found


def apply_moves(
    root: Path, moves: list[Move], *, record: Review, references: Sequence[Path] = ()
) -> ApplyResult:
    """Carry out a few moves chosen by the user (a review action) as one journaled step.

    The journal is a sort's, so `remedia undo` reverts it; `record` (what the user asked for)
    is journaled first as {"op": "review", ...}. Like apply_plan: never overwrites (a taken
    destination gets a free name), a failure skips that file only (a media set, moves with
    one `unit`, goes whole to its exact names or stays), and a destination with a symlink
    on the way raises OutsideFolder before anything moves. Nothing in `references` moves.
    """
    confined = Confined(root)
    _refuse_outside(confined, {m.dst.parent for m in moves})
    journal = _start_journal(root, resume=False)
    moved: list[Move] = []
    failed: list[Skipped] = []
    try:
        journal.add(record)
        for unit in _units(moves):
            refused = _in_reference(unit, references)
            if refused is not None:
                failed.append(refused)
                continue
            if unit[0].unit is not None:  # a media set: whole, to its exact names, or not
                done, problem = _move_unit(confined, unit, journal, [], None)
                moved += done
                failed += [problem] if problem is not None else []
                continue
            dst = _move_one(confined, unit[0], journal)
            if isinstance(dst, Skipped):
                failed.append(dst)
            else:
                moved.append(Move(unit[0].src, dst))
        with contextlib.suppress(OSError):
            journal.add(End())
    finally:
        journal.close()
    return ApplyResult(tuple(moved), tuple(failed), journal.path)
