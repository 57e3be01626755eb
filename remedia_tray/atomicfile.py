"""Writing a file so that readers see the old or the new content, never half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path` to write; renamed over `path` on success, else removed.

    The folder must exist: creating it is the caller's decision (installers record what they make).
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_atomic(
    path: Path, data: bytes, *, durable: bool = False, mode: int | None = None
) -> None:
    """Replace `path` with `data`; `durable` fsyncs the bytes before the rename."""
    with replacing(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
