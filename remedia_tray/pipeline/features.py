"""Feature extraction: one reduced decode per file feeds every engine; cached and parallel."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Generator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._platform import resolve_workers
from .._platform import usable_cores as usable_cores
from ..core.media import ImageInfo, MediaFile, Skipped
from ..core.mediasets import Role
from ..core.progress import ProgressFactory, null_progress
from ..errors import UnreadableImage
from .identical import identical_sets
from .imaging import load_image
from .previews import preview_from_scan, share_preview

if TYPE_CHECKING:
    from ..engines.base import FeatureSet, SimilarityEngine
    from .cache import FeatureCache

log = logging.getLogger(__name__)

# v3: damaged files (strict decoding, PNG checksums) are skipped, where v2 read some of them.
_INFO_KEY = "info:v3"
# Files below this count are decoded in-process: starting workers costs more than it saves.
_PARALLEL_MIN = 48
_BATCH = 32
# Files per worker task (amortises inter-process overhead) and tasks queued per worker
# (keeps every core busy while results are taken in order, with bounded memory).
_TASK_FILES = 4
_TASKS_AHEAD = 4


@dataclass(frozen=True)
class ScanResult:
    files: tuple[MediaFile, ...]
    infos: tuple[ImageInfo, ...]
    features: dict[str, np.ndarray]
    skipped: tuple[Skipped, ...]
    #: Sets of positions (into `files`) whose bytes are identical.
    identical: tuple[tuple[int, ...], ...] = ()
    decoded: int = 0
    from_cache: int = 0
    models: dict[str, str] = field(default_factory=dict)
    #: Each read picture's companions (pipeline/mediasets.py): carried with it, never read,
    #: never skipped.
    companions: Mapping[Path, tuple[tuple[Role, MediaFile], ...]] = field(default_factory=dict)
    #: A batch's companions of a picture already in their folder: its path -> them.
    joining: Mapping[Path, tuple[tuple[Role, MediaFile], ...]] = field(default_factory=dict)


def media_from_paths(items: Sequence[Path | MediaFile]) -> tuple[list[MediaFile], list[Skipped]]:
    files: list[MediaFile] = []
    skipped: list[Skipped] = []
    for item in items:
        if isinstance(item, MediaFile):
            files.append(item)
            continue
        try:
            st = os.stat(item, follow_symlinks=False)
        except OSError as exc:
            skipped.append(Skipped(Path(item), f"cannot stat: {exc.strerror or exc}"))
            continue
        files.append(MediaFile.from_stat(Path(item), st))
    return files, skipped


def feature_set(
    media_list: Sequence[Path | MediaFile], engine: SimilarityEngine, *, workers: int = 1
) -> FeatureSet:
    """One engine's features for files or paths: what `SimilarityEngine.compute_features` runs."""
    from ..engines.base import FeatureSet

    files, skipped = media_from_paths(media_list)
    result = extract_features(files, [engine], workers=workers)
    return FeatureSet(result.files, result.features[engine.name], tuple(skipped) + result.skipped)


def _init_worker() -> None:
    import signal

    # Ctrl-C is the main process's to handle: it stops handing out work and saves the cache.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _decode_one(
    path: Path, engines: Sequence[SimilarityEngine], previews: Path | None = None
) -> tuple[ImageInfo | None, str | None, list[np.ndarray]]:
    side = max(e.decode_side for e in engines) if engines else 64
    try:
        loaded = load_image(path, min_side=side)
        prepared = [e.prepare(loaded.image) for e in engines]
    except UnreadableImage as exc:
        return None, str(exc), []
    except Exception as exc:  # one odd file never ends the run
        log.warning("unexpected error on %s", path, exc_info=True)
        return None, f"could not process ({type(exc).__name__}: {exc})", []
    if previews is not None:
        try:
            preview_from_scan(loaded.image, path, previews)
        except Exception as exc:  # a preview is a courtesy; the review page makes it later
            log.info("no preview of %s from the scan: %s", path, exc)
    return loaded.info, None, prepared


def _worker_job(
    paths: list[Path], engines: list[SimilarityEngine], previews: Path | None = None
) -> list[tuple[ImageInfo | None, str | None, list[np.ndarray]]]:
    return [_decode_one(path, engines, previews) for path in paths]


