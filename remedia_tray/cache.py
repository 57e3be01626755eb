"""Feature cache: SQLite keyed by file identity (device, inode, size, mtime) and feature kind.

The identity survives our own moves (a rename keeps inode and mtime), so a sorted folder
rescans without decoding anything.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from .media import MediaFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS features (
    dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER, key TEXT, value BLOB, path TEXT,
    PRIMARY KEY (dev, ino, size, mtime_ns, key)
) WITHOUT ROWID;
"""


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("remedia", appauthor=False))


class FeatureCache:
    """Incremental: pending rows are committed every `flush_seconds`, so a crash loses little."""

    def __init__(self, directory: Path | None = None, *, flush_seconds: float = 2.0) -> None:
        self.directory = directory if directory is not None else default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "features-v1.sqlite"
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._pending: list[tuple[int, int, int, int, str, bytes, str]] = []
        self._flush_seconds = flush_seconds
        self._last_flush = time.monotonic()

    def get_many(self, files: Iterable[MediaFile], key: str) -> dict[int, bytes]:
        """Cached values by position in `files`."""
        found: dict[int, bytes] = {}
        cur = self._db.cursor()
        for pos, f in enumerate(files):
            row = cur.execute(
                "SELECT value FROM features"
                " WHERE dev=? AND ino=? AND size=? AND mtime_ns=? AND key=?",
                (f.dev, f.ino, f.size, f.mtime_ns, key),
            ).fetchone()
            if row is not None:
                found[pos] = row[0]
        return found

    def put(self, f: MediaFile, key: str, value: bytes) -> None:
        self._pending.append((f.dev, f.ino, f.size, f.mtime_ns, key, value, str(f.path)))
        if time.monotonic() - self._last_flush >= self._flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO features VALUES (?,?,?,?,?,?,?)", self._pending
                )
            self._pending.clear()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush()
        self._db.close()
