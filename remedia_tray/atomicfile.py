"""Writing a file so that readers see the old or the new content, never half of it."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: Path, *, private: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling of `path` to write; renamed over `path` on success, else removed.

    The temporary file starts private (0o600); `private=False` creates it as `open()` would
    (0o666 less the umask), for files other users and programs read like any the user makes.
    The folder must exist: creating it is the caller's decision (installers record what they make).
    """
    create_mode = 0o600 if private else 0o666
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, create_mode))
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_atomic(
    path: Path,
    data: bytes,
    *,
    durable: bool = False,
    mode: int | None = None,
    private: bool = True,
) -> None:
    """Replace `path` with `data`; `durable` fsyncs the bytes before the rename.

    `mode` sets the file's permission bits; without it they are those of `replacing`.
    """
    with replacing(path, private=private) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
