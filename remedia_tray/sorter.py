"""`sort_folder`: scan, group, plan, then move (the side effects happen last)."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .discovery import iter_files
from .engines import EngineChoice, HashEngine
from .errors import FolderNotFound, RemediaError
from .grouping import complete_linkage
from .keeper import choose_keeper
from .media import Skipped
from .mover import apply_plan, data_dir, lock_path, recover_incomplete
from .planning import GroupSpec, plan_sort, read_existing_groups
from .progress import ProgressFactory, null_progress
from .report import SortReport, save_report
from .strictness import DEFAULT_LEVEL, LEVELS


@dataclass(frozen=True)
class SortOptions:
    engine: EngineChoice = "hash"
    strictness: int = LEVELS[DEFAULT_LEVEL]
    dry_run: bool = False
    workers: int = 0  # 0: one per CPU core
    cache_dir: Path | None = None
    use_cache: bool = True
    lock_wait: float = 10.0


def _workers(requested: int) -> int:
    return requested if requested > 0 else max(1, os.cpu_count() or 1)


def sort_folder(
    folder: Path | str,
    options: SortOptions = SortOptions(),
    *,
    progress: ProgressFactory = null_progress,
) -> SortReport:
    """Sort `folder` in place; returns what happened (or would happen, with dry_run)."""
    from .locking import folder_lock

    started = time.monotonic()
    root = Path(folder).expanduser().absolute()
    if not root.exists():
        raise FolderNotFound(f"folder not found: {root}")
    if not root.is_dir():
        raise FolderNotFound(f"not a folder: {root}")
    if options.dry_run:
        return _sort(root, options, progress, started)
    try:
        lock = folder_lock(lock_path(root), wait=options.lock_wait)
        lock.__enter__()
    except PermissionError as exc:
        raise RemediaError(f"cannot write to {root} ({exc.strerror}); nothing was moved") from None
    try:
        recover_incomplete(root)
        return _sort(root, options, progress, started)
    finally:
        lock.__exit__(None, None, None)


def _sort(
    root: Path, options: SortOptions, progress: ProgressFactory, started: float
) -> SortReport:
    from .scan import extract_features

    skipped: list[Skipped] = []
    files = sorted(iter_files(root, skipped=skipped), key=lambda f: str(f.path))
    hash_engine = HashEngine(strictness=options.strictness)
    engines = [hash_engine]

    cache = None
    notes: list[str] = []
    if options.use_cache:
        from .cache import FeatureCache

        try:
            cache = FeatureCache(options.cache_dir)
        except Exception as exc:  # a broken cache costs speed, never the sort
            notes.append(f"feature cache unavailable ({exc}); every photo is read again")
    try:
        scan = extract_features(
            files, engines, cache=cache, workers=_workers(options.workers), progress=progress
        )
    finally:
        if cache is not None:
            cache.close()
    skipped.extend(scan.skipped)

    feats = scan.features[hash_engine.name]
    pairs = hash_engine.neighbours(feats)
    groups = complete_linkage(
        len(scan.files),
        pairs.i,
        pairs.j,
        pairs.distance,
        hash_engine.threshold,
        must_link=scan.identical,
    )
    specs = []
    for members in groups:
        choice = choose_keeper([scan.files[k] for k in members], [scan.infos[k] for k in members])
        best = members[choice.index]
        ordered = [best] + [k for k in members if k != best]
        specs.append(
            GroupSpec(
                kind="duplicates",
                best=scan.files[best].path,
                reason=choice.reason,
                members=tuple(scan.files[k].path for k in ordered),
                keep_best_in_place=True,
            )
        )
    plan = plan_sort(
        root, specs, exists=os.path.lexists, existing_groups=read_existing_groups(root)
    )

    failed: tuple[Skipped, ...] = ()
    journal = None
    if not options.dry_run and plan.moves:
        result = apply_plan(plan, root=root)
        failed, journal = result.failed, result.journal
        moved = {m.src: m for m in result.moved}
        plan_groups = tuple(
            dataclasses.replace(g, moves=tuple(moved[m.src] for m in g.moves if m.src in moved))
            for g in plan.groups
        )
    else:
        plan_groups = plan.groups
    report = SortReport(
        folder=root,
        dry_run=options.dry_run,
        strictness=options.strictness,
        engines=scan.models,
        files_seen=len(files),
        images=len(scan.files),
        decoded=scan.decoded,
        from_cache=scan.from_cache,
        groups=plan_groups,
        skipped=tuple(skipped),
        failed=failed,
        journal=journal,
        seconds=time.monotonic() - started,
        notes=tuple(notes),
    )
    if not options.dry_run:
        try:
            path = save_report(report, data_dir(root))
            report = dataclasses.replace(report, report_path=path)
        except OSError:
            pass  # the sort itself succeeded; the journal is what undo needs
    return report
