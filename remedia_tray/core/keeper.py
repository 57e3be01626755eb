"""Which copy of a duplicate group stays in place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .media import ImageInfo, MediaFile


@dataclass(frozen=True)
class KeeperChoice:
    index: int  # position within the group's members
    reason: str


def _rank(f: MediaFile, info: ImageInfo) -> tuple[int, int, int, int, int, str]:
    # Most pixels, then larger file, more EXIF, older, shorter path; the path string breaks ties.
    return (-info.pixels, -f.size, -info.exif_fields, f.mtime_ns, len(str(f.path)), str(f.path))


_REASONS = (
    "most pixels",
    "largest file",
    "most metadata",
    "oldest",
    "shortest path",
    "first by name",
)


def choose_keeper(files: Sequence[MediaFile], infos: Sequence[ImageInfo]) -> KeeperChoice:
    """The best copy and the first criterion that set it apart from the runner-up."""
    if not files:
        raise ValueError("empty group")
    ranks = [_rank(f, info) for f, info in zip(files, infos)]
    order = sorted(range(len(files)), key=lambda k: ranks[k])
    best = order[0]
    if len(order) == 1:
        return KeeperChoice(best, "only copy")
    runner = ranks[order[1]]
    for pos, reason in enumerate(_REASONS):
        if ranks[best][pos] != runner[pos]:
            info = infos[best]
            if pos == 0:
                reason = f"most pixels ({info.width}x{info.height})"
            elif pos == 2:
                reason = f"most metadata ({info.exif_fields} EXIF fields)"
            if pos > 0:
                reason += ", same resolution"
            return KeeperChoice(best, reason)
    return KeeperChoice(best, "identical copies; first by name")
