"""The tree walk and its ignore rules: recursive, no symlinks, skipping our own output, hidden
entries and files still being written. The sorter and the watcher both walk with it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..core.media import MediaFile, Skipped
from ..layout import DATA_DIR, MANIFEST_NAME, OUTPUT_DIRS

# Names of files that are still being written by browsers, sync tools and phones.
TEMP_SUFFIXES = (".part", ".crdownload", ".tmp", ".partial", ".download", ".!sync")


def is_temporary_name(name: str) -> bool:
    return (
        name.startswith((".", "~$"))
        or name.lower().endswith(TEMP_SUFFIXES)
        or ".syncthing." in name
    )


def is_output_dir(parent: Path, name: str, root: Path) -> bool:
    if name not in OUTPUT_DIRS:
        return False
    # Our own output sits at the sorted root, or beside a data folder of an earlier sort.
    return parent == root or (parent / DATA_DIR).is_dir()


def _is_ignored_dir(parent: Path, name: str, root: Path) -> bool:
    return name.startswith(".") or is_output_dir(parent, name, root)


def is_ignored(root: Path, path: Path) -> bool:
    """The walk's rules for one path below `root` (for paths that come from events)."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return True
    if not parts:
        return False
    if is_temporary_name(parts[-1]):
        return True
    parent = root
    for part in parts[:-1]:
        if _is_ignored_dir(parent, part, root):
            return True
        parent = parent / part
    return False


def _skip(skipped: list[Skipped] | None, path: Path, reason: str) -> None:
    if skipped is not None:
        skipped.append(Skipped(path, reason))


def walk(
    root: Path, folder: Path | None = None, *, skipped: list[Skipped] | None = None
) -> Iterator[tuple[Path, os.stat_result]]:
    """Regular files below `folder` (default: `root`) that the rules keep, in a stable order,
    each with its `lstat`.

    Unreadable folders, symbolic links and entries that vanish are added to `skipped`.
    """
    root = Path(root)
    stack = [root if folder is None else Path(folder)]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            _skip(skipped, current, f"cannot read folder: {exc.strerror or exc}")
            continue
        subdirs: list[Path] = []
        for entry in entries:
            try:
                if entry.is_symlink():
                    # Never followed: a link can loop, or lead out of the folder being sorted.
                    _skip(skipped, Path(entry.path), "symbolic link (not followed)")
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if not _is_ignored_dir(current, entry.name, root):
                        subdirs.append(Path(entry.path))
                    continue
                if not entry.is_file(follow_symlinks=False) or is_temporary_name(entry.name):
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                _skip(skipped, Path(entry.path), f"cannot stat: {exc.strerror or exc}")
                continue
            yield Path(entry.path), st
        stack.extend(reversed(subdirs))


def iter_files(root: Path, *, skipped: list[Skipped] | None = None) -> Iterator[MediaFile]:
    """Yield regular files under `root` in a stable order.

    Unreadable folders and vanished files are added to `skipped` with a reason.
    """
    for path, st in walk(root, skipped=skipped):
        yield MediaFile.from_stat(path, st)


def folder_files(folder: Path) -> list[MediaFile]:
    """The regular files directly in `folder` that the walk would keep (no descent; an
    unreadable folder has none). A batch looks here for the companions of what arrived."""
    found: list[MediaFile] = []
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return found
    for entry in entries:
        if is_temporary_name(entry.name) or entry.name == MANIFEST_NAME:
            continue
        try:
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                continue
            found.append(MediaFile.from_stat(Path(entry.path), entry.stat(follow_symlinks=False)))
        except OSError:
            continue  # vanished since the listing
    return found
