"""What a group kind says, and the groups a sort works with while it extends them.

A kind (duplicates, similar photos; a video kind later) holds the groups of its own output
folder. It says which of them a sort holds, which photos may join one, how a group grows,
which spec it writes and which copy stays. The loop over kinds and the scopes of a sort
(`library.py`) are the same for every kind.
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

from ..core.grouping import complete_linkage
from ..core.keeper import DEFAULT_KEEP, Copy, KeepRules, choose
from ..core.planning import GroupSpec, SeriesMode, SortKind, Verification

if TYPE_CHECKING:
    from ..core.bestshot import ShotQuality
    from ..engines.base import Neighbours
    from ..pipeline.features import ScanResult
    from ..pipeline.placed import PlacedGroup

Member = int
"""A group member: one position in `ScanResult.files`.

A member stays one position even when it is several files: a media set (a picture with its
Live Photo video or RAW twin) will be the position of its picture, and `Library.paths` is
the one place that turns a member into the files that move with it.
"""


class Check(Protocol):
    """What the kinds ask of a scan's second look at its files: pictures read again at full
    size (pipeline/fullsize_check.PairCheck), videos' frames (pipeline/video_check.VideoCheck)."""

    def confirm(self, pairs: Neighbours) -> Neighbours:
        """The candidate pairs that hold up."""

    def graphic(self, pos: Member) -> bool:
        """A screenshot, page or slide rather than a photo."""

    def verification(self, members: Sequence[Member]) -> Verification | None:
        """How a group's copies were told to be the same (None: not said)."""

    def upscaled(self, big: Member, small: Member) -> bool:
        """`big` holds no more picture than `small`, enlarged (an upscale of it)."""


class Shots:
    """The quality of the shots of series, each measured once, many at a time (the scorer
    reads them in parallel: pipeline/shot_quality.shot_qualities)."""

    def __init__(self, measure: Callable[[Sequence[Path]], list[ShotQuality | None]]) -> None:
        self._measure = measure
        self._known: dict[Path, ShotQuality | None] = {}
        self.seconds = 0.0  # spent measuring, for the sort's stages

    def of(self, paths: Sequence[Path]) -> list[ShotQuality | None]:
        """The quality of each of `paths` (None: unreadable); new ones measured together."""
        new = list(dict.fromkeys(p for p in paths if p not in self._known))
        if new:
            started = time.perf_counter()
            self._known.update(zip(new, self._measure(new), strict=True))
            self.seconds += time.perf_counter() - started
        return [self._known[p] for p in paths]


@dataclass(frozen=True)
class Library:
    """The photos one sort groups: the scan, the groups placed earlier, the user's choices.

    `preferred`: copies the user chose to keep on the review page. `check`: reads duplicate
    candidates again at full size, and upscales (None: the engines' own checks only).
    `series`: a series' best shot stays in place, or every shot moves. `shots`: judges the
    best shot (None: the keeper criteria choose it).
    `rules`: the keep rules that choose a duplicates group's kept copy.
    """

    scan: ScanResult
    placed: tuple[PlacedGroup, ...]
    preferred: frozenset[Path] = frozenset()
    check: Check | None = None
    position: dict[Path, Member] = field(default_factory=dict, compare=False)
    series: SeriesMode = "keep-best"
    shots: Shots | None = field(default=None, compare=False)
    rules: KeepRules = DEFAULT_KEEP

    @classmethod
    def of(
        cls,
        scan: ScanResult,
        placed: Sequence[PlacedGroup],
        *,
        preferred: frozenset[Path] = frozenset(),
        check: Check | None = None,
        series: SeriesMode = "keep-best",
        shots: Shots | None = None,
        rules: KeepRules = DEFAULT_KEEP,
    ) -> Library:
        position = {f.path: k for k, f in enumerate(scan.files)}
        return cls(scan, tuple(placed), preferred, check, position, series, shots, rules)

    def __len__(self) -> int:
        return len(self.scan.files)

    def path(self, k: Member) -> Path:
        """The file a member is named by (its picture)."""
        return self.scan.files[k].path

    def paths(self, members: Sequence[Member]) -> tuple[Path, ...]:
        """The files of `members`, in order: where a member's companions will join in."""
        return tuple(self.path(k) for k in members)

    def members_of(self, group: PlacedGroup) -> list[Member]:
        """The members of a placed group that this scan holds."""
        return [self.position[m.path] for m in group.members if m.path in self.position]

    def in_groups(self) -> set[Member]:
        """Members of any placed group: a sort (other than a full one) never moves them."""
        return {k for g in self.placed for k in self.members_of(g)}

    def kept_of(self, group: PlacedGroup) -> Member | None:
        """The kept copy of a placed group, outside its folder, where this scan holds it."""
        kept = group.kept
        if kept is None or kept.parent == group.folder:
            return None
        return self.position.get(kept)


