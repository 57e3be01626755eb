"""The one rule for where ReMedia writes: real folders inside FOLDER, reached without a symlink.

FOLDER itself is resolved once (it may be a link the user made, ~/Pictures -> /data/pictures).
Below it, a folder a file moves into or out of is opened one name at a time, each relative to
the one before, with O_NOFOLLOW | O_DIRECTORY (openat); the move is then made relative to that
descriptor (linkat, renameat, unlinkat), so a folder swapped for a link after the check is not
followed either. Where the platform has no descriptor-relative calls (Windows), every step is
checked with lstat instead, reparse points (symlinks, junctions) included.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..core.wording import shown
from ..errors import OutsideFolder
from ..layout import (
    OUTPUT_DIRS,
    data_dir,
    journal_dir,
    library_index_path,
    lock_path,
    reports_dir,
    review_dir,
    thumbs_dir,
)

#: openat and the other *at() calls, with O_NOFOLLOW: checked once, where the module loads.
DIR_FD: bool = (
    hasattr(os, "O_NOFOLLOW")
    and hasattr(os, "O_DIRECTORY")
    and all(
        f in os.supports_dir_fd
        for f in (os.open, os.stat, os.mkdir, os.link, os.rename, os.unlink, os.rmdir)
    )
)
# O_PATH (Linux) opens a folder for the *at() calls without needing read permission on it.
_OPEN_DIR = getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0)
_OPEN_DIR |= getattr(os, "O_CLOEXEC", 0)
_REPARSE_POINT = 0x400  # FILE_ATTRIBUTE_REPARSE_POINT: a Windows symlink or junction


@dataclass(frozen=True)
class Place:
    """A name in a checked folder: `path` to show (and for os.fspath), `arg` with `dir_fd`
    for the os calls (`dir_fd=None` and the full path where descriptors are not used)."""

    path: Path
    arg: str | Path
    dir_fd: int | None

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    def lstat(self) -> os.stat_result:
        return os.stat(self.arg, dir_fd=self.dir_fd, follow_symlinks=False)

    def lexists(self) -> bool:
        """Like os.path.lexists: False for a name no filesystem takes, too."""
        try:
            self.lstat()
        except (OSError, ValueError):
            return False
        return True

    def is_file(self) -> bool:
        """A regular file (a symlink is not one)."""
        try:
            return stat.S_ISREG(self.lstat().st_mode)
        except (OSError, ValueError):
            return False

    def sibling(self, name: str) -> Place:
        """Another name in the same folder."""
        arg: str | Path = name if self.dir_fd is not None else Path(self.arg).with_name(name)
        return Place(self.path.with_name(name), arg, self.dir_fd)


@dataclass(frozen=True)
class Folder:
    """A folder opened under the rule: `fd` is its descriptor (None without DIR_FD)."""

    path: Path  # as the journal names it
    real: Path  # below the resolved FOLDER, for the calls without a descriptor
    fd: int | None

    def __truediv__(self, name: str) -> Place:
        if self.fd is not None:
            return Place(self.path / name, name, self.fd)
        return Place(self.path / name, self.real / name, None)


class Confined:
    """FOLDER, resolved once, and the folders below it opened without following a link.

    `aliases`: other spellings of FOLDER (the root a journal recorded) accepted when they
    resolve to the same folder. `dir_fd=False` checks with lstat, as on Windows.
    """

    def __init__(self, root: Path, *, aliases: Iterable[Path] = (), dir_fd: bool = DIR_FD):
        self.root = Path(root)
        self.real = Path(os.path.realpath(self.root))
        self.dir_fd = dir_fd
        same = [Path(a) for a in aliases if os.path.realpath(a) == str(self.real)]
        self._bases = (self.root, self.real, *same)

    def names(self, folder: Path) -> tuple[str, ...]:
        """`folder` as the names below FOLDER, or OutsideFolder."""
        folder = Path(folder)
        for base in self._bases:
            try:
                names = folder.relative_to(base).parts
            except ValueError:
                continue
            if ".." not in names:
                return names
        raise OutsideFolder(f"{shown(folder)} is not inside {shown(self.root)}")

    @contextlib.contextmanager
    def open(
        self, folder: Path, *, create: Callable[[Path], None] | None = None
    ) -> Iterator[Folder]:
        """`folder`, opened under the rule, for the length of the block.

        Missing folders on the way are made when `create` is given (called with each one's
        path first, so it can be journaled); without it they raise FileNotFoundError.
        Raises OutsideFolder for a symlink on the way, NotADirectoryError for a file.
        """
        names = self.names(folder)
        if not self.dir_fd:
            real = self._walk(names, create)
            yield Folder(Path(folder), real, None)
            return
        fd = os.open(self.real, _OPEN_DIR)  # FOLDER itself: its links were resolved above
        try:
            here = self.root
            for name in names:
                here = here / name
                child = self._step(fd, name, here, create)
                os.close(fd)
                fd = child
            yield Folder(Path(folder), self.real.joinpath(*names), fd)
        finally:
            os.close(fd)

    def check(self, folder: Path) -> None:
        """OutsideFolder if the part of `folder` that exists has a symlink on the way (other
        problems, a missing or unreadable folder, are for the operation itself to report)."""
        with contextlib.suppress(OSError), self.open(folder):
            pass

    def _step(
        self, parent: int, name: str, here: Path, create: Callable[[Path], None] | None
    ) -> int:
        """Open `name` in `parent` without following a link."""
        flags = _OPEN_DIR | getattr(os, "O_NOFOLLOW", 0)
        try:
            return os.open(name, flags, dir_fd=parent)
        except FileNotFoundError:
            if create is None:
                raise
            create(here)
            with contextlib.suppress(FileExistsError):  # made meanwhile: checked below
                os.mkdir(name, 0o777, dir_fd=parent)
            return self._step(parent, name, here, None)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                raise
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise _symlink(here, self.root) from None
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(here)) from None

    def _walk(self, names: tuple[str, ...], create: Callable[[Path], None] | None) -> Path:
        """Without descriptors: lstat every step (the check is as good as the moment it ran)."""
        real, here = self.real, self.root
        for name in names:
            real, here = real / name, here / name
            try:
                st = os.lstat(real)
            except FileNotFoundError:
                if create is None:
                    raise
                create(here)
                with contextlib.suppress(FileExistsError):
                    os.mkdir(real)
                st = os.lstat(real)
            if stat.S_ISLNK(st.st_mode) or getattr(st, "st_file_attributes", 0) & _REPARSE_POINT:
                raise _symlink(here, self.root)
            if not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(here))
        return real


def _symlink(path: Path, root: Path) -> OutsideFolder:
    try:
        name = path.relative_to(root)
    except ValueError:
        name = path
    return OutsideFolder(
        f"{shown(path)} is a symlink; ReMedia writes only into real folders inside {shown(root)}",
        short=f"{shown(name)} is a symlink",
    )


def check_own_folders(root: Path) -> None:
    """OutsideFolder when a folder ReMedia itself writes in (FOLDER/.remedia and those in it,
    duplicates/, similar/) or the lock file is a symlink. Call before taking the lock."""
    confined = Confined(root)
    own = (data_dir(root), journal_dir(root), reports_dir(root), review_dir(root))
    try:
        for folder in (*own, thumbs_dir(root), library_index_path(root)):
            confined.check(folder)
        for name in OUTPUT_DIRS:
            confined.check(confined.root / name)
        lock = lock_path(root)
        with contextlib.suppress(OSError), confined.open(lock.parent) as data:
            if stat.S_ISLNK((data / lock.name).lstat().st_mode):
                raise _symlink(lock, confined.root)
    except OutsideFolder as exc:
        raise exc.before_any_move() from None
