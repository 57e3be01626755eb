"""The only module that moves files: journaled moves that never overwrite, and their undo."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..atomicfile import write_atomic
from ..core.media import MediaFile, Skipped
from ..core.planning import Move, PlannedGroup, SortPlan, free_name
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
from .journal import (
    Journal,
    _fsync_dir,
    active_journals,
    mark_undone,
    read_journal,
    resumable,
    run_of,
    undone,
)
from .locking import folder_lock

log = logging.getLogger(__name__)

PART_SUFFIX = ".remedia-part"
_NAME_MAX = 255  # bytes in one file name on every common filesystem


@dataclass(frozen=True)
class ApplyResult:
    moved: tuple[Move, ...]
    failed: tuple[Skipped, ...]
    journal: Path


def _part_name(name: str) -> str:
    part = "." + name + PART_SUFFIX
    if len(os.fsencode(part)) > _NAME_MAX:
        # A 255-byte photo name has no room for our suffix: a short, still unique, name.
        part = "." + hashlib.sha1(os.fsencode(name)).hexdigest()[:20] + PART_SUFFIX
    return part


def _place(p: Path | Place) -> Place:
    return p if isinstance(p, Place) else Place(Path(p), Path(p), None)


def safe_move(src: Path | Place, dst: Path | Place) -> None:
    """Move without ever replacing an existing file; raises FileExistsError if `dst` exists.

    Places (see confined.py) are reached through their checked folder's descriptor.
    """
    s, d = _place(src), _place(dst)
    if d.lexists():
        raise FileExistsError(errno.EEXIST, "destination exists", str(d.path))
    try:
        os.link(s.arg, d.arg, src_dir_fd=s.dir_fd, dst_dir_fd=d.dir_fd)  # atomic no-clobber
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_move(s, d)
            return
        if exc.errno in (errno.EACCES, errno.ENOSPC, errno.EROFS, errno.ENOENT):
            raise
        # Filesystems without hard links (FAT, some network shares): checked rename.
        if d.lexists():
            raise FileExistsError(errno.EEXIST, "destination exists", str(d.path)) from None
        os.rename(s.arg, d.arg, src_dir_fd=s.dir_fd, dst_dir_fd=d.dir_fd)
        return
    try:
        os.unlink(s.arg, dir_fd=s.dir_fd)
    except OSError:
        os.unlink(d.arg, dir_fd=d.dir_fd)  # undo our own link; the original is untouched
        raise


def _copy_move(src: Place, dst: Place) -> None:
    """Across filesystems: copy to a temporary name, fsync, verify, rename, then delete."""
    part = dst.sibling(_part_name(dst.name))
    try:
        shutil.copy2(src.path, part.path)
        with _opened(part) as fd:  # the copy, found in the checked folder
            os.fsync(fd)
        if not _same_bytes(src, part):
            raise OSError(errno.EIO, "copy verification failed", str(dst.path))
        if dst.lexists():
            raise FileExistsError(errno.EEXIST, "destination exists", str(dst.path))
        os.rename(part.arg, dst.arg, src_dir_fd=part.dir_fd, dst_dir_fd=dst.dir_fd)
        _fsync_dir(dst.path.parent)
    except BaseException:
        if os.path.lexists(part.path):
            os.unlink(part.path)  # our own partial copy; the original is untouched
        raise
    os.unlink(src.arg, dir_fd=src.dir_fd)


@contextlib.contextmanager
def _opened(place: Place) -> Iterator[int]:
    """`place` opened for reading, without following a link at its name."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(place.arg, flags, dir_fd=place.dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


def _same_bytes(a: Place, b: Place) -> bool:
    with _opened(a) as fa, _opened(b) as fb:
        if os.fstat(fa).st_size != os.fstat(fb).st_size:
            return False
        with open(fa, "rb", closefd=False) as ha, open(fb, "rb", closefd=False) as hb:
            while True:
                chunk = ha.read(1 << 20)
                if chunk != hb.read(1 << 20):
                    return False
                if not chunk:
                    return True


def _why(exc: OutsideFolder | OSError) -> str:
    """What stopped a write, in a few words for a line that names the file."""
    return exc.short if isinstance(exc, OutsideFolder) else str(exc.strerror or exc)


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied; left in place"
    if exc.errno == errno.ENOSPC:
        return "disk full; left in place"
    if exc.errno == errno.ENOENT:
        return "file vanished before it could be moved"
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
            info = _group_info(group)
            announce = [{"op": "group", **info}]  # until the group's first move
            for move in group.moves:
                changed = _changed_since_scan(move.src, expected)
                if changed:
                    failed.append(Skipped(move.src, changed))
                    continue
                dst = _move_one(confined, move, journal, announce)
                if isinstance(dst, Skipped):
                    failed.append(dst)
                    continue
                with contextlib.suppress(OSError):  # a note for people; undo needs only "move"
                    journal.write({"op": "moved", "dst": str(dst)}, sync=False)
                group_moves.append(Move(move.src, dst))
            moved.extend(group_moves)
            if group_moves:
                problem = _write_manifest(
                    info, [(m.src, m.dst) for m in group_moves], journal, confined
                )
                if problem is not None:
                    failed.append(problem)
        with contextlib.suppress(OSError):  # without it, the next sort settles the journal
            journal.write({"op": "end"})
    finally:
        journal.close()
    return ApplyResult(tuple(moved), tuple(failed), journal.path)


