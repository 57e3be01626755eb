"""User decisions: a photo the user moved back out of duplicates/ or similar/ stays put.

After each sort we note, per journal, where each moved file landed and what it is (inode,
size, mtime, content digest). At the next sort, a landed file that is gone from its place
but now sits elsewhere in the folder was moved by the user: we remember it and the sorter
leaves it alone from then on. Undo marks its journal undone, so moves put back by undo
never count. Stored in FOLDER/.remedia/decisions.json; `remedia forget FOLDER` clears it.

The review server records the same decisions directly: "not a duplicate" (`remember_not_duplicate`)
and "keep this copy" (`remember_keeper`, which the sorter honours when it picks a group's kept
copy). Each names the journal of its own moves and lapses when that journal is undone.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomicfile import write_atomic
from ..core.media import MediaFile
from ..core.planning import Move
from ..core.wording import plural
from ..layout import decisions_path, lock_path
from ..pipeline.identical import content_digest
from .journal import active_journals

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    """What a file is: inode + size + mtime (survives renames), digest (survives copies)."""

    ino: int
    size: int
    mtime_ns: int
    digest: str

    def same_inode(self, f: MediaFile) -> bool:
        return (self.ino, self.size, self.mtime_ns) == (f.ino, f.size, f.mtime_ns)


@dataclass(frozen=True)
class Exclusion:
    files: tuple[MediaFile, ...]  # what the sorter may still sort
    kept: tuple[Path, ...]  # left alone because the user put them there
    new_decisions: int  # decisions found during this call


def _path(root: Path) -> Path:
    return decisions_path(root)


def _media(path: Path) -> MediaFile:
    return MediaFile.from_stat(path, os.stat(path, follow_symlinks=False))


def _identity(f: MediaFile) -> Identity:
    return Identity(f.ino, f.size, f.mtime_ns, content_digest(f))


def _load(root: Path) -> dict[str, Any]:
    try:
        data = json.loads(_path(root).read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("version") == 1:
            data.setdefault("placed", {})
            data.setdefault("kept", [])
            data.setdefault("preferred", [])
            return data
        log.warning("ignoring %s: unknown format", _path(root))
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", _path(root), exc)
    return {"version": 1, "placed": {}, "kept": [], "preferred": []}


def _save(root: Path, data: dict[str, Any]) -> None:
    path = _path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    # ASCII escapes keep non-UTF-8 names intact.
    write_atomic(path, json.dumps(data, indent=1).encode("ascii"), durable=True)


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _ident_of(entry: dict[str, Any]) -> Identity:
    return Identity(int(entry["ino"]), int(entry["size"]), int(entry["mtime_ns"]), entry["digest"])


def note_placements(root: Path, journal: Path, moved: Iterable[tuple[Path, Path]]) -> int:
    """Remember what each file moved by one sort is, keyed by its journal; returns the count."""
    root = Path(root)
    placed: dict[str, Any] = {}
    for _src, dst in moved:
        try:
            ident = _identity(_media(dst))
        except OSError:
            continue  # vanished already; nothing to recognise later
        placed[_rel(root, dst)] = ident.__dict__
    if not placed:
        return 0
    data = _load(root)
    data["placed"][journal.name] = placed
    _save(root, data)
    return len(placed)


def _find(ident: Identity, files: Sequence[MediaFile], by_size: dict[int, list[int]]) -> int | None:
    for pos in by_size.get(ident.size, ()):
        if ident.same_inode(files[pos]):
            return pos
    for pos in by_size.get(ident.size, ()):
        try:
            if content_digest(files[pos]) == ident.digest:
                return pos
        except OSError:
            continue
    return None


def _in_force(entries: list[dict[str, Any]], active: set[str]) -> list[dict[str, Any]]:
    """Entries made by a review action count only while that action's journal is not undone."""
    return [e for e in entries if e.get("journal") is None or e["journal"] in active]


def _own_moves(root: Path, active: Sequence[Path]) -> set[str]:
    """Sources (relative to `root`) of the moves in active journals: ReMedia's, not the user's."""
    from .journal import iter_moves, read_records

    out: set[str] = set()
    for path in active:
        try:
            out.update(_rel(root, r.src) for r in iter_moves(read_records(path)))
        except OSError:
            continue
    return out


def _matching(entries: list[dict[str, Any]], files: Sequence[MediaFile]) -> set[int]:
    """Positions in `files` of the files `entries` describe (same inode, or same content)."""
    idents = [_ident_of(e) for e in entries]
    inodes = {(k.ino, k.size, k.mtime_ns) for k in idents}
    digests = {k.digest for k in idents}
    sizes = {k.size for k in idents}
    found: set[int] = set()
    for pos, f in enumerate(files):
        if (f.ino, f.size, f.mtime_ns) in inodes:
            found.add(pos)
        elif f.size in sizes:
            try:
                if content_digest(f) in digests:
                    found.add(pos)
            except OSError:
                continue
    return found


