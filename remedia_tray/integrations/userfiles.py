"""Files the installer writes into the user's home, recorded so uninstall removes exactly them.

A JSON manifest lists every file we wrote (with the bytes it replaced, if any), every
folder we had to create, and every shared file we edited (Thunar's uca.xml) with its
original text. Uninstall puts all of that back and removes the folders we created once
they are empty, so the home folder ends up as it was before install.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomicfile import write_atomic as _write_atomic
from .base import State
from .commands import IntegrationError

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class FileSpec:
    """A file that belongs to us entirely."""

    path: Path
    content: bytes
    mode: int = 0o644


@dataclass(frozen=True)
class MergeSpec:
    """Our part of a file the user shares with us (e.g. Thunar's list of custom actions)."""

    path: Path
    add: Callable[
        [str], str
    ]  # text with ours added or updated; raises IntegrationError if unusable
    remove: Callable[[str], str]  # text with ours taken out, the rest untouched
    initial: Callable[[], str]  # what the file holds when it does not exist yet


@dataclass
class _Changes:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Temp file in the same folder, then rename: a crash never leaves half an entry."""
    _write_atomic(path, data, mode=mode)


class UserFiles:
    """Writes and removes our files under one manifest."""

    def __init__(self, manifest: Path) -> None:
        self.manifest = manifest
        self._data: dict[str, Any] = self._load()

    # -- manifest ---------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        raw = _read(self.manifest)
        empty: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "files": {},
            "dirs": [],
            "merged": {},
            "extra": {},
        }
        if raw is None:
            return empty
        try:
            data = json.loads(raw)
        except ValueError:
            raise IntegrationError(f"cannot read {self.manifest}; move it away and retry") from None
        for key, value in empty.items():
            data.setdefault(key, value)
        return dict(data)

    def save(self) -> None:
        self._save()

    def _save(self) -> None:
        self.ensure_dir(self.manifest.parent)
        text = json.dumps(self._data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        write_atomic(self.manifest, text.encode("utf-8"), 0o600)

    @property
    def recorded(self) -> bool:
        return self.manifest.exists()

    @property
    def extra(self) -> dict[str, Any]:
        """Free-form record for installers that keep state outside files (the registry)."""
        extra: dict[str, Any] = self._data["extra"]
        return extra

    # -- folders ----------------------------------------------------------------------------
    def ensure_dir(self, folder: Path) -> None:
        missing: list[Path] = []
        p = folder
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            d.mkdir()
            if str(d) not in self._data["dirs"]:
                self._data["dirs"].append(str(d))

    def _prune_dirs(self) -> list[str]:
        removed: list[str] = []
        for d in sorted(self._data["dirs"], key=lambda s: -len(Path(s).parts)):
            try:
                os.rmdir(d)
                removed.append(d)
            except FileNotFoundError:
                pass
            except OSError:
                log.info("kept %s: not empty", d)
        return removed

    # -- state ------------------------------------------------------------------------------
    @staticmethod
    def state(spec: FileSpec) -> State:
        current = _read(spec.path)
        if current is None:
            return "missing"
        return "installed" if current == spec.content else "outdated"

    def merge_state(self, spec: MergeSpec) -> State:
        current = _read(spec.path)
        if current is None:
            return "missing"
        text = current.decode("utf-8")
        try:
            wanted = spec.add(text)
        except IntegrationError:
            return "outdated"
        if wanted == text:
            return "installed"
        return "outdated" if spec.remove(text) != text else "missing"

    # -- install ----------------------------------------------------------------------------
    def sync(
        self, files: Sequence[FileSpec], merges: Sequence[MergeSpec]
    ) -> tuple[list[str], list[str]]:
        """Make our files exactly `files` and `merges`; drop recorded files no longer wanted."""
        ch = _Changes()
        try:
            wanted = {str(f.path) for f in files}
            for path in [p for p in self._data["files"] if p not in wanted]:
                self._remove_file(path, ch)
            for spec in files:
                self._write_file(spec, ch)
            for merge in merges:
                self._write_merge(merge, ch)
        finally:
            # Whatever was written is recorded, even when a later step failed.
            self._save()
        return ch.changed, ch.unchanged

    def _write_file(self, spec: FileSpec, ch: _Changes) -> None:
        key = str(spec.path)
        current = _read(spec.path)
        record = self._data["files"].get(key)
        if current == spec.content and _mode(spec.path) == spec.mode:
            if record is None:  # identical file from an install whose manifest was lost
                self._data["files"][key] = {"sha256": _sha(spec.content), "previous": None}
            ch.unchanged.append(key)
            return
        self.ensure_dir(spec.path.parent)
        if record is None:
            record = {"previous": _b64(current)}
        record["sha256"] = _sha(spec.content)
        write_atomic(spec.path, spec.content, spec.mode)
        self._data["files"][key] = record
        ch.changed.append(key)

    def _write_merge(self, spec: MergeSpec, ch: _Changes) -> None:
        key = str(spec.path)
        current = _read(spec.path)
        base = current.decode("utf-8") if current is not None else spec.initial()
        new = spec.add(base)
        record = self._data["merged"].get(key)
        if current is not None and new == base:
            if record is None:
                self._data["merged"][key] = {
                    "created": False,
                    "original": None,
                    "sha256": _sha(current),
                }
            ch.unchanged.append(key)
            return
        self.ensure_dir(spec.path.parent)
        data = new.encode("utf-8")
        if record is None:
            record = {"created": current is None, "original": _b64(current)}
        record["sha256"] = _sha(data)
        write_atomic(spec.path, data, _mode(spec.path) if current is not None else 0o644)
        self._data["merged"][key] = record
        ch.changed.append(key)

    # -- uninstall --------------------------------------------------------------------------
    def remove_all(self, merges: Iterable[MergeSpec]) -> tuple[list[str], list[str]]:
        """Undo everything recorded; the manifest itself goes last."""
        ch = _Changes()
        for path in list(self._data["files"]):
            self._remove_file(path, ch)
        by_path = {str(m.path): m for m in merges}
        for path, record in list(self._data["merged"].items()):
            self._unmerge(Path(path), record, by_path.get(path), ch)
            del self._data["merged"][path]
        if self.manifest.exists():
            self.manifest.unlink()
        ch.changed.extend(self._prune_dirs())
        self._data["dirs"] = []
        return ch.changed, ch.unchanged

    def _remove_file(self, key: str, ch: _Changes) -> None:
        record = self._data["files"].pop(key)
        path = Path(key)
        previous = _unb64(record.get("previous"))
        if previous is not None:
            write_atomic(path, previous, 0o644)
            ch.changed.append(key)
        elif path.exists() or path.is_symlink():
            path.unlink()
            ch.changed.append(key)
        else:
            ch.unchanged.append(key)

    def _unmerge(
        self, path: Path, record: dict[str, Any], spec: MergeSpec | None, ch: _Changes
    ) -> None:
        current = _read(path)
        if current is None:
            ch.unchanged.append(str(path))
            return
        if _sha(current) == record.get("sha256"):
            # Nobody touched it since our write: put back exactly what was there.
            original = _unb64(record.get("original"))
            if record.get("created"):
                path.unlink()
            elif original is not None:
                write_atomic(path, original, _mode(path))
            elif spec is not None:
                write_atomic(
                    path, spec.remove(current.decode("utf-8")).encode("utf-8"), _mode(path)
                )
            ch.changed.append(str(path))
            return
        # Edited since (the user, or the file manager rewriting it): take out only ours.
        if spec is None:
            ch.unchanged.append(str(path))
            return
        text = current.decode("utf-8")
        stripped = spec.remove(text)
        if stripped != text:
            write_atomic(path, stripped.encode("utf-8"), _mode(path))
            ch.changed.append(str(path))
        else:
            ch.unchanged.append(str(path))


def _mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o644