def _move_one(
    confined: Confined, move: Move, journal: Journal, announce: list[dict[str, Any]] | None = None
) -> Path | Skipped:
    """One journaled, no-clobber move under the rule; where it went, or why it stayed.

    `announce`: records journaled (once, then emptied) just before this move's own record.
    """
    try:
        with (
            confined.open(move.src.parent) as home,
            _made(confined, move.dst.parent, journal) as there,
        ):
            dst = _free(there, move.dst.name)  # taken since planning: a free name
            while announce:  # lets a crash's recovery write the group's manifest
                journal.write(announce[0], sync=False)
                del announce[0]  # only once written: a failed write is tried again
            journal.write({"op": "move", "src": str(move.src), "dst": str(dst.path)})
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
    return confined.open(folder, create=lambda p: journal.write({"op": "mkdir", "path": str(p)}))


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
        journal = Journal.create(data_dir(root))
        run = run or journal.path.name.split(".", 1)[0]
        journal.write({"op": "begin", "root": str(root), "version": 1, "run": run})
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
    journals = active_journals(data_dir(root))
    if not journals:
        return None
    records = read_journal(journals[-1])
    return run_of(journals[-1], records) if resumable(records) else None


def end_resumed_run(root: Path) -> None:
    """A sort that found nothing left to move has finished the interrupted sort it resumed:
    the next sort starts a run of its own. Call with the folder lock held."""
    journals = active_journals(data_dir(root))
    if not journals or not resumable(read_journal(journals[-1])):
        return
    try:
        journal = Journal(journals[-1])
    except OSError:
        return  # read-only: the next sort would join this run, and undo both
    try:
        journal.write({"op": "run-end"})
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


def _group_info(group: PlannedGroup) -> dict[str, Any]:
    return {
        "folder": str(group.folder),
        "kind": group.kind,
        "kept": str(group.keeper) if group.keeper else None,
        "best": str(group.best),
        "reason": group.reason,
    }


def _write_manifest(
    info: Mapping[str, Any],
    moves: list[tuple[Path, Path]],
    journal: Journal,
    confined: Confined,
) -> Skipped | None:
    """Write FOLDER/remedia-group.json (journaled first); returns the problem, if any."""
    folder = Path(info["folder"])
    path = folder / MANIFEST_NAME
    try:
        with confined.open(folder) as group:
            place = group / MANIFEST_NAME
            if place.is_file():  # a group folder an earlier sort made: it grows
                return _update_manifest(place, info, moves, journal)
            data = {k: v for k, v in info.items() if k != "folder"}
            data["moved"] = [{"from": str(src), "to": str(dst)} for src, dst in moves]
            journal.write({"op": "manifest", "path": str(path)})
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            flags |= getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(place.arg, flags, 0o666, dir_fd=place.dir_fd)
            try:  # O_EXCL: never replaces a file
                with open(fd, "wb") as fh:
                    fh.write(_manifest_bytes(data))
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(place.arg, dir_fd=place.dir_fd)  # ours, half-written (disk full)
                raise
    except (OutsideFolder, OSError) as exc:
        return Skipped(path, f"could not write group manifest ({_why(exc)})")
    return None


def _update_manifest(
    place: Place, info: Mapping[str, Any], moves: list[tuple[Path, Path]], journal: Journal
) -> Skipped | None:
    """Add this sort's moves (and a new kept copy) to an existing manifest; undo restores it.

    The old text goes into the journal first; the new one replaces it atomically, so the
    manifest is always one or the other. `place` is in a folder checked by the caller.
    """
    try:
        with _opened(place) as fd, open(fd, "rb", closefd=False) as fh:
            old = fh.read()
        data = json.loads(old)
    except (OSError, ValueError):
        return None  # damaged or unreadable: it only held hints; leave it as it is
    if not isinstance(data, dict):
        return None
    moved: list[Any] = data["moved"] if isinstance(data.get("moved"), list) else []
    data["moved"] = [*moved, *({"from": str(src), "to": str(dst)} for src, dst in moves)]
    if info.get("kind") == "duplicates" and info.get("kept") and data.get("kept") != info["kept"]:
        data.update(kept=info["kept"], best=info["best"], reason=info["reason"])
    record = {"op": "manifest-update", "path": str(place.path), "old": old.decode("latin-1")}
    try:
        journal.write(record)
        write_atomic(place.path, _manifest_bytes(data), durable=True)
    except OSError as exc:
        return Skipped(place.path, f"could not update group manifest ({exc.strerror or exc})")
    return None


