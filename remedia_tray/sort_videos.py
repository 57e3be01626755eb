"""The video half of a sort: videos are told from pictures, read by the video engine's scan
(pipeline/video_scan.py) and grouped like pictures (kinds.library.group_library), so placed
groups grow, kept copies stay and undo works for them as for pictures. Where the keep rules
would keep a copy for its pixels, the video check (pipeline/video_check.py) makes sure they
hold more picture: an upscale loses to its original.

Live Photo videos never get here: they are companions of their picture (pipeline/mediasets).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .core.media import MediaFile
from .core.planning import GroupSpec
from .kinds.library import group_library
from .pipeline.discovery import iter_files
from .pipeline.mediasets import FoundSets, find_media_sets, with_companions
from .pipeline.placed import PlacedGroup, read_placed
from .pipeline.reference import (
    in_references,
    read_outside,
    with_reference_reasons,
)

if TYPE_CHECKING:
    from .pipeline.features import ScanResult
    from .sorter import _Run as Run
    from .sorter import _Stages as Stages


@dataclass(frozen=True)
class Videos:
    """The videos of one sort: their scan, their groups, the groups earlier sorts placed."""

    scan: ScanResult
    specs: tuple[GroupSpec, ...] = ()
    placed: tuple[PlacedGroup, ...] = ()


def split_groups(
    run: Run, placed: tuple[PlacedGroup, ...]
) -> tuple[tuple[PlacedGroup, ...], tuple[PlacedGroup, ...]]:
    """(groups of pictures, groups of videos) an earlier sort placed."""
    if not run.videos:
        return placed, ()
    from .pipeline.video_scan import split_placed

    return split_placed(placed)


def no_videos() -> Videos:
    from .pipeline.features import ScanResult

    return Videos(ScanResult((), (), {}, ()))


def split(run: Run, files: Sequence[MediaFile]) -> tuple[list[MediaFile], list[MediaFile]]:
    """(pictures, videos) among `files`; without a video engine every file is a picture to
    try (a video is then skipped as no picture)."""
    if not run.videos:
        return list(files), []
    from .pipeline.video_scan import split_videos

    return split_videos(files)


def videos_of(
    run: Run,
    clock: Stages,
    files: Sequence[MediaFile],
    placed: Sequence[PlacedGroup],
    sets: FoundSets,
    *,
    arrived: frozenset[Path] | None = None,
) -> Videos:
    """Read the videos (the cache makes seen ones free) and group them with the video
    groups earlier sorts placed. With `arrived`, only those are searched (a batch)."""
    from .pipeline.video_check import VideoCheck
    from .pipeline.video_scan import scan_videos

    if not run.videos or not (files or placed):
        return no_videos()
    engine = run.videos[0]
    scan = scan_videos(
        files, engine, cache=run.cache, workers=run.workers, progress=run.progress,
        previews=run.previews, time_limit=run.options.video_time_limit,
    )  # fmt: skip
    scan = with_companions(scan, sets)
    clock.lap("videos")
    settled = None if arrived is None else [f.path not in arrived for f in scan.files]
    refs = run.options.references  # their copies are kept, as the user's chosen ones are
    check = VideoCheck(
        scan, engine.name, time_limit=run.options.video_time_limit, strictness=engine.strictness
    )
    specs = group_library(
        scan, [engine], placed, full=run.options.full, settled=settled,
        preferred=run.decisions.preferred(scan.files) | in_references(scan.files, refs),
        rules=run.rules,
        check=check,
    )  # fmt: skip
    clock.lap("search")
    clock.move("search", "full-size check", check.seconds)
    return Videos(scan, tuple(with_reference_reasons(specs, refs)), tuple(placed))


def arrived_videos(run: Run, clock: Stages, arrived: Sequence[MediaFile]) -> Videos:
    """A batch's videos, grouped with the folder's: the library index holds pictures only,
    so the folder is walked for its videos (their signatures come from the cache), and so are
    the reference folders outside it, as a whole sort does."""
    if not arrived:
        return no_videos()
    walked = sorted(iter_files(run.root), key=lambda f: str(f.path))
    walked = run.decisions.without_kept(walked, [])
    placed = read_placed(run.root)
    outside = read_outside(run.root, run.options.references, [])
    files = [*walked, *(m for g in placed for m in g.members), *outside]
    exclude = run.options.exclude
    sets = find_media_sets(files)
    if exclude is not None:
        sets = sets.without(exclude)
    clock.lap("discovery")
    new = frozenset(f.path for f in arrived)
    found = videos_of(
        run, clock, split(run, sets.primaries)[1], split_groups(run, placed)[1], sets,
        arrived=new,
    )  # fmt: skip
    # A batch reports its own files: the folder's damaged videos were reported before.
    skipped = tuple(s for s in found.scan.skipped if s.path in new)
    return dataclasses.replace(found, scan=dataclasses.replace(found.scan, skipped=skipped))
