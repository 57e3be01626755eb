"""Which copy of a duplicate group stays in place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .media import ImageInfo, MediaFile


@dataclass(frozen=True)
class KeeperChoice:
    index: int  # position within the group's members
    reason: str


#: What cameras and phones write; PNG, WebP, GIF and BMP copies are re-saves or screenshots.
CAMERA_FORMATS = frozenset({"JPEG", "MPO", "HEIF", "AVIF", "TIFF"})

Rank = tuple[int, bool, bool, int, int, int, int, str]


def _rank(f: MediaFile, info: ImageInfo) -> Rank:
    # Most pixels, then closest to the camera original (its EXIF, its format, more metadata),
    # then larger file, older, shorter path; the path string breaks ties. A lossless re-save
    # adds bytes but no information, so size comes only after the signs of an original.
    return (
        -info.pixels,
        not info.camera,
        info.format not in CAMERA_FORMATS,
        -info.exif_fields,
        -f.size,
        f.mtime_ns,
        len(str(f.path)),
        str(f.path),
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
    runner = order[1]
    for pos in range(len(ranks[best])):
        if ranks[best][pos] != ranks[runner][pos]:
            reason = _reason(pos, infos[best], infos[runner])
            return KeeperChoice(best, reason if pos == 0 else f"{reason}, same resolution")
    return KeeperChoice(best, "identical copies; first by name")


def _reason(pos: int, best: ImageInfo, runner: ImageInfo) -> str:
    if pos == 0:
        return f"most pixels ({best.width}x{best.height})"
    if pos == 1:
        return f"camera original (EXIF: {best.camera})"
    if pos == 2:
        return f"original format ({best.format}; the other copy is {runner.format})"
    if pos == 3:
        return f"most metadata ({best.exif_fields} EXIF fields)"
    return ("largest file", "oldest", "shortest path", "first by name")[pos - 4]
