"""Byte-for-byte accounting of a photo folder before and after a fault.

Every fault case takes a `Snapshot` of the folder (the bytes of every file, ReMedia's own
`.remedia/` data left out), lets something go wrong, recovers, and calls `check()`. A file
is *lost* when its bytes are no longer anywhere in the folder, *overwritten* when a path
that existed before now holds different bytes, and a *stray copy* is an extra file with
bytes that were not there before (a leftover partial copy, or a copy the sort made twice).
The totals feed the summary table printed at the end of the run (see conftest.py).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from remedia_tray.layout import DATA_DIR, MANIFEST_NAME


def read_files(root: Path) -> dict[str, bytes]:
    """Relative path -> exact bytes of every regular file under `root` (symlinks not followed)."""
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != DATA_DIR]
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_symlink():
                continue
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


@dataclass
class Tally:
    cases: int = 0
    files_checked: int = 0
    lost: int = 0
    overwritten: int = 0
    stray: int = 0

    def add(self, other: Tally) -> None:
        self.cases += other.cases
        self.files_checked += other.files_checked
        self.lost += other.lost
        self.overwritten += other.overwritten
        self.stray += other.stray


@dataclass
class Ledger:
    """Session-wide totals per test module (crash, environment, ...)."""

    rows: dict[str, Tally] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # printed under the table

    def row(self, category: str) -> Tally:
        return self.rows.setdefault(category, Tally())

    def total(self) -> Tally:
        t = Tally()
        for r in self.rows.values():
            t.add(r)
        return t


LEDGER = Ledger()


@dataclass(frozen=True)
class Outcome:
    checked: int
    lost: tuple[str, ...]  # paths (before) whose bytes are nowhere now
    overwritten: tuple[str, ...]  # paths that now hold other bytes
    stray: tuple[str, ...]  # paths (after) holding bytes that were not there before
    moved: tuple[str, ...]  # paths whose bytes now live elsewhere (expected after a sort)

    def describe(self) -> str:
        parts = []
        for label, items in (
            ("lost", self.lost),
            ("overwritten", self.overwritten),
            ("stray", self.stray),
            ("not restored", self.moved),
        ):
            if items:
                parts.append(f"{label}: {', '.join(repr(p) for p in items[:8])}")
        return "; ".join(parts) or "ok"


class Snapshot:
    """The bytes of a folder at one moment, checked later against the folder."""

    def __init__(
        self,
        root: Path,
        category: str,
        case: str,
        reader: Callable[[Path], dict[str, bytes]] = read_files,
    ) -> None:
        self.root = root
        self.category = category
        self.case = case
        self.read = reader
        self.files = reader(root)
        LEDGER.row(category).cases += 1

    def expect(self, rel: str, content: bytes | None) -> None:
        """The test itself changed (or, with None, removed) this file on purpose."""
        if content is None:
            self.files.pop(rel, None)
        else:
            self.files[rel] = content

    def outcome(self) -> Outcome:
        after = self.read(self.root)
        photos_after = {p: b for p, b in after.items() if Path(p).name != MANIFEST_NAME}
        have = Counter(photos_after.values())
        want = Counter(self.files.values())
        missing = want - have
        lost = []
        for rel, content in sorted(self.files.items()):
            if missing[content] > 0:
                missing[content] -= 1
                lost.append(rel)
        overwritten = [
            rel
            for rel, content in sorted(self.files.items())
            if rel in after and after[rel] != content
        ]
        extra = have - want
        stray = []
        for rel, content in sorted(photos_after.items()):
            if extra[content] > 0 and (rel not in self.files or self.files[rel] != content):
                extra[content] -= 1
                stray.append(rel)
        moved = [rel for rel in sorted(self.files) if rel not in after and rel not in lost]
        return Outcome(len(self.files), tuple(lost), tuple(overwritten), tuple(stray), tuple(moved))

    def check(self, *, restored: bool = False, strays_allowed: bool = False) -> Outcome:
        """Count and assert: nothing lost, nothing overwritten, and (if asked) all back in place."""
        out = self.outcome()
        row = LEDGER.row(self.category)
        row.files_checked += out.checked
        row.lost += len(out.lost)
        row.overwritten += len(out.overwritten)
        row.stray += len(out.stray)
        if out.lost or out.overwritten:
            LEDGER.problems.append(f"{self.case}: {out.describe()}")
        assert not out.lost, f"{self.case}: files lost: {out.describe()}"
        assert not out.overwritten, f"{self.case}: files overwritten: {out.describe()}"
        if not strays_allowed:
            assert not out.stray, f"{self.case}: stray copies left: {out.describe()}"
        if restored:
            assert not out.moved, f"{self.case}: not back in place: {out.describe()}"
            extra = sorted(set(self.read(self.root)) - set(self.files))
            assert not extra, f"{self.case}: extra files after undo: {extra[:8]}"
        return out
