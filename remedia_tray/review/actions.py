"""Review actions: keep this copy (or, in a series, this shot), not a duplicate, undo this
group. Each is a journaled move.

Every request names a group ("duplicates/NAME") and a photo by its path relative to FOLDER as it
is now. The path is checked before anything happens: relative, no "..", no symlink anywhere on
the way, inside FOLDER, and a member of that group in the state the sort's journals describe.
Every folder a photo would go into is checked the same way (filing/confined.py): a destination
swapped for a symlink refuses the action. The folder lock is held from the check to the last
move, so a sort, an undo or another tab cannot slip in between; a second identical request
finds the photo gone and moves nothing.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..core.planning import Move
from ..core.reference import never_moved, reference_of
from ..errors import FolderBusy, OutsideFolder, RemediaError
from ..filing import decisions
from ..filing.confined import Confined, check_own_folders
from ..filing.formats import MoveIntent, ReportGroup, Review
from ..filing.journal import active_journals, read_records, undone
from ..filing.locking import folder_lock
from ..filing.mover import apply_moves
from ..layout import lock_path
from ..pipeline.placed import read_placed
from .state import ACTIONS, Action, Member, ReviewState, load_state, members_now

log = logging.getLogger(__name__)

#: How long an action waits for a sort of the same folder before answering "busy".
LOCK_WAIT = 2.0


class Refused(RemediaError):
    """A review request that was not carried out; `status` is its HTTP status code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ActionResult:
    action: Action
    group: str
    moved: tuple[Move, ...]
    problems: tuple[str, ...]
    journal: Path


def resolve_inside(root: Path, rel: str) -> Path:
    """`rel` (a path relative to `root`, "/"-separated) as an absolute path, or Refused.

    Refuses absolute paths, drive letters, "." and ".." parts, and a symlink at any step.
    """
    if not rel or "\0" in rel or "\\" in rel:
        raise Refused(400, "a path relative to the folder is required")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or PureWindowsPath(rel).drive or rel.startswith("~"):
        raise Refused(403, "absolute paths are refused")
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise Refused(403, "'..', '.' and empty path parts are refused")
    here = Path(root).joinpath(*parts)
    try:
        with Confined(root).open(here.parent) as folder:
            if stat.S_ISLNK((folder / here.name).lstat().st_mode):
                raise Refused(403, "symbolic links are refused")
    except OutsideFolder:
        raise Refused(403, "symbolic links are refused") from None
    except OSError:
        pass  # missing or unreadable: the checks that follow refuse it
    return here


def _regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _plan(
    state: ReviewState, action: Action, key: str, photo: Path | None
) -> tuple[list[Move], Member | None, ReportGroup]:
    """The moves an action makes, checked against the state; Refused when it does not apply."""
    group = state.group(key)
    if group is None:
        raise Refused(409, f"no group {key} in the latest sort (changed since the page loaded?)")
    members = members_now(state.sort, group)
    folder = group.folder
    if action == "undo-group":
        backs = [Move(m.now, m.original) for m in members if m.now != m.original]
        if not backs:
            raise Refused(409, "nothing of this group is left to put back")
        return _with_companions(state.root, folder, backs), None, group
    member = next((m for m in members if m.now == photo), None)
    if member is None:
        raise Refused(409, "not a member of this group where it is now (already changed?)")
    if member.now == member.original or member.now.parent != folder:
        raise Refused(409, "this photo is not in the group's folder; nothing to change")
    back = Move(member.now, member.original)
    if action == "not-duplicate":
        return _with_companions(state.root, folder, [back]), member, group
    old = next((m for m in members if m.kept), None)
    if old is None and group.kind == "similar":  # a series sorted with series="move-all"
        raise Refused(409, "every photo of this series moved: none stayed in place to swap with")
    if old is None or old.now != old.original:
        raise Refused(409, "the kept copy is no longer in place (moved on with a similar group?)")
    return (
        [*_with_companions(state.root, folder, [back]), *_kept_set_in(group, old, folder)],
        member,
        group,
    )


