"""From a scan to groups, with the library in mind: placed photos are members already.

A sort reads the photos an earlier sort placed in duplicates/<g>/ and similar/<g>/ as members
of existing groups. Only the free photos (everything outside those folders, except kept
copies) may move: each joins the existing group it passes complete linkage with, and the
rest form new groups as in a first sort. Kinds run in the engines' order (duplicates first):
what one kind takes, the next leaves. The scope says which photos are searched (`Scope`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..core.keeper import DEFAULT_KEEP, KeepRules
from ..core.library import attach
from ..core.planning import GroupSpec, SeriesMode, SortKind
from .base import Check, Claims, GroupKind, Growing, Library, Member, Shots, new_groups
from .duplicates import DuplicatesKind
from .similar import SimilarKind

if TYPE_CHECKING:
    from ..engines.base import Neighbours, SimilarityEngine
    from ..pipeline.features import ScanResult
    from ..pipeline.placed import PlacedGroup

#: Every kind, by the output folder it fills (an engine's `kind` names one).
KINDS: dict[SortKind, GroupKind] = {k.name: k for k in (DuplicatesKind(), SimilarKind())}

ScopeName = Literal["loose", "new", "full"]


def kind_of(name: SortKind) -> GroupKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"Unknown group kind {name!r}") from None


@dataclass(frozen=True)
class Scope:
    """Which photos one sort searches.

    - `loose`: every free photo is grouped anew (a first sort, or no library index).
    - `new`: only the new free photos are searched (k searches, not a regrouping of all n);
      the `settled` ones (per scan position), which an earlier sort compared, are matched
      against as groups of one but not regrouped among themselves.
    - `full`: every photo is free again and the whole library is regrouped; a group reuses
      the folder most of its members are in (`sort --full`).
    """

    name: ScopeName
    settled: tuple[bool, ...] = ()

    @classmethod
    def of(cls, *, full: bool = False, settled: Sequence[bool] | None = None) -> Scope:
        if full:
            return cls("full")
        if settled is None:
            return cls("loose")
        return cls("new", tuple(settled))


def group_library(
    scan: ScanResult,
    engines: Sequence[SimilarityEngine],
    placed: Sequence[PlacedGroup],
    *,
    full: bool = False,
    settled: Sequence[bool] | None = None,
    preferred: frozenset[Path] = frozenset(),
    check: Check | None = None,
    series: SeriesMode = "keep-best",
    shots: Shots | None = None,
    rules: KeepRules = DEFAULT_KEEP,
) -> list[GroupSpec]:
    """Group specs for this sort: existing groups that grow, and new groups.

    `full` and `settled` choose the scope (see `Scope`; None: every loose photo is new).
    `preferred`: copies the user chose to keep on the review page; they win over the ranking.
    `check`: reads duplicate candidates again at full size, and upscales (None: the engines'
    own checks only). `series`: a series' best shot stays in place ("keep-best", judged by
    `shots`; None: by the keeper criteria), or the whole series moves ("move-all"). `rules`:
    the keep rules of duplicates groups.
    """
    lib = Library.of(
        scan, placed, preferred=preferred, check=check, series=series, shots=shots, rules=rules
    )
    return group(lib, engines, Scope.of(full=full, settled=settled))


def group(lib: Library, engines: Sequence[SimilarityEngine], scope: Scope) -> list[GroupSpec]:
    """The specs of one sort of `lib` in `scope`, kind by kind in the engines' order."""
    try:
        by_scope = _BY_SCOPE[scope.name]
    except KeyError:
        raise ValueError(f"Unknown scope {scope.name!r}") from None
    return by_scope(lib, engines, scope)


#: The pairs a scope searches: (engine, library, candidates) -> pairs within the threshold.
_Search = Callable[["SimilarityEngine", Library, list[Member]], "Neighbours"]


def _all_pairs(engine: SimilarityEngine, lib: Library, candidates: list[Member]) -> Neighbours:
    return engine.neighbours(lib.scan.features[engine.name])


def _pairs_of_new(engine: SimilarityEngine, lib: Library, candidates: list[Member]) -> Neighbours:
    query = np.asarray(candidates, dtype=np.int64)
    return engine.neighbours_of(lib.scan.features[engine.name], query)


def _group_loose(
    lib: Library, engines: Sequence[SimilarityEngine], scope: Scope
) -> list[GroupSpec]:
    return _extend(lib, engines, scope, _all_pairs)


def _group_new(lib: Library, engines: Sequence[SimilarityEngine], scope: Scope) -> list[GroupSpec]:
    return _extend(lib, engines, scope, _pairs_of_new)


