"""Feature cache: SQLite keyed by file identity (device, inode, size, mtime) and feature kind.

The identity survives our own moves (a rename keeps inode and mtime), so a sorted folder
rescans without decoding anything.

Built for archives of a million photos: lookups are one join per feature kind against a
temporary table of the wanted identities (not one SELECT per file), and new rows are committed
every `flush_seconds`, so Ctrl-C, a crash or a power cut loses at most that much work.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from ..core.media import MediaFile
from ..layout import user_cache_dir

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS features (
    dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER, key TEXT, value BLOB, path TEXT,
    PRIMARY KEY (dev, ino, size, mtime_ns, key)
) WITHOUT ROWID;
"""

_WANT = """
CREATE TEMP TABLE IF NOT EXISTS want (
    pos INTEGER PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER
);
"""

_LOOKUP = """
SELECT want.pos, features.value FROM want JOIN features
  ON features.dev = want.dev AND features.ino = want.ino AND features.size = want.size
 AND features.mtime_ns = want.mtime_ns AND features.key = ?
"""


def _path_value(path: Path) -> str | bytes:
    """The path as text, or its exact bytes when the name is not valid UTF-8 (SQLite text is)."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def default_cache_dir() -> Path:
    return user_cache_dir()


class FeatureCache:
    """Incremental: pending rows are committed every `flush_seconds`, so a crash loses little."""

    def __init__(self, directory: Path | None = None, *, flush_seconds: float = 2.0) -> None:
        self.directory = directory if directory is not None else default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "features-v1.sqlite"
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._db.executescript(_SCHEMA + _WANT)
        self._pending: list[tuple[int, int, int, int, str, bytes, str | bytes]] = []
        self._flush_seconds = flush_seconds
        self._last_flush = time.monotonic()
        # The list whose identities are in the temp table: asking for several feature kinds
        # of the same list uploads it once. (The list itself is kept, not copied.)
        self._want: list[MediaFile] | None = None
        self._want_len = 0
        self._broken = False

    def get_many(self, files: Iterable[MediaFile], key: str) -> dict[int, bytes]:
        """Cached values by position in `files`; pass the same list again for another key."""
        self.flush()  # rows put in this session must be visible to the join
        if self._broken:
            return {}
        try:
            if not (files is self._want and len(files) == self._want_len):
                listed = files if isinstance(files, list) else list(files)
                with self._db:
                    self._db.execute("DELETE FROM want")
                    self._db.executemany(
                        "INSERT INTO want VALUES (?,?,?,?,?)",
                        ((pos, f.dev, f.ino, f.size, f.mtime_ns) for pos, f in enumerate(listed)),
                    )
                self._want, self._want_len = listed, len(listed)
            return dict(self._db.execute(_LOOKUP, (key,)))
        except sqlite3.Error as exc:
            self._give_up(exc)
            return {}

    def put(self, f: MediaFile, key: str, value: bytes) -> None:
        if self._broken:
            return
        self._pending.append((f.dev, f.ino, f.size, f.mtime_ns, key, value, _path_value(f.path)))
        if time.monotonic() - self._last_flush >= self._flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Commit pending rows now (one transaction)."""
        if self._pending:
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO features VALUES (?,?,?,?,?,?,?)", self._pending
                    )
            except sqlite3.Error as exc:
                self._give_up(exc)
            self._pending.clear()
        self._last_flush = time.monotonic()

    def _give_up(self, exc: sqlite3.Error) -> None:
        # A full disk or a damaged file costs speed (photos are read again), never the sort.
        log.warning("feature cache not used for the rest of this run: %s", exc)
        self._broken = True
        self._pending.clear()

    def close(self) -> None:
        self.flush()
        try:
            self._db.close()
        except sqlite3.Error as exc:
            log.warning("feature cache not closed cleanly: %s", exc)