# Worker processes start once per process and are reused by later scans (the tray sorts batch
# after batch): each start costs an interpreter and the imports.
_pool: tuple[int, ProcessPoolExecutor] | None = None


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """The reusable decoding processes (one pool per process; started on first use)."""
    import atexit
    import multiprocessing

    global _pool
    if _pool is not None and _pool[0] == workers:
        return _pool[1]
    shutdown_workers()
    # spawn: forking a process that runs threads (the tray) can deadlock.
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)
    # Once per process, however many pools the tray makes over a day.
    atexit.unregister(shutdown_workers)
    atexit.register(shutdown_workers)
    _pool = (workers, pool)
    return pool


def shutdown_workers() -> None:
    """Stop the reusable worker processes (they also stop when the process exits)."""
    global _pool
    if _pool is not None:
        _pool[1].shutdown(wait=True, cancel_futures=True)
        _pool = None


def _is_transient(reason: str) -> bool:
    return reason.startswith(("cannot", "permission", "not enough memory"))


def extract_features(
    files: Sequence[MediaFile],
    engines: Sequence[SimilarityEngine],
    *,
    cache: FeatureCache | None = None,
    workers: int = 1,
    progress: ProgressFactory = null_progress,
    previews: Path | None = None,
) -> ScanResult:
    """Decode each file at most once and compute every engine's features for it.

    `previews`: a folder where each decoded photo also leaves its review-page preview.

    `workers` <= 0 uses every usable core. The progress bar counts files as their results
    arrive (in order); an interruption (Ctrl-C) keeps everything finished so far in the cache.

    The steps: look up the cache, decode what it lacks (one file of each byte-identical set),
    share those results with the identical twins, and pack what was read.
    """
    _check_reads(engines)
    files = list(files)
    identical = identical_sets(files)
    representative = representatives(len(files), identical)
    rows = _cached_rows(files, engines, cache)
    todo = rows.to_decode(representative, engines)
    from_cache = sum(1 for pos, rep in enumerate(representative) if rep == pos) - len(todo)
    _decode_into(
        rows,
        todo,
        files,
        engines,
        cache=cache,
        workers=resolve_workers(workers),
        progress=progress,
        previews=previews,
    )
    if previews is not None:
        # A byte-identical file is decoded once: its twins share that decode's preview.
        for group in identical:
            for pos in group[1:]:
                share_preview(files[group[0]].path, files[pos].path, previews)
    twins = rows.share_with_twins(representative, engines)
    if cache is not None:
        _cache_twins(cache, files, rows, twins)
        cache.flush()
    return pack(files, rows, identical, engines, decoded=len(todo), from_cache=from_cache)


def _check_reads(engines: Sequence[SimilarityEngine]) -> None:
    """This pipeline decodes pictures: refuse an engine that reads other media."""
    for engine in engines:
        if engine.reads != "pictures":
            raise ValueError(f"the {engine.name} engine reads {engine.reads}, not pictures")


def representatives(n: int, identical: Sequence[Sequence[int]]) -> list[int]:
    """For each position, the one whose decode it shares: the first of its byte-identical set."""
    representative = list(range(n))
    for group in identical:
        for pos in group[1:]:
            representative[pos] = group[0]
    return representative


@dataclass
class Rows:
    """What is known of each file so far: its image info, why it was skipped, each engine's
    features. Filled from the cache, then by decoding, then shared with identical twins."""

    infos: list[ImageInfo | None]
    reasons: list[str | None]
    feats: dict[str, list[np.ndarray | None]]

    @classmethod
    def empty(cls, n: int, engines: Sequence[SimilarityEngine]) -> Rows:
        return cls([None] * n, [None] * n, {e.name: [None] * n for e in engines})

    def to_decode(
        self, representative: Sequence[int], engines: Sequence[SimilarityEngine]
    ) -> list[int]:
        """Positions to decode: each set's representative that is neither skipped nor complete."""
        return [
            pos
            for pos, rep in enumerate(representative)
            if rep == pos
            and self.reasons[pos] is None
            and (self.infos[pos] is None or any(self.feats[e.name][pos] is None for e in engines))
        ]

    def share_with_twins(
        self, representative: Sequence[int], engines: Sequence[SimilarityEngine]
    ) -> list[Twin]:
        """Copies with identical bytes take their representative's result; returns, per copy,
        what it lacked before (to be cached under its own identity)."""
        twins = []
        for pos, rep in enumerate(representative):
            if rep == pos:
                continue
            uncached = tuple(e for e in engines if self.feats[e.name][pos] is None)
            info_missing = self.infos[pos] is None and self.reasons[pos] is None
            self.infos[pos], self.reasons[pos] = self.infos[rep], self.reasons[rep]
            for e in engines:
                self.feats[e.name][pos] = self.feats[e.name][rep]
            twins.append(Twin(pos, info_missing, uncached))
        return twins


