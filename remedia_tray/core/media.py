"""Small value objects shared by scanning, grouping and reporting."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MediaFile:
    """A file found on disk, identified by what stat() says about it."""

    path: Path
    size: int
    mtime_ns: int
    dev: int
    ino: int

    @classmethod
    def from_stat(cls, path: Path, st: os.stat_result) -> MediaFile:
        return cls(path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)

    def same_file(self, other: MediaFile) -> bool:
        """Still the file that was seen: same size and mtime, and the same inode where both
        sides know one (os.scandir on Windows reports none)."""
        same = (self.size, self.mtime_ns) == (other.size, other.mtime_ns)
        if self.ino and other.ino:
            same = same and (self.ino, self.dev) == (other.ino, other.dev)
        return same


@dataclass(frozen=True)
class ImageInfo:
    """What the keep-best rule needs to know about a decoded image."""

    width: int
    height: int
    format: str
    exif_fields: int
    #: The camera's own EXIF (make and model, date taken), "" when a copy has lost it.
    camera: str = ""
    #: A video's length in seconds; None for a picture.
    duration: float | None = None

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class Skipped:
    """A file the run did not use, and why."""

    path: Path
    reason: str
