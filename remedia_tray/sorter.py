"""`sort_folder`: scan, group, plan, then move (the side effects happen last)."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._platform import usable_cores
from .core.media import MediaFile, Skipped
from .core.planning import Move, SortPlan, plan_sort
from .core.progress import ProgressFactory, null_progress
from .core.strictness import DEFAULT_LEVEL, LEVELS
from .engines import DEFAULT_ENGINE, EngineChoice
from .engines.base import SimilarityEngine
from .engines.registry import select_engines
from .errors import FolderNotFound, RemediaError
from .layout import data_dir, lock_path, thumbs_dir
from .pipeline.discovery import iter_files
from .pipeline.library import group_library
from .pipeline.placed import PlacedGroup, read_placed
from .pipeline.settled import is_settled, load_settled
from .safety.mover import apply_plan, read_existing_groups, recover_incomplete
from .safety.report import SortReport, member_details, save_report

if TYPE_CHECKING:
    pass


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


def _without_user_decisions(
    root: Path, files: list[MediaFile], *, save: bool
) -> tuple[list[MediaFile], int]:
    """Photos the user moved back out of duplicates/ or similar/ are never sorted again."""
    from .safety.decisions import exclude_remembered

    try:
        result = exclude_remembered(root, files, save=save)
    except Exception:  # the memory is a courtesy; losing it must not stop the sort
        logging.getLogger(__name__).warning("cannot read user decisions", exc_info=True)
        return files, 0
    return list(result.files), len(result.kept)


def _preferred_keepers(root: Path, files: Sequence[MediaFile]) -> frozenset[Path]:
    """Copies the user chose to keep on the review page: a sort never swaps them back."""
    from .safety.decisions import preferred_keepers

    try:
        return preferred_keepers(root, files)
    except Exception:  # a courtesy, like the other decisions
        logging.getLogger(__name__).warning("cannot read chosen keepers", exc_info=True)
        return frozenset()


def _note_placements(root: Path, journal: Path, moved: Sequence[Move]) -> None:
    from .safety.decisions import note_placements

    try:
        note_placements(root, journal, ((m.src, m.dst) for m in moved))
    except Exception:
        logging.getLogger(__name__).warning("cannot record moved files", exc_info=True)


def _workers(requested: int) -> int:
    return requested if requested > 0 else usable_cores()


def sort_folder(
    folder: Path | str,
    options: SortOptions = SortOptions(),
    *,
    progress: ProgressFactory = null_progress,
) -> SortReport:
    """Sort `folder` in place; returns what happened (or would happen, with dry_run)."""
    from .safety.locking import folder_lock

    started = time.monotonic()
    root = Path(folder).expanduser().absolute()
    if not root.exists():
        raise FolderNotFound(f"folder not found: {root}")
    if not root.is_dir():
        raise FolderNotFound(f"not a folder: {root}")
    if options.dry_run:
        return _sort(root, options, progress, started)
    with ExitStack() as held:
        try:
            held.enter_context(folder_lock(lock_path(root), wait=options.lock_wait))
        except PermissionError as exc:
            msg = f"cannot write to {root} ({exc.strerror}); nothing was moved"
            raise RemediaError(msg) from None
        recover_incomplete(root)
        return _sort(root, options, progress, started)


def _sort(
    root: Path, options: SortOptions, progress: ProgressFactory, started: float
) -> SortReport:
    from .pipeline.features import extract_features

    skipped: list[Skipped] = []
    files = sorted(iter_files(root, skipped=skipped), key=lambda f: str(f.path))
    files, user_kept = _without_user_decisions(root, files, save=not options.dry_run)
    # Photos an earlier sort placed are members of the library's groups (issue 13).
    placed = read_placed(root, skipped=skipped)
    files = sorted([*files, *(m for g in placed for m in g.members)], key=lambda f: str(f.path))
    if options.exclude is not None:
        files = [f for f in files if not options.exclude(f.path)]
    cache = None
    notes: list[str] = []
    if user_kept:
        notes.append(
            f"{user_kept} photos stay where you moved them (remedia forget FOLDER to sort again)"
        )
    selection = select_engines(
        options.engine,
        strictness=options.strictness,
        clip_weights=options.clip_weights,
        configured_weights=options.configured_clip_weights,
    )
    engines = list(selection.engines)
    notes.extend(selection.notes)
    if options.use_cache:
        from .pipeline.cache import FeatureCache

        try:
            cache = FeatureCache(options.cache_dir)
        except Exception as exc:  # a broken cache costs speed, never the sort
            notes.append(f"feature cache unavailable ({exc}); every photo is read again")
    try:
        scan = extract_features(
            files,
            engines,
            cache=cache,
            workers=_workers(options.workers),
            progress=progress,
            # The review page's previews come from this decode, not from a second one.
            previews=None if options.dry_run else thumbs_dir(root),
        )
    finally:
        if cache is not None:
            cache.close()
    skipped.extend(scan.skipped)

    preferred = _preferred_keepers(root, scan.files)
    key = _settled_key(engines, options)
    settled = None if options.full else load_settled(root, key)
    flags = None if settled is None else [is_settled(f, settled) for f in scan.files]
    specs = group_library(
        scan, engines, placed, full=options.full, settled=flags, preferred=preferred
    )
    plan = _note_keepers_moving_on(
        plan_sort(root, specs, exists=os.path.lexists, existing_groups=read_existing_groups(root))
    )

    failed: tuple[Skipped, ...] = ()
    journal = None
    if not options.dry_run and plan.moves:
        # Files that changed since they were read (a phone still copying) stay in place.
        result = apply_plan(plan, root=root, expected={f.path: f for f in scan.files})
        failed, journal = result.failed, result.journal
        _note_placements(root, result.journal, result.moved)
        moved = {m.src: m for m in result.moved}
        plan_groups = tuple(
            dataclasses.replace(g, moves=tuple(moved[m.src] for m in g.moves if m.src in moved))
            for g in plan.groups
        )
        _save_settled(root, key, scan.files, placed, moved=set(moved), failed=failed)
    elif not options.dry_run:
        plan_groups = plan.groups
        _save_settled(root, key, scan.files, placed, moved=set(), failed=())
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
        details=member_details(plan_groups, scan.files, scan.infos),
    )
    if not options.dry_run:
        try:
            path = save_report(report, data_dir(root))
            report = dataclasses.replace(report, report_path=path)
        except OSError:
            pass  # the sort itself succeeded; the journal is what undo needs
        report = _write_review(report, options, progress)
    return report


def _settled_key(engines: Sequence[SimilarityEngine], options: SortOptions) -> str:
    return "|".join([*(e.cache_key for e in engines), str(options.strictness)])


def _save_settled(
    root: Path,
    key: str,
    files: Sequence[MediaFile],
    placed: Sequence[PlacedGroup],
    *,
    moved: set[Path],
    failed: Sequence[Skipped],
) -> None:
    """The loose photos this sort compared and left in place: the next sort need not ask."""
    from .pipeline.settled import save_settled

    skip = moved | {s.path for s in failed} | {m.path for g in placed for m in g.members}
    try:
        save_settled(root, key, (f for f in files if f.path not in skip))
    except OSError:
        logging.getLogger(__name__).warning("cannot save the library index", exc_info=True)


def _note_keepers_moving_on(plan: SortPlan) -> SortPlan:
    """A kept copy that joins a similar group moves too; say so in its duplicates group."""
    moved_to = {m.src: m.dst for g in plan.groups if g.kind == "similar" for m in g.moves}
    groups = []
    for g in plan.groups:
        dst = moved_to.get(g.keeper) if g.keeper is not None else None
        if g.kind == "duplicates" and dst is not None:
            where = f"{dst.parent.parent.name}/{dst.parent.name}/"
            g = dataclasses.replace(g, reason=f"{g.reason}; it moves on to {where} with its series")
        groups.append(g)
    return dataclasses.replace(plan, groups=tuple(groups))


def _write_review(
    report: SortReport, options: SortOptions, progress: ProgressFactory
) -> SortReport:
    """Write the review page; a failure here costs the page, never the sort."""
    from .review.writer import write_review

    try:
        page = write_review(report, workers=_workers(options.workers), progress=progress)
    except Exception as exc:  # the files are already sorted and journaled
        return dataclasses.replace(
            report, notes=(*report.notes, f"review page not written ({type(exc).__name__}: {exc})")
        )
    return dataclasses.replace(report, review_path=page.path)