@dataclass(frozen=True)
class Twin:
    """A byte-identical copy that took its representative's result, and what it lacked."""

    pos: int
    #: Its image info was not in the cache.
    info_missing: bool
    #: The engines whose features were not in the cache.
    uncached: tuple[SimilarityEngine, ...]


def read_info_blob(blob: bytes) -> tuple[ImageInfo | None, str | None]:
    """(image info, None) or (None, why the file was skipped), as the cache holds them."""
    data = json.loads(blob)
    if "skip" in data:
        return None, data["skip"]
    return ImageInfo(data["w"], data["h"], data["f"], data["e"], data["c"]), None


def _cached_rows(
    files: Sequence[MediaFile], engines: Sequence[SimilarityEngine], cache: FeatureCache | None
) -> Rows:
    """Step 1: what the cache already knows of each file."""
    rows = Rows.empty(len(files), engines)
    if cache is None:
        return rows
    for pos, blob in cache.get_many(files, _INFO_KEY).items():
        rows.infos[pos], rows.reasons[pos] = read_info_blob(blob)
    for e in engines:
        for pos, blob in cache.get_many(files, e.cache_key).items():
            rows.feats[e.name][pos] = np.frombuffer(blob, dtype=_dtype_of(e)).copy()
    return rows


class _Storing:
    """Puts each engine's features into the rows and the cache; batches a model's inputs."""

    def __init__(self, rows: Rows, files: Sequence[MediaFile], cache: FeatureCache | None) -> None:
        self.rows, self.files, self.cache = rows, files, cache
        self.pending: dict[str, list[tuple[int, np.ndarray]]] = {}

    def add(self, pos: int, engine: SimilarityEngine, prepared: np.ndarray) -> None:
        if not engine.batched:
            self._store(pos, engine, prepared)
            return
        self.pending.setdefault(engine.name, []).append((pos, prepared))
        self.flush(engine)

    def flush(self, engine: SimilarityEngine, *, final: bool = False) -> None:
        queue = self.pending.get(engine.name, [])
        while queue and (final or len(queue) >= _BATCH):
            batch, queue[:] = queue[:_BATCH], queue[_BATCH:]
            out = engine.finalize(np.stack([arr for _, arr in batch]))
            for (pos, _), vec in zip(batch, out):
                self._store(pos, engine, vec)

    def _store(self, pos: int, engine: SimilarityEngine, vec: np.ndarray) -> None:
        self.rows.feats[engine.name][pos] = vec
        if self.cache is not None:
            self.cache.put(self.files[pos], engine.cache_key, _feature_blob(vec))


def _decode_into(
    rows: Rows,
    todo: list[int],
    files: list[MediaFile],
    engines: Sequence[SimilarityEngine],
    *,
    cache: FeatureCache | None,
    workers: int,
    progress: ProgressFactory,
    previews: Path | None,
) -> None:
    """Step 2: decode the `todo` files (in worker processes when many) into `rows`."""
    bar = progress("Reading photos", len(todo))
    storing = _Storing(rows, files, cache)
    results = _run(todo, files, engines, workers, previews)
    try:
        for pos, (info, reason, prepared) in zip(todo, results):
            if info is None:
                _skip(rows, pos, reason or "unreadable", files, cache)
            else:
                rows.infos[pos] = info
                if cache is not None:
                    cache.put(files[pos], _INFO_KEY, _info_blob(info))
                for engine, arr in zip(engines, prepared):
                    storing.add(pos, engine, arr)
            bar.update(1)
        for engine in engines:
            if engine.batched:
                storing.flush(engine, final=True)
    finally:
        results.close()  # stops the workers now, also on Ctrl-C
        bar.close()
        if cache is not None:
            cache.flush()


def _skip(
    rows: Rows, pos: int, reason: str, files: list[MediaFile], cache: FeatureCache | None
) -> None:
    rows.reasons[pos] = reason
    # A file that could not be opened now may open later: only lasting reasons are cached.
    if cache is not None and not _is_transient(reason):
        cache.put(files[pos], _INFO_KEY, json.dumps({"skip": reason}).encode())


