"""Pure planning: groups in, conflict-free moves out. No file is touched here."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..layout import MANIFEST_NAME

#: The two folders a sort fills: true duplicates and similar photos.
SortKind = Literal["duplicates", "similar"]
#: How a duplicates group's copies were found to be the same (core.wording words them).
Verification = Literal["byte-identical", "64px", "full-size"]


@dataclass(frozen=True)
class Move:
    src: Path
    dst: Path


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


@dataclass(frozen=True)
class SortPlan:
    root: Path
    groups: tuple[PlannedGroup, ...]

    @property
    def moves(self) -> tuple[Move, ...]:
        return tuple(m for g in self.groups for m in g.moves)


_NAME_MAX = 255
_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')


def group_folder_name(best: Path) -> str:
    """A folder name from the best photo's name, safe on every filesystem."""
    name = _UNSAFE.sub("_", best.stem).strip(" .") or "group"
    return name[:80]


def free_name(name: str, taken: Callable[[str], bool]) -> str:
    """`name`, or `stem (2).ext`, `stem (3).ext` ... whichever is not taken."""
    if not taken(name):
        return name
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
        candidate = short + suffix
        if not taken(candidate):
            return candidate
        k += 1


def plan_sort(
    root: Path,
    specs: Sequence[GroupSpec],
    *,
    exists: Callable[[Path], bool],
    existing_groups: Mapping[Path, Path] | None = None,
) -> SortPlan:
    """Assign each group a folder and each moving member a destination that does not exist.

    `existing_groups` maps a best photo to the group folder an earlier sort made for it, so
    new copies of an already sorted photo join that folder.
    """
    existing_groups = existing_groups or {}
    claimed: set[Path] = set()

    def taken(p: Path) -> bool:
        return p in claimed or exists(p)

    groups: list[PlannedGroup] = []
    for spec in sorted(specs, key=lambda s: (s.kind, str(s.best))):
        base = root / spec.kind
        earlier = spec.folder or existing_groups.get(spec.best)
        if earlier is not None and earlier.parent == base and earlier not in claimed:
            folder = earlier
        else:
            folder = base / free_name(group_folder_name(spec.best), lambda n: taken(base / n))
        claimed.add(folder)
        moves: list[Move] = []
        movers = spec.members[1:] if spec.keep_best_in_place else spec.members
        for src in movers:
            if src.parent == folder:
                continue  # placed there by an earlier sort: it stays
            dst_name = free_name(src.name, lambda n: taken(folder / n) or n == MANIFEST_NAME)
            dst = folder / dst_name
            claimed.add(dst)
            moves.append(Move(src, dst))
        groups.append(
            PlannedGroup(
                kind=spec.kind,
                folder=folder,
                keeper=spec.best if spec.keep_best_in_place else None,
                best=spec.best,
                reason=spec.reason,
                members=spec.members,
                moves=tuple(moves),
                verified=spec.verified,
            )
        )
    return SortPlan(root, tuple(groups))