def exclude_remembered(root: Path, files: Sequence[MediaFile], *, save: bool = True) -> Exclusion:
    """Record new user decisions and drop every remembered file from `files`.

    `files` is what the sorter found outside duplicates/ and similar/. With save=False
    (dry run) nothing is written.
    """
    root = Path(root)
    data = _load(root)
    by_size: dict[int, list[int]] = defaultdict(list)
    for pos, f in enumerate(files):
        by_size[f.size].append(pos)

    journals = active_journals(root)
    active = {p.name for p in journals}
    own_moves: set[str] | None = None
    changed = False
    new = 0
    for journal_name in list(data["placed"]):
        if journal_name not in active:  # undone (or removed): its moves are not the user's
            del data["placed"][journal_name]
            changed = True
            continue
        entries: dict[str, Any] = data["placed"][journal_name]
        for rel in list(entries):
            if os.path.lexists(root / rel):
                continue
            if own_moves is None:
                own_moves = _own_moves(root, journals)
            if rel in own_moves:
                continue  # a review action moved it; undoing that action puts it back
            ident = _ident_of(entries.pop(rel))
            changed = True
            found = _find(ident, files, by_size)
            if found is None:
                continue  # deleted or moved out of the folder: nothing to protect
            mine = files[found]
            entry = dict(_identity(mine).__dict__, path=_rel(root, mine.path), since=time.time())
            data["kept"].append(entry)
            new += 1
            log.info("%s was moved back out of %s by the user; it stays there", mine.path, rel)
        if not entries:
            del data["placed"][journal_name]

    kept_positions = _matching(_in_force(data["kept"], active), files)
    if changed and save:
        _save(root, data)
    return Exclusion(
        files=tuple(f for pos, f in enumerate(files) if pos not in kept_positions),
        kept=tuple(files[pos].path for pos in sorted(kept_positions)),
        new_decisions=new,
    )


def remembered(root: Path) -> tuple[str, ...]:
    """Paths (relative to `root`, as first seen) of the photos the user kept in place."""
    root = Path(root)
    active = {p.name for p in active_journals(root)}
    return tuple(str(e.get("path", "")) for e in _in_force(_load(root)["kept"], active))


def _remember(root: Path, key: str, path: Path, journal: Path) -> None:
    entry = dict(_identity(_media(path)).__dict__, path=_rel(root, path), since=time.time())
    entry["journal"] = journal.name
    data = _load(root)
    data[key].append(entry)
    _save(root, data)


def remember_not_duplicate(root: Path, path: Path, *, journal: Path) -> None:
    """The user said `path` is not a duplicate (nor similar): later sorts leave it where it is.

    Call with the folder lock held, after the move `journal` records; undoing it lapses this.
    """
    _remember(Path(root), "kept", path, journal)


def remember_keeper(root: Path, path: Path, *, journal: Path) -> None:
    """The user chose `path` as the copy to keep: a later sort keeps it over its duplicates."""
    _remember(Path(root), "preferred", path, journal)


def preferred_keepers(root: Path, files: Sequence[MediaFile]) -> frozenset[Path]:
    """Paths among `files` the user chose to keep over their duplicates (see remember_keeper)."""
    root = Path(root)
    data = _load(root)
    if not data["preferred"]:
        return frozenset()
    active = {p.name for p in active_journals(root)}
    found = _matching(_in_force(data["preferred"], active), files)
    return frozenset(files[pos].path for pos in found)


def forget(root: Path, *, wait: float = 10.0) -> int:
    """Clear the remembered decisions of `root` (kept, chosen keepers); returns how many."""
    from .confined import check_own_folders
    from .locking import folder_lock

    root = Path(root)
    check_own_folders(root)  # the lock and the decisions file are written inside .remedia
    with folder_lock(lock_path(root), wait=wait):  # not while a sort reads them
        data = _load(root)
        count = len(data["kept"]) + len(data["preferred"])
        if count:
            data["kept"] = []
            data["preferred"] = []
            _save(root, data)
    return count


@dataclass(frozen=True)
class UserDecisions:
    """The user's decisions (this module), as a sort uses them: before the
    grouping, what the user put back stays out of it; in it, the copies they chose stay kept;
    after the moves, where each file landed is noted so the next sort sees what they move.

    They are a courtesy: one that cannot be read or written is logged and never stops a sort.
    """

    root: Path
    dry_run: bool

    def without_kept(self, files: list[MediaFile], notes: list[str]) -> list[MediaFile]:
        """Photos the user moved back out of duplicates/ or similar/ are never sorted again."""
        try:
            result = exclude_remembered(self.root, files, save=not self.dry_run)
        except Exception:
            log.warning("cannot read user decisions", exc_info=True)
            return files
        _note_user_kept(notes, len(result.kept))
        return list(result.files)

    def preferred(self, files: Sequence[MediaFile]) -> frozenset[Path]:
        """Copies the user chose to keep on the review page: a sort never swaps them back."""
        try:
            return preferred_keepers(self.root, files)
        except Exception:
            log.warning("cannot read chosen keepers", exc_info=True)
            return frozenset()

    def note_placements(self, journal: Path, moved: Iterable[Move]) -> None:
        try:
            note_placements(self.root, journal, ((m.src, m.dst) for m in moved))
        except Exception:
            log.warning("cannot record moved files", exc_info=True)


def _note_user_kept(notes: list[str], user_kept: int) -> None:
    if user_kept:
        notes.append(
            f"{plural(user_kept, 'photo')} "
            + ("stays where you moved it" if user_kept == 1 else "stay where you moved them")
            + " (remedia forget FOLDER to sort again)"
        )
