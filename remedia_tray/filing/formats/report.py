"""The saved report of a sort (FOLDER/.remedia/reports/sort-<stamp>.json), typed.

`Report.to_dict` is the one writer and `Report.from_dict` the one reader of that file; the
field names on disk are those every report since the first was written with.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from ...core.media import Skipped
from ...core.mediasets import RULES, Role
from ...core.planning import Companions, SortKind
from ...core.strictness import DEFAULT_LEVEL, LEVELS
from ...layout import reports_dir
from .jsonfile import read_json

#: "walk": the folder was read whole; "batch": only the photos that arrived were.
SortMode = Literal["walk", "batch"]


@dataclass(frozen=True)
class MemberDetail:
    """What the review page shows about one group member (as found by the scan)."""

    size: int  # "bytes" on disk
    mtime_ns: int
    width: int
    height: int
    format: str
    exif_fields: int
    duration: float | None = None  # seconds, for a video

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "bytes": self.size,
            "mtime_ns": self.mtime_ns,
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "exif_fields": self.exif_fields,
        }
        if self.duration is not None:
            d["duration"] = self.duration
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MemberDetail:
        return cls(
            int(d.get("bytes", 0)),
            int(d.get("mtime_ns", 0)),
            int(d.get("width", 0)),
            int(d.get("height", 0)),
            str(d.get("format", "")),
            int(d.get("exif_fields", 0)),
            None if d.get("duration") is None else float(d["duration"]),
        )


@dataclass(frozen=True)
class ReportMove:
    """A member's move: {"from": ..., "to": ...}."""

    src: Path
    dst: Path

    def to_dict(self) -> dict[str, Any]:
        return {"from": str(self.src), "to": str(self.dst)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReportMove:
        return cls(Path(d["from"]), Path(d["to"]))


@dataclass(frozen=True)
class ReportGroup:
    kind: SortKind
    folder: Path
    kept: Path | None
    best: Path
    reason: str
    #: byte-identical | 64px | full-size (core.wording.verification_words); None: similar
    verified: str | None
    members: tuple[Path, ...]  # where each member was when the sort read it
    moves: tuple[ReportMove, ...]
    details: tuple[MemberDetail | None, ...] = ()  # one per member (None: not known)
    #: (member as in `members`, its companions where they are now) of each member that has
    #: some; written only when there are any, so reports without media sets stay as they were.
    companions: tuple[tuple[Path, Companions], ...] = ()
    #: Why `best` is the best (a series' best shot: "sharpest ..."; duplicates: the kept
    #: copy's reason); None in reports older than issue 25, which lack it.
    best_reason: str | None = None

    def companions_of(self, member: Path) -> Companions:
        return next((c for m, c in self.companions if m == member), ())

    @property
    def key(self) -> str:
        """The group's name in the page markup and in requests: "duplicates/NAME"."""
        return f"{self.kind}/{os.path.basename(str(self.folder))}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "folder": str(self.folder),
            "kept": str(self.kept) if self.kept else None,
            "best": str(self.best),
            "reason": self.reason,
            **({} if self.best_reason is None else {"best_reason": self.best_reason}),
            "verified": self.verified,
            "members": [str(p) for p in self.members],
            "moves": [m.to_dict() for m in self.moves],
            "details": [d.to_dict() if d is not None else None for d in self.details],
        }
        if self.companions:
            data["companions"] = {
                str(member): [{"role": role, "path": str(path)} for role, path in found]
                for member, found in self.companions
            }
        return data

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReportGroup:
        kind = d["kind"]
        if kind not in ("duplicates", "similar"):
            raise ValueError(f"Unknown group kind {kind!r}")
        return cls(
            kind=kind,
            folder=Path(d["folder"]),
            kept=_path_or_none(d.get("kept")),
            best=Path(d["best"]),
            reason=str(d.get("reason") or ""),
            verified=_str_or_none(d.get("verified")),
            members=tuple(Path(p) for p in d["members"]),
            moves=tuple(ReportMove.from_dict(m) for m in d.get("moves", ())),
            details=tuple(
                MemberDetail.from_dict(x) if isinstance(x, Mapping) else None
                for x in d.get("details", ())
            ),
            companions=_companions(d.get("companions")),
            best_reason=_str_or_none(d.get("best_reason")),
        )


_ROLES: dict[str, Role] = {r.role: r.role for r in RULES}


def _companions(raw: object) -> tuple[tuple[Path, Companions], ...]:
    """The "companions" of a report group; a role this version does not know is left out."""
    if not isinstance(raw, Mapping):
        return ()
    found = []
    for member, entries in raw.items():
        listed = tuple(
            (_ROLES[c["role"]], Path(c["path"]))
            for c in (entries if isinstance(entries, list) else ())
            if isinstance(c, Mapping) and c.get("role") in _ROLES and isinstance(c.get("path"), str)
        )
        if listed:
            found.append((Path(member), listed))
    return tuple(found)


