"""What a review page is about, typed: one sort's report, or the folder as it is now.

`facts_from_report` is the one place that reads a sort's report (`filing.formats.Report`:
`SortReport.saved()`, or a saved one) for the page; everything after it reads these frozen values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..core.mediasets import Role
from ..core.planning import SortKind
from ..filing.formats import MemberDetail, Report, ReportGroup

#: How the newest sort changed a group of the folder (the folder page marks it).
Change = Literal["new", "grown"]


@dataclass(frozen=True)
class Detail:
    """What the scan saw of one member (any of it may be unknown)."""

    bytes: int | None = None
    mtime_ns: int | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    exif_fields: int | None = None
    duration: float | None = None  # seconds: the member is a video


@dataclass(frozen=True)
class MemberFacts:
    original: str  # where the file was before the sort
    now: str  # where it is after it
    kept: bool  # stays in place as the group's best copy
    best: bool
    moved: bool  # moved into this group's folder
    not_moved: str | None  # why a planned move did not happen
    detail: Detail | None
    new: bool = False  # moved in by the newest sort, into a group that was there before
    #: Its companions (Live video, sidecars, RAW ...), each with where it is now: the member
    #: and they are one media set, shown as one tile.
    companions: tuple[tuple[Role, str], ...] = ()


@dataclass(frozen=True)
class GroupFacts:
    kind: SortKind
    folder: str
    members: tuple[MemberFacts, ...]
    reason: str
    verified: str | None
    linked: bool  # the group folder exists (the title links to it)
    change: Change | None = None


@dataclass(frozen=True)
class FileNote:
    path: str
    reason: str


@dataclass(frozen=True)
class UndoneSort:
    """A sort that `remedia undo` put back."""

    name: str  # its report's name, "sort-<stamp>"
    finished: str  # ISO time
    groups: int


@dataclass(frozen=True)
class PageFacts:
    """Everything a review page shows, as facts (no wording, no markup)."""

    folder: str
    name: str  # the report's name ("" when not saved)
    finished: str  # ISO time the sort finished
    strictness: int
    engines: tuple[tuple[str, str], ...]
    images: int
    seconds: float
    journal: str | None
    #: What the sort moved: its undo box is shown only when it moved something.
    sort_moved: int
    duplicates_moved: int
    similar_moved: int
    duplicate_bytes: int
    notes: tuple[str, ...]
    skipped: tuple[FileNote, ...]
    failed: tuple[FileNote, ...]
    groups: tuple[GroupFacts, ...]
    undone: tuple[UndoneSort, ...] = ()  # sorts undone since (the folder page)


def current_locations(facts: PageFacts) -> list[str]:
    """Every group member's path as it is now (moved copies in their group folder)."""
    return [m.now for g in facts.groups for m in g.members]


# ---------------------------------------------------------------- the adapter from the report


def _detail(d: MemberDetail | None) -> Detail | None:
    if d is None:
        return None
    return Detail(d.size, d.mtime_ns, d.width, d.height, d.format, d.exif_fields, d.duration)


def _group(g: ReportGroup, failed: Mapping[str, str], everywhere: Mapping[str, str]) -> GroupFacts:
    own = {str(m.src) for m in g.moves}
    members = [str(p) for p in g.members]
    moves = {p: everywhere[p] for p in members if p in everywhere}
    kept = str(g.kept) if g.kept is not None else None
    best = str(g.best)
    return GroupFacts(
        kind=g.kind,
        folder=str(g.folder),
        members=tuple(
            MemberFacts(
                original=path,
                now=moves.get(path, path),
                kept=path == kept,
                best=path == best,
                moved=path in own,
                not_moved=failed.get(path) if path not in moves and path != kept else None,
                detail=_detail(g.details[k]) if k < len(g.details) else None,
                companions=tuple((role, str(c)) for role, c in g.companions_of(Path(path))),
            )
            for k, path in enumerate(members)
        ),
        reason=g.reason,
        verified=g.verified,
        linked=bool(g.moves),
    )


def facts_from_report(report: Report, *, name: str = "") -> PageFacts:
    """The page facts of one sort, from its report (`SortReport.saved()` or a saved one)."""
    failed = {str(f.path): f.reason for f in report.failed}
    # A kept duplicate can move on with its similar group: look across every group.
    everywhere = {str(m.src): str(m.dst) for g in report.groups for m in g.moves}
    dups, sims = report.duplicates_moved, report.similar_moved
    return PageFacts(
        folder=str(report.folder),
        name=name,
        finished=report.finished,
        strictness=report.strictness,
        engines=tuple((str(k), str(v)) for k, v in report.engines.items()),
        images=int(report.images),
        seconds=float(report.seconds),
        journal=str(report.journal) if report.journal is not None else None,
        sort_moved=dups + sims,
        duplicates_moved=dups,
        similar_moved=sims,
        duplicate_bytes=report.duplicate_bytes,
        notes=report.notes,
        skipped=tuple(FileNote(str(r.path), r.reason) for r in report.skipped),
        failed=tuple(FileNote(str(r.path), r.reason) for r in report.failed),
        groups=tuple(_group(g, failed, everywhere) for g in report.groups),
    )
