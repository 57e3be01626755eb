"""One sort or undo per folder at a time, across processes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._platform import IS_WINDOWS
from ..errors import FolderBusy


def try_lock(fd: int) -> bool:
    """Take an exclusive, non-blocking lock on an open file; the OS drops it on exit."""
    if IS_WINDOWS:
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


@contextmanager
def folder_lock(lock_path: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock; raise FolderBusy if it is not free within `wait` seconds.

    The OS drops the lock when the process dies, so a crash never leaves the folder locked.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while not try_lock(fd):
            if time.monotonic() >= deadline:
                raise FolderBusy(
                    f"{lock_path.parent.parent} is being sorted or undone by another ReMedia "
                    "process; try again when it has finished"
                )
            time.sleep(0.2)
        yield
    finally:
        os.close(fd)  # closing releases the lock
