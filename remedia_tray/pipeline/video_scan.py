"""The scan of a folder's videos: each read once, in worker processes under a time limit,
its facts and signature kept in the feature cache (a rescan decodes nothing), byte-identical
copies found without decoding. The result is a `ScanResult`, like the pictures' scan.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._platform import resolve_workers
from ..core.media import MediaFile
from ..core.progress import ProgressFactory, null_progress
from ..core.videos import HEAD_BYTES, is_video
from .features import Rows, ScanResult, Twin, pack, representatives
from .identical import identical_sets
from .previews import share_preview
from .video_pool import DEFAULT_TIME_LIMIT, read_videos
from .video_read import info_blob, read_info

if TYPE_CHECKING:
    from ..engines.base import SimilarityEngine
    from .cache import FeatureCache
    from .placed import PlacedGroup

#: The cache key of a video's facts (its signature is under the engine's own key).
INFO_KEY = "video-info:v1"


def scan_videos(
    files: Sequence[MediaFile],
    engine: SimilarityEngine,
    *,
    cache: FeatureCache | None = None,
    workers: int = 1,
    progress: ProgressFactory = null_progress,
    previews: Path | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> ScanResult:
    """Read each video at most once (one of each byte-identical set) and return the facts
    and signatures of those that could be read; the others are skipped with the reason.

    `previews`: a folder where each video read leaves its review-page preview (a poster).
    `time_limit`: seconds a video may take; a slower one is stopped and skipped.
    """
    if engine.reads != "videos":
        raise ValueError(f"the {engine.name} engine reads {engine.reads}, not videos")
    files = list(files)
    identical = identical_sets(files)
    representative = representatives(len(files), identical)
    rows = _cached_rows(files, engine, cache)
    todo = rows.to_decode(representative, [engine])
    from_cache = sum(1 for pos, rep in enumerate(representative) if rep == pos) - len(todo)
    bar = progress("Reading videos", len(todo))
    try:
        reading = read_videos(
            [files[pos].path for pos in todo],
            workers=resolve_workers(workers),
            time_limit=time_limit,
            previews=previews,
        )
        for k, outcome in reading:
            pos = todo[k]
            if outcome.info is None or outcome.signature is None:
                _skip(rows, pos, outcome.reason or "unreadable", files, cache)
            else:
                rows.infos[pos] = outcome.info
                rows.feats[engine.name][pos] = outcome.signature
                if cache is not None:
                    cache.put(files[pos], INFO_KEY, info_blob(outcome.info))
                    cache.put(files[pos], engine.cache_key, outcome.signature.tobytes())
            bar.update(1)
    finally:
        bar.close()
        if cache is not None:
            cache.flush()
    if previews is not None:
        for group in identical:  # a byte-identical copy shows the poster of the one read
            for pos in group[1:]:
                share_preview(files[group[0]].path, files[pos].path, previews)
    twins = rows.share_with_twins(representative, [engine])
    if cache is not None:
        _cache_twins(cache, files, rows, twins, engine)
        cache.flush()
    return pack(files, rows, identical, [engine], decoded=len(todo), from_cache=from_cache)


def _cached_rows(
    files: list[MediaFile], engine: SimilarityEngine, cache: FeatureCache | None
) -> Rows:
    rows = Rows.empty(len(files), [engine])
    if cache is None:
        return rows
    for pos, blob in cache.get_many(files, INFO_KEY).items():
        rows.infos[pos], rows.reasons[pos] = read_info(blob)
    for pos, blob in cache.get_many(files, engine.cache_key).items():
        vec = np.frombuffer(blob, dtype=np.dtype(engine.feature_dtype))
        if len(vec) == engine.feature_dim:
            rows.feats[engine.name][pos] = vec.copy()
    return rows


#: Reasons that may not hold next time (a file still being copied, a busy disk, a slow
#: moment): not remembered, so the next sort tries again.
_TRANSIENT = ("cannot", "permission", "not enough memory", "took longer than", "the video decoder")


def _skip(
    rows: Rows, pos: int, reason: str, files: list[MediaFile], cache: FeatureCache | None
) -> None:
    rows.reasons[pos] = reason
    if cache is not None and not reason.startswith(_TRANSIENT):
        cache.put(files[pos], INFO_KEY, json.dumps({"skip": reason}).encode())


def _cache_twins(
    cache: FeatureCache,
    files: list[MediaFile],
    rows: Rows,
    twins: Sequence[Twin],
    engine: SimilarityEngine,
) -> None:
    """Each byte-identical copy is cached under its own identity too."""
    for twin in twins:
        info, vec = rows.infos[twin.pos], rows.feats[engine.name][twin.pos]
        if info is None or vec is None:
            continue
        if twin.info_missing:
            cache.put(files[twin.pos], INFO_KEY, info_blob(info))
        if twin.uncached:
            cache.put(files[twin.pos], engine.cache_key, vec.tobytes())


def read_head(path: Path) -> bytes:
    """The first bytes of `path` that tell a video (core/videos.py); none when it cannot be
    read (the picture scan says why it is skipped)."""
    try:
        with open(path, "rb") as f:
            return f.read(HEAD_BYTES)
    except OSError:
        return b""


def split_videos(files: Sequence[MediaFile]) -> tuple[list[MediaFile], list[MediaFile]]:
    """(pictures and everything else, videos), each in the order given."""
    pictures: list[MediaFile] = []
    videos: list[MediaFile] = []
    for f in files:
        (videos if is_video(f.path, head=read_head) else pictures).append(f)
    return pictures, videos


def split_placed(
    placed: Sequence[PlacedGroup],
) -> tuple[tuple[PlacedGroup, ...], tuple[PlacedGroup, ...]]:
    """The groups earlier sorts placed, as (groups of pictures, groups of videos): each kind
    of media is grouped on its own, so each group is of one kind (a folder holding both is
    split)."""
    pictures: list[PlacedGroup] = []
    videos: list[PlacedGroup] = []
    for g in placed:
        stills, moving = split_videos(g.members)
        if stills or not moving:
            pictures.append(dataclasses.replace(g, members=tuple(stills)))
        if moving:
            videos.append(dataclasses.replace(g, members=tuple(moving)))
    return tuple(pictures), tuple(videos)