def _extend(
    lib: Library, engines: Sequence[SimilarityEngine], scope: Scope, search: _Search
) -> list[GroupSpec]:
    """Placed groups grow with the free photos that join them; the rest form new groups."""
    in_group = lib.in_groups()
    free = [k for k in range(len(lib)) if k not in in_group]
    settled = [k for k in free if scope.settled and scope.settled[k]]
    if settled:
        free = [k for k in free if not scope.settled[k]]
    claims = Claims()
    specs: list[GroupSpec] = []
    for engine in engines:
        kind = kind_of(engine.kind)
        held = kind.held(lib, claims)
        candidates = kind.candidates(free, held, claims)
        pairs = kind.confirm(lib, search(engine, lib, candidates))
        # Settled photos near a new one are groups of one it may join.
        held += [kind.anchor(k) for k in _anchors(settled, pairs, held, claims)]
        joined = attach(
            [g.held for g in held], candidates, pairs.i, pairs.j, pairs.distance, engine.threshold
        )
        for x, target in sorted(joined.items()):
            held[target].joined.append(x)
        rest = [k for k in candidates if k not in joined]
        fresh = new_groups(lib, rest, pairs, engine.threshold)
        specs += kind.form(lib, [g for g in held if g.joined], fresh, claims)
    return _merge_same_folder(specs)


def _anchors(
    settled: list[Member], pairs: Neighbours, held: Sequence[Growing], claims: Claims
) -> list[Member]:
    """Settled photos in a pair with a candidate, in no held group and not moving away."""
    if not settled:
        return []
    near = set(pairs.i.tolist()) | set(pairs.j.tolist())
    grouped = {k for g in held for k in g.held}
    return [k for k in settled if k in near and k not in claims.moving and k not in grouped]


def _merge_same_folder(specs: list[GroupSpec]) -> list[GroupSpec]:
    """One spec per existing folder: a later spec for it absorbs the members of earlier ones."""
    last: dict[tuple[str, Path], int] = {}
    for k, s in enumerate(specs):
        if s.folder is not None:
            last[(s.kind, s.folder)] = k
    out: list[GroupSpec] = []
    extra: dict[tuple[str, Path], list[Path]] = {}
    for k, s in enumerate(specs):
        key = (s.kind, s.folder) if s.folder is not None else None
        if key is not None and last[key] != k:
            extra.setdefault(key, []).extend(s.members)
            continue
        if key is not None and key in extra:
            more = [p for p in extra[key] if p not in s.members]
            s = dataclasses.replace(s, members=(*s.members, *more))
        out.append(s)
    return out


def _regroup_all(
    lib: Library, engines: Sequence[SimilarityEngine], scope: Scope
) -> list[GroupSpec]:
    """Every photo free; a group reuses the folder (of its kind) most of its members are in."""
    home = {k: (g.kind, g.folder) for g in lib.placed for k in lib.members_of(g)}
    claims = Claims()
    free = list(range(len(lib)))
    specs: list[GroupSpec] = []
    was_in: list[list[Path]] = []  # per spec, the folders of its kind its members were in
    for engine in engines:
        kind = kind_of(engine.kind)
        candidates = kind.candidates(free, [], claims)
        pairs = kind.confirm(lib, _all_pairs(engine, lib, candidates))
        fresh = new_groups(lib, candidates, pairs, engine.threshold)
        specs += kind.form(lib, [], fresh, claims)
        was_in += [[home[k][1] for k in m if k in home and home[k][0] == kind.name] for m in fresh]
        free = [k for k in free if k not in claims.moving]
    # A pick a later kind's group moves on (a series member) leaves duplicates/ with it.
    moved_on = {
        p
        for s in specs
        if s.kind != DuplicatesKind.name
        for p in (s.members[1:] if s.keep_best_in_place else s.members)
    }
    return [
        _kept_out(lib, s if folder is None else dataclasses.replace(s, folder=folder), moved_on)
        for s, folder in zip(specs, reused_folders(was_in))
    ]


def _kept_out(lib: Library, spec: GroupSpec, moved_on: set[Path]) -> GroupSpec:
    """A kept copy the rules now pick from its duplicates folder (the keep rules changed)
    moves out, into the place of the group's old kept copy; without one it stays. One that
    moves on with its series (`moved_on`) is that group's to move: a file moves once."""
    placed = next((g for g in lib.placed if g.folder == spec.best.parent), None)
    if not spec.keep_best_in_place or placed is None or placed.kind != DuplicatesKind.name:
        return spec
    if spec.best in moved_on:
        return spec
    if placed.kept is None or placed.kept not in lib.position or placed.kept == spec.best:
        return spec
    return dataclasses.replace(spec, keeper_to=placed.kept.parent)


def reused_folders(was_in: Sequence[Sequence[Path]]) -> list[Path | None]:
    """The folder each new group keeps: the one most of its members were in, given to one group
    only (two groups in one folder would be one group to the next sort). The group holding the
    most of a folder's members gets it, then the earlier group; ties between folders go to the
    first by name, never to the hash seed."""
    offers = sorted(
        (-members.count(folder), k, folder)
        for k, members in enumerate(was_in)
        for folder in set(members)
    )
    out: list[Path | None] = [None] * len(was_in)
    taken: set[Path] = set()
    for _, k, folder in offers:
        if out[k] is None and folder not in taken:
            out[k] = folder
            taken.add(folder)
    return out


_BY_SCOPE: dict[ScopeName, Callable[[Library, Sequence[SimilarityEngine], Scope], list[GroupSpec]]]
_BY_SCOPE = {"loose": _group_loose, "new": _group_new, "full": _regroup_all}
