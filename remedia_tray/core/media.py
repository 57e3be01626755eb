"""Small value objects shared by scanning, grouping and reporting."""

from __future__ import annotations

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


@dataclass(frozen=True)
class ImageInfo:
    """What the keep-best rule needs to know about a decoded image."""

    width: int
    height: int
    format: str
    exif_fields: int
    #: The camera's own EXIF (make and model, date taken), "" when a copy has lost it.
    camera: str = ""

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class Skipped:
    """A file the run did not use, and why."""

    path: Path
    reason: str