@dataclass(frozen=True)
class Report:
    """A saved report as it is on disk: counts already summed, times already rounded."""

    folder: Path
    dry_run: bool
    strictness: int
    engines: Mapping[str, str]  # engine name -> model/threshold description
    files_seen: int
    images: int
    decoded: int
    from_cache: int
    seconds: float
    mode: SortMode
    stages: Mapping[str, float]  # seconds per stage
    finished: str  # local time, "%Y-%m-%dT%H:%M:%S%z"
    journal: Path | None
    duplicates_moved: int
    similar_moved: int
    duplicate_bytes: int
    notes: tuple[str, ...]
    review_page: Path | None
    groups: tuple[ReportGroup, ...]
    skipped: tuple[Skipped, ...]
    failed: tuple[Skipped, ...]
    #: The reference folders of the sort: nothing under them moves, review actions included.
    references: tuple[Path, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = self._fields()
        if self.references:  # written only when set: older reports round-trip unchanged
            d["references"] = [str(r) for r in self.references]
        return d

    def _fields(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "dry_run": self.dry_run,
            "strictness": self.strictness,
            "engines": self.engines,
            "files_seen": self.files_seen,
            "images": self.images,
            "decoded": self.decoded,
            "from_cache": self.from_cache,
            "seconds": self.seconds,
            "mode": self.mode,
            "stages": dict(self.stages),
            "finished": self.finished,
            "journal": str(self.journal) if self.journal else None,
            "duplicates_moved": self.duplicates_moved,
            "similar_moved": self.similar_moved,
            "duplicate_bytes": self.duplicate_bytes,
            "notes": list(self.notes),
            "review_page": str(self.review_page) if self.review_page else None,
            "groups": [g.to_dict() for g in self.groups],
            "skipped": [_skip_dict(s) for s in self.skipped],
            "failed": [_skip_dict(s) for s in self.failed],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Report:
        """The report in `d`; ValueError (KeyError, TypeError) when it is not one.

        Fields a report of an older version lacks take their neutral value.
        """
        if not isinstance(d, Mapping):
            raise ValueError("a report is a JSON object")
        mode = d.get("mode", "walk")
        return cls(
            folder=Path(d["folder"]),
            dry_run=bool(d.get("dry_run", False)),
            strictness=int(d.get("strictness", LEVELS[DEFAULT_LEVEL])),
            engines=dict(d.get("engines") or {}),
            files_seen=d.get("files_seen", 0),
            images=d.get("images", 0),
            decoded=d.get("decoded", 0),
            from_cache=d.get("from_cache", 0),
            seconds=d.get("seconds", 0.0),
            mode="batch" if mode == "batch" else "walk",
            stages=dict(d.get("stages", {})),
            finished=str(d.get("finished") or ""),
            journal=_path_or_none(d.get("journal")),
            duplicates_moved=d.get("duplicates_moved", 0),
            similar_moved=d.get("similar_moved", 0),
            duplicate_bytes=d.get("duplicate_bytes", 0),
            notes=tuple(str(n) for n in d.get("notes") or ()),
            review_page=_path_or_none(d.get("review_page")),
            groups=tuple(ReportGroup.from_dict(g) for g in d.get("groups", ())),
            skipped=tuple(_skip(s) for s in d.get("skipped", ())),
            failed=tuple(_skip(s) for s in d.get("failed", ())),
            references=tuple(Path(r) for r in d.get("references") or ()),
        )

    @property
    def in_effect(self) -> bool:
        """The sort still stands: its journal is there (or it moved nothing and kept none).

        `remedia undo` renames the journal *.undone.jsonl once it has put everything back.
        """
        return self.journal is None or os.path.exists(self.journal)


def _path_or_none(value: object) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _skip_dict(s: Skipped) -> dict[str, Any]:
    return {"path": str(s.path), "reason": s.reason}


def _skip(d: Mapping[str, Any]) -> Skipped:
    return Skipped(Path(d["path"]), str(d["reason"]))


class SavedReport(NamedTuple):
    path: Path
    report: Report


def saved_reports(root: Path) -> Iterator[Path]:
    """The saved reports of `root`, newest first (by name: sort-<stamp>.json)."""
    folder = reports_dir(root)
    try:
        names = sorted((n for n in os.listdir(folder) if n.startswith("sort-")), reverse=True)
    except OSError:
        return
    yield from (folder / n for n in names if n.endswith(".json"))


def latest_report(root: Path, *, undone_too: bool = False) -> SavedReport | None:
    """The newest readable report of `root`; None when there is none.

    A damaged report is passed over (an older one may still be good), and so is the report
    of a sort that was undone (its journal is gone), unless `undone_too`.
    """
    for path in saved_reports(root):
        try:
            report = Report.from_dict(read_json(path))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not undone_too and not report.in_effect:
            continue  # undone: the sort before it is what the folder shows
        return SavedReport(path, report)
    return None
