"""Watching folders: a file is handed on once, and only when it has finished arriving.

Events are hints (they are lost in overflows, missing on network shares, and a temp name
renamed into place gives no "created"), so every event only (re)arms a path in the
`Settler`; a file is handed on when it has been quiet for the settle time, its size and
times match what the last event saw, it is not empty and it opens. A file that is still
growing (or shrinks, or is rewritten) waits a whole settle time again after every change
seen, however long it keeps changing: a video copied over minutes is handed on once, after
it stopped. A handed-on file is remembered for a while, so an event that changes nothing
(its writer closing it late, a network folder's next poll) does not hand it on again. A
picture that can have companions (a Live Photo's video, sidecars, a RAW: core/mediasets.py)
also waits until `COMPANION_WAIT` seconds passed since the last event of a file with its
stem in its folder, so that a set copied in pieces (the HEIC, then its MOV) is sorted as
one. A reconcile scan feeds the same settler at start, after a queue overflow and whenever
the service asks.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..core.mediasets import PRIMARY_SUFFIXES
from ..pipeline.discovery import is_ignored, walk
from .fsinfo import count_dirs, inotify_budget, is_network_path, watch_limit_advice

log = logging.getLogger(__name__)

WatchMode = Literal["native", "polling"]
Stat = Callable[[Path], os.stat_result]
Sig = tuple[int, int, int]  # (size, mtime_ns, ctime_ns): any change means "not finished"

#: A file still empty or unopenable after this many quiet, unchanged periods is handed on
#: anyway (the sorter then reports it), so one odd file never holds back a whole batch. A file
#: that changes between two looks is not odd but still arriving: that never counts here.
MAX_RETRIES = 4
#: How long a handed-on file is remembered (seconds, at least three polls of a network
#: folder): an event in that time that finds it unchanged is not a new arrival.
REMEMBER = 60.0
POLL_INTERVAL = 10.0  # seconds between scans of a network folder
#: Seconds a file may keep growing while its folder's batch waits for it; then the batch goes
#: without it (the file still waits until it stops growing, however long).
LONG_WRITE = 30.0
TICK = 0.25  # how often the settler looks at quiet files while any are pending
#: A picture that can have companions is handed on only once no file with its stem arrived
#: in its folder for this many seconds: phones and sync tools copy a Live Photo's video, its
#: AAE or a RAW right after the picture, and the set is then sorted as one.
COMPANION_WAIT = 3.0

_APPLE_MARK = re.compile(r"^(img_)[eo](\d+)$")
_COPY_NUMBER = re.compile(r"\(\d+\)$")


def stem_key(path: Path) -> tuple[Path, str]:
    """The folder and the lower-case stem the files of one media set share: `IMG_1.HEIC`,
    `IMG_1.MOV`, `IMG_1.jpg.xmp`, `IMG_1.jpg.json`, `IMG_E1.JPG`, `IMG_O1.AAE` and Takeout's
    numbered copy `IMG_1(1).jpg` alike."""
    stem = _COPY_NUMBER.sub("", path.name.split(".", 1)[0].lower())
    return path.parent, _APPLE_MARK.sub(r"\1\2", stem)


def _can_open(path: Path) -> bool:
    try:
        # Windows refuses a file another process is still writing (sharing violation).
        with open(path, "rb") as fh:
            fh.read(1)
        return True
    except OSError:
        return False


@dataclass
class _Armed:
    root: Path
    at: float  # time of the last event or of the last change the settler saw
    sig: Sig | None  # seen then
    retries: int = 0  # quiet, unchanged looks at a file that was empty or did not open
    since: float = 0.0  # when it was first armed (a re-arm keeps it)


class Settler:
    """Pure bookkeeping of pending paths; the caller supplies the clock.

    `companion_wait`: a picture that can have companions (`PRIMARY_SUFFIXES`) is due only
    once this many seconds passed since the last event of a file with its stem (`stem_key`)
    too; 0 hands it on as soon as it settled. `remember`: seconds a handed-on file stays
    known (`REMEMBER`). Each pending file is looked at (one stat) at most once per settle
    time, however often `due` is called.
    """

    def __init__(
        self,
        settle: float,
        *,
        companion_wait: float = 0.0,
        remember: float = REMEMBER,
        stat: Stat = os.stat,
        can_open: Callable[[Path], bool] = _can_open,
    ) -> None:
        self.settle = settle
        self.companion_wait = companion_wait
        self.remember = remember
        self._stat = stat
        self._can_open = can_open
        self._armed: dict[Path, _Armed] = {}
        self._stem_at: dict[tuple[Path, str], float] = {}  # last event per folder and stem
        # Handed-on files, oldest first: (sig then, when).
        self._handed: dict[Path, tuple[Sig, float]] = {}

    def _sig(self, path: Path) -> Sig | None:
        try:
            st = self._stat(path)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def touch(self, root: Path, path: Path, now: float, *, arrived: bool = True) -> None:
        """(Re)arm `path`. `arrived=False`: found by a scan, not seen arriving (a file that
        was there already holds back no picture of its stem). A file handed on lately and
        unchanged since (same size and times; a rename changes ctime) stays handed on."""
        sig = self._sig(path)
        handed = self._handed.get(path)
        if handed is not None and handed[0] == sig and now - handed[1] < self.remember:
            return  # never armed at the same time: arming forgets it
        self._handed.pop(path, None)
        before = self._armed.get(path)
        self._armed[path] = _Armed(root, now, sig, since=now if before is None else before.since)
        if arrived and self.companion_wait > 0:
            self._stem_at[stem_key(path)] = now

    def _awaits_companions(self, path: Path, now: float) -> bool:
        """A picture whose set may still be arriving: a file of its stem had an event lately."""
        if self.companion_wait <= 0 or path.suffix.lower() not in PRIMARY_SUFFIXES:
            return False
        at = self._stem_at.get(stem_key(path))
        return at is not None and now - at < self.companion_wait

    def drop(self, path: Path) -> None:
        self._armed.pop(path, None)
        self._handed.pop(path, None)  # gone: whatever comes back under its name is new

    def drop_under(self, folder: Path) -> None:
        for known in (self._armed, self._handed):
            for p in [p for p in known if p == folder or folder in p.parents]:
                del known[p]

    def is_pending(self, path: Path) -> bool:
        return path in self._armed

    def pending(self, root: Path | None = None) -> int:
        if root is None:
            return len(self._armed)
        return sum(1 for a in self._armed.values() if a.root == root)

    def pending_paths(self, root: Path) -> list[Path]:
        return [p for p, a in self._armed.items() if a.root == root]

    def arriving(self, root: Path, now: float) -> bool:
        """A file of `root` began arriving less than `LONG_WRITE` seconds ago: a burst the
        batch waits for. A longer write (a video still copying) holds no batch back; it
        stays pending and joins a later one."""
        return any(a.root == root and now - a.since < LONG_WRITE for a in self._armed.values())

    def due(self, now: float) -> list[tuple[Path, Path]]:
        """(root, path) of files that are complete now; changing ones wait a settle time
        more (no limit), empty or unopenable ones up to `MAX_RETRIES` times."""
        ready: list[tuple[Path, Path]] = []
        for path, armed in list(self._armed.items()):
            if now - armed.at < self.settle or self._awaits_companions(path, now):
                continue
            sig = self._sig(path)
            if sig is None:  # gone (or unreadable) since: nothing to sort
                del self._armed[path]
            elif sig != armed.sig:  # grew, shrank or was rewritten without an event
                self._armed[path] = _Armed(armed.root, now, sig, since=armed.since)
            elif (sig[0] > 0 and self._can_open(path)) or armed.retries >= MAX_RETRIES:
                del self._armed[path]
                self._handed[path] = (sig, now)
                ready.append((armed.root, path))
            else:
                self._armed[path] = _Armed(armed.root, now, sig, armed.retries + 1, armed.since)
        for key in [k for k, at in self._stem_at.items() if now - at >= self.companion_wait]:
            del self._stem_at[key]
        self._forget_handed(now)
        return ready

    def _forget_handed(self, now: float) -> None:
        # Oldest first (handed on in order), so this stops at the first one still remembered.
        while self._handed:
            path = next(iter(self._handed))
            if now - self._handed[path][1] < self.remember:
                return
            del self._handed[path]


# -- the watcher ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchInfo:
    root: Path
    mode: WatchMode
    reason: str  # why this mode, in words for the status line or a notification


class _OverflowSpy(logging.Handler):
    """watchdog reports an inotify queue overflow only as a log line; turn it into a call."""

    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self._callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self._callback()


class FolderWatcher:
    """Watches roots recursively and calls `on_ready(root, paths)` with settled files.

    Callbacks run on the watcher's own thread; keep them short (queue the work).
    """

    def __init__(
        self,
        settle: float,
        on_ready: Callable[[Path, list[Path]], None],
        *,
        on_problem: Callable[[str], None] = lambda message: None,
        on_overflow: Callable[[], None] = lambda: None,
        poll_interval: float = POLL_INTERVAL,
        budget: Callable[[], int | None] = inotify_budget,
        is_network: Callable[[Path], bool] = is_network_path,
        clock: Callable[[], float] = time.monotonic,
        companion_wait: float = COMPANION_WAIT,
    ) -> None:
        # Remembered for three polls: a network folder's next poll reports the last growth
        # of a file the settler already handed on.
        remember = max(REMEMBER, 3 * poll_interval)
        self._settler = Settler(settle, companion_wait=companion_wait, remember=remember)
        self._on_ready = on_ready
        self._on_problem = on_problem
        self._on_overflow = on_overflow
        self._poll_interval = poll_interval
        self._budget = budget
        self._is_network = is_network
        self._clock = clock
        self._cond = threading.Condition()
        self._roots: dict[Path, tuple[WatchInfo, Any]] = {}
        self._native: Any = None
        self._polling: Any = None
        self._thread: threading.Thread | None = None
        self._stop = False
        self._spy = _OverflowSpy(self._overflowed)
        # Settled files on their way to on_ready still count as pending, so that a caller
        # never sees "nothing pending" between the settler letting go and on_ready.
        self._in_flight: dict[Path, int] = defaultdict(int)
        self._last_supervise = 0.0

    # -- settle time ----------------------------------------------------------------
    @property
    def settle(self) -> float:
        return self._settler.settle

    @settle.setter
    def settle(self, seconds: float) -> None:
        with self._cond:
            self._settler.settle = seconds

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        self._native = Observer()
        self._polling = PollingObserver(timeout=self._poll_interval)
        self._native.daemon = True
        self._polling.daemon = True
        self._native.start()
        self._polling.start()
        logging.getLogger("watchdog.observers.inotify_c").addHandler(self._spy)
        self._thread = threading.Thread(target=self._loop, name="remedia-settler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        logging.getLogger("watchdog.observers.inotify_c").removeHandler(self._spy)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        # The settler thread goes first: it would take the observers' stopping emitters for
        # dead ones and schedule them again (a KeyError in watchdog that ended the thread).
        if self._thread is not None:
            self._thread.join(timeout=5)
        for obs in (self._native, self._polling):
            if obs is not None:
                obs.stop()
        for obs in (self._native, self._polling):
            if obs is not None and obs.is_alive():
                obs.join(timeout=5)

    # -- roots ------------------------------------------------------------------------
    @property
    def roots(self) -> dict[Path, WatchInfo]:
        with self._cond:
            return {root: info for root, (info, _watch) in self._roots.items()}

    def _choose_mode(self, root: Path) -> WatchInfo:
        if self._is_network(root):
            return WatchInfo(root, "polling", "network folder: checked by polling")
        budget = self._budget()
        if budget is not None:
            dirs = count_dirs(root, budget)
            if dirs > budget:
                return WatchInfo(root, "polling", watch_limit_advice(root, budget))
        return WatchInfo(root, "native", "watched for changes")

    def add(self, root: Path) -> WatchInfo:
        """Start watching `root` (recursively). Problems are reported, never raised."""
        root = Path(os.path.abspath(root))
        with self._cond:
            if root in self._roots:
                return self._roots[root][0]
        info = self._choose_mode(root)
        if info.mode == "polling" and not info.reason.startswith("network"):
            self._on_problem(info.reason)
        watch = None
        try:
            watch = self._schedule(root, info.mode)
        except OSError as exc:
            if info.mode == "native" and exc.errno in (errno.ENOSPC, errno.EMFILE):
                info = WatchInfo(root, "polling", watch_limit_advice(root, 0))
                self._on_problem(info.reason)
                watch = self._schedule(root, "polling")
            else:
                info = WatchInfo(root, "polling", f"cannot watch {root}: {exc.strerror or exc}")
                self._on_problem(info.reason)
        with self._cond:
            self._roots[root] = (info, watch)
        log.info("watching %s (%s)", root, info.reason)
        return info

    def _schedule(self, root: Path, mode: WatchMode) -> Any:
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
        )

        handler = _Handler(self, root)
        if mode == "polling":
            return self._polling.schedule(handler, str(root), recursive=True)
        # Without this filter the open/close-nowrite events of watchdog's own walk of a
        # large tree overflow the kernel queue, which triggers another walk (a loop).
        event_filter: list[Any] = [
            FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileMovedEvent,
            FileDeletedEvent, DirCreatedEvent, DirMovedEvent, DirDeletedEvent,
        ]  # fmt: skip
        return self._native.schedule(handler, str(root), recursive=True, event_filter=event_filter)

    def remove(self, root: Path) -> None:
        root = Path(os.path.abspath(root))
        with self._cond:
            entry = self._roots.pop(root, None)
            self._settler.drop_under(root)
        if entry is None or entry[1] is None:
            return
        info, watch = entry
        observer = self._polling if info.mode == "polling" else self._native
        try:
            observer.unschedule(watch)
        except (KeyError, OSError):
            pass

    # -- events -----------------------------------------------------------------------
    def touch(self, root: Path, path: Path, *, arrived: bool = True) -> None:
        if is_ignored(root, path):
            return
        with self._cond:
            if root not in self._roots:
                return
            self._settler.touch(root, path, self._clock(), arrived=arrived)
            self._cond.notify_all()

    def drop(self, path: Path, *, tree: bool = False) -> None:
        with self._cond:
            if tree:
                self._settler.drop_under(path)
            else:
                self._settler.drop(path)

    def touch_tree(self, root: Path, folder: Path) -> None:
        for path, _st in walk(root, folder):
            self.touch(root, path)

    def is_pending(self, path: Path) -> bool:
        with self._cond:
            return self._settler.is_pending(path)

    def pending(self, root: Path | None = None) -> int:
        with self._cond:
            moving = sum(self._in_flight.values()) if root is None else self._in_flight[root]
            return self._settler.pending(root) + moving

    def pending_paths(self, root: Path) -> list[Path]:
        with self._cond:
            return self._settler.pending_paths(root)

    def arriving(self, root: Path) -> bool:
        """Files of `root` are still arriving in a burst its batch should wait for."""
        with self._cond:
            return bool(self._in_flight[root]) or self._settler.arriving(root, self._clock())

    def reconcile(self, root: Path, *, changed_since: float | None = None) -> int:
        """Feed files that changed since `changed_since` (epoch; None = all) to the settler."""
        count = 0
        for path, st in walk(root):
            # ctime moves on create, copy-in, rename and link: "arrived since".
            if changed_since is not None and max(st.st_ctime, st.st_mtime) < changed_since:
                continue
            self.touch(root, path, arrived=False)  # there already: no companion wait
            count += 1
        return count

    def _overflowed(self) -> None:
        self._on_overflow()

    # -- the settler thread -------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._settler.pending() == 0:
                    # Idle: no timeout except a slow supervision tick, so CPU stays near zero.
                    self._cond.wait(timeout=60.0)
                    if not self._stop:
                        self._supervise_locked()
                if self._stop:
                    return
            time.sleep(TICK)
            by_root: dict[Path, list[Path]] = defaultdict(list)
            with self._cond:
                for root, path in self._settler.due(self._clock()):
                    by_root[root].append(path)
                for root, paths in by_root.items():
                    self._in_flight[root] += len(paths)
            for root, paths in by_root.items():
                try:
                    self._on_ready(root, paths)
                except Exception:
                    log.exception("handling settled files of %s failed", root)
                finally:
                    with self._cond:
                        self._in_flight[root] -= len(paths)

    def _supervise_locked(self) -> None:
        """Re-schedule roots whose emitter thread died (watchdog does not restart them)."""
        now = self._clock()
        if now - self._last_supervise < 30.0:
            return
        self._last_supervise = now
        for obs in (self._native, self._polling):
            if obs is None:
                continue
            for emitter in list(getattr(obs, "emitters", ())):
                if emitter.is_alive():
                    continue
                root = Path(emitter.watch.path)
                entry = self._roots.get(root)
                if entry is None:
                    continue
                log.warning("watching %s stopped; starting it again", root)
                try:
                    obs.unschedule(emitter.watch)
                    watch = self._schedule(root, entry[0].mode)
                    self._roots[root] = (entry[0], watch)
                except OSError as exc:
                    self._on_problem(f"cannot watch {root} any more: {exc.strerror or exc}")


class _Handler:
    """watchdog handler: translate events into settler calls (no work on this thread)."""

    def __init__(self, watcher: FolderWatcher, root: Path) -> None:
        self._w = watcher
        self._root = root

    def dispatch(self, event: Any) -> None:
        kind = event.event_type
        src = Path(os.fsdecode(event.src_path))
        if kind in ("created", "modified", "closed"):
            if event.is_directory:
                if kind == "created":
                    self._w.touch_tree(self._root, src)
                return
            self._w.touch(self._root, src)
        elif kind == "moved":
            dest = Path(os.fsdecode(event.dest_path))
            self._w.drop(src, tree=event.is_directory)
            if event.is_directory:
                self._w.touch_tree(self._root, dest)
            else:
                self._w.touch(self._root, dest)
        elif kind == "deleted":
            self._w.drop(src, tree=event.is_directory)


def watch_roots(paths: Iterable[Path]) -> list[Path]:
    """Absolute, de-duplicated roots in the given order; a folder inside another is left out."""
    unique = list(dict.fromkeys(Path(os.path.abspath(p)) for p in paths))
    return [r for r in unique if not any(k in r.parents for k in unique)]
