"""The only module that moves files: journaled moves that never overwrite, and their undo."""

from __future__ import annotations

import contextlib
import errno
import filecmp
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomicfile import write_atomic
from ..core.media import MediaFile, Skipped
from ..core.planning import Move, PlannedGroup, SortPlan, free_name
from ..errors import NothingToUndo, RemediaError
from ..layout import MANIFEST_NAME, data_dir, forget_library_index, lock_path
from .journal import Journal, _fsync_dir, active_journals, mark_undone, read_journal
from .locking import folder_lock

log = logging.getLogger(__name__)

PART_SUFFIX = ".remedia-part"
_NAME_MAX = 255  # bytes in one file name on every common filesystem


@dataclass(frozen=True)
class ApplyResult:
    moved: tuple[Move, ...]
    failed: tuple[Skipped, ...]
    journal: Path


def _part_path(dst: Path) -> Path:
    name = "." + dst.name + PART_SUFFIX
    if len(os.fsencode(name)) > _NAME_MAX:
        # A 255-byte photo name has no room for our suffix: a short, still unique, name.
        name = "." + hashlib.sha1(os.fsencode(dst.name)).hexdigest()[:20] + PART_SUFFIX
    return dst.with_name(name)


def safe_move(src: Path, dst: Path) -> None:
    """Move without ever replacing an existing file; raises FileExistsError if `dst` exists."""
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, "destination exists", str(dst))
    try:
        os.link(src, dst)  # atomic no-clobber on the same filesystem
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_move(src, dst)
            return
        if exc.errno in (errno.EACCES, errno.ENOSPC, errno.EROFS, errno.ENOENT):
            raise
        # Filesystems without hard links (FAT, some network shares): checked rename.
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "destination exists", str(dst)) from None
        os.rename(src, dst)
        return
    try:
        os.unlink(src)
    except OSError:
        os.unlink(dst)  # undo our own link; the original is untouched
        raise


