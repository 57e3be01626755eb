"""Videos are read in worker processes, each file under a time limit.

A decoder can hang or crawl on a damaged file, and a process pool cannot take back a task it
handed out: here each worker reads one file at a time, and one that runs past the limit (or
dies) is killed and replaced. The file is skipped with the reason; the others go on.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.media import ImageInfo
from .video_read import info_blob, read_info

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import SpawnProcess

log = logging.getLogger(__name__)

#: Seconds one video may take to read (a sort of a long video on a slow disk takes a few).
DEFAULT_TIME_LIMIT = 60.0
#: Workers that die before reading anything, in a row, before the pool gives up.
_START_FAILURES = 3


@dataclass(frozen=True)
class Outcome:
    """What reading one video gave: its facts and signature, or why it was skipped."""

    info: ImageInfo | None
    signature: np.ndarray | None
    reason: str | None = None


def read_one(path: Path, previews: Path | None) -> Outcome:
    """Read one video (in a worker process); never raises."""
    from .video_read import UnreadableVideo, read_video

    try:
        read = read_video(path, previews=previews)
    except UnreadableVideo as exc:
        return Outcome(None, None, str(exc))
    except MemoryError:
        return Outcome(None, None, "not enough memory to read this video")
    except Exception as exc:  # one odd file never ends the run
        log.warning("unexpected error on %s", path, exc_info=True)
        return Outcome(None, None, f"could not process ({type(exc).__name__}: {exc})")
    return Outcome(read.info, read.signature)


def _serve(conn: Connection) -> None:
    """A worker: read the videos it is sent, one at a time, until it is sent an empty name.

    Only bytes cross the pipe (names, JSON, the signature's bytes), never pickles.
    """
    import signal

    # Ctrl-C is the main process's to handle: it stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import av  # noqa: F401  (imported before "ready": the time limit counts reading only)

    conn.send_bytes(_READY)
    while True:
        name = conn.recv_bytes()
        if not name:
            return
        previews = conn.recv_bytes()
        found = read_one(Path(os.fsdecode(name)), Path(os.fsdecode(previews)) if previews else None)
        head = {"reason": found.reason}
        if found.info is not None:
            head["info"] = info_blob(found.info).decode()
        conn.send_bytes(json.dumps(head).encode())
        conn.send_bytes(b"" if found.signature is None else found.signature.tobytes())


_READY = b"ready"


def _send_job(conn: Connection, path: Path, previews: Path | None) -> None:
    conn.send_bytes(os.fsencode(path))
    conn.send_bytes(b"" if previews is None else os.fsencode(previews))


def _receive(conn: Connection) -> Outcome | None:
    """A worker's answer; None for its "ready"."""
    head = conn.recv_bytes()
    if head == _READY:
        return None
    data = json.loads(head)
    signature = conn.recv_bytes()
    if "info" not in data:
        return Outcome(None, None, data.get("reason") or "unreadable")
    info, _ = read_info(data["info"].encode())
    return Outcome(info, np.frombuffer(signature, dtype=np.uint8).copy())


@dataclass
class _Worker:
    process: SpawnProcess
    conn: Connection
    ready: bool = False
    job: int | None = None  # the position being read
    deadline: float = 0.0

    def stop(self, *, kill: bool) -> None:
        try:
            if kill:
                self.process.kill()
            else:
                self.conn.send_bytes(b"")
        except (OSError, ValueError):
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


def _start() -> _Worker:
    import multiprocessing

    # spawn: forking a process that runs threads (the tray) can deadlock.
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(child,), daemon=True)
    process.start()
    child.close()
    return _Worker(process, parent)


def read_videos(
    paths: Sequence[Path],
    *,
    workers: int,
    time_limit: float = DEFAULT_TIME_LIMIT,
    previews: Path | None = None,
) -> Iterator[tuple[int, Outcome]]:
    """(position in `paths`, outcome) for every path, in the order they finish."""
    from multiprocessing.connection import wait

    if not paths:
        return
    pending = deque(range(len(paths)))
    pool = [_start() for _ in range(max(1, min(workers, len(paths))))]
    failures = 0
    try:
        while pending or any(w.job is not None for w in pool):
            for w in pool:
                if w.ready and w.job is None and pending:
                    w.job = pending.popleft()
                    w.deadline = time.monotonic() + time_limit
                    try:
                        _send_job(w.conn, paths[w.job], previews)
                    except OSError:
                        pass  # it died: the wait below sees its end of the pipe close
            busy = [w.deadline for w in pool if w.job is not None]
            timeout = max(0.0, min(busy) - time.monotonic()) if busy else None
            ready = set(wait([w.conn for w in pool], timeout=timeout))
            for k, w in enumerate(pool):
                outcome, fresh = _outcome(w, ready, time_limit)
                if fresh is None:
                    continue
                if w.job is not None:
                    yield w.job, outcome if outcome is not None else _CRASHED
                    w.job = None
                    failures = 0
                elif not fresh:
                    failures += 1
                if fresh is False:  # killed or dead: a new worker takes its place
                    w.stop(kill=True)
                    pool[k] = _start()
            if failures >= _START_FAILURES:  # workers die as they start: none can read
                log.warning("video reading processes do not start")
                while pending:
                    yield pending.popleft(), _NO_READER
                for w in pool:
                    if w.job is not None:
                        yield w.job, _NO_READER
                        w.job = None
                return
    finally:
        for w in pool:
            w.stop(kill=w.job is not None)


def _outcome(w: _Worker, ready: set[Any], time_limit: float) -> tuple[Outcome | None, bool | None]:
    """(outcome, alive) of worker `w` after a wait: alive None when nothing happened, True
    when it answered, False when it died or ran out of time (it must be replaced)."""
    if w.conn in ready:
        try:
            message = _receive(w.conn)
        except (EOFError, OSError):
            return None, False
        if message is None:
            w.ready = True
            return None, None
        return message, True
    if w.job is not None and time.monotonic() >= w.deadline:
        return Outcome(None, None, f"took longer than {time_limit:g} s to read (stopped)"), False
    return None, None


#: Workers die as they start (no PyAV, a broken install): no video can be read.
_NO_READER = Outcome(None, None, "cannot start the video reader (is PyAV installed?)")
#: A worker that died while reading a file (the decoder crashed on it).
_CRASHED = Outcome(None, None, "the video decoder crashed on this file")
