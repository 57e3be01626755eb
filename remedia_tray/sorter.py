"""`sort_folder`: scan, group, plan, then move (the side effects happen last)."""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._platform import resolve_workers
from .core.keeper import KeepRules, parse_rules
from .core.media import MediaFile, Skipped
from .core.planning import GroupSpec, PlannedGroup, SeriesMode, plan_sort
from .core.progress import ProgressFactory, null_progress
from .core.strictness import DEFAULT_LEVEL, LEVELS
from .engines import DEFAULT_ENGINE, EngineChoice
from .engines.base import SimilarityEngine
from .engines.registry import select_engines
from .errors import FolderNotFound, RemediaError
from .filing.confined import check_own_folders
from .filing.decisions import UserDecisions
from .filing.mover import apply_plan, end_resumed_run, read_existing_groups, recover_incomplete
from .filing.report import SortMode, SortReport, member_details, save_report
from .kinds.base import Shots
from .kinds.duplicates import kept_after, kept_copies, note_keepers_moving_on, with_kept
from .kinds.library import group_library
from .layout import data_dir, lock_path, thumbs_dir
from .pipeline.discovery import is_ignored, iter_files
from .pipeline.library_index import LibraryIndex, extend_index, load_index, save_index
from .pipeline.mediasets import (
    Follower,
    FoundSets,
    find_followers,
    find_media_sets,
    with_companions,
    with_followers,
)
from .pipeline.placed import PlacedGroup, group_folder_of, moved_pictures, read_placed
from .pipeline.reference import (
    check_references,
    folder_resolver,
    in_references,
    read_outside,
    reference_notes,
    with_reference_reasons,
)
from .pipeline.video_pool import DEFAULT_TIME_LIMIT
from .sort_videos import arrived_videos, split, split_groups, videos_of

if TYPE_CHECKING:
    import numpy as np

    from .pipeline.cache import FeatureCache
    from .pipeline.features import ScanResult
    from .pipeline.fullsize_check import PairCheck


@dataclass(frozen=True)
class SortOptions:
    engine: EngineChoice = DEFAULT_ENGINE
    strictness: int = LEVELS[DEFAULT_LEVEL]
    dry_run: bool = False
    workers: int = 0  # 0: one per CPU core
    cache_dir: Path | None = None
    use_cache: bool = True
    lock_wait: float = 10.0
    #: Paths to leave out of this sort (the tray passes files still being copied).
    exclude: Callable[[Path], bool] | None = None
    #: Local CLIP weights file; None looks in the usual places (see engines/clip_weights.py),
    #: never online.
    clip_weights: Path | None = None
    #: `clip_weights` from the tray settings (the caller reads them; a sort never does).
    configured_clip_weights: Path | None = None
    #: Regroup the whole library, photos an earlier sort placed included (`sort --full`).
    full: bool = False
    #: The photos that arrived (the tray's batch): only they are read, and the library index
    #: finds their neighbours. None, or no usable index, walks the whole folder.
    arrived: tuple[Path, ...] | None = None
    #: The keep rules in order (core/keeper.py names, `folder:PATH` included); None: the
    #: default rules.
    keep: tuple[str, ...] | None = None
    #: Reference folders (inside or outside the folder): read, never moved; a group with a
    #: member there keeps that member.
    references: tuple[Path, ...] = ()
    #: Similar photos: the best shot of each series stays in place ("keep-best"), or every
    #: member moves to similar/ ("move-all").
    series: SeriesMode = "keep-best"
    #: Seconds one video may take to read; a slower one (a hung decode) is skipped.
    video_time_limit: float = DEFAULT_TIME_LIMIT


def sort_folder(
    folder: Path | str,
    options: SortOptions = SortOptions(),
    *,
    progress: ProgressFactory = null_progress,
) -> SortReport:
    """Sort `folder` in place; returns what happened (or would happen, with dry_run)."""
    from .filing.locking import check_data_folder, folder_lock

    started = time.monotonic()
    root = Path(folder).expanduser().absolute()
    if not root.exists():
        raise FolderNotFound(f"folder not found: {root}")
    if not root.is_dir():
        raise FolderNotFound(f"not a folder: {root}")
    check_own_folders(root)  # before the lock, which lives in FOLDER/.remedia
    # A bad keep rule, or a folder:PATH that is not there, stops the sort before it starts.
    rules = parse_rules(options.keep, root=root, resolve=folder_resolver(root))
    refs = check_references(root, options.references)  # before anything moves
    options = dataclasses.replace(options, references=refs)
    if options.dry_run:
        check_data_folder(root)  # the real run's lock would refuse it
        return _sort(root, options, rules, progress, started)
    with ExitStack() as held:
        try:
            held.enter_context(folder_lock(lock_path(root), wait=options.lock_wait))
        except PermissionError as exc:
            msg = f"cannot write to {root} ({exc.strerror}); nothing was moved"
            raise RemediaError(msg) from None
        recover_incomplete(root)
        return _sort(root, options, rules, progress, started)


