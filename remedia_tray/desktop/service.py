"""The tray's engine room: watch -> batch -> sort -> notify, on threads, with no GUI.

The watcher hands on complete files; they collect per folder until no file of that folder
is still arriving, then one `sort_folder` sorts them into the library already there and one
notification reports the batch. A batch reads only the photos that arrived (the start-up
scan and a scan after lost events hand on what changed meanwhile), and the folder's library
index finds their neighbours; "Sort now", a folder without a usable index and a re-sort walk
the whole folder. Pause keeps collecting and sorts nothing. The AI model is loaded by the
sort that needs it and released after an idle period.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..atomicfile import write_atomic
from ..core.strictness import level_name
from ..core.wording import plural
from ..errors import FolderBusy, FolderNotFound, RemediaError
from ..layout import TRAY_STATE_NAME, reports_dir, tray_state_path
from . import settings as settings_mod
from .settings import Settings

if TYPE_CHECKING:
    from ..safety.report import SortReport
    from ..sorter import SortOptions
    from .notify import Notifier
    from .watcher import FolderWatcher

log = logging.getLogger(__name__)

Activity = Literal["idle", "working", "paused"]
SortFn = Callable[[Path, "SortOptions"], "SortReport"]

STATE_FILE = TRAY_STATE_NAME
BUSY_RETRY = 5.0  # seconds before retrying a folder another ReMedia process is sorting
MODEL_IDLE_RELEASE = 600.0  # release AI models after this many idle seconds


@dataclass(frozen=True)
class ServiceState:
    """A snapshot for the tray menu and icon."""

    activity: Activity
    status: str
    paused: bool
    strictness: int
    engine: str
    watched: tuple[Path, ...]
    waiting: int  # complete photos not yet sorted (held while paused)
    #: The folder of the last sort that moved photos, for "Review last sort".
    last_sorted: Path | None = None


@dataclass(frozen=True)
class BatchResult:
    folder: Path
    paths: tuple[Path, ...]  # what the watcher handed on (empty for "sort now" / hand-off)
    new_photos: int
    report: SortReport | None
    error: str | None
    notified: bool


def _default_sort(folder: Path, options: SortOptions) -> SortReport:
    from ..sorter import sort_folder

    return sort_folder(folder, options)


def _read_state(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads(tray_state_path(folder).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _last_sorted(folder: Path) -> float | None:
    """Epoch before which every photo of `folder` was handled (None: never sorted)."""
    last = _read_state(folder).get("last_sorted")
    if isinstance(last, (int, float)):
        return float(last)
    # Sorted before, but not by the tray (`remedia sort`): when its newest sort started.
    try:
        newest = max(reports_dir(folder).glob("sort-*.json"), default=None)
        if newest is None:
            return None
        seconds = json.loads(newest.read_text(encoding="utf-8")).get("seconds", 0)
        # Kernel file times lag the clock by a few milliseconds at most.
        return newest.stat().st_mtime - float(seconds) - 0.05
    except (OSError, ValueError, TypeError):
        return None


def _oldest_change(paths: Iterable[Path], default: float) -> float:
    oldest = default
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        oldest = min(oldest, st.st_ctime, st.st_mtime)
    return oldest


def _write_state(folder: Path, data: dict[str, Any]) -> None:
    target = tray_state_path(folder)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, json.dumps(data).encode("utf-8"))
    except OSError as exc:
        log.warning("cannot record the sort time of %s: %s", folder, exc)


class TrayService:
    """Owns settings, watcher and the sort worker. Thread-safe; the tray only calls methods."""

    def __init__(
        self,
        *,
        settings_path: Path | None = None,
        extra_watch: tuple[Path, ...] = (),
        settle: float | None = None,
        notifier: Notifier | None = None,
        sort: SortFn = _default_sort,
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
        self._sort = sort
        self.on_change = on_change
        self.on_batch = on_batch
        self._watcher_factory = watcher_factory
        self._cond = threading.Condition()
        self._ready: dict[Path, set[Path]] = {}
        self._forced: list[Path] = []
        self._full: set[Path] = set()
        self._retry_at: dict[Path, float] = {}
        self._working_on: Path | None = None
        self._last_line = ""
        self._last_sorted: Path | None = None
        self._stop = False
        self._thread: threading.Thread | None = None
        self._watcher: FolderWatcher | None = None
        self._problems: list[str] = []
        self._models_used_at: float | None = None

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
        self._thread = threading.Thread(target=self._loop, name="remedia-sorter", daemon=True)
        self._thread.start()
        if self.startup_problem:
            self.notifier.notify("ReMedia settings were reset", self.startup_problem)
        for root in self.watched():
            self._watch(root, reconcile=True)
        self._changed()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._watcher is not None:
            self._watcher.stop()
            self._remember_unhandled()

    def _remember_unhandled(self) -> None:
        """Files still arriving or waiting (paused) are picked up by the next start's scan."""
        assert self._watcher is not None
        with self._cond:
            ready = {root: set(paths) for root, paths in self._ready.items()}
        for root in self.watched():
            waiting = ready.get(root, set()) | set(self._watcher.pending_paths(root))
            last = _last_sorted(root)
            if waiting and last is not None:
                _write_state(root, {"last_sorted": _oldest_change(waiting, last)})

    def _watch(self, root: Path, *, reconcile: bool) -> None:
        assert self._watcher is not None
        if not root.is_dir():
            self._problem(f"watched folder {root} is not there; it will be skipped")
            return
        self._watcher.add(root)
        if reconcile:
            count = self._watcher.reconcile(root, changed_since=_last_sorted(root))
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
            self._ready.pop(folder, None)
        self._update(watched=tuple(p for p in watched if p != folder))
        if self._watcher is not None:
            self._watcher.remove(folder)

    def sort_now(self, folder: Path | None = None, *, full: bool = False) -> None:
        """Sort a folder (all watched ones by default) at once, even while paused.

        `full`: regroup every photo, those already in duplicates/ and similar/ included.
        """
        targets = [Path(os.path.abspath(folder))] if folder else list(self.watched())
        with self._cond:
            for t in targets:
                if t not in self._forced:
                    self._forced.append(t)
                if full:
                    self._full.add(t)
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
            waiting = sum(len(v) for v in self._ready.values())
            working = self._working_on
            line = self._last_line
            last_sorted = self._last_sorted
        watched = self.watched()
        pending = self._watcher.pending() if self._watcher is not None else 0
        if working is not None:
            activity: Activity = "working"
            status = f"Sorting {working.name}…"
        elif s.paused:
            activity = "paused"
            status = f"Paused: {plural(waiting, 'new photo')} waiting" if waiting else "Paused"
        else:
            activity = "idle"
            if pending:
                status = f"{plural(pending, 'photo')} arriving…"
            elif not watched:
                status = "Not watching any folder"
            elif line:
                status = line
            else:
                status = f"Watching {len(watched)} folder" + ("s" if len(watched) > 1 else "")
        return ServiceState(
            activity=activity,
            status=status,
            paused=s.paused,
            strictness=s.strictness,
            engine=s.engine,
            watched=watched,
            waiting=waiting,
            last_sorted=last_sorted,
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
            self._ready.setdefault(root, set()).update(paths)
            self._cond.notify_all()
        self._changed()

    def _on_overflow(self) -> None:
        # Events were lost: look at everything that changed since the last sort.
        for root in self.watched():
            if self._watcher is not None:
                self._watcher.reconcile(root, changed_since=_last_sorted(root))

    # -- the worker -------------------------------------------------------------------------
    def _next_job(self) -> tuple[Path, frozenset[Path], bool] | None:
        """(folder, batch paths, forced) to sort now, or None; called with the lock held."""
        now = time.monotonic()
        if self._forced:
            folder = self._forced.pop(0)
            return folder, frozenset(self._ready.pop(folder, set())), True
        if self._settings.paused:
            return None
        for root, paths in list(self._ready.items()):
            if not paths or self._retry_at.get(root, 0.0) > now:
                continue
            # A burst is one batch: wait until no file of this folder is still arriving.
            if self._watcher is not None and self._watcher.pending(root):
                continue
            del self._ready[root]
            return root, frozenset(paths), False
        return None

    def _loop(self) -> None:
        while True:
            with self._cond:
                job = None
                while not self._stop:
                    job = self._next_job()
                    if job is not None:
                        break
                    self._cond.wait(timeout=self._wait_time())
                    self._release_models_if_idle()
                if self._stop:
                    return
                assert job is not None
                folder, paths, forced = job
                self._working_on = folder
            self._changed()
            try:
                self._run_batch(folder, paths, forced)
            finally:
                with self._cond:
                    self._working_on = None
                self._changed()

    def _wait_time(self) -> float | None:
        """How long the worker may sleep (lock held): forever when there is nothing to do."""
        from .watcher import TICK

        if self._ready and not self._settings.paused:
            return TICK  # ready files wait for the rest of their burst
        if self._models_used_at is not None:
            return MODEL_IDLE_RELEASE
        return None

    def _exclude(
        self, folder: Path, batch: frozenset[Path], settle: float, excluded: list[Path]
    ) -> Callable[[Path], bool]:
        """Leave out files still arriving and complete ones that belong to the next batch."""
        watcher = self._watcher

        def later(path: Path) -> bool:
            if path in batch:
                return False
            if watcher is not None and watcher.is_pending(path):
                return True
            with self._cond:
                if path in self._ready.get(folder, ()):
                    return True
            try:
                return time.time() - os.stat(path).st_mtime < settle  # being written now
            except OSError:
                return True

        def exclude(path: Path) -> bool:
            if later(path):
                excluded.append(path)
                return True
            return False

        return exclude

    def _run_batch(self, folder: Path, paths: frozenset[Path], forced: bool) -> None:
        from ..sorter import SortOptions

        s = self.settings
        excluded: list[Path] = []
        with self._cond:
            full = folder in self._full
            self._full.discard(folder)
            batch = not forced and not full
        options = SortOptions(
            engine=s.engine,
            strictness=s.strictness,
            exclude=self._exclude(folder, paths, self.settle, excluded),
            lock_wait=1.0,
            clip_weights=s.clip_weights,
            full=full,
            arrived=tuple(sorted(paths)) if batch else None,
        )
        started = time.time()
        report = None
        error = None
        try:
            report = self._sort(folder, options)
        except FolderBusy:
            # Someone runs `remedia sort` or undo on it: try again shortly, lose nothing.
            with self._cond:
                self._ready.setdefault(folder, set()).update(paths)
                self._retry_at[folder] = time.monotonic() + BUSY_RETRY
                if forced:
                    self._forced.append(folder)
                if full:
                    self._full.add(folder)
            return
        except FolderNotFound as exc:
            error = str(exc)
        except RemediaError as exc:
            error = str(exc)
        except Exception as exc:  # one bad batch never ends the service
            log.exception("sorting %s failed", folder)
            error = f"{type(exc).__name__}: {exc}"
        if s.engine != "hash":
            self._models_used_at = time.monotonic()
        if report is None:
            self._problem(f"Sorting {folder} failed: {error}")
            self.on_batch(BatchResult(folder, tuple(sorted(paths)), 0, None, error, False))
            return
        # Everything that changed before the sort began was handled, except what it left out.
        _write_state(folder, {"last_sorted": _oldest_change(excluded, started)})
        new = self._count_new(folder, paths, report)
        notified = False
        if forced or new or report.duplicates_moved or report.similar_moved:
            from .notify import notify_report

            notified = notify_report(
                report, new_photos=None if forced and not paths else new, notifier=self.notifier
            )
        summary = f"{new} new" if not forced else plural(report.images, "photo")
        with self._cond:
            self._last_line = (
                f"Last: {folder.name}, {summary}, {plural(report.duplicates_moved, 'duplicate')} "
                f"({time.strftime('%H:%M')})"
            )
            if report.duplicates_moved or report.similar_moved:
                self._last_sorted = folder
        self.on_batch(BatchResult(folder, tuple(sorted(paths)), new, report, None, notified))

    def _count_new(self, folder: Path, paths: frozenset[Path], report: SortReport) -> int:
        """Photos of this batch the sort used: moved, or still there, and not skipped."""
        if not paths:
            return 0
        skipped = {s.path for s in report.skipped} | {s.path for s in report.failed}
        moved = {m.src for g in report.groups for m in g.moves}
        present = [p for p in paths if p not in skipped and (p in moved or p.exists())]
        kept = self._user_kept(folder, [p for p in present if p not in moved])
        return sum(1 for p in present if p not in kept)

    @staticmethod
    def _user_kept(folder: Path, paths: list[Path]) -> set[Path]:
        if not paths:
            return set()
        from ..pipeline.features import media_from_paths
        from ..safety.decisions import exclude_remembered

        files, _ = media_from_paths(paths)
        try:
            return set(exclude_remembered(folder, files, save=False).kept)
        except Exception:
            return set()

    def _release_models_if_idle(self) -> None:
        used = self._models_used_at
        if used is None or time.monotonic() - used < MODEL_IDLE_RELEASE:
            return
        self._models_used_at = None
        gc.collect()  # the sort's engines are gone with it; give their memory back
        log.info("AI model released after %.0f idle seconds", MODEL_IDLE_RELEASE)


def describe(state: ServiceState) -> str:
    """One line for logs and the headless mode."""
    folders = ", ".join(str(p) for p in state.watched) or "no folder"
    return f"{state.status} | {level_name(state.strictness)} | watching {folders}"
