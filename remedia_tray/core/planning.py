"""Pure planning: groups in, conflict-free moves out. No file is touched here."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..layout import MANIFEST_NAME
from .mediasets import Role, renamed
from .reference import reference_of

#: The two folders a sort fills: true duplicates and similar photos.
SortKind = Literal["duplicates", "similar"]
#: How a duplicates group's copies were found to be the same (core.wording words them).
Verification = Literal["byte-identical", "64px", "full-size"]
#: What happens to a series of similar photos: its best shot stays in place, or all move.
SeriesMode = Literal["keep-best", "move-all"]


#: A picture's companions (Live video, sidecars, RAW ...), as the scan found them beside it.
Companions = tuple[tuple[Role, Path], ...]


@dataclass(frozen=True)
class Move:
    """One file's move. The moves of a media set share `unit` (the picture's src), the
    picture's first, then its companions' (each with its `role`): they move as one. A
    companion that arrived after an earlier sort moved its picture moves on its own (no
    `unit`) and `joins` that picture where it is now (the manifest lists it with it)."""

    src: Path
    dst: Path
    unit: Path | None = None  # None: a file on its own
    role: Role | None = None  # a companion's; None for the picture itself
    joins: Path | None = None  # a late companion's picture, already in the group folder


@dataclass(frozen=True)
class PlannedGroup:
    kind: SortKind
    folder: Path  # FOLDER/duplicates/<name> or FOLDER/similar/<name>
    keeper: Path | None  # stays in place (duplicates); None when every member moves (similar)
    best: Path  # the photo the group is named after
    reason: str
    members: tuple[Path, ...]  # original paths, best first
    moves: tuple[Move, ...]
    verified: Verification | None = None  # duplicates only
    #: (member, its companions) of each member that has some, kept copy included. The
    #: companions are named where the scan found them: `moves` say where they went (a set
    #: that did not move, or was held back, is still there).
    companions: tuple[tuple[Path, Companions], ...] = ()
    #: Members in a reference folder that stay where they are (never moved, issue 25).
    stayed: tuple[Path, ...] = ()

    def companions_of(self, member: Path) -> Companions:
        return next((c for m, c in self.companions if m == member), ())


@dataclass(frozen=True)
class GroupSpec:
    kind: SortKind
    best: Path
    reason: str
    members: tuple[Path, ...]  # best first
    keep_best_in_place: bool
    #: The existing group folder this group grows (an earlier sort made it); None: a new one.
    folder: Path | None = None
    verified: Verification | None = None  # duplicates only
    #: A kept copy that sits in its group's folder (a full re-sort's new pick) moves out, into
    #: this folder: the old kept copy's place.
    keeper_to: Path | None = None


@dataclass(frozen=True)
class SortPlan:
    root: Path
    groups: tuple[PlannedGroup, ...]
    #: Reference folders: nothing under them moves (the mover checks again before each move).
    references: tuple[Path, ...] = ()
    #: Groups the reference folders keep whole: every member that would move is in one.
    held: tuple[PlannedGroup, ...] = ()

    @property
    def moves(self) -> tuple[Move, ...]:
        return tuple(m for g in self.groups for m in g.moves)


_NAME_MAX = 255
_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')


def group_folder_name(best: Path) -> str:
    """A folder name from the best photo's name, safe on every filesystem."""
    name = _UNSAFE.sub("_", best.stem).strip(" .") or "group"
    return name[:80]


def _candidates(name: str) -> Iterator[str]:
    """`name`, then `stem (2).ext`, `stem (3).ext` ... (the clash rule, in order)."""
    yield name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    k = 2
    while True:
        suffix = f" ({k}).{ext}" if ext else f" ({k})"
        # Stay within the 255-byte name limit of common filesystems.
        room = _NAME_MAX - len(os.fsencode(suffix))
        short = stem
        while len(os.fsencode(short)) > room and short:
            short = short[:-1]
        yield short + suffix
        k += 1


def free_name(name: str, taken: Callable[[str], bool]) -> str:
    """`name`, or `stem (2).ext`, `stem (3).ext` ... whichever is not taken."""
    return next(c for c in _candidates(name) if not taken(c))