def _sort(
    root: Path, options: SortOptions, rules: KeepRules, progress: ProgressFactory, started: float
) -> SortReport:
    notes: list[str] = []
    selection = select_engines(
        options.engine,
        strictness=options.strictness,
        clip_weights=options.clip_weights,
        configured_weights=options.configured_clip_weights,
    )
    engines = list(selection.engines)
    notes.extend(selection.notes)
    key = _index_key(engines, options)
    index = None if options.full else load_index(root, key)
    cache = None
    if options.use_cache:
        from .pipeline.cache import FeatureCache

        try:
            cache = FeatureCache(options.cache_dir)
        except Exception as exc:  # a broken cache costs speed, never the sort
            notes.append(f"feature cache unavailable ({exc}); every photo is read again")
    run = _Run(
        root, options, rules, progress, started, tuple(engines), notes, cache, selection.videos
    )
    try:
        if options.arrived is not None and index is not None:
            return _sort_arrived(run, index)
        return _sort_walk(run, index)
    finally:
        if cache is not None:
            cache.close()


@dataclass(frozen=True)
class _Run:
    """What every step of one sort works with."""

    root: Path
    options: SortOptions
    rules: KeepRules  # the options' keep rules, read once
    progress: ProgressFactory
    started: float
    engines: tuple[SimilarityEngine, ...]
    notes: list[str]  # appended to as the sort goes
    cache: FeatureCache | None
    #: The engine that reads videos (none: videos are left alone, as files of no known kind).
    videos: tuple[SimilarityEngine, ...] = ()

    @property
    def decisions(self) -> UserDecisions:
        return UserDecisions(self.root, self.options.dry_run)

    @property
    def workers(self) -> int:
        return resolve_workers(self.options.workers)

    @property
    def previews(self) -> Path | None:
        """Where the decode leaves the review page's previews (none in a dry run)."""
        return None if self.options.dry_run else thumbs_dir(self.root)


def _sort_walk(run: _Run, index: LibraryIndex | None) -> SortReport:
    """The whole folder: walk it, read every photo (the run.cache makes seen ones free)."""
    from .pipeline.features import extract_features

    clock = _Stages()
    skipped: list[Skipped] = []
    walked = sorted(iter_files(run.root, skipped=skipped), key=lambda f: str(f.path))
    loose = {f.path for f in run.decisions.without_kept(walked, run.notes)}
    taken_back = {f.path for f in walked} - loose
    # Photos an earlier sort placed are members of the library's groups (issue 13).
    placed = read_placed(run.root, skipped=skipped)
    files = sorted(
        [*walked, *(m for g in placed for m in g.members),
         *read_outside(run.root, run.options.references, skipped)],
        key=lambda f: str(f.path),
    )  # fmt: skip
    # Only each media set's picture is read; its companions go with it (issue 23).
    sets, followers = _sets_of(run, files, taken_back=taken_back)
    pictures, videos = split(run, sets.primaries)
    placed, placed_videos = split_groups(run, placed)
    clock.lap("discovery")
    scan = extract_features(
        pictures,
        run.engines,
        cache=run.cache,
        workers=run.workers,
        progress=run.progress,
        # The review page's previews come from this decode, not from a second one.
        previews=run.previews,
    )
    scan = with_companions(scan, sets)
    skipped.extend(scan.skipped)
    clock.lap("features")
    settled = None if index is None else index.held(scan.files)
    specs = _group(run, clock, scan, placed, settled=settled)
    found = videos_of(run, clock, videos, placed_videos, sets)
    existing = read_existing_groups(run.root)

    def save(moved: dict[Path, Path], failed: set[Path], groups: tuple[PlannedGroup, ...]) -> None:
        rows = [k for k, f in enumerate(scan.files) if f.path not in failed]
        save_index(
            run.root,
            _index_key(run.engines, run.options),
            [_moved_to(scan.files[k], moved) for k in rows],
            {e.name: e.search_keys(scan.features[e.name])[rows] for e in run.engines},
            kept_after(kept_copies(placed), groups, moved),
        )

    return _finish(
        run, clock,
        scans=(scan, found.scan), specs=[*specs, *found.specs], existing=existing,
        skipped=[*skipped, *found.scan.skipped], files_seen=sets.count + len(followers),
        images=len(scan.files), save=save, mode="walk", followers=followers,
    )  # fmt: skip