def _copy_move(src: Path, dst: Path) -> None:
    """Across filesystems: copy to a temporary name, fsync, verify, rename, then delete."""
    part = _part_path(dst)
    try:
        shutil.copy2(src, part)
        with open(part, "rb+") as fh:
            os.fsync(fh.fileno())
        if not filecmp.cmp(src, part, shallow=False):
            raise OSError(errno.EIO, "copy verification failed", str(dst))
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "destination exists", str(dst))
        os.rename(part, dst)
        _fsync_dir(dst.parent)
    except BaseException:
        if part.exists():
            part.unlink()  # our own partial copy; the original is untouched
        raise
    os.unlink(src)


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
    """
    journal = _start_journal(root)
    moved: list[Move] = []
    failed: list[Skipped] = []
    try:
        for group in plan.groups:
            group_moves: list[Move] = []
            info = _group_info(group)
            announced = False
            for move in group.moves:
                changed = _changed_since_scan(move.src, expected)
                if changed:
                    failed.append(Skipped(move.src, changed))
                    continue
                dst = move.dst
                if os.path.lexists(dst):  # appeared since planning
                    name = free_name(dst.name, lambda n: os.path.lexists(dst.parent / n))
                    dst = dst.with_name(name)
                try:
                    _ensure_dir(dst.parent, journal)
                    if not announced:  # lets a crash's recovery write the group's manifest
                        journal.write({"op": "group", **info}, sync=False)
                        announced = True
                    journal.write({"op": "move", "src": str(move.src), "dst": str(dst)})
                    safe_move(move.src, dst)
                except OSError as exc:
                    failed.append(Skipped(move.src, _reason(exc)))
                    continue
                with contextlib.suppress(OSError):  # a note for people; undo needs only "move"
                    journal.write({"op": "moved", "dst": str(dst)}, sync=False)
                group_moves.append(Move(move.src, dst))
            moved.extend(group_moves)
            if group_moves:
                problem = _write_manifest(info, [(m.src, m.dst) for m in group_moves], journal)
                if problem is not None:
                    failed.append(problem)
        with contextlib.suppress(OSError):  # without it, the next sort settles the journal
            journal.write({"op": "end"})
    finally:
        journal.close()
    return ApplyResult(tuple(moved), tuple(failed), journal.path)


def _start_journal(root: Path) -> Journal:
    """A journal with its first record on disk, or RemediaError: no journal, no moves."""
    journal = None
    forget_library_index(root)
    try:
        journal = Journal.create(data_dir(root))
        journal.write({"op": "begin", "root": str(root), "version": 1})
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


def _ensure_dir(folder: Path, journal: Journal) -> None:
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        journal.write({"op": "mkdir", "path": str(d)})
        d.mkdir()


def _group_info(group: PlannedGroup) -> dict[str, Any]:
    return {
        "folder": str(group.folder),
        "kind": group.kind,
        "kept": str(group.keeper) if group.keeper else None,
        "best": str(group.best),
        "reason": group.reason,
    }


def _write_manifest(
    info: Mapping[str, Any], moves: list[tuple[Path, Path]], journal: Journal
) -> Skipped | None:
    """Write FOLDER/remedia-group.json (journaled first); returns the problem, if any."""
    path = Path(info["folder"]) / MANIFEST_NAME
    if path.exists():  # a group folder an earlier sort made: it grows
        return _update_manifest(path, info, moves, journal)
    data = {k: v for k, v in info.items() if k != "folder"}
    data["moved"] = [{"from": str(src), "to": str(dst)} for src, dst in moves]
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A file name that is not valid UTF-8: \u escapes keep its exact bytes, and stay JSON.
        text = json.dumps(data, indent=2).encode("ascii")
    try:
        journal.write({"op": "manifest", "path": str(path)})
        fh = open(path, "xb")  # never replaces a file
        try:
            with fh:
                fh.write(text)
        except OSError:
            with contextlib.suppress(OSError):
                path.unlink()  # our own half-written manifest (disk full)
            raise
    except OSError as exc:
        return Skipped(path, f"could not write group manifest ({exc.strerror or exc})")
    return None


def _update_manifest(
    path: Path, info: Mapping[str, Any], moves: list[tuple[Path, Path]], journal: Journal
) -> Skipped | None:
    """Add this sort's moves (and a new kept copy) to an existing manifest; undo restores it.

    The old text goes into the journal first; the new one replaces it atomically, so the
    manifest is always one or the other.
    """
    try:
        old = path.read_bytes()
        data = json.loads(old)
    except (OSError, ValueError):
        return None  # damaged or unreadable: it only held hints; leave it as it is
    if not isinstance(data, dict):
        return None
    moved: list[Any] = data["moved"] if isinstance(data.get("moved"), list) else []
    data["moved"] = [*moved, *({"from": str(src), "to": str(dst)} for src, dst in moves)]
    if info.get("kind") == "duplicates" and info.get("kept") and data.get("kept") != info["kept"]:
        data.update(kept=info["kept"], best=info["best"], reason=info["reason"])
    try:
        journal.write({"op": "manifest-update", "path": str(path), "old": old.decode("latin-1")})
        write_atomic(path, _manifest_bytes(data), durable=True)
    except OSError as exc:
        return Skipped(path, f"could not update group manifest ({exc.strerror or exc})")
    return None


def _manifest_bytes(data: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, indent=2).encode("ascii")


def _finish_manifests(records: list[dict[str, Any]], journal: Journal) -> None:
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
            with contextlib.suppress(OSError):
                path.unlink()  # ours, cut short by the crash
        problem = _write_manifest(info, done, journal)
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
    journal: Path
    restored: int
    problems: tuple[Skipped, ...]


def undo_last_sort(root: Path, *, wait: float = 10.0) -> UndoResult:
    """Put every file of the most recent sort back where it was."""
    root = Path(root)
    with folder_lock(lock_path(root), wait=wait):
        forget_library_index(root)
        for path in reversed(active_journals(data_dir(root))):
            if any(r.get("op") in _EFFECTS for r in read_journal(path)):
                return _undo(path)
            mark_undone(path)  # a sort that crashed before touching anything: nothing to undo
        raise NothingToUndo(f"no sort of {root} left to undo")


_EFFECTS = ("move", "mkdir", "manifest", "manifest-update")


def recover_incomplete(root: Path) -> list[Path]:
    """Tidy journals of sorts that crashed: finish no half-moves, drop our partial copies."""
    fixed = []
    for path in active_journals(data_dir(root)):
        records = read_journal(path)
        if records and records[-1].get("op") == "end":
            continue
        for r in reversed(records):
            if r.get("op") == "move":
                _settle_half_move(Path(r["src"]), Path(r["dst"]))
            elif r.get("op") == "mkdir":
                with contextlib.suppress(OSError):
                    Path(r["path"]).rmdir()  # left empty by the crash
        journal = Journal(path)
        try:
            _finish_manifests(records, journal)
            journal.write({"op": "end", "recovered": True})
        except OSError:  # disk full: settling again next time is harmless
            log.warning("cannot mark %s as recovered", path, exc_info=True)
            continue
        finally:
            journal.close()
        fixed.append(path)
    return fixed


def _settle_half_move(src: Path, dst: Path) -> None:
    """Undo a move a crash interrupted; the original at `src` is always what survives."""
    # os.path checks answer False for names no filesystem takes (a journaled move that failed
    # with "File name too long"), where Path.exists() raises.
    part = _part_path(dst)
    if os.path.exists(part) and os.path.exists(src):
        part.unlink()  # an interrupted copy of ours; the original is intact
    if not (os.path.isfile(src) and os.path.isfile(dst)):
        return
    if os.path.samefile(src, dst):
        dst.unlink()  # crash between link and unlink: the move had not happened
    elif filecmp.cmp(src, dst, shallow=False):
        # Across filesystems: crash after the verified copy took its name but before the
        # original was removed. The journal proves `dst` was free before, so it is our copy.
        dst.unlink()


def _undo(path: Path) -> UndoResult:
    records = read_journal(path)
    restored = 0
    problems: list[Skipped] = []
    for r in reversed(records):
        op = r.get("op")
        if op == "manifest":
            with contextlib.suppress(OSError):
                Path(r["path"]).unlink()  # ours; gone already is fine
        elif op == "manifest-update":
            manifest = Path(r["path"])
            if manifest.exists():  # the group folder is still there: its manifest as it was
                try:
                    write_atomic(manifest, str(r["old"]).encode("latin-1"), durable=True)
                except OSError as exc:
                    problems.append(Skipped(manifest, f"could not restore: {exc.strerror or exc}"))
        elif op == "move":
            src, dst = Path(r["src"]), Path(r["dst"])
            _settle_half_move(src, dst)
            if os.path.exists(dst) and not os.path.lexists(src):
                try:
                    src.parent.mkdir(parents=True, exist_ok=True)
                    safe_move(dst, src)
                    restored += 1
                except OSError as exc:
                    problems.append(Skipped(dst, f"could not move back: {exc.strerror or exc}"))
            elif os.path.exists(dst):
                if filecmp.cmp(src, dst, shallow=False):
                    dst.unlink()  # a verified copy whose original was never removed
                else:
                    name = free_name(src.name, lambda n: os.path.lexists(src.parent / n))
                    try:
                        safe_move(dst, src.with_name(name))
                    except OSError as exc:
                        problems.append(Skipped(dst, f"could not move back: {exc.strerror or exc}"))
                        continue
                    restored += 1
                    problems.append(
                        Skipped(src, f"another file now has this name; restored as {name}")
                    )
            elif not os.path.exists(src):
                problems.append(Skipped(dst, "no longer there (moved by someone else); left alone"))
        elif op == "mkdir":
            try:
                Path(r["path"]).rmdir()
            except OSError:
                pass  # not empty: the user put something there
    mark_undone(path)
    return UndoResult(path, restored, tuple(problems))


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
    destination gets a free name), a failure skips that file only.
    """
    journal = _start_journal(root)
    moved: list[Move] = []
    failed: list[Skipped] = []
    try:
        journal.write({"op": "review", **record})
        for move in moves:
            dst = move.dst
            if os.path.lexists(dst):
                name = free_name(dst.name, lambda n: os.path.lexists(dst.parent / n))
                dst = dst.with_name(name)
            try:
                _ensure_dir(dst.parent, journal)
                journal.write({"op": "move", "src": str(move.src), "dst": str(dst)})
                safe_move(move.src, dst)
            except OSError as exc:
                failed.append(Skipped(move.src, _reason(exc)))
                continue
            moved.append(Move(move.src, dst))
        with contextlib.suppress(OSError):
            journal.write({"op": "end"})
    finally:
        journal.close()
    return ApplyResult(tuple(moved), tuple(failed), journal.path)
