"""Append-only JSONL journal: each intent is on disk (fsync) before the move it describes."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

JOURNAL_DIR = "journal"
_ACTIVE = ".jsonl"
_UNDONE = ".undone.jsonl"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open folders; NTFS metadata is journaled anyway
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open(path, "a", encoding="utf-8")

    @classmethod
    def create(cls, data_dir: Path) -> Journal:
        folder = data_dir / JOURNAL_DIR
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 1_000_000_000:09d}"
        journal = cls(folder / f"sort-{stamp}{_ACTIVE}")
        _fsync_dir(folder)
        return journal

    def write(self, record: dict[str, Any], *, sync: bool = True) -> None:
        # ASCII escapes keep undecodable (surrogate-escaped) file names round-tripping.
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()
        if sync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Records in order; a torn last line (crash mid-write) is ignored."""
    records = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return records


def active_journals(data_dir: Path) -> list[Path]:
    """Journals not yet undone, oldest first."""
    folder = data_dir / JOURNAL_DIR
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.name.endswith(_ACTIVE) and not p.name.endswith(_UNDONE)
    )


def mark_undone(path: Path) -> Path:
    target = path.with_name(path.name[: -len(_ACTIVE)] + _UNDONE)
    os.replace(path, target)
    _fsync_dir(path.parent)
    return target


def iter_moves(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from (r for r in records if r.get("op") == "move")