def _manifest_bytes(data: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A file name that is not valid UTF-8: \u escapes keep its exact bytes, and stay JSON.
        return json.dumps(data, indent=2).encode("ascii")


def _finish_manifests(records: list[dict[str, Any]], journal: Journal, confined: Confined) -> None:
    """Write the manifests a crash kept a sort from writing, so the next run reuses the
    group folders instead of starting "name (2)" beside them."""
    groups: dict[str, tuple[dict[str, Any], list[tuple[Path, Path]]]] = {}
    journaled: set[str] = set()
    current = None
    for r in records:
        op = r.get("op")
        if op == "group":
            current = str(r["folder"])
            groups[current] = (r, [])
        elif op == "move" and current is not None:
            groups[current][1].append((Path(r["src"]), Path(r["dst"])))
        elif op == "manifest":
            journaled.add(str(r["path"]))
    for folder, (info, moves) in groups.items():
        done = [(s, d) for s, d in moves if os.path.lexists(d) and not os.path.lexists(s)]
        path = Path(folder) / MANIFEST_NAME
        if not done:
            continue
        if str(path) in journaled and not _readable_json(path):
            _remove(confined, path)  # ours, cut short by the crash
        problem = _write_manifest(info, done, journal, confined)
        if problem is not None:
            log.warning("%s: %s", problem.path, problem.reason)


def _readable_json(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return True


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


def undo_last_sort(root: Path, *, wait: float = 10.0) -> UndoResult:
    """Put back every file of the most recent sort; an interrupted sort and the sort that
    resumed it are one. Files that cannot go back yet are in `remaining` (see UndoResult)."""
    root = Path(root)
    check_own_folders(root)
    with folder_lock(lock_path(root), wait=wait):
        forget_library_index(root)
        journals = active_journals(data_dir(root))
        while journals:
            newest = journals.pop()
            records = read_journal(newest)
            if not any(r.get("op") in _EFFECTS for r in records):
                mark_undone(newest)  # a sort that crashed before touching anything
                continue
            run = run_of(newest, records)
            sort = [(newest, records)]
            for path in reversed(journals):
                earlier = read_journal(path)
                if run_of(path, earlier) != run:
                    break
                sort.append((path, earlier))
            return _undo(root, sort)
        raise NothingToUndo(f"no sort of {root} left to undo")


_EFFECTS = ("move", "mkdir", "manifest", "manifest-update")


def recover_incomplete(root: Path) -> list[Path]:
    """Tidy journals of sorts that crashed: finish no half-moves, drop our partial copies.

    A journal an undo has begun on is the undo's to finish, not a crashed sort.
    """
    fixed = []
    confined = Confined(root)
    for path in active_journals(data_dir(root)):
        records = read_journal(path)
        if any(r.get("op") in ("end", "undone") for r in records):
            continue
        for r in reversed(records):
            if r.get("op") == "move":
                _settle(confined, Path(r["src"]), Path(r["dst"]))
            elif r.get("op") == "mkdir":
                _rmdir(confined, Path(r["path"]))  # left empty by the crash
        journal = Journal(path)
        try:
            _finish_manifests(records, journal, confined)
            journal.write({"op": "end", "recovered": True})  # resumable by the next sort
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
            _settle_half_move(home / src.name, there / dst.name)
    except (FileNotFoundError, NotADirectoryError):
        return  # a folder is gone: no half-done move in it
    except OutsideFolder as exc:
        log.warning("not settling the move of %s: %s", src, exc)


def _settle_half_move(src: Place, dst: Place) -> None:
    """Undo a move a crash interrupted; the original at `src` is always what survives."""
    # Place checks answer False for names no filesystem takes (a journaled move that failed
    # with "File name too long"), where Path.exists() raises.
    part = dst.sibling(_part_name(dst.name))
    if part.lexists() and src.is_file():
        os.unlink(part.arg, dir_fd=part.dir_fd)  # an interrupted copy of ours; original intact
    if not (src.is_file() and dst.is_file()):
        return
    a, b = src.lstat(), dst.lstat()
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
        os.unlink(dst.arg, dir_fd=dst.dir_fd)  # crash between link and unlink: not moved yet
    elif _same_bytes(src, dst):
        # Across filesystems: crash after the verified copy took its name but before the
        # original was removed. The journal proves `dst` was free before, so it is our copy.
        os.unlink(dst.arg, dir_fd=dst.dir_fd)


def _rmdir(confined: Confined, path: Path) -> None:
    """Remove a folder a sort made, if it is empty (else the user put something there)."""
    with contextlib.suppress(OSError, OutsideFolder), confined.open(path.parent) as parent:
        gone = parent / path.name
        os.rmdir(gone.arg, dir_fd=gone.dir_fd)


def _remove(confined: Confined, path: Path) -> None:
    """Delete a file of ours (a manifest); gone already is fine."""
    with contextlib.suppress(OSError, OutsideFolder), confined.open(path.parent) as parent:
        ours = parent / path.name
        os.unlink(ours.arg, dir_fd=ours.dir_fd)


_Outcome = Literal["restored", "done", "left"]


def _undo(root: Path, sort: list[tuple[Path, list[dict[str, Any]]]]) -> UndoResult:
    """Revert the journals of one sort, newest first: its moves, then each group manifest
    once the last file of its group is back, then the folders it made. Each reverted record
    is marked; a journal with nothing left is marked undone, the others stay for next time."""
    roots = [Path(r[0]["root"]) for _, r in sort if r and isinstance(r[0].get("root"), str)]
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
                if r.get("op") != "move" or n in done:
                    continue
                src, dst = Path(r["src"]), Path(r["dst"])
                outcome, note = _put_back(confined, src, dst)
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
                op = r.get("op")
                if op not in ("manifest", "manifest-update") or n in done:
                    continue
                manifest = Path(r["path"])
                if manifest.parent in waiting:
                    continue  # a manifest goes only with the last file of its group
                if op == "manifest":
                    _remove(confined, manifest)
                else:
                    problem = _restore_manifest(confined, manifest, str(r["old"]))
                    if problem is not None:
                        problems.append(problem)
                marks.add(n)
            for r in reversed(records):
                if r.get("op") == "mkdir":
                    _rmdir(confined, Path(r["path"]))
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
                self._journal.write({"op": "undone", "n": n}, sync=False)
            except OSError:
                log.warning("cannot mark progress in %s", self._journal.path, exc_info=True)

    def close(self) -> None:
        if self._journal is not None:
            with contextlib.suppress(OSError):
                self._journal.sync()
            self._journal.close()


def _put_back(confined: Confined, src: Path, dst: Path) -> tuple[_Outcome, Skipped | None]:
    """Revert one journaled move: "restored", "done" (nothing left to do: back already, or
    gone) or "left" (the note says why; the next undo tries again)."""
    try:
        with contextlib.ExitStack() as stack:
            there = _open_existing(stack, confined, dst.parent)
            home = _open_existing(stack, confined, src.parent)
            moved = there / dst.name if there is not None else None
            original = home / src.name if home is not None else None
            if moved is not None and original is not None:
                _settle_half_move(original, moved)
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
            if original.is_file() and _same_bytes(original, moved):
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
        return Skipped(manifest, f"could not restore: {_why(exc)}")
    return None


def _note_left(
    root: Path, confined: Confined, journal: Path, left: list[tuple[Path, Path]]
) -> None:
    """Only the files still in a group are this sort's placements now: one put back is not
    one the user moved out (safety/decisions.py)."""
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


def read_existing_groups(root: Path) -> dict[Path, Path]:
    """Best photo -> group folder, from the manifests of earlier sorts."""
    found: dict[Path, Path] = {}
    for kind in ("duplicates", "similar"):
        base = root / kind
        if not base.is_dir():
            continue
        for manifest in sorted(base.glob(f"*/{MANIFEST_NAME}")):
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
                found.setdefault(Path(data["best"]), manifest.parent)
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged manifest only costs the reuse of its folder
    return found


def apply_moves(root: Path, moves: list[Move], *, record: Mapping[str, Any]) -> ApplyResult:
    """Carry out a few moves chosen by the user (a review action) as one journaled step.

    The journal is a sort's, so `remedia undo` reverts it; `record` (what the user asked for)
    is journaled first as {"op": "review", ...}. Like apply_plan: never overwrites (a taken
    destination gets a free name), a failure skips that file only, and a destination with a
    symlink on the way raises OutsideFolder before anything moves.
    """
    confined = Confined(root)
    _refuse_outside(confined, {m.dst.parent for m in moves})
    journal = _start_journal(root, resume=False)
    moved: list[Move] = []
    failed: list[Skipped] = []
    try:
        journal.write({"op": "review", **record})
        for move in moves:
            dst = _move_one(confined, move, journal)
            if isinstance(dst, Skipped):
                failed.append(dst)
            else:
                moved.append(Move(move.src, dst))
        with contextlib.suppress(OSError):
            journal.write({"op": "end"})
    finally:
        journal.close()
    return ApplyResult(tuple(moved), tuple(failed), journal.path)
