"""What a sort did, as a value, plus its JSON form saved beside the journal."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomicfile import write_atomic
from ..core.media import ImageInfo, MediaFile, Skipped
from ..core.planning import Companions, PlannedGroup
from ..layout import REPORTS_DIR
from .formats import MemberDetail, Report, ReportGroup, ReportMove, SortMode, json_bytes, sort_name

__all__ = ["MemberDetail", "SortMode", "SortReport", "member_details", "save_report"]


def member_details(
    groups: Sequence[PlannedGroup], files: Sequence[MediaFile], infos: Sequence[ImageInfo]
) -> dict[Path, MemberDetail]:
    """Details of every group member, keyed by its original path."""
    wanted = {p for g in groups for p in g.members}
    return {
        f.path: MemberDetail(
            f.size, f.mtime_ns, i.width, i.height, i.format, i.exif_fields, i.duration
        )
        for f, i in zip(files, infos)
        if f.path in wanted
    }


@dataclass(frozen=True)
class SortReport:
    folder: Path
    dry_run: bool
    strictness: int
    engines: dict[str, str]  # engine name -> model/threshold description
    files_seen: int
    #: Pictures and videos read (from the cache or decoded).
    images: int
    decoded: int
    from_cache: int
    groups: tuple[PlannedGroup, ...]
    skipped: tuple[Skipped, ...]
    failed: tuple[Skipped, ...]
    journal: Path | None
    seconds: float
    notes: tuple[str, ...] = ()
    references: tuple[Path, ...] = ()  # the sort's reference folders
    report_path: Path | None = None
    details: Mapping[Path, MemberDetail] = field(default_factory=dict)
    finished: float = field(default_factory=time.time)  # wall clock, for people
    review_path: Path | None = None
    #: Seconds per stage ("discovery", "features", "search", "moves", ...), for benchmarks.
    stages: Mapping[str, float] = field(default_factory=dict)
    #: With "batch", the library index found the arrived photos' neighbours.
    mode: SortMode = "walk"
    #: Of `images`, the videos.
    videos: int = 0

    @property
    def duplicate_groups(self) -> tuple[PlannedGroup, ...]:
        return tuple(g for g in self.groups if g.kind == "duplicates")

    @property
    def similar_groups(self) -> tuple[PlannedGroup, ...]:
        return tuple(g for g in self.groups if g.kind == "similar")

    @property
    def duplicates_moved(self) -> int:
        """Copies moved into duplicates/: a media set counts once, as its picture."""
        return sum(m.role is None for g in self.duplicate_groups for m in g.moves)

    @property
    def similar_moved(self) -> int:
        return sum(m.role is None for g in self.similar_groups for m in g.moves)

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
        """The saved report's JSON object (see formats.Report)."""
        return self.saved().to_dict()

    @staticmethod
    def _companions_now(
        group: PlannedGroup, where: Mapping[Path, Path]
    ) -> tuple[tuple[Path, Companions], ...]:
        """`group`'s sets with each companion where it is now (`where`: the moves made, across
        every group, since a kept copy's set may have moved on with its series)."""
        return tuple(
            (member, tuple((role, where.get(c, c)) for role, c in found))
            for member, found in group.companions
        )

    def saved(self) -> Report:
        """This report as it is saved: counts summed, times rounded."""
        # Built once: per group it made saving a sort of n groups quadratic.
        where = {m.src: m.dst for g in self.groups for m in g.moves}
        return Report(
            folder=self.folder,
            dry_run=self.dry_run,
            strictness=self.strictness,
            engines=self.engines,
            files_seen=self.files_seen,
            images=self.images,
            decoded=self.decoded,
            from_cache=self.from_cache,
            seconds=round(self.seconds, 3),
            mode=self.mode,
            stages={k: round(v, 4) for k, v in self.stages.items()},
            finished=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.finished)),
            journal=self.journal,
            duplicates_moved=self.duplicates_moved,
            similar_moved=self.similar_moved,
            duplicate_bytes=self.duplicate_bytes,
            notes=tuple(self.notes),
            review_page=self.review_path,
            references=tuple(self.references),
            groups=tuple(
                ReportGroup(
                    kind=g.kind,
                    folder=g.folder,
                    kept=g.keeper,
                    best=g.best,
                    reason=g.reason,
                    verified=g.verified,
                    members=tuple(g.members),
                    moves=tuple(ReportMove(m.src, m.dst) for m in g.moves),
                    details=tuple(self.details.get(p) for p in g.members),
                    companions=self._companions_now(g, where),
                    best_reason=g.reason,
                )
                for g in self.groups
            ),
            skipped=tuple(self.skipped),
            failed=tuple(self.failed),
        )


def save_report(report: SortReport, data_dir: Path) -> Path:
    folder = data_dir / REPORTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sort_name()}.json"
    write_atomic(path, json_bytes(report.to_dict(), indent=1), private=False)
    return path