def free_set_names(
    primary: str, companions: Sequence[str], taken: Callable[[str], bool]
) -> tuple[str, ...]:
    """Names for a picture and its companions under the clash rule, renamed together: the
    first `primary` candidate for which the picture's name and every companion's `renamed`
    name are free (and distinct), so that they keep sharing a stem."""
    for candidate in _candidates(primary):
        names = (candidate, *(renamed(c, primary, candidate) for c in companions))
        if len({n.lower() for n in names}) == len(names) and not any(map(taken, names)):
            return names
    raise AssertionError("unreachable: the candidates never end")


def plan_sort(
    root: Path,
    specs: Sequence[GroupSpec],
    *,
    exists: Callable[[Path], bool],
    existing_groups: Mapping[Path, Path] | None = None,
    companions: Mapping[Path, Companions] | None = None,
    references: Sequence[Path] = (),
) -> SortPlan:
    """Assign each group a folder and each moving member a destination that does not exist.

    `existing_groups` maps a best photo to the group folder an earlier sort made for it, so
    new copies of an already sorted photo join that folder. `companions` maps a member (a
    picture) to its companions: they move with it, right after it, renamed together on a
    clash; a member that stays keeps its companions beside it. A member in one of the
    `references`, or with a companion there, stays (`PlannedGroup.stayed`); a group where
    nothing else would move is held whole (`SortPlan.held`).
    """
    companions = companions or {}
    existing_groups = existing_groups or {}
    claimed: set[Path] = set()
    moving: set[Path] = set()  # sources already planned: a file moves once, whatever the specs

    def taken(p: Path) -> bool:
        return p in claimed or exists(p)

    groups: list[PlannedGroup] = []
    held: list[PlannedGroup] = []
    for spec in sorted(specs, key=lambda s: (s.kind, str(s.best))):
        base = root / spec.kind
        earlier = spec.folder or existing_groups.get(spec.best)
        if earlier is not None and earlier.parent == base and earlier not in claimed:
            folder = earlier
        else:
            folder = base / free_name(group_folder_name(spec.best), lambda n: taken(base / n))
        claimed.add(folder)
        moves: list[Move] = []
        stayed: list[Path] = []
        if spec.keep_best_in_place and spec.keeper_to is not None and spec.best not in moving:
            moves += _member_moves(spec.best, companions.get(spec.best, ()), spec.keeper_to, taken)
            claimed.update(m.dst for m in moves)
            moving.update(m.src for m in moves)
        movers = spec.members[1:] if spec.keep_best_in_place else spec.members
        for src in movers:
            if src.parent == folder or src in moving:
                continue  # placed there by an earlier sort, or moved by another group: it stays
            if any(reference_of(p, references) for p in _set_of(src, companions)):
                stayed.append(src)  # a reference folder's file never moves
                continue
            moves += _member_moves(src, companions.get(src, ()), folder, taken)
            claimed.update(m.dst for m in moves)
            moving.update(m.src for m in moves)
        if stayed and not moves:
            claimed.discard(folder)  # held whole: its folder is not made
        (held if stayed and not moves else groups).append(
            PlannedGroup(
                kind=spec.kind,
                folder=folder,
                keeper=spec.best if spec.keep_best_in_place else None,
                best=spec.best,
                reason=spec.reason,
                members=spec.members,
                moves=tuple(moves),
                verified=spec.verified,
                companions=tuple((m, companions[m]) for m in spec.members if companions.get(m)),
                stayed=tuple(stayed),
            )
        )
    return SortPlan(root, tuple(groups), tuple(references), tuple(held))


def _set_of(src: Path, companions: Mapping[Path, Companions]) -> list[Path]:
    """A member's picture and its companions: the files that move together or not at all."""
    return [src, *(c for _, c in companions.get(src, ()))]


def _member_moves(
    src: Path, companions: Companions, folder: Path, taken: Callable[[Path], bool]
) -> list[Move]:
    """The moves of one member into `folder`: alone, or as a set with its companions."""

    def busy(name: str) -> bool:
        return taken(folder / name) or name == MANIFEST_NAME

    if not companions:
        return [Move(src, folder / free_name(src.name, busy))]
    names = free_set_names(src.name, [c.name for _, c in companions], busy)
    moves = [Move(src, folder / names[0], unit=src)]
    for (role, companion), name in zip(companions, names[1:], strict=True):
        moves.append(Move(companion, folder / name, unit=src, role=role))
    return moves
