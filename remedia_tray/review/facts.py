"""What a review page is about, typed: one sort's report, or the folder as it is now.

`facts_from_report` is the one place that reads report data (a `SortReport.to_dict()` or a
saved report) for the page; everything after it reads these frozen values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..core.planning import SortKind

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


# ---------------------------------------------------------------- the adapter from report data


def _detail(d: object) -> Detail | None:
    if not isinstance(d, Mapping):
        return None
    return Detail(
        d.get("bytes"), d.get("mtime_ns"), d.get("width"), d.get("height"),
        d.get("format"), d.get("exif_fields"),
    )  # fmt: skip


def _group(
    g: Mapping[str, Any], failed: Mapping[str, str], everywhere: Mapping[str, str]
) -> GroupFacts:
    own = {m["from"] for m in g.get("moves", ())}
    moves = {p: everywhere[p] for p in g["members"] if p in everywhere}
    details = list(g.get("details") or ())
    kept, best = g.get("kept"), g.get("best")
    members = tuple(
        MemberFacts(
            original=path,
            now=moves.get(path, path),
            kept=path == kept,
            best=path == best,
            moved=path in own,
            not_moved=failed.get(path) if path not in moves and path != kept else None,
            detail=_detail(details[k]) if k < len(details) else None,
        )
        for k, path in enumerate(g["members"])
    )
    verified = g.get("verified")
    return GroupFacts(
        kind=g["kind"],
        folder=str(g["folder"]),
        members=members,
        reason=str(g.get("reason") or ""),
        verified=verified if isinstance(verified, str) else None,
        linked=bool(g.get("moves")),
    )


def facts_from_report(data: Mapping[str, Any], *, name: str = "") -> PageFacts:
    """The page facts of one sort, from its report data (`SortReport.to_dict()` or saved)."""
    failed = {f["path"]: f["reason"] for f in data.get("failed", ())}
    # A kept duplicate can move on with its similar group: look across every group.
    everywhere = {m["from"]: m["to"] for g in data.get("groups", ()) for m in g.get("moves", ())}
    dups, sims = data.get("duplicates_moved", 0), data.get("similar_moved", 0)
    return PageFacts(
        folder=str(data["folder"]),
        name=name,
        finished=str(data.get("finished") or ""),
        strictness=int(data.get("strictness", 50)),
        engines=tuple((str(k), str(v)) for k, v in (data.get("engines") or {}).items()),
        images=int(data.get("images", 0)),
        seconds=float(data.get("seconds", 0)),
        journal=str(data["journal"]) if data.get("journal") else None,
        sort_moved=dups + sims,
        duplicates_moved=dups,
        similar_moved=sims,
        duplicate_bytes=data.get("duplicate_bytes", 0),
        notes=tuple(str(n) for n in data.get("notes") or ()),
        skipped=tuple(FileNote(r["path"], r["reason"]) for r in data.get("skipped", ())),
        failed=tuple(FileNote(r["path"], r["reason"]) for r in data.get("failed", ())),
        groups=tuple(_group(g, failed, everywhere) for g in data.get("groups", ())),
    )