def _sort_arrived(run: _Run, index: LibraryIndex) -> SortReport:
    """A batch: read only the arrived photos, find their neighbours in the library index, and
    sort that neighbourhood as a whole sort would (k searches; no walk of the folder)."""
    from .pipeline.features import extract_features

    clock = _Stages()
    skipped: list[Skipped] = []
    arrived = run.decisions.without_kept(_arrivals(run, index, skipped), run.notes)
    # The batch's sets, with their members already in the folder (issue 23).
    sets, followers = _sets_of(run, arrived, look_around=True)
    pictures, videos = split(run, sets.primaries)
    clock.lap("discovery")
    new = extract_features(
        pictures, run.engines, cache=run.cache, workers=run.workers, progress=run.progress,
        previews=run.previews,
    )  # fmt: skip
    skipped.extend(new.skipped)
    clock.lap("features")
    near = _neighbourhood(run, index, new.files, new.features, skipped)
    near_sets = find_media_sets(near.files, look_around=True)
    scan = extract_features(split(run, near_sets.primaries)[0], run.engines, cache=run.cache)
    scan = with_companions(scan, near_sets, sets)
    skipped.extend(scan.skipped)
    fresh = {f.path for f in new.files}
    specs = _group(run, clock, scan, near.placed, settled=[f.path not in fresh for f in scan.files])
    found = arrived_videos(run, clock, videos)
    existing = {g.best: g.folder for g in (*near.placed, *found.placed) if g.best is not None}

    def save(moved: dict[Path, Path], failed: set[Path], groups: tuple[PlannedGroup, ...]) -> None:
        take = [k for k, f in enumerate(new.files) if f.path not in failed]
        extend_index(
            run.root,
            index,
            moved=moved,
            dropped=list(near.stale),
            files=[_moved_to(new.files[k], moved) for k in take],
            search={e.name: e.search_keys(new.features[e.name])[take] for e in run.engines},
            kept=kept_after(index.kept, groups, moved),
        )

    images = len(index) - len(near.stale) + len(new.files)
    return _finish(
        run, clock,
        scans=(scan, found.scan), specs=[*specs, *found.specs], existing=existing,
        skipped=[*skipped, *found.scan.skipped], files_seen=len(index) + len(arrived),
        images=images, save=save, mode="batch", decoded=new.decoded, followers=followers,
    )  # fmt: skip


def _sets_of(
    run: _Run,
    files: Sequence[MediaFile],
    *,
    look_around: bool = False,
    taken_back: frozenset[Path] | set[Path] = frozenset(),
) -> tuple[FoundSets, tuple[Follower, ...]]:
    """The media sets among `files`; a set with a member still being copied (`exclude`) or
    taken back by the user waits as a whole. And the lone companions whose picture an
    earlier sort moved into a group folder: they follow it there."""
    exclude = run.options.exclude
    found = find_media_sets(files, look_around=look_around)
    if exclude is not None or taken_back:
        found = found.without(lambda p: p in taken_back or (exclude is not None and exclude(p)))
    return find_followers(found, lambda: moved_pictures(run.root))


def _arrivals(run: _Run, index: LibraryIndex, skipped: list[Skipped]) -> list[MediaFile]:
    """The arrived files still there and new to the library (sorted, ignored ones left out)."""
    exclude = run.options.exclude
    paths = sorted({Path(os.path.abspath(p)) for p in run.options.arrived or ()})
    paths = [
        p for p in paths if not is_ignored(run.root, p) and (exclude is None or not exclude(p))
    ]
    known = index.rows_of(paths)
    arrived: list[MediaFile] = []
    for path in paths:
        found = _stat_file(path, skipped)
        row = known.get(path)
        if found is None or (row is not None and index.media(row).same_file(found)):
            continue  # gone again, or a photo the library already holds
        arrived.append(found)
    return arrived


