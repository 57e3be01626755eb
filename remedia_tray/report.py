"""What a sort did, as a value, plus its JSON form saved beside the journal."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .media import Skipped
from .planning import PlannedGroup

REPORTS_DIR = "reports"


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
            "journal": str(self.journal) if self.journal else None,
            "duplicates_moved": self.duplicates_moved,
            "similar_moved": self.similar_moved,
            "duplicate_bytes": self.duplicate_bytes,
            "notes": list(self.notes),
            "groups": [
                {
                    "kind": g.kind,
                    "folder": str(g.folder),
                    "kept": str(g.keeper) if g.keeper else None,
                    "best": str(g.best),
                    "reason": g.reason,
                    "members": [str(p) for p in g.members],
                    "moves": [{"from": str(m.src), "to": str(m.dst)} for m in g.moves],
                }
                for g in self.groups
            ],
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
            "failed": [{"path": str(s.path), "reason": s.reason} for s in self.failed],
        }


def save_report(report: SortReport, data_dir: Path) -> Path:
    folder = data_dir / REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sort-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}.json"
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(report.to_dict(), fh, indent=1, ensure_ascii=False)
    os.replace(tmp, path)
    return path
