"""Media sets among the files of a scan: which files are read, and whose companions the
others are.

`core.mediasets` says by name what belongs together; this module applies it to files on disk,
folder by folder. It reads only a same-stem video's movie header (is it short enough to be a
Live Photo's motion?) and, for a batch, the names of the folders the batch arrived in. The
scan reads each set's primary picture; its companions (Live video, AAE, edited rendition,
XMP, Takeout JSON, THM, the RAW beside a JPEG/HEIC) are carried with it, never read and never
reported as skipped. A lone RAW is a primary like any picture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.media import MediaFile
from ..core.mediasets import LIVE_MAX_SECONDS, Role, find_sets
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
