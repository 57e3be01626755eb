"""Similar photos: a series of shots. Its best shot stays where it is, like a kept duplicate,
and the rest of the series moves into similar/<g>/, named after it (issue 25). With
`series="move-all"` the whole series moves, named after the photo the keeper criteria prefer.

A series is its folder's photos and its best shot, wherever the manifest says that is now. A
new shot joins it when it is near every member; a better one becomes the best shot by a
journaled swap (the old best joins the folder). A copy that became a duplicates group's kept
copy stands in for the kept copy it replaced, in the folder or as the best shot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from ..core.bestshot import best_shot
from ..core.keeper import CHOSEN_REASON
from ..core.planning import GroupSpec, SortKind
from .base import Claims, GroupKind, Growing, Library, Member

if TYPE_CHECKING:
    from ..pipeline.placed import PlacedGroup

#: The folder of the groups whose kept copy may take a best shot's place.
_COPIES: SortKind = "duplicates"


class SimilarKind(GroupKind):
    name: ClassVar[SortKind] = "similar"
    keeps_best_in_place: ClassVar[bool] = False  # only with series="keep-best"

    def in_place(self, lib: Library) -> bool:
        return lib.series == "keep-best"

    def held(self, lib: Library, claims: Claims) -> list[Growing]:
        """Every series with its best shot, a better copy in the place of a kept copy it
        replaced."""
        return [
            Growing(
                g.folder,
                [claims.swapped.get(k, k) for k in lib.members_of(g)],
                _best_shot(lib, g, claims),
            )
            for g in lib.placed
            if g.kind == self.name
        ]

    def candidates(
        self, free: Sequence[Member], held: Sequence[Growing], claims: Claims
    ) -> list[Member]:
        """Free photos that neither move into duplicates/, nor took a place in a series, nor
        are a series' best shot."""
        taken = set(claims.swapped.values()) | {g.keeper for g in held if g.keeper is not None}
        return [k for k in free if k not in claims.moving and k not in taken]

    def anchor(self, k: Member) -> Growing:
        return Growing(None, [k])

    def form(
        self, lib: Library, grown: Sequence[Growing], fresh: Sequence[list[Member]], claims: Claims
    ) -> list[GroupSpec]:
        """The specs, every shot to judge measured first, all at once (in parallel)."""
        if lib.shots is not None and self.in_place(lib):
            pools = [k for g in grown for k in (*g.held, *g.joined)]
            everyone = [*pools, *(k for members in fresh for k in members)]
            lib.shots.of(lib.paths(_photos(lib, everyone)))
        return super().form(lib, grown, fresh, claims)

    def grow(self, lib: Library, group: Growing, claims: Claims) -> list[GroupSpec]:
        """The series with its new shots. The best shot competes with them (the shots in the
        folder lost to it before) and stays where it is; without one (a series every shot of
        which moved), the best of them all stays where it is, or in the folder."""
        keeper, everyone, in_place = group.keeper, [*group.held, *group.joined], self.in_place(lib)
        if keeper is None:
            contenders = everyone
        else:  # move-all leaves a best shot chosen earlier where it is
            contenders = [keeper, *group.joined] if in_place else [keeper]
        best, reason = self.keeper(lib, contenders)
        stays = (in_place or keeper is not None) and lib.path(best).parent != group.folder
        others = [k for k in everyone if k != best]
        members = lib.paths([best, *others])
        return [GroupSpec(self.name, members[0], reason, members, stays, group.folder)]

    def keeper(self, lib: Library, pool: list[Member]) -> tuple[Member, str]:
        """The best shot: the user's own choice, else the best judged (the keeper criteria
        when no shot can be judged). With move-all, the keeper criteria name the series."""
        if not self.in_place(lib):
            return super().keeper(lib, pool)
        chosen = [k for k in pool if lib.path(k) in lib.preferred]
        contenders = chosen or pool
        photos = _photos(lib, contenders)
        scored = [] if lib.shots is None else lib.shots.of(lib.paths(photos))
        judged = [(k, q) for k, q in zip(photos, scored) if q is not None]
        if judged:
            shot = best_shot([q for _, q in judged])
            best, reason = judged[shot.index][0], shot.reason
        else:
            best, reason = super().keeper(lib, contenders)
        return best, (CHOSEN_REASON if chosen else reason)

    def took(self, lib: Library, spec: GroupSpec, claims: Claims) -> None:
        """Nothing: the kinds before it took what they needed."""


def _photos(lib: Library, members: Sequence[Member]) -> list[Member]:
    """The members a best shot is judged among: screenshots, pages and slides are not shots
    (sharpness says nothing of them, and reading them costs most); among only those, the
    keep rules choose."""
    check = lib.check
    return list(members) if check is None else [k for k in members if not check.graphic(k)]


def _best_shot(lib: Library, group: PlacedGroup, claims: Claims) -> Member | None:
    """The series' best shot where it is now; a better copy of it, kept in its place when the
    old one moved into duplicates/, stands in for it."""
    k = lib.kept_of(group)
    if k is not None:
        copies = next((d for d in lib.placed if d.folder == lib.path(k).parent), None)
        if copies is not None:
            k = lib.kept_of(copies) if copies.kind == _COPIES else None
    return None if k is None else claims.swapped.get(k, k)
