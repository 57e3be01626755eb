"""Similar photos: a series of shots. The whole group moves into similar/<g>/, named after
its best photo.

A series is its folder's photos. A new shot joins it when it is near every member; a copy
that became a duplicates group's kept copy stands in for the old kept copy it replaced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

from ..core.planning import GroupSpec, SortKind
from .base import Claims, GroupKind, Growing, Library, Member


class SimilarKind(GroupKind):
    name: ClassVar[SortKind] = "similar"
    keeps_best_in_place: ClassVar[bool] = False

    def held(self, lib: Library, claims: Claims) -> list[Growing]:
        """Every series, with a better copy in the place of the kept copy it replaced."""
        return [
            Growing(g.folder, [claims.swapped.get(k, k) for k in lib.members_of(g)])
            for g in lib.placed
            if g.kind == self.name
        ]

    def candidates(
        self, free: Sequence[Member], held: Sequence[Growing], claims: Claims
    ) -> list[Member]:
        """Free photos that neither move into duplicates/ nor took a place in a series."""
        taken = set(claims.swapped.values())
        return [k for k in free if k not in claims.moving and k not in taken]

    def anchor(self, k: Member) -> Growing:
        return Growing(None, [k])

    def grow(self, lib: Library, group: Growing, claims: Claims) -> list[GroupSpec]:
        """The series with its new shots, named after the best of them all."""
        spec = self.new_group(lib, group.members + group.joined, claims)
        return [dataclasses.replace(spec, folder=group.folder)]

    def took(self, lib: Library, spec: GroupSpec, claims: Claims) -> None:
        """Nothing: a series moves whole, and the kinds before it took what they needed."""
