"""The tray's engine room: watch -> batch -> sort -> notify, on threads, with no GUI.

The watcher hands on complete files; they collect per folder until no file of that folder
is still arriving, then one `sort_folder` sorts them into the library already there and one
notification reports the batch. A batch reads only the photos that arrived (the start-up
scan and a scan after lost events hand on what changed meanwhile), and the folder's library
index finds their neighbours; "Sort now", a folder without a usable index and a re-sort walk
the whole folder. Pause keeps collecting and sorts nothing. The AI model is loaded by the
sort that needs it and released after an idle period.

This module owns the settings, the watcher's lifecycle and the lock; the sort thread is
`worker`, its queue `batch_queue` (pure), the per-folder note `folder_state`, and the
status line and notification policy `status` (pure).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import folder_state
from . import settings as settings_mod
from .settings import Settings
from .status import Activity, ServiceState, status_line
from .worker import BatchResult, SortFn, SortWorker, default_sort

if TYPE_CHECKING:
    from .notify import Notifier
    from .watcher import FolderWatcher

__all__ = ["Activity", "BatchResult", "ServiceState", "SortFn", "TrayService"]

log = logging.getLogger(__name__)


class TrayService:
    """Owns settings, watcher and the sort worker. Thread-safe; the tray only calls methods."""

    def __init__(
        self,
        *,
        settings_path: Path | None = None,
        extra_watch: tuple[Path, ...] = (),
        settle: float | None = None,
        notifier: Notifier | None = None,
        sort: SortFn = default_sort,
        on_change: Callable[[], None] = lambda: None,
        on_batch: Callable[[BatchResult], None] = lambda result: None,
        watcher_factory: Callable[..., FolderWatcher] | None = None,
    ) -> None:
        self.settings_path = settings_path or settings_mod.default_path()
        loaded = settings_mod.load(self.settings_path)
        self._settings = loaded.settings
        self.startup_problem = loaded.problem
        self._extra = tuple(Path(os.path.abspath(p)) for p in extra_watch)
        self._settle_override = settle
        if notifier is None:
            from .notify import Notifier

            notifier = Notifier()
        self.notifier = notifier
        self.on_change = on_change
        self.on_batch = on_batch
        self._watcher_factory = watcher_factory
        # One lock for the settings, the queue and the status: they change together.
        self._cond = threading.Condition()
        self._watcher: FolderWatcher | None = None
        self._problems: list[str] = []
        self._worker = SortWorker(
            self._cond,
            sort=sort,
            notifier=notifier,
            settings=lambda: self.settings,
            settle=lambda: self.settle,
            on_problem=self._problem,
            on_change=self._changed,
            on_batch=lambda result: self.on_batch(result),
        )
        self._queue = self._worker.queue

    # -- settings -------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        with self._cond:
            return self._settings

    @property
    def settle(self) -> float:
        return self._settle_override or self.settings.settle_seconds

    def watched(self) -> tuple[Path, ...]:
        from .watcher import watch_roots

        with self._cond:
            return tuple(watch_roots((*self._settings.watched, *self._extra)))

    def _update(self, **changes: Any) -> None:
        with self._cond:
            self._settings = dataclasses.replace(self._settings, **changes)
            current = self._settings
        try:
            settings_mod.save(current, self.settings_path)
        except OSError as exc:
            self._problem(f"cannot save settings to {self.settings_path}: {exc.strerror or exc}")
        self._changed()

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        from .watcher import FolderWatcher

        factory = self._watcher_factory or FolderWatcher
        self._watcher = factory(
            self.settle,
            self._on_ready,
            on_problem=self._problem,
            on_overflow=self._on_overflow,
        )
        self._watcher.start()
        self._worker.start(self._watcher)
        if self.startup_problem:
            self.notifier.notify("ReMedia settings were reset", self.startup_problem)
        for root in self.watched():
            self._watch(root, reconcile=True)
        self._changed()

    def stop(self) -> None:
        self._worker.stop()
        if self._watcher is not None:
            self._watcher.stop()
            self._remember_unhandled()

    def _remember_unhandled(self) -> None:
        """Files still arriving or waiting (paused) are picked up by the next start's scan."""
        assert self._watcher is not None
        with self._cond:
            ready = self._queue.ready_paths()
        for root in self.watched():
            waiting = ready.get(root, frozenset()) | set(self._watcher.pending_paths(root))
            last = folder_state.last_sorted(root)
            if waiting and last is not None:
                folder_state.record_sorted(root, folder_state.oldest_change(waiting, last))

    def _watch(self, root: Path, *, reconcile: bool) -> None:
        assert self._watcher is not None
        if not root.is_dir():
            self._problem(f"watched folder {root} is not there; it will be skipped")
            return
        self._watcher.add(root)
        if reconcile:
            count = self._watcher.reconcile(root, changed_since=folder_state.last_sorted(root))
            log.info("start-up scan of %s: %d files to check", root, count)

    # -- menu actions -------------------------------------------------------------------
    def pause(self) -> None:
        self._update(paused=True)

    def resume(self) -> None:
        self._update(paused=False)
        with self._cond:
            self._cond.notify_all()

    def set_paused(self, paused: bool) -> None:
        self.pause() if paused else self.resume()

    def set_strictness(self, value: int) -> None:
        self._update(strictness=int(value))

    def set_keep(self, folder: Path, keep: tuple[str, ...] | None) -> None:
        """The keep rules of a watched folder's next batches (None: the default rules)."""
        with self._cond:
            current = self._settings
        self._update(folders=current.with_folder(folder, keep=keep).folders)

    def add_folder(self, folder: Path) -> None:
        folder = Path(os.path.abspath(folder))
        with self._cond:
            watched = self._settings.watched
        if folder not in watched:
            self._update(watched=(*watched, folder))
        if self._watcher is not None:
            self._watch(folder, reconcile=True)
        self._changed()

    def remove_folder(self, folder: Path) -> None:
        folder = Path(os.path.abspath(folder))
        with self._cond:
            watched = self._settings.watched
            self._extra = tuple(p for p in self._extra if p != folder)
            self._queue.forget(folder)
        self._update(watched=tuple(p for p in watched if p != folder))
        if self._watcher is not None:
            self._watcher.remove(folder)

    def sort_now(self, folder: Path | None = None, *, full: bool = False) -> None:
        """Sort a folder (all watched ones by default) at once, even while paused.

        `full`: regroup every photo, those already in duplicates/ and similar/ included.
        """
        targets = [Path(os.path.abspath(folder))] if folder else list(self.watched())
        with self._cond:
            self._queue.force(targets, full=full)
            self._cond.notify_all()
        self._changed()

    def handle_request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Hand-off from `remedia sort FOLDER` (another process)."""
        if message.get("op") == "sort":
            folders = [Path(f) for f in message.get("folders", []) if isinstance(f, str)]
            for f in folders:
                self.sort_now(f)
            return {"ok": True, "queued": [str(f) for f in folders]}
        if message.get("op") == "ping":
            return {"ok": True, "pid": os.getpid()}
        return {"ok": False, "error": "unknown request"}

    # -- state for the tray ---------------------------------------------------------------
    def state(self) -> ServiceState:
        with self._cond:
            s = self._settings
            progress = self._worker.progress()
        watched = self.watched()
        arriving = self._watcher.pending() if self._watcher is not None else 0
        activity, status = status_line(
            working=progress.working_on,
            paused=s.paused,
            waiting=progress.waiting,
            arriving=arriving,
            watched=len(watched),
            last_batch=progress.last_batch,
        )
        return ServiceState(
            activity=activity,
            status=status,
            paused=s.paused,
            strictness=s.strictness,
            engine=s.engine,
            watched=watched,
            waiting=progress.waiting,
            last_sorted=progress.last_sorted,
        )

    def problems(self) -> list[str]:
        with self._cond:
            return list(self._problems)

    def _changed(self) -> None:
        try:
            self.on_change()
        except Exception:
            log.debug("tray update failed", exc_info=True)

    def _problem(self, message: str) -> None:
        log.warning("%s", message)
        with self._cond:
            self._problems.append(message)
        self.notifier.notify("ReMedia needs attention", message)
        self._changed()

    # -- watcher callbacks (watcher thread) ----------------------------------------------------
    def _on_ready(self, root: Path, paths: list[Path]) -> None:
        with self._cond:
            self._queue.add(root, paths)
            self._cond.notify_all()
        self._changed()

    def _on_overflow(self) -> None:
        # Events were lost: look at everything that changed since the last sort.
        for root in self.watched():
            if self._watcher is not None:
                self._watcher.reconcile(root, changed_since=folder_state.last_sorted(root))
