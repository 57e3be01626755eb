"""The page of the folder: every group that is on disk now, with the newest sort's changes
marked, and the sorts undone since said so.

The groups come from the disk (pipeline/placed.py reads the group folders and their
manifests); the saved reports add what the disk does not say: where each file was before,
what the scan saw of it, why the copy was kept. `folder_facts` is pure; `read_folder` reads.
When the folder is just what its newest sort made, the result equals that sort's own facts,
so both pages are the same page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..core.mediasets import Role
from ..errors import RemediaError
from ..filing.formats import Report, read_json, saved_reports
from ..pipeline.placed import PlacedGroup, read_placed
from .facts import (
    Change,
    Detail,
    GroupFacts,
    MemberFacts,
    PageFacts,
    UndoneSort,
    facts_from_report,
)
from .state import load_state


@dataclass(frozen=True)
class _Known:
    """What the saved reports say, across every sort still in effect (newest wins)."""

    entries: Mapping[str, list[tuple[int, int, GroupFacts]]]  # folder -> (sort, position, group)
    origin: Mapping[str, str]  # where a moved file is now -> where it was
    details: Mapping[str, Detail]  # by where the file is now
    newest: int  # the index of the newest sort
    companions: Mapping[str, tuple[tuple[Role, str], ...]]  # by where the picture is now


def _known(sorts: Sequence[PageFacts]) -> _Known:
    entries: dict[str, list[tuple[int, int, GroupFacts]]] = {}
    origin: dict[str, str] = {}
    details: dict[str, Detail] = {}
    companions: dict[str, tuple[tuple[Role, str], ...]] = {}
    for s, sort in enumerate(sorts):
        for k, g in enumerate(sort.groups):
            entries.setdefault(g.folder, []).append((s, k, g))
            for m in g.members:
                if m.now != m.original:
                    origin[m.now] = m.original
                if m.detail is not None:
                    details[m.now] = m.detail
                if m.companions:
                    companions[m.now] = m.companions
    return _Known(entries, origin, details, len(sorts) - 1, companions)


def _companions(p: PlacedGroup, now: str, known: _Known) -> tuple[tuple[Role, str], ...]:
    """A member's companions: in the group folder, those its manifest lists still beside it
    (read_placed checks the disk); elsewhere (a kept copy's set), those the reports name."""
    if os.path.dirname(now) == str(p.folder):
        return tuple((role, str(c)) for role, c in p.companions_of(Path(now)))
    return known.companions.get(now, ())


def _order(
    p: PlacedGroup, kept: str | None, entries: Sequence[tuple[int, int, GroupFacts]]
) -> list[str]:
    """The members on disk now: in the order the reports list them, then any others by name."""
    on_disk = [kept] if kept is not None else []
    on_disk += [str(f.path) for f in p.members]
    present = set(on_disk)
    ordered = [m.now for _, _, g in entries for m in g.members if m.now in present]
    return list(dict.fromkeys([*ordered, *on_disk]))


def _change(
    p: PlacedGroup, entries: Sequence[tuple[int, int, GroupFacts]], newest: int
) -> Change | None:
    if not entries or entries[-1][0] != newest:
        return None  # the newest sort did not touch it
    made_now = {m.now for m in entries[-1][2].members}
    older = len(entries) > 1 or any(str(f.path) not in made_now for f in p.members)
    return "grown" if older else "new"


def _kept(
    p: PlacedGroup, entries: Sequence[tuple[int, int, GroupFacts]], newest: int
) -> str | None:
    """Where the kept copy is now. The newest sort's report knows best: the review actions
    since it are applied to it (a copy chosen on the page is not in the manifest)."""
    if entries and entries[-1][0] == newest:
        return next((m.now for m in entries[-1][2].members if m.kept), None)
    return str(p.kept) if p.kept is not None else None


def _group(p: PlacedGroup, known: _Known) -> GroupFacts:
    entries = known.entries.get(str(p.folder), [])
    change = _change(p, entries, known.newest)
    last = entries[-1][2] if entries else None
    newest_moves = {m.now for m in last.members if m.moved} if last and change == "grown" else ()
    sizes = {str(f.path): Detail(bytes=f.size, mtime_ns=f.mtime_ns) for f in p.members}
    folder, kept = str(p.folder), _kept(p, entries, known.newest)
    best = next((m.original for m in last.members if m.best), None) if last else None
    best = best or (str(p.best) if p.best is not None else None)
    members = tuple(
        MemberFacts(
            original=known.origin.get(now, now),
            now=now,
            kept=now == kept,
            best=known.origin.get(now, now) == best,
            moved=os.path.dirname(now) == folder,
            not_moved=None,  # on disk now, wherever a move of it failed
            detail=known.details.get(now) or sizes.get(now),
            new=now in newest_moves,
            companions=_companions(p, now, known),
        )
        for now in _order(p, kept, entries)
    )
    return GroupFacts(
        kind=p.kind,
        folder=folder,
        members=members,
        reason=last.reason if last else "",
        verified=last.verified if last else None,
        linked=True,
        change=change,
    )


def _rank(p: PlacedGroup, known: _Known) -> tuple[int, int]:
    """Groups of the newest sort first, each sort's groups in its report's order."""
    entries = known.entries.get(str(p.folder))
    if not entries:
        return (1, 0)  # no report knows it: after the others, in the order read (by name)
    s, k, _ = entries[-1]
    return (-s, k)


def _undoable(sorts: Sequence[PageFacts]) -> PageFacts | None:
    """The sort `remedia undo` would put back next: the newest one that moved files."""
    return next((s for s in reversed(sorts) if s.journal and s.sort_moved), None)


def folder_facts(
    placed: Sequence[PlacedGroup], sorts: Sequence[PageFacts], undone: Sequence[UndoneSort] = ()
) -> PageFacts:
    """The folder's page facts: `placed` are the group folders on disk now, `sorts` the
    reports of the sorts still in effect (oldest first, at least one), `undone` the sorts
    undone since the newest of them."""
    known = _known(sorts)
    ranked = sorted(placed, key=lambda p: _rank(p, known))  # stable: ties stay by name
    # A group folder with nothing left in it (its copies put back) is no group.
    groups = [g for g in (_group(p, known) for p in ranked) if any(m.moved for m in g.members)]
    if all(g.change == "new" for g in groups):
        # A first sort: everything is new, and marking it all would say nothing.
        groups = [replace(g, change=None) for g in groups]
    moved: dict[str, list[MemberFacts]] = {"duplicates": [], "similar": []}
    for g in groups:
        moved[g.kind] += (m for m in g.members if m.moved)
    undo = _undoable(sorts)
    return replace(
        sorts[-1],
        journal=(undo or sorts[-1]).journal,
        sort_moved=(undo or sorts[-1]).sort_moved,
        duplicates_moved=len(moved["duplicates"]),
        similar_moved=len(moved["similar"]),
        duplicate_bytes=sum(m.detail.bytes or 0 for m in moved["duplicates"] if m.detail),
        groups=tuple(groups),
        undone=tuple(undone),
    )


# ---------------------------------------------------------------- reading it


def _saved_sorts(root: Path, current: PageFacts | None) -> Iterator[tuple[PageFacts, bool]]:
    """Each sort's facts, oldest first, and whether it is in effect (the one just made is)."""
    for path in reversed(list(saved_reports(root))):
        if current is not None and path.stem == current.name:
            continue  # in memory already
        try:
            report = Report.from_dict(read_json(path))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a damaged report: the disk still shows its groups
        yield facts_from_report(report, name=path.stem), report.in_effect
    if current is not None:
        # The sort just made is the newest, and in effect whatever its journal (a dry run or
        # a test has none).
        yield current, True


def _with_review_actions(root: Path, newest: PageFacts) -> PageFacts:
    """The newest sort with the review actions made on its page since (see state.py)."""
    try:
        state = load_state(root)
    except RemediaError:
        return newest
    if not state.actions or state.report.stem != newest.name:
        return newest
    return facts_from_report(state.sort, name=newest.name)


def read_folder(root: Path, *, current: PageFacts | None = None) -> PageFacts | None:
    """The folder page's facts, from the group folders and the saved reports; None before
    any sort. `current` is the sort just made (its report need not be read again)."""
    saved = list(_saved_sorts(Path(root), current))
    if not saved:
        return None
    sorts = [s for s, _ in saved]
    active = [s for s, in_effect in saved if in_effect]
    newest = max((k for k, (_, in_effect) in enumerate(saved) if in_effect), default=-1)
    undone = [UndoneSort(s.name, s.finished, len(s.groups)) for s in sorts[newest + 1 :]]
    if current is None and active:
        active[-1] = _with_review_actions(Path(root), active[-1])
    if not active:  # every sort was undone: the newest one still says what was checked
        active = [replace(sorts[-1], journal=None, sort_moved=0, groups=())]
    return folder_facts(read_placed(Path(root)), active, undone)