@dataclass
class Growing:
    """A group while this sort extends it: one an earlier sort placed, or an anchor photo."""

    folder: Path | None  # None: an anchor photo in no group of this kind yet
    members: list[Member]
    keeper: Member | None = None  # the kept copy (or best shot), outside the folder
    joined: list[Member] = field(default_factory=list)

    @property
    def held(self) -> list[Member]:
        """Every member a photo must be near to join: those in the folder, and the kept copy."""
        return self.members + ([self.keeper] if self.keeper is not None else [])


@dataclass
class Claims:
    """What the kinds run so far took, for the kinds after them (one sort's scratch)."""

    #: Copies that move into duplicates/: no later kind may move them.
    moving: set[Member] = field(default_factory=set)
    #: A better copy takes the old kept copy's place in its series: old position -> new.
    swapped: dict[Member, Member] = field(default_factory=dict)


class GroupKind(ABC):
    """One output folder's grouping policy."""

    name: ClassVar[SortKind]
    #: The kept copy always stays where it is and the others move (duplicates).
    keeps_best_in_place: ClassVar[bool]

    def in_place(self, lib: Library) -> bool:
        """Whether this sort leaves a group's kept copy (or best shot) where it is."""
        return self.keeps_best_in_place

    @abstractmethod
    def held(self, lib: Library, claims: Claims) -> list[Growing]:
        """The existing groups of this kind that new photos may join."""

    @abstractmethod
    def candidates(
        self, free: Sequence[Member], held: Sequence[Growing], claims: Claims
    ) -> list[Member]:
        """The free photos this kind may group (join a held group, or form a new one)."""

    @abstractmethod
    def anchor(self, k: Member) -> Growing:
        """A settled loose photo as a group of one that a new photo may join."""

    @abstractmethod
    def grow(self, lib: Library, group: Growing, claims: Claims) -> list[GroupSpec]:
        """The spec of a held group with new members (and any spec that growth brings)."""

    def confirm(self, lib: Library, pairs: Neighbours) -> Neighbours:
        """The engine's pairs this kind trusts (all of them, unless a kind checks again)."""
        return pairs

    def form(
        self, lib: Library, grown: Sequence[Growing], fresh: Sequence[list[Member]], claims: Claims
    ) -> list[GroupSpec]:
        """The specs of the held groups that grew, then of the groups this sort forms."""
        specs = [s for g in grown for s in self.grow(lib, g, claims)]
        return specs + [self.new_group(lib, members, claims) for members in fresh]

    def new_group(self, lib: Library, members: list[Member], claims: Claims) -> GroupSpec:
        """The spec of a group this sort forms; the kept copy comes first."""
        best, reason = self.keeper(lib, members)
        ordered = [best] + [k for k in members if k != best]
        spec = GroupSpec(
            kind=self.name,
            best=lib.path(best),
            reason=reason,
            members=lib.paths(ordered),
            keep_best_in_place=self.in_place(lib),
            verified=self.verified(lib, members),
        )
        self.took(lib, spec, claims)
        return spec

    def keeper(self, lib: Library, pool: list[Member]) -> tuple[Member, str]:
        """The copy that stays (or names the group), and why: the keeper criteria decide."""
        choice = choose(copies(lib, pool))
        return pool[choice.index], choice.reason

    def verified(self, lib: Library, members: Sequence[Member]) -> Verification | None:
        """How the members were found to be the same (None: a kind that does not say)."""
        return None

    @abstractmethod
    def took(self, lib: Library, spec: GroupSpec, claims: Claims) -> None:
        """Record what `spec` takes from the kinds after this one."""


def copies(lib: Library, pool: Sequence[Member]) -> list[Copy]:
    """`pool` as the keeper criteria see it (a screenshot or page is told by the check)."""
    check = lib.check
    return [
        dataclasses.replace(
            Copy.of(lib.scan.files[k], lib.scan.infos[k]),
            graphic=check is not None and check.graphic(k),
            # A set carrying its RAW, Live video or sidecars is the better copy (issue 23).
            companions=tuple(
                role for role, _ in lib.scan.companions.get(lib.scan.files[k].path, ())
            ),
        )
        for k in pool
    ]


def new_groups(
    lib: Library, subset: list[Member], pairs: Neighbours, threshold: float
) -> list[list[Member]]:
    """Complete-linkage groups among `subset`; byte-identical files always go together."""
    scan = lib.scan
    local = {pos: k for k, pos in enumerate(subset)}
    must_link = [
        [local[p] for p in same if p in local]
        for same in scan.identical
        if sum(p in local for p in same) > 1
    ]
    lookup = np.full(len(scan.files), -1, dtype=np.int64)
    lookup[np.asarray(subset, dtype=np.int64)] = np.arange(len(subset))
    li, lj = lookup[pairs.i], lookup[pairs.j]
    keep = (li >= 0) & (lj >= 0)
    found = complete_linkage(
        len(subset), li[keep], lj[keep], pairs.distance[keep], threshold, must_link=must_link
    )
    return [[subset[k] for k in members] for members in found]
