"""Media sets among the files of a scan: which files are read, and whose companions the
others are.

`core.mediasets` says by name what belongs together; this module applies it to files on disk,
folder by folder. It reads only a same-stem video's movie header (is it short enough to be a
Live Photo's motion?) and, for a batch, the names of the folders the batch arrived in. The
scan reads each set's primary picture; its companions (Live video, AAE, edited rendition,
XMP, Takeout JSON, THM, the RAW beside a JPEG/HEIC) are carried with it, never read and never
reported as skipped. A lone RAW is a primary like any picture.

A companion that arrives after an earlier sort moved its picture into a group folder (a
`Follower`) joins the picture there: the group manifests say where the picture that was
beside it is now, and it moves beside it under the picture's new stem.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.media import MediaFile, Skipped
from ..core.mediasets import (
    BADGES,
    LIVE_MAX_SECONDS,
    PRIMARY_SUFFIXES,
    RAW_SUFFIXES,
    Role,
    find_sets,
    renamed,
)
from ..core.planning import Move, PlannedGroup, SortKind, SortPlan
from .discovery import folder_files
from .quicktime import movie_seconds

if TYPE_CHECKING:
    from .features import ScanResult

#: A set's companions, each with its role, in name order.
Members = tuple[tuple[Role, MediaFile], ...]


def is_live_video(path: Path) -> bool:
    """A same-stem video is a Live Photo's motion when its header says it is short enough;
    one whose length cannot be read is a video of its own."""
    seconds = movie_seconds(path)
    return seconds is not None and seconds <= LIVE_MAX_SECONDS


@dataclass(frozen=True)
class FoundSets:
    """The sets among some files: what to read, and what goes with it."""

    #: The files to read, in the order given: every set's primary (a lone RAW, a video or a
    #: text file is a set of its own and is read, or skipped, as before).
    primaries: tuple[MediaFile, ...]
    #: Primary path -> its companions (only primaries that have some).
    companions: Mapping[Path, Members] = field(default_factory=dict)
    #: For a batch: a picture already in the folder (not among the files given) -> the
    #: companions among the files given that belong to it. They are not read; the caller
    #: moves them to wherever their picture is.
    joining: Mapping[Path, Members] = field(default_factory=dict)

    @property
    def companion_paths(self) -> frozenset[Path]:
        """Every companion, of a given primary or of a picture already there."""
        groups = (*self.companions.values(), *self.joining.values())
        return frozenset(m.path for members in groups for _, m in members)

    @property
    def count(self) -> int:
        """How many files the sets hold (primaries, their companions, joining companions)."""
        return len(self.primaries) + len(self.companion_paths)

    def without(self, drop: Callable[[Path], bool]) -> FoundSets:
        """The sets none of whose members `drop` says to leave out: a set with a member still
        being copied, or one the user took back, waits as a whole."""

        def whole(members: Members) -> bool:
            return not any(drop(m.path) for _, m in members)

        primaries = tuple(
            f for f in self.primaries
            if not drop(f.path) and whole(self.companions.get(f.path, ()))
        )  # fmt: skip
        kept = {f.path for f in primaries}
        return FoundSets(
            primaries,
            {p: m for p, m in self.companions.items() if p in kept},
            {p: m for p, m in self.joining.items() if not drop(p) and whole(m)},
        )


def find_media_sets(
    files: Sequence[MediaFile],
    *,
    look_around: bool = False,
    live_ok: Callable[[Path], bool] = is_live_video,
) -> FoundSets:
    """The media sets among `files`, folder by folder.

    With `look_around` (a batch of arrived files), the other files in their folders count
    too: a picture's companions already there join it, and an arrived companion of a picture
    already there is returned in `joining`. Without it (a walk, which sees every file), only
    `files` are looked at and no folder is listed.
    """
    by_folder: dict[Path, list[MediaFile]] = {}
    for f in files:
        by_folder.setdefault(f.path.parent, []).append(f)
    primaries: set[Path] = set()
    companions: dict[Path, Members] = {}
    joining: dict[Path, Members] = {}
    for folder, given in by_folder.items():
        pool = {f.path.name: f for f in given}
        if look_around:
            for f in folder_files(folder):
                pool.setdefault(f.path.name, f)
        named = {f.path.name for f in given}
        for s in find_sets(pool, live_ok=_by_name(folder, live_ok)):
            members = tuple((role, pool[name]) for role, name in s.companions)
            if s.primary in named:
                primaries.add(pool[s.primary].path)
                if members:
                    companions[pool[s.primary].path] = members
                continue
            arrived = tuple((role, m) for role, m in members if m.path.name in named)
            if arrived:
                joining[pool[s.primary].path] = arrived
    return FoundSets(tuple(f for f in files if f.path in primaries), companions, joining)


def _by_name(folder: Path, live_ok: Callable[[Path], bool]) -> Callable[[str], bool]:
    def check(name: str) -> bool:
        return live_ok(folder / name)

    return check


def with_companions(scan: ScanResult, *found: FoundSets) -> ScanResult:
    """The scan with the companions of the pictures it read (a primary it skipped keeps its
    companions where they are) and the companions joining pictures already there."""
    read = {f.path for f in scan.files}
    companions: dict[Path, Members] = {}
    joining: dict[Path, Members] = {}
    for sets in found:
        companions.update((p, m) for p, m in sets.companions.items() if p in read)
        joining.update(sets.joining)
    return dataclasses.replace(scan, companions=companions, joining=joining)


@dataclass(frozen=True)
class Follower:
    """A companion whose picture an earlier sort moved into a group folder: it goes there."""

    file: MediaFile
    role: Role
    picture_was: Path  # the picture's path before that sort (beside the companion)
    picture_now: Path  # in FOLDER/duplicates/<g>/ or FOLDER/similar/<g>/

    @property
    def dst(self) -> Path:
        """Beside its picture, renamed with it so that they still pair by name."""
        name = renamed(self.file.path.name, self.picture_was.name, self.picture_now.name)
        return self.picture_now.parent / name


_EDITED = re.compile(r"^IMG_E\d", re.IGNORECASE)


def _could_follow(sets: FoundSets) -> list[MediaFile]:
    """Primaries without companions that could be a companion: anything but a picture
    (an edited rendition `IMG_E…` and a RAW included)."""
    return [
        f for f in sets.primaries
        if f.path not in sets.companions
        and (f.path.suffix.lower() not in PRIMARY_SUFFIXES or _EDITED.match(f.path.name))
    ]  # fmt: skip


def find_followers(
    sets: FoundSets,
    moved: Callable[[], Mapping[Path, Path]],
    *,
    live_ok: Callable[[Path], bool] = is_live_video,
) -> tuple[FoundSets, tuple[Follower, ...]]:
    """The companions among `sets`' lone primaries whose picture an earlier sort moved away
    from their folder, and the sets without them (they are not read, and never skipped).

    `moved()`: where each file moved into a group folder is now, by its path before
    (placed.moved_pictures); asked only when a lone file could be a companion.
    """
    lone = _could_follow(sets)
    if not lone:
        return sets, ()
    where = moved()
    by_folder: dict[Path, dict[str, MediaFile]] = {}
    for f in lone:
        by_folder.setdefault(f.path.parent, {})[f.path.name] = f
    left: dict[Path, list[Path]] = {}  # folder -> pictures moved away from it
    for was in where:
        if was.parent in by_folder and _is_picture(was.name):
            left.setdefault(was.parent, []).append(was)
    followers: list[Follower] = []
    for folder, here in by_folder.items():
        gone = {was.name: was for was in left.get(folder, ()) if was.name not in here}
        if not gone:
            continue
        for s in find_sets([*here, *gone], live_ok=_by_name(folder, live_ok)):
            if s.primary not in gone:
                continue
            was = gone[s.primary]
            followers += [Follower(here[n], role, was, where[was]) for role, n in s.companions]
    taken = {f.file.path for f in followers}
    rest = dataclasses.replace(
        sets, primaries=tuple(f for f in sets.primaries if f.path not in taken)
    )
    return rest, tuple(followers)


def _is_picture(name: str) -> bool:
    return Path(name).suffix.lower() in (*PRIMARY_SUFFIXES, *RAW_SUFFIXES)


def with_followers(
    plan: SortPlan, followers: Sequence[Follower], *, exists: Callable[[Path], bool]
) -> tuple[SortPlan, tuple[Skipped, ...]]:
    """The plan with each follower's move into its picture's group folder (in the group
    this plan has for that folder, or one of its own); a follower whose name there is taken
    stays where it is, reported."""
    claimed = {m.dst for m in plan.moves}
    groups = {g.folder: g for g in plan.groups}
    problems: list[Skipped] = []
    for f in followers:
        dst = f.dst
        if dst in claimed or exists(dst):
            where = f"{dst.parent.parent.name}/{dst.parent.name}"
            problems.append(Skipped(f.file.path, f"its picture is in {where}, where {dst.name} "
                                    "is taken; left in place"))  # fmt: skip
            continue
        claimed.add(dst)
        move = Move(f.file.path, dst, role=f.role, joins=f.picture_now)
        group = groups.get(dst.parent)
        if group is None:
            kind: SortKind = "duplicates" if dst.parent.parent.name == "duplicates" else "similar"
            group = PlannedGroup(
                kind=kind, folder=dst.parent, keeper=None, best=f.picture_now,
                reason=f"{BADGES[f.role]} of {f.picture_now.name} joins it here",
                members=(f.picture_now,), moves=(),
            )  # fmt: skip
        groups[dst.parent] = dataclasses.replace(group, moves=(*group.moves, move))
    return dataclasses.replace(plan, groups=tuple(groups.values())), tuple(problems)