@dataclass(frozen=True)
class _Neighbourhood:
    """What a batch sorts: the new photos, the library's photos near them, their groups."""

    files: tuple[MediaFile, ...]  # by path
    placed: tuple[PlacedGroup, ...]
    stale: tuple[int, ...]  # index rows deleted or edited since: the index forgets them


def _neighbourhood(
    run: _Run,
    index: LibraryIndex,
    new: Sequence[MediaFile],
    features: Mapping[str, np.ndarray],
    skipped: list[Skipped],
) -> _Neighbourhood:
    """The index rows near the `new` photos, checked against the disk, and the groups (read
    from the disk) that hold them or their kept copies."""
    rows: set[int] = set()
    for e in run.engines if new else ():
        rows.update(e.library_candidates(index.search[e.name], features[e.name]).tolist())
    near: list[MediaFile] = []
    stale: list[int] = []
    for r in sorted(rows):
        held = index.media(r)
        on_disk = _stat_file(held.path, None)
        if on_disk is None or not held.same_file(on_disk):
            stale.append(r)  # deleted or edited since: the index forgets it
        else:
            near.append(on_disk)
    near_paths = {f.path for f in near}
    folders = {g for g in (group_folder_of(run.root, p) for p in near_paths) if g is not None}
    folders.update(f for f, kept in index.kept.items() if kept in near_paths)
    found = read_placed(run.root, skipped=skipped, folders=sorted(folders))
    placed = tuple(with_kept(found, index.kept))
    pool = {f.path: f for f in (*near, *(m for g in placed for m in g.members))}
    pool.update((f.path, f) for f in new)
    return _Neighbourhood(tuple(sorted(pool.values(), key=lambda f: str(f.path))), placed,
                          tuple(stale))  # fmt: skip


def _group(
    run: _Run,
    clock: _Stages,
    scan: ScanResult,
    placed: Sequence[PlacedGroup],
    *,
    settled: Sequence[bool] | None,
) -> list[GroupSpec]:
    """The groups of one sort, the full-size checks and the user's chosen copies included."""
    from .pipeline.shot_quality import ShotScorer

    check = _pair_check(scan, run.engines, run.workers)
    refs = run.options.references  # their copies are kept, as the user's chosen ones are
    # Only the members of similar groups are judged, at the scorer's size, in parallel.
    shots = Shots(ShotScorer(scan.files, cache=run.cache, workers=run.workers))
    specs = group_library(
        scan, run.engines, placed, full=run.options.full, settled=settled,
        preferred=run.decisions.preferred(scan.files) | in_references(scan.files, refs),
        check=check, series=run.options.series, shots=shots,
        rules=run.rules,
    )  # fmt: skip
    clock.lap("search")
    clock.move("search", "full-size check", 0.0 if check is None else check.seconds)
    clock.move("search", "best shot", shots.seconds)
    return with_reference_reasons(specs, refs)


