"""One sort or undo per folder at a time, across processes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._platform import IS_WINDOWS
from ..core.wording import shown
from ..errors import FolderBusy, FolderNotFound, RemediaError
from ..layout import data_dir


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
    Only ReMedia's data folder is made: a folder that does not exist (a typo) never is.
    Raises FolderNotFound for a missing folder, and RemediaError when the data folder's name
    is taken by a file; PermissionError is left to the caller, who knows what was refused.
    """
    fd = _open_lock(lock_path)
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


def check_data_folder(root: Path) -> None:
    """RemediaError when FOLDER/.remedia is there but is not a folder (a file of the user's)."""
    data = data_dir(root)
    if os.path.lexists(data) and not data.is_dir():
        raise _taken(data)


def _taken(data: Path) -> RemediaError:
    return RemediaError(
        f"{shown(data)} is a file, not ReMedia's data folder; rename or remove it and try again"
    )


def _open_lock(lock_path: Path) -> int:
    data = lock_path.parent
    root = data.parent
    try:
        data.mkdir(exist_ok=True)  # not parents=True: `remedia undo typo` must not make typo/
        return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        raise FolderNotFound(f"folder not found: {root}") from None
    except (FileExistsError, NotADirectoryError):
        if not root.is_dir():
            raise FolderNotFound(f"not a folder: {root}") from None
        raise _taken(data) from None
    except PermissionError:
        raise
    except OSError as exc:
        raise RemediaError(f"cannot write to {root} ({exc.strerror or exc})") from None
