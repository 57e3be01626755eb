"""Duplicates: copies of one photo. The best copy stays where it is; the others move.

A duplicates group is its folder (duplicates/<g>/, the copies that lost) and its kept copy,
which lives outside the folder, wherever the manifest says it is now (in a series, maybe).
Every member of a series is an anchor too: a new copy of it starts a duplicates group. A
better copy arriving later becomes the kept copy; the old one joins its duplicates, and the
new one takes its place in its series.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..core.keeper import CHOSEN_REASON, Copy, choose, upscale_suspects
from ..core.planning import GroupSpec, PlannedGroup, SortKind, SortPlan, Verification
from ..pipeline.capture_date import capture_date
from .base import Claims, GroupKind, Growing, Library, Member, copies
from .similar import SimilarKind

if TYPE_CHECKING:
    from ..engines.base import Neighbours
    from ..pipeline.placed import PlacedGroup

#: The kind whose groups are series of shots: a kept copy may live in one.
SERIES: SortKind = SimilarKind.name
#: The reason of the spec that puts a better copy in its series, in the old kept copy's place.
INTO_SERIES = "kept copy of a photo in this series"


class DuplicatesKind(GroupKind):
    name: ClassVar[SortKind] = "duplicates"
    keeps_best_in_place: ClassVar[bool] = True

    def held(self, lib: Library, claims: Claims) -> list[Growing]:
        """Every duplicates group with its kept copy, and each photo of a series as an anchor."""
        keepers = _keepers(lib)
        groups = [
            Growing(g.folder, lib.members_of(g), keepers.get(g.folder))
            for g in lib.placed
            if g.kind == self.name
        ]
        kept = set(keepers.values())
        groups.extend(
            Growing(None, [], k)
            for g in lib.placed
            if g.kind == SERIES
            for k in (*lib.members_of(g), lib.kept_of(g))  # the best shot too, in place
            if k is not None and k not in kept
        )
        return groups

    def candidates(
        self, free: Sequence[Member], held: Sequence[Growing], claims: Claims
    ) -> list[Member]:
        """Free photos, except the kept copies (members of their groups already)."""
        kept = {g.keeper for g in held if g.keeper is not None}
        return [k for k in free if k not in kept]

    def anchor(self, k: Member) -> Growing:
        return Growing(None, [], k)

    def confirm(self, lib: Library, pairs: Neighbours) -> Neighbours:
        """Candidates read again at full size, where the check says they must be."""
        return pairs if lib.check is None else lib.check.confirm(pairs)

    def grow(self, lib: Library, group: Growing, claims: Claims) -> list[GroupSpec]:
        """The kept copy competes with the new ones; copies in the folder stay there (they
        lost to it before), unless the kept copy is unknown."""
        held = [group.keeper] if group.keeper is not None else group.members
        best, reason = self.keeper(lib, held + group.joined)
        others = ([group.keeper] if group.keeper is not None else []) + group.joined
        spec = GroupSpec(
            kind=self.name,
            best=lib.path(best),
            reason=reason,
            members=lib.paths([best, *(k for k in others if k != best)]),
            keep_best_in_place=True,
            folder=group.folder,
            verified=None if lib.check is None else lib.check.verification([*held, *group.joined]),
        )
        self.took(lib, spec, claims)
        old = group.keeper
        if old is None or best == old:
            return [spec]
        if not _in_series(lib.path(old)):
            if old in _best_shots(lib):  # the better copy stays, as the series' best shot
                claims.swapped[old] = best
            return [spec]
        # The better copy takes the old kept copy's place in its series.
        claims.swapped[old] = best
        new = lib.path(best)
        series = GroupSpec(SERIES, new, INTO_SERIES, (new,), False, lib.path(old).parent)
        return [spec, series]

    def keeper(self, lib: Library, pool: list[Member]) -> tuple[Member, str]:
        """The user's own choice wins, then the keep rules; an upscale loses to its source."""
        chosen = [k for k in pool if lib.path(k) in lib.preferred]
        contenders = chosen or pool
        ranked = copies(lib, contenders)
        check = lib.check
        dates: dict[Path, datetime | None] = {}  # read once per copy, where a rule needs them

        def taken(c: Copy) -> datetime | None:
            if c.file.path not in dates:
                dates[c.file.path] = capture_date(c.file.path)
            return dates[c.file.path]

        while check is not None:
            # More pixels count only where they hold more picture: an upscale loses to its source.
            suspects = upscale_suspects(ranked, lib.rules)
            if suspects is None:
                break
            big, small = suspects
            if not check.upscaled(contenders[big], contenders[small]):
                break
            ranked[big] = dataclasses.replace(
                ranked[big], detail_pixels=ranked[small].detail_pixels, upscaled=True
            )
        choice = choose(ranked, lib.rules, taken=taken)
        return contenders[choice.index], (CHOSEN_REASON if chosen else choice.reason)

    def verified(self, lib: Library, members: Sequence[Member]) -> Verification | None:
        return None if lib.check is None else lib.check.verification(members)

    def took(self, lib: Library, spec: GroupSpec, claims: Claims) -> None:
        """The copies that lost move into duplicates/: the kinds after this one leave them."""
        claims.moving.update(lib.position[p] for p in spec.members[1:])


def _in_series(path: Path) -> bool:
    return path.parent.parent.name == SERIES


def _best_shots(lib: Library) -> set[Member | None]:
    return {lib.kept_of(g) for g in lib.placed if g.kind == SERIES}


def _keepers(lib: Library) -> dict[Path, Member]:
    """Duplicates folder -> its kept copy, where this scan holds it."""
    return {
        g.folder: lib.position[g.kept]
        for g in lib.placed
        if g.kind == DuplicatesKind.name and g.kept is not None and g.kept in lib.position
    }


def kept_copies(placed: Sequence[PlacedGroup]) -> dict[Path, Path]:
    """Group folder -> its kept copy (a series': its best shot), as the placed groups tell
    (where they know it)."""
    return {g.folder: g.kept for g in placed if g.kept is not None}


def with_kept(placed: Sequence[PlacedGroup], kept: Mapping[Path, Path]) -> list[PlacedGroup]:
    """The placed groups, each with its kept copy from `kept` if it has one there (the
    library index follows kept copies the manifests lost track of)."""
    return [dataclasses.replace(g, kept=kept.get(g.folder, g.kept)) for g in placed]


def kept_after(
    kept: Mapping[Path, Path], groups: Sequence[PlannedGroup], moved: Mapping[Path, Path]
) -> dict[Path, Path]:
    """Group folder -> where its kept copy (or best shot) is after this sort's moves."""
    out = dict(kept)
    out.update((g.folder, g.keeper) for g in groups if g.keeper)
    return {folder: moved.get(k, k) for folder, k in out.items()}


def note_keepers_moving_on(plan: SortPlan) -> SortPlan:
    """A kept copy that joins a series moves too; say so in its duplicates group."""
    moved_to = {m.src: m.dst for g in plan.groups if g.kind == SERIES for m in g.moves}
    groups = []
    for g in plan.groups:
        dst = moved_to.get(g.keeper) if g.keeper is not None else None
        if g.kind == DuplicatesKind.name and dst is not None:
            where = f"{dst.parent.parent.name}/{dst.parent.name}/"
            g = dataclasses.replace(g, reason=f"{g.reason}; it moves on to {where} with its series")
        groups.append(g)
    return dataclasses.replace(plan, groups=tuple(groups))
