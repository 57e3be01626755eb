"""From a scan to groups, with the library in mind: placed photos are members already.

A sort reads the photos an earlier sort placed in duplicates/<g>/ and similar/<g>/ as members
of existing groups. Only the free photos (everything outside those folders, except kept
copies) may move: each joins the existing group it passes complete linkage with, and the
rest form new groups as in a first sort. A better copy arriving later becomes the kept copy
(the old one joins its duplicates, the new one takes its place in a series). With `full`,
every photo is free again and the whole library is regrouped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.grouping import complete_linkage
from ..core.keeper import Copy, choose, upscale_suspects
from ..core.library import attach
from ..core.planning import GroupSpec, SortKind
from ..engines.base import Neighbours, SimilarityEngine
from .placed import PlacedGroup

if TYPE_CHECKING:
    from .features import ScanResult
    from .fullsize_check import PairCheck


@dataclass
class _Existing:
    """A group on disk while it is being extended (positions into scan.files)."""

    kind: SortKind
    folder: Path | None  # None: an anchor photo in no group of this kind yet
    members: list[int]
    keeper: int | None = None  # duplicates: the kept copy, outside the folder
    joined: list[int] = field(default_factory=list)


def group_library(
    scan: ScanResult,
    engines: Sequence[SimilarityEngine],
    placed: Sequence[PlacedGroup],
    *,
    full: bool = False,
    settled: Sequence[bool] | None = None,
    preferred: frozenset[Path] = frozenset(),
    check: PairCheck | None = None,
) -> list[GroupSpec]:
    """Group specs for this sort: existing groups that grow, and new groups.

    `settled` (per scan position) marks loose photos an earlier sort already compared: they
    are matched against but not regrouped among themselves, so only the new photos are
    searched for (k searches, not a regrouping of all n). None: every loose photo is new.
    `preferred`: copies the user chose to keep on the review page; they win over the ranking.
    `check`: reads duplicate candidates again at full size, and upscales (None: the engines'
    own checks only).
    """
    position = {f.path: k for k, f in enumerate(scan.files)}
    if full:
        return _regroup_all(scan, engines, placed, position, preferred, check)
    in_group = {position[m.path] for g in placed for m in g.members if m.path in position}
    keepers: dict[Path, int] = {}
    for g in placed:
        if g.kind == "duplicates" and g.kept is not None and g.kept in position:
            keepers[g.folder] = position[g.kept]
    free = [k for k in range(len(scan.files)) if k not in in_group]
    kept_free = set(keepers.values())
    settled_free = [k for k in free if settled is not None and settled[k]]
    if settled_free:
        kept_free.update(settled_free)
        free = [k for k in free if not settled or not settled[k]]
    specs: list[GroupSpec] = []
    #: A better copy takes the old kept copy's place in its series: old position -> new.
    swapped: dict[int, int] = {}
    moving: set[int] = set()
    for engine in engines:
        if engine.kind == "duplicates":
            existing = _duplicate_groups(placed, position, keepers, in_group)
            candidates = [k for k in free if k not in kept_free]
        else:
            existing = [
                _Existing(
                    "similar",
                    g.folder,
                    [
                        swapped.get(position[m.path], position[m.path])
                        for m in g.members
                        if m.path in position
                    ],
                )
                for g in placed
                if g.kind == "similar"
            ]
            taken = set(swapped.values())
            candidates = [k for k in free if k not in moving and k not in taken]
        grouped = {k for e in existing for k in (*e.members, e.keeper) if k is not None}
        if settled is None:
            pairs = _pairs(engine, scan, check)
        else:
            query = np.asarray(candidates, dtype=np.int64)
            pairs = engine.neighbours_of(scan.features[engine.name], query)
            if engine.kind == "duplicates" and check is not None:
                pairs = check.confirm(pairs)
            # Settled photos near a new one are groups of one it may join.
            near = set(pairs.i.tolist()) | set(pairs.j.tolist())
            anchors = [
                k for k in settled_free if k in near and k not in moving and k not in grouped
            ]
            if engine.kind == "duplicates":
                existing += [_Existing("duplicates", None, [], k) for k in anchors]
            else:
                existing += [_Existing("similar", None, [k]) for k in anchors]
        joined = attach(
            [e.members + ([e.keeper] if e.keeper is not None else []) for e in existing],
            candidates,
            pairs.i,
            pairs.j,
            pairs.distance,
            engine.threshold,
        )
        for x, target in sorted(joined.items()):
            existing[target].joined.append(x)
        for e in existing:
            if e.joined:
                spec = _grow(scan, e, preferred, check)
                specs.append(spec)
                if e.kind == "duplicates":
                    moving.update(position[p] for p in spec.members[1:])
                    old, new = e.keeper, position[spec.best]
                    if old is not None and new != old and _in_series(scan.files[old].path):
                        # The better copy takes the old kept copy's place in its series.
                        swapped[old] = new
                        specs.append(_into_series(scan, new, scan.files[old].path.parent))
        rest = [k for k in candidates if k not in joined]
        found = [
            _spec(scan, m, engine.kind, preferred, check)
            for m in _groups(engine, scan, rest, pairs)
        ]
        specs.extend(found)
        if engine.kind == "duplicates":
            moving.update(position[p] for s in found for p in s.members[1:])
    return _merge_same_folder(specs)


def _into_series(scan: ScanResult, new: int, folder: Path) -> GroupSpec:
    path = scan.files[new].path
    return GroupSpec("similar", path, "kept copy of a photo in this series", (path,), False, folder)


def _in_series(path: Path) -> bool:
    return path.parent.parent.name == "similar"


def _duplicate_groups(
    placed: Sequence[PlacedGroup],
    position: dict[Path, int],
    keepers: dict[Path, int],
    in_group: set[int],
) -> list[_Existing]:
    """Existing duplicates groups, and every photo of a series as an anchor for new copies."""
    groups = [
        _Existing(
            "duplicates",
            g.folder,
            [position[m.path] for m in g.members if m.path in position],
            keepers.get(g.folder),
        )
        for g in placed
        if g.kind == "duplicates"
    ]
    kept = set(keepers.values())
    for g in placed:
        if g.kind == "similar":
            groups.extend(
                _Existing("duplicates", None, [], position[m.path])
                for m in g.members
                if m.path in position and position[m.path] not in kept
            )
    return groups


def _grow(
    scan: ScanResult, e: _Existing, preferred: frozenset[Path], check: PairCheck | None
) -> GroupSpec:
    """An existing group with new members; a better copy becomes the kept one."""
    if e.kind == "similar":
        spec = _spec(scan, e.members + e.joined, "similar", preferred, check)
        return dataclasses.replace(spec, folder=e.folder)
    # The kept copy competes with the new ones; copies already in the folder stay there
    # (they lost to it before), unless the kept copy is unknown.
    held = [e.keeper] if e.keeper is not None else e.members
    best, reason = _keeper(scan, held + e.joined, "duplicates", preferred, check)
    others = ([e.keeper] if e.keeper is not None else []) + e.joined
    return GroupSpec(
        kind="duplicates",
        best=scan.files[best].path,
        reason=reason,
        members=(scan.files[best].path, *(scan.files[k].path for k in others if k != best)),
        keep_best_in_place=True,
        folder=e.folder,
        verified=None if check is None else check.verification([*held, *e.joined]),
    )


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
    scan: ScanResult,
    engines: Sequence[SimilarityEngine],
    placed: Sequence[PlacedGroup],
    position: dict[Path, int],
    preferred: frozenset[Path],
    check: PairCheck | None,
) -> list[GroupSpec]:
    """A full re-sort: every photo free; groups reuse the folder most members are in."""
    home: dict[int, tuple[SortKind, Path]] = {
        position[m.path]: (g.kind, g.folder)
        for g in placed
        for m in g.members
        if m.path in position
    }
    specs: list[GroupSpec] = []
    remaining = list(range(len(scan.files)))
    for engine in engines:
        pairs = _pairs(engine, scan, check)
        found = []
        for members in _groups(engine, scan, remaining, pairs):
            spec = _spec(scan, members, engine.kind, preferred, check)
            folders = [home[k][1] for k in members if k in home and home[k][0] == engine.kind]
            if folders:
                spec = dataclasses.replace(spec, folder=max(set(folders), key=folders.count))
            found.append(spec)
        specs.extend(found)
        if engine.kind == "duplicates":
            moving = {position[p] for s in found for p in s.members[1:]}
            remaining = [k for k in remaining if k not in moving]
    return specs


def _groups(
    engine: SimilarityEngine, scan: ScanResult, subset: list[int], pairs: Neighbours
) -> list[list[int]]:
    """Complete-linkage groups among `subset` (positions in scan.files), as positions."""
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
        len(subset),
        li[keep],
        lj[keep],
        pairs.distance[keep],
        engine.threshold,
        must_link=must_link,
    )
    return [[subset[k] for k in members] for members in found]


def _pairs(engine: SimilarityEngine, scan: ScanResult, check: PairCheck | None) -> Neighbours:
    pairs = engine.neighbours(scan.features[engine.name])
    if engine.kind == "duplicates" and check is not None:
        return check.confirm(pairs)
    return pairs


def _keeper(
    scan: ScanResult,
    pool: list[int],
    kind: SortKind,
    preferred: frozenset[Path],
    check: PairCheck | None,
) -> tuple[int, str]:
    """The copy that stays (or names a series), and why; the user's own choice wins."""
    chosen = [k for k in pool if scan.files[k].path in preferred] if kind == "duplicates" else []
    contenders = chosen or pool
    copies = [
        dataclasses.replace(
            Copy.of(scan.files[k], scan.infos[k]),
            graphic=check is not None and check.graphic(k),
        )
        for k in contenders
    ]
    while kind == "duplicates" and check is not None:
        # More pixels count only where they hold more picture: an upscale loses to its source.
        suspects = upscale_suspects(copies)
        if suspects is None:
            break
        big, small = suspects
        if not check.upscaled(contenders[big], contenders[small]):
            break
        copies[big] = dataclasses.replace(
            copies[big], detail_pixels=copies[small].detail_pixels, upscaled=True
        )
    choice = choose(copies)
    return contenders[choice.index], ("your choice on the review page" if chosen else choice.reason)


def _spec(
    scan: ScanResult,
    members: list[int],
    kind: SortKind,
    preferred: frozenset[Path],
    check: PairCheck | None,
) -> GroupSpec:
    """Duplicates keep their best copy in place; a similar group moves whole, named after it."""
    best, reason = _keeper(scan, members, kind, preferred, check)
    ordered = [best] + [k for k in members if k != best]
    return GroupSpec(
        kind=kind,
        best=scan.files[best].path,
        reason=reason,
        members=tuple(scan.files[k].path for k in ordered),
        keep_best_in_place=kind == "duplicates",
        verified=check.verification(members) if kind == "duplicates" and check else None,
    )
