"""The tray's sort thread: one job at a time off the `BatchQueue`, then notify and report.

It shares the service's lock (a `Condition`), so the queue, the settings and what the
status line shows change together; the sort itself runs outside the lock.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import FolderBusy, RemediaError
from . import folder_state
from .batch import count_new, leave_for_later
from .batch_queue import BatchQueue, Job
from .status import batch_notice, last_batch_line

if TYPE_CHECKING:
    from ..filing.report import SortReport
    from ..sorter import SortOptions
    from .notify import Notifier
    from .settings import Settings
    from .watcher import FolderWatcher

log = logging.getLogger(__name__)

SortFn = Callable[[Path, "SortOptions"], "SortReport"]

MODEL_IDLE_RELEASE = 600.0  # release AI models after this many idle seconds


@dataclass(frozen=True)
class BatchResult:
    folder: Path
    paths: tuple[Path, ...]  # what the watcher handed on (empty for "sort now" / hand-off)
    new_photos: int
    report: SortReport | None
    error: str | None
    notified: bool


@dataclass(frozen=True)
class Progress:
    """What the worker is doing, for the status line."""

    working_on: Path | None
    waiting: int  # complete photos not yet sorted
    last_batch: str  # the status line of the latest batch ("" before the first)
    last_sorted: Path | None  # the folder of the last sort that moved photos


def default_sort(folder: Path, options: SortOptions) -> SortReport:
    from ..sorter import sort_folder

    return sort_folder(folder, options)


class SortWorker:
    """Runs the queue's jobs on a daemon thread; every attribute is guarded by `cond`."""

    def __init__(
        self,
        cond: threading.Condition,
        *,
        sort: SortFn,
        notifier: Notifier,
        settings: Callable[[], Settings],
        settle: Callable[[], float],
        on_problem: Callable[[str], None],
        on_change: Callable[[], None],
        on_batch: Callable[[BatchResult], None],
    ) -> None:
        self._cond = cond
        self._sort = sort
        self._notifier = notifier
        self._settings = settings
        self._settle = settle
        self._problem = on_problem
        self._changed = on_change
        self._on_batch = on_batch
        self.queue = BatchQueue()
        self._working_on: Path | None = None
        self._last_line = ""
        self._last_sorted: Path | None = None
        self._stop = False
        self._thread: threading.Thread | None = None
        self._watcher: FolderWatcher | None = None
        self._models_used_at: float | None = None

    def start(self, watcher: FolderWatcher) -> None:
        self._watcher = watcher
        self._thread = threading.Thread(target=self._loop, name="remedia-sorter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the running sort (30 s at most) and start no other."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def progress(self) -> Progress:
        with self._cond:
            return Progress(
                self._working_on, self.queue.waiting(), self._last_line, self._last_sorted
            )

    def _arriving(self, folder: Path) -> bool:
        # A burst waits to be one batch; a file growing for minutes does not hold it back.
        return self._watcher is not None and self._watcher.arriving(folder)

    def _loop(self) -> None:
        while True:
            with self._cond:
                job = None
                while not self._stop:
                    paused = self._settings().paused
                    job = self.queue.next_job(
                        time.monotonic(), paused=paused, arriving=self._arriving, held=self._held
                    )
                    if job is not None:
                        break
                    self._cond.wait(timeout=self._wait_time())
                    self._release_models_if_idle()
                if self._stop:
                    return
                assert job is not None
                self._working_on = job.folder
            self._changed()
            try:
                self._run_batch(job)
            finally:
                with self._cond:
                    self._working_on = None
                self._changed()

    def _held(self, folder: Path) -> bool:
        """The folder's settings are invalid: it is not sorted until they are fixed."""
        return self._settings().folder(folder).problem is not None

    def _wait_time(self) -> float | None:
        """How long the worker may sleep (lock held): forever when there is nothing to do."""
        from .watcher import TICK

        if self.queue.has_ready() and not self._settings().paused:
            return TICK  # ready files wait for the rest of their burst
        if self._models_used_at is not None:
            return MODEL_IDLE_RELEASE
        return None

    def _waiting(self, folder: Path) -> Callable[[Path], bool]:
        """`path` belongs to a later batch: still arriving, or complete and queued."""
        watcher = self._watcher

        def waiting(path: Path) -> bool:
            if watcher is not None and watcher.is_pending(path):
                return True
            with self._cond:
                return self.queue.is_ready(folder, path)

        return waiting

    def _run_batch(self, job: Job) -> None:
        from ..sorter import SortOptions

        s = self._settings()
        chosen = s.folder(job.folder)
        if chosen.problem is not None:
            self._refuse(job, chosen.problem)
            return
        excluded: list[Path] = []
        exclude = leave_for_later(
            job.paths, waiting=self._waiting(job.folder), settle=self._settle(), excluded=excluded
        )
        options = SortOptions(
            engine=s.engine,
            strictness=s.strictness,
            exclude=exclude,
            lock_wait=1.0,
            clip_weights=s.clip_weights,
            full=job.full,
            arrived=tuple(sorted(job.paths)) if job.arrived_only else None,
            keep=chosen.keep,
            references=chosen.reference_dirs(job.folder),
            series=chosen.series,
        )
        started = time.time()
        report = None
        error = None
        try:
            report = self._sort(job.folder, options)
        except FolderBusy:
            # Someone runs `remedia sort` or undo on it: try again shortly, lose nothing.
            with self._cond:
                self.queue.retry(job, time.monotonic())
            return
        except RemediaError as exc:
            error = str(exc)
        except Exception as exc:  # one bad batch never ends the service
            log.exception("sorting %s failed", job.folder)
            error = f"{type(exc).__name__}: {exc}"
        if s.engine != "hash":
            self._models_used_at = time.monotonic()
        if report is None:
            self._problem(f"Sorting {job.folder} failed: {error}")
            paths = tuple(sorted(job.paths))
            self._on_batch(BatchResult(job.folder, paths, 0, None, error, False))
            return
        # Everything that changed before the sort began was handled, except what it left out.
        folder_state.record_sorted(job.folder, folder_state.oldest_change(excluded, started))
        self._batch_done(job, report)

    def _refuse(self, job: Job, problem: str) -> None:
        """Invalid settings for the folder: say why, sort nothing, keep its files waiting."""
        with self._cond:
            self.queue.hold(job)
            self._last_line = f"Not sorting {job.folder.name}: its settings are invalid"
        self._problem(f"Not sorting {job.folder}: {problem}")
        self._on_batch(BatchResult(job.folder, tuple(sorted(job.paths)), 0, None, problem, False))

    def _batch_done(self, job: Job, report: SortReport) -> None:
        """Notify, word the status line and tell the caller about a finished sort."""
        new = count_new(job.folder, job.paths, report)
        moved = bool(report.duplicates_moved or report.similar_moved)
        notice = batch_notice(forced=job.forced, handed_on=bool(job.paths), new=new, moved=moved)
        notified = False
        if notice is not None:
            from .notify import notify_report

            notified = notify_report(report, new_photos=notice.new_photos, notifier=self._notifier)
        line = last_batch_line(
            job.folder,
            new=new,
            forced=job.forced,
            images=report.images,
            duplicates=report.duplicates_moved,
            when=time.time(),
        )
        with self._cond:
            self._last_line = line
            if moved:
                self._last_sorted = job.folder
        paths = tuple(sorted(job.paths))
        self._on_batch(BatchResult(job.folder, paths, new, report, None, notified))

    def _release_models_if_idle(self) -> None:
        used = self._models_used_at
        if used is None or time.monotonic() - used < MODEL_IDLE_RELEASE:
            return
        self._models_used_at = None
        gc.collect()  # the sort's engines are gone with it; give their memory back
        log.info("AI model released after %.0f idle seconds", MODEL_IDLE_RELEASE)
