"""What a sort did, as a value, plus its JSON form saved beside the journal."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..atomicfile import write_atomic
from ..core.media import ImageInfo, MediaFile, Skipped
from ..core.planning import PlannedGroup
from ..layout import REPORTS_DIR


@dataclass(frozen=True)
class MemberDetail:
    """What the review page shows about one group member (as found by the scan)."""

    size: int
    mtime_ns: int
    width: int
    height: int
    format: str
    exif_fields: int


def member_details(
    groups: Sequence[PlannedGroup], files: Sequence[MediaFile], infos: Sequence[ImageInfo]
) -> dict[Path, MemberDetail]:
    """Details of every group member, keyed by its original path."""
    wanted = {p for g in groups for p in g.members}
    return {
        f.path: MemberDetail(f.size, f.mtime_ns, i.width, i.height, i.format, i.exif_fields)
        for f, i in zip(files, infos)
        if f.path in wanted
    }


#: "walk": the folder was read whole; "batch": only the photos that arrived were.
SortMode = Literal["walk", "batch"]


@dataclass(frozen=True)
class SortReport:
    folder: Path
    dry_run: bool
    strictness: int
    engines: dict[str, str]  # engine name -> model/threshold description
    files_seen: int
    images: int
    decoded: int
    from_cache: int
    groups: tuple[PlannedGroup, ...]
    skipped: tuple[Skipped, ...]
    failed: tuple[Skipped, ...]
    journal: Path | None
    seconds: float
    notes: tuple[str, ...] = ()
    report_path: Path | None = None
    details: Mapping[Path, MemberDetail] = field(default_factory=dict)
    finished: float = field(default_factory=time.time)  # wall clock, for people
    review_path: Path | None = None
    #: Seconds per stage ("discovery", "features", "search", "moves", ...), for benchmarks.
    stages: Mapping[str, float] = field(default_factory=dict)
    #: With "batch", the library index found the arrived photos' neighbours.
    mode: SortMode = "walk"

    @property
    def duplicate_groups(self) -> tuple[PlannedGroup, ...]:
        return tuple(g for g in self.groups if g.kind == "duplicates")

    @property
    def similar_groups(self) -> tuple[PlannedGroup, ...]:
        return tuple(g for g in self.groups if g.kind == "similar")

    @property
    def duplicates_moved(self) -> int:
        return sum(len(g.moves) for g in self.duplicate_groups)

    @property
    def similar_moved(self) -> int:
        return sum(len(g.moves) for g in self.similar_groups)

    @property
    def duplicate_bytes(self) -> int:
        """Space taken by the extra copies (what deleting them later would free)."""
        total = 0
        for g in self.duplicate_groups:
            for m in g.moves:
                for p in (m.dst, m.src):
                    try:
                        total += os.stat(p).st_size
                        break
                    except OSError:
                        continue
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "dry_run": self.dry_run,
            "strictness": self.strictness,
            "engines": self.engines,
            "files_seen": self.files_seen,
            "images": self.images,
            "decoded": self.decoded,
            "from_cache": self.from_cache,
            "seconds": round(self.seconds, 3),
            "mode": self.mode,
            "stages": {k: round(v, 4) for k, v in self.stages.items()},
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.finished)),
            "journal": str(self.journal) if self.journal else None,
            "duplicates_moved": self.duplicates_moved,
            "similar_moved": self.similar_moved,
            "duplicate_bytes": self.duplicate_bytes,
            "notes": list(self.notes),
            "review_page": str(self.review_path) if self.review_path else None,
            "groups": [
                {
                    "kind": g.kind,
                    "folder": str(g.folder),
                    "kept": str(g.keeper) if g.keeper else None,
                    "best": str(g.best),
                    "reason": g.reason,
                    # byte-identical | 64px | full-size (core.wording.verification_words)
                    "verified": g.verified,
                    "members": [str(p) for p in g.members],
                    "moves": [{"from": str(m.src), "to": str(m.dst)} for m in g.moves],
                    "details": [_detail_dict(self.details.get(p)) for p in g.members],
                }
                for g in self.groups
            ],
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
            "failed": [{"path": str(s.path), "reason": s.reason} for s in self.failed],
        }


def _detail_dict(d: MemberDetail | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "bytes": d.size,
        "mtime_ns": d.mtime_ns,
        "width": d.width,
        "height": d.height,
        "format": d.format,
        "exif_fields": d.exif_fields,
    }


def save_report(report: SortReport, data_dir: Path) -> Path:
    folder = data_dir / REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sort-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}.json"
    data = report.to_dict()
    try:
        text = json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A file name that is not valid UTF-8: \u escapes keep its exact bytes, and stay JSON.
        text = json.dumps(data, indent=1).encode("ascii")
    write_atomic(path, text, private=False)
    return path