def _finish(
    run: _Run,
    clock: _Stages,
    *,
    scans: Sequence[ScanResult],
    specs: list[GroupSpec],
    existing: dict[Path, Path],
    skipped: list[Skipped],
    files_seen: int,
    images: int,
    save: Callable[[dict[Path, Path], set[Path], tuple[PlannedGroup, ...]], None],
    mode: SortMode,
    decoded: int | None = None,
    followers: Sequence[Follower] = (),
) -> SortReport:
    """Plan, move, journal, remember the library, report: the same for a walk and a batch.
    `scans`: the pictures' scan, then the videos'."""
    companions = {
        picture: tuple((role, f.path) for role, f in members)
        for scan in scans
        for picture, members in scan.companions.items()
    }
    files = [f for scan in scans for f in scan.files]
    infos = [i for scan in scans for i in scan.infos]
    plan = note_keepers_moving_on(plan_sort(run.root, specs, exists=os.path.lexists,
                                            existing_groups=existing,
                                            companions=companions,
                                            references=run.options.references))  # fmt: skip
    run.notes.extend(reference_notes(plan))
    plan, left = with_followers(plan, followers, exists=os.path.lexists)
    skipped = [*skipped, *left]
    failed: tuple[Skipped, ...] = ()
    journal = None
    plan_groups = plan.groups
    if not run.options.dry_run:
        moved: dict[Path, Path] = {}
        if plan.moves:
            # Files that changed since they were read (a phone still copying) stay in place.
            expected = {f.path: f for f in files}
            # A companion changed since the walk (still being copied) holds its set back too.
            expected.update(
                (f.path, f) for scan in scans for ms in scan.companions.values() for _, f in ms
            )
            expected.update((f.file.path, f.file) for f in followers)
            result = apply_plan(plan, root=run.root, expected=expected)
            failed, journal = result.failed, result.journal
            run.decisions.note_placements(result.journal, result.moved)
            moves = {m.src: m for m in result.moved}
            moved = {m.src: m.dst for m in result.moved}
            plan_groups = tuple(
                dataclasses.replace(g, moves=tuple(moves[m.src] for m in g.moves if m.src in moves))
                for g in plan.groups
            )
        else:  # nothing left to move: an interrupted sort this one resumed is over
            end_resumed_run(run.root)
        try:
            save(moved, {s.path for s in failed}, plan_groups)
        except OSError:
            logging.getLogger(__name__).warning("cannot save the library index", exc_info=True)
    clock.lap("moves")
    report = SortReport(
        folder=run.root,
        dry_run=run.options.dry_run,
        strictness=run.options.strictness,
        engines={k: v for scan in scans for k, v in scan.models.items()},
        files_seen=files_seen,
        images=images + len(scans[1].files),
        videos=len(scans[1].files),
        decoded=(scans[0].decoded if decoded is None else decoded) + scans[1].decoded,
        from_cache=sum(scan.from_cache for scan in scans),
        groups=plan_groups,
        skipped=tuple(skipped),
        failed=failed,
        journal=journal,
        seconds=time.monotonic() - run.started,
        notes=tuple(run.notes),
        references=run.options.references,
        details=member_details(plan_groups, files, infos),
        stages=clock.seconds,
        mode=mode,
    )
    if not run.options.dry_run:
        try:
            path = save_report(report, data_dir(run.root))
            report = dataclasses.replace(report, report_path=path)
        except OSError:
            pass  # the sort itself succeeded; the journal is what undo needs
        report = _write_review(report, run.options, run.progress)
    return report


class _Stages:
    """Wall-clock seconds per stage of one sort."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now

    def move(self, src: str, dst: str, seconds: float) -> None:
        """Count `seconds` of stage `src` as stage `dst` (a part timed on its own)."""
        if seconds > 0:
            self.seconds[src] = self.seconds.get(src, 0.0) - seconds
            self.seconds[dst] = self.seconds.get(dst, 0.0) + seconds


def _pair_check(
    scan: ScanResult, engines: Sequence[SimilarityEngine], workers: int
) -> PairCheck | None:
    """The full-size checks of the duplicates engine's candidates (None without one)."""
    from .engines.hash import HashEngine
    from .pipeline.fullsize_check import PairCheck

    hashes = next((e for e in engines if isinstance(e, HashEngine)), None)
    if hashes is None:
        return None
    feats = scan.features[hashes.name]
    return PairCheck(
        scan, lambda k: HashEngine.thumbnail(feats[k]), hashes.strictness, workers=workers
    )


def _stat_file(path: Path, skipped: list[Skipped] | None) -> MediaFile | None:
    """The regular file at `path` now, or None (gone, a link, a folder, unreadable)."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if skipped is not None:
            skipped.append(Skipped(path, f"cannot stat: {exc.strerror or exc}"))
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return MediaFile.from_stat(path, st)


def _moved_to(f: MediaFile, moved: dict[Path, Path]) -> MediaFile:
    dst = moved.get(f.path)
    return f if dst is None else dataclasses.replace(f, path=dst)


def _index_key(engines: Sequence[SimilarityEngine], options: SortOptions) -> str:
    # Other references, other groups: the index of a sort with other references is not used.
    refs = [f"ref:{p}" for p in options.references]
    return "|".join([*(e.cache_key for e in engines), str(options.strictness), *refs])


def _write_review(
    report: SortReport, options: SortOptions, progress: ProgressFactory
) -> SortReport:
    """Write the review page; a failure here costs the page, never the sort."""
    from .review.writer import write_review

    try:
        page = write_review(report, workers=resolve_workers(options.workers), progress=progress)
    except Exception as exc:  # the files are already sorted and journaled
        return dataclasses.replace(
            report, notes=(*report.notes, f"review page not written ({type(exc).__name__}: {exc})")
        )
    return dataclasses.replace(report, review_path=page.path)
