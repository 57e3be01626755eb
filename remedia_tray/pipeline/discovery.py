"""Finding candidate files: recursive, no symlinks, skipping our own output and hidden folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..core.media import MediaFile, Skipped
from ..layout import DATA_DIR, OUTPUT_DIRS

# Names of files that are still being written by browsers, sync tools and phones.
TEMP_SUFFIXES = (".part", ".crdownload", ".tmp", ".partial", ".download", ".!sync")


def is_temporary_name(name: str) -> bool:
    return name.startswith((".", "~$")) or name.lower().endswith(TEMP_SUFFIXES)


def iter_files(root: Path, *, skipped: list[Skipped] | None = None) -> Iterator[MediaFile]:
    """Yield regular files under `root` in a stable order.

    Unreadable folders and vanished files are added to `skipped` with a reason.
    """
    root = Path(root)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if skipped is not None:
                skipped.append(Skipped(folder, f"cannot read folder: {exc.strerror or exc}"))
            continue
        subdirs: list[Path] = []
        for entry in entries:
            try:
                if entry.is_symlink():
                    # Never followed: a link can loop, or lead out of the folder being sorted.
                    if skipped is not None:
                        skipped.append(Skipped(Path(entry.path), "symbolic link (not followed)"))
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if entry.name.startswith(".") or _is_output_dir(folder, entry.name, root):
                        continue
                    subdirs.append(Path(entry.path))
                    continue
                if not entry.is_file(follow_symlinks=False) or is_temporary_name(entry.name):
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                if skipped is not None:
                    skipped.append(Skipped(Path(entry.path), f"cannot stat: {exc.strerror or exc}"))
                continue
            yield MediaFile(Path(entry.path), st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)
        stack.extend(reversed(subdirs))


def _is_output_dir(parent: Path, name: str, root: Path) -> bool:
    if name not in OUTPUT_DIRS:
        return False
    # Our own output sits at the sorted root, or beside a data folder of an earlier sort.
    return parent == root or (parent / DATA_DIR).is_dir()