def _cache_twins(
    cache: FeatureCache, files: list[MediaFile], rows: Rows, twins: Sequence[Twin]
) -> None:
    """Step 3, its side effect: cache each copy under its own identity too, so the next run
    decodes neither."""
    for twin in twins:
        info = rows.infos[twin.pos]
        if info is None:
            continue
        if twin.info_missing:
            cache.put(files[twin.pos], _INFO_KEY, _info_blob(info))
        for e in twin.uncached:
            vec = rows.feats[e.name][twin.pos]
            if vec is not None:
                cache.put(files[twin.pos], e.cache_key, _feature_blob(vec))


def pack(
    files: Sequence[MediaFile],
    rows: Rows,
    identical: Sequence[Sequence[int]],
    engines: Sequence[SimilarityEngine],
    *,
    decoded: int,
    from_cache: int,
) -> ScanResult:
    """Step 4: the readable files, their infos and stacked features; the others as skipped."""
    n = len(files)
    keep = [pos for pos in range(n) if rows.infos[pos] is not None and rows.reasons[pos] is None]
    kept = set(keep)
    skipped = tuple(
        Skipped(files[pos].path, rows.reasons[pos] or "unreadable")
        for pos in range(n)
        if pos not in kept
    )
    return ScanResult(
        files=tuple(files[pos] for pos in keep),
        infos=tuple(info for info in (rows.infos[pos] for pos in keep) if info is not None),
        features={e.name: _stacked(e, rows.feats[e.name], keep) for e in engines},
        skipped=skipped,
        identical=renumbered(identical, keep),
        decoded=decoded,
        from_cache=from_cache,
        models={e.name: e.description for e in engines},
    )


def renumbered(
    identical: Sequence[Sequence[int]], keep: Sequence[int]
) -> tuple[tuple[int, ...], ...]:
    """Identical sets in the positions of the kept files; sets left with one file dropped."""
    new_index = {old: new for new, old in enumerate(keep)}
    return tuple(
        tuple(new_index[p] for p in group if p in new_index)
        for group in identical
        if sum(p in new_index for p in group) > 1
    )


def _stacked(
    engine: SimilarityEngine, feats: Sequence[np.ndarray | None], keep: Sequence[int]
) -> np.ndarray:
    rows = [v for v in (feats[pos] for pos in keep) if v is not None]
    if not rows:
        return np.zeros((0, _width_of(engine)), dtype=_dtype_of(engine))
    return np.stack(rows)


def _info_blob(info: ImageInfo) -> bytes:
    meta = {
        "w": info.width,
        "h": info.height,
        "f": info.format,
        "e": info.exif_fields,
        "c": info.camera,
    }
    return json.dumps(meta).encode()


def _feature_blob(vec: np.ndarray) -> bytes:
    return np.ascontiguousarray(vec).tobytes()


def _dtype_of(engine: SimilarityEngine) -> np.dtype:
    return np.dtype(engine.feature_dtype)


def _width_of(engine: SimilarityEngine) -> int:
    return engine.feature_dim


def _run(
    todo: list[int],
    files: list[MediaFile],
    engines: Sequence[SimilarityEngine],
    workers: int,
    previews: Path | None = None,
) -> Generator[tuple[ImageInfo | None, str | None, list[np.ndarray]], None, None]:
    paths = [files[pos].path for pos in todo]
    if workers <= 1 or len(paths) < _PARALLEL_MIN:
        for path in paths:
            yield _decode_one(path, engines, previews)
        return
    from collections import deque
    from concurrent.futures import Future

    pool = worker_pool(workers)
    engine_list = list(engines)
    tasks = (paths[s : s + _TASK_FILES] for s in range(0, len(paths), _TASK_FILES))
    queued: deque[Future[list[tuple[ImageInfo | None, str | None, list[np.ndarray]]]]] = deque()
    try:
        # A bounded window instead of pool.map: a million files never become a million futures,
        # and stopping early cancels only what is queued.
        for task in tasks:
            queued.append(pool.submit(_worker_job, task, engine_list, previews))
            if len(queued) >= workers * _TASKS_AHEAD:
                break
        while queued:
            done = queued.popleft().result()
            more: list[Path] | None = next(tasks, None)
            if more is not None:
                queued.append(pool.submit(_worker_job, more, engine_list, previews))
            yield from done
    finally:
        if queued:
            # Stopped early (Ctrl-C, an error, a worker that died): no process is left behind,
            # and the next scan starts fresh. A scan that finished keeps its workers.
            shutdown_workers()