def _kept_set_in(group: ReportGroup, old: Member, folder: Path) -> list[Move]:
    """The old kept copy going into the group's folder, with the companions still beside it
    (one unit, so its Live video and sidecars keep pairing with it by name)."""
    beside = [
        (role, path)
        for role, path in group.companions_of(old.original)
        if path.parent == old.now.parent
    ]
    if not beside:
        return [Move(old.now, folder / old.now.name)]
    return [
        Move(old.now, folder / old.now.name, old.now),
        *(Move(path, folder / path.name, old.now, role) for role, path in beside),
    ]


def _with_companions(root: Path, folder: Path, backs: list[Move]) -> list[Move]:
    """Pictures going back out of `folder`, each with the companions it came with (the
    manifest lists them; the sort's journals say where each was): one unit, as the sort
    moved it. A companion no journal knows stays where it is."""
    placed = read_placed(root, folders=[folder])
    if not placed or not placed[0].companions:
        return backs
    origins = _companion_origins(root)
    moves: list[Move] = []
    for back in backs:
        unit = [  # a unit is named by its picture's path before the move, as in a sort
            Move(now, origins[now][0], back.src, role)
            for role, now in placed[0].companions_of(back.src)
            if now in origins and origins[now][1] == back.dst  # this picture's own set
        ]
        moves += [Move(back.src, back.dst, back.src), *unit] if unit else [back]
    return moves


def _companion_origins(root: Path) -> dict[Path, tuple[Path, Path]]:
    """Companion where a sort put it -> (where it was, its set's picture where it was)."""
    found: dict[Path, tuple[Path, Path]] = {}
    for path in active_journals(root):
        records = read_records(path)
        done = undone(records)
        for n, r in enumerate(records):
            if isinstance(r, MoveIntent) and r.role is not None and r.unit and n not in done:
                found[r.dst] = (r.src, r.unit)
    return found


_serial = threading.Lock()  # one action at a time in this process (the file lock is per folder)


def run_action(
    root: Path, *, action: str, group: str, path: str | None, lock_wait: float = LOCK_WAIT
) -> ActionResult:
    """Carry out one review action on the latest sort of `root`; Refused when it may not."""
    root = Path(root)
    if action not in ACTIONS:
        raise Refused(400, f"unknown action: {action!r}")
    act: Action = action
    photo = None if act == "undo-group" else resolve_inside(root, path or "")
    try:
        check_own_folders(root)  # before the lock, which lives in FOLDER/.remedia
    except OutsideFolder as exc:
        raise Refused(403, str(exc)) from None
    with _serial:
        try:
            with folder_lock(lock_path(root), wait=lock_wait):
                return _run_locked(root, act, group, photo)
        except FolderBusy:
            raise Refused(409, "busy: the folder is being sorted or undone; try again") from None


def _run_locked(root: Path, action: Action, key: str, photo: Path | None) -> ActionResult:
    try:
        state = load_state(root)
    except Refused:
        raise
    except RemediaError as exc:
        raise Refused(409, str(exc)) from None
    moves, member, group = _plan(state, action, key, photo)
    for m in moves:
        held = reference_of(m.src, state.sort.references)
        if held is not None:
            raise Refused(409, never_moved(held))
        resolve_inside(root, os.path.relpath(m.src, root).replace(os.sep, "/"))
        if not _regular_file(m.src):
            raise Refused(409, f"{os.path.relpath(m.src, root)} is missing or not a regular file")
    record = Review(action, key, member.original if member else None, group.folder)
    try:
        # The mover checks the reference folders again (a last line, as in a sort).
        result = apply_moves(root, moves, record=record, references=state.sort.references)
    except OutsideFolder as exc:  # a destination with a symlink on the way: nothing moved
        raise Refused(403, str(exc)) from None
    problems = [f"{s.path}: {s.reason}" for s in result.failed]
    landed = {m.src: m.dst for m in result.moved}
    try:
        if member is not None and member.now in landed:
            home = landed[member.now]
            if action == "keep":
                decisions.remember_keeper(root, home, journal=result.journal)
                into_group = [
                    (m.src, m.dst) for m in result.moved if m.src != member.now and m.unit is None
                ]
                decisions.note_placements(root, result.journal, into_group)
            else:
                decisions.remember_not_duplicate(root, home, journal=result.journal)
    except OSError as exc:  # the moves stand (and undo); only the memory is lost
        log.warning("cannot record the decision", exc_info=True)
        problems.append(f"the decision could not be remembered ({exc.strerror or exc})")
    return ActionResult(action, key, result.moved, tuple(problems), result.journal)
