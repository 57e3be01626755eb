"""Moving one file without ever replacing another, and settling a move a crash cut short.

The file-level steps the mover (sorts, review actions, recovery) and the undo share. Places
(see confined.py) are reached through their checked folder's descriptor.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from ..core.media import Skipped
from ..core.planning import free_name
from ..errors import OutsideFolder
from .confined import Confined, Folder, Place
from .journal import _fsync_dir

PART_SUFFIX = ".remedia-part"
_NAME_MAX = 255  # bytes in one file name on every common filesystem


def part_name(name: str) -> str:
    part = "." + name + PART_SUFFIX
    if len(os.fsencode(part)) > _NAME_MAX:
        # A 255-byte photo name has no room for our suffix: a short, still unique, name.
        part = "." + hashlib.sha1(os.fsencode(name)).hexdigest()[:20] + PART_SUFFIX
    return part


def _place(p: Path | Place) -> Place:
    return p if isinstance(p, Place) else Place(Path(p), Path(p), None)


def safe_move(src: Path | Place, dst: Path | Place) -> None:
    """Move without ever replacing an existing file; raises FileExistsError if `dst` exists.

    Places (see confined.py) are reached through their checked folder's descriptor.
    """
    s, d = _place(src), _place(dst)
    if d.lexists():
        raise FileExistsError(errno.EEXIST, "destination exists", str(d.path))
    try:
        os.link(s.arg, d.arg, src_dir_fd=s.dir_fd, dst_dir_fd=d.dir_fd)  # atomic no-clobber
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_move(s, d)
            return
        if exc.errno in (errno.EACCES, errno.ENOSPC, errno.EROFS, errno.ENOENT):
            raise
        # Filesystems without hard links (FAT, some network shares): checked rename.
        if d.lexists():
            raise FileExistsError(errno.EEXIST, "destination exists", str(d.path)) from None
        os.rename(s.arg, d.arg, src_dir_fd=s.dir_fd, dst_dir_fd=d.dir_fd)
        return
    try:
        os.unlink(s.arg, dir_fd=s.dir_fd)
    except OSError:
        os.unlink(d.arg, dir_fd=d.dir_fd)  # undo our own link; the original is untouched
        raise


def _copy_move(src: Place, dst: Place) -> None:
    """Across filesystems: copy to a temporary name, fsync, verify, rename, then delete."""
    part = dst.sibling(part_name(dst.name))
    try:
        shutil.copy2(src.path, part.path)
        with opened(part) as fd:  # the copy, found in the checked folder
            os.fsync(fd)
        if not same_bytes(src, part):
            raise OSError(errno.EIO, "copy verification failed", str(dst.path))
        if dst.lexists():
            raise FileExistsError(errno.EEXIST, "destination exists", str(dst.path))
        os.rename(part.arg, dst.arg, src_dir_fd=part.dir_fd, dst_dir_fd=dst.dir_fd)
        _fsync_dir(dst.path.parent)
    except BaseException:
        if os.path.lexists(part.path):
            os.unlink(part.path)  # our own partial copy; the original is untouched
        raise
    os.unlink(src.arg, dir_fd=src.dir_fd)


@contextlib.contextmanager
def opened(place: Place) -> Iterator[int]:
    """`place` opened for reading, without following a link at its name."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(place.arg, flags, dir_fd=place.dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)


def same_bytes(a: Place, b: Place) -> bool:
    with opened(a) as fa, opened(b) as fb:
        if os.fstat(fa).st_size != os.fstat(fb).st_size:
            return False
        with open(fa, "rb", closefd=False) as ha, open(fb, "rb", closefd=False) as hb:
            while True:
                chunk = ha.read(1 << 20)
                if chunk != hb.read(1 << 20):
                    return False
                if not chunk:
                    return True


def why(exc: OutsideFolder | OSError) -> str:
    """What stopped a write, in a few words for a line that names the file."""
    return exc.short if isinstance(exc, OutsideFolder) else str(exc.strerror or exc)


def settle_half_move(src: Place, dst: Place) -> None:
    """Undo a move a crash interrupted; the original at `src` is always what survives."""
    # Place checks answer False for names no filesystem takes (a journaled move that failed
    # with "File name too long"), where Path.exists() raises.
    part = dst.sibling(part_name(dst.name))
    if part.lexists() and src.is_file():
        os.unlink(part.arg, dir_fd=part.dir_fd)  # an interrupted copy of ours; original intact
    if not (src.is_file() and dst.is_file()):
        return
    a, b = src.lstat(), dst.lstat()
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
        os.unlink(dst.arg, dir_fd=dst.dir_fd)  # crash between link and unlink: not moved yet
    elif same_bytes(src, dst):
        # Across filesystems: crash after the verified copy took its name but before the
        # original was removed. The journal proves `dst` was free before, so it is our copy.
        os.unlink(dst.arg, dir_fd=dst.dir_fd)


def rmdir_made(confined: Confined, path: Path) -> None:
    """Remove a folder a sort made, if it is empty (else the user put something there)."""
    with contextlib.suppress(OSError, OutsideFolder), confined.open(path.parent) as parent:
        gone = parent / path.name
        os.rmdir(gone.arg, dir_fd=gone.dir_fd)


def remove_ours(confined: Confined, path: Path) -> None:
    """Delete a file of ours (a manifest); gone already is fine."""
    with contextlib.suppress(OSError, OutsideFolder), confined.open(path.parent) as parent:
        ours = parent / path.name
        os.unlink(ours.arg, dir_fd=ours.dir_fd)


Outcome = Literal["restored", "done", "left"]


def put_back(confined: Confined, src: Path, dst: Path) -> tuple[Outcome, Skipped | None]:
    """Revert one journaled move: "restored", "done" (nothing left to do: back already, or
    gone) or "left" (the note says why; the next undo tries again)."""
    try:
        with contextlib.ExitStack() as stack:
            there = open_existing(stack, confined, dst.parent)
            home = open_existing(stack, confined, src.parent)
            moved = there / dst.name if there is not None else None
            original = home / src.name if home is not None else None
            if moved is not None and original is not None:
                settle_half_move(original, moved)
            if moved is None or not moved.lexists():
                if original is not None and original.lexists():
                    return "done", None
                return "done", Skipped(dst, "no longer there (moved by someone else); left alone")
            if home is None:  # the original's folder is gone: made again (not journaled)
                home = stack.enter_context(confined.open(src.parent, create=lambda _: None))
                original = home / src.name
            assert original is not None
            if not original.lexists():
                safe_move(moved, original)
                return "restored", None
            if original.is_file() and same_bytes(original, moved):
                os.unlink(moved.arg, dir_fd=moved.dir_fd)  # a verified copy; original was kept
                return "done", None
            name = free_name(src.name, lambda n: (home / n).lexists())
            safe_move(moved, home / name)
            return "restored", Skipped(src, f"another file now has this name; restored as {name}")
    except OutsideFolder as exc:
        return "left", Skipped(dst, f"{exc.short}; left where it is")
    except OSError as exc:
        return "left", Skipped(dst, f"could not move back: {exc.strerror or exc}")


def open_existing(
    stack: contextlib.ExitStack[Any], confined: Confined, folder: Path
) -> Folder | None:
    try:
        return stack.enter_context(confined.open(folder))
    except (FileNotFoundError, NotADirectoryError):
        return None
