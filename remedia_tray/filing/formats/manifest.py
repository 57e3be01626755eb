"""A group folder's manifest (FOLDER/<kind>/<group>/remedia-group.json), read and written here.

It names the group's kind, its best photo and kept copy (and why), and every move into the
folder; the next sort reads it to reuse the folder, and follows a kept copy that moved on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...layout import MANIFEST_NAME
from .journal import Group
from .jsonfile import json_bytes, read_json

_INDENT = 2


@dataclass(frozen=True)
class Manifest:
    """What a manifest says; a field it lacks (or holds damaged) is None or empty."""

    kind: str | None
    kept: str | None  # where the kept copy was when the manifest was written
    best: str | None
    reason: str | None
    moved: tuple[tuple[str, str], ...]  # (from, to) of every move into the folder
    #: (picture, ((role, companion), ...)) of each picture that came with companions, as
    #: paths in the folder; manifests older than media sets have none.
    companions: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        d: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        raw = d.get("moved")
        moved = tuple(
            (str(m["from"]), str(m["to"]))
            for m in (raw if isinstance(raw, list) else ())
            if isinstance(m, dict) and "from" in m and "to" in m
        )
        return cls(
            _text(d.get("kind")),
            _text(d.get("kept")),
            _text(d.get("best")),
            _text(d.get("reason")),
            moved,
            _read_companions(d.get("companions")),
        )


def _read_companions(raw: object) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    if not isinstance(raw, Mapping):
        return ()
    return tuple(
        (str(picture), tuple((c["role"], c["path"]) for c in entries if _companion(c)))
        for picture, entries in raw.items()
        if isinstance(entries, list)
    )


def _companion(c: object) -> bool:
    return isinstance(c, dict) and isinstance(c.get("role"), str) and isinstance(c.get("path"), str)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def manifest_path(folder: Path) -> Path:
    return Path(folder) / MANIFEST_NAME


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of group folder `folder`; None when it is missing or not JSON."""
    try:
        return Manifest.from_dict(read_json(manifest_path(folder)))
    except (OSError, ValueError):
        return None


def readable(path: Path) -> bool:
    """Whether the manifest at `path` is whole (a crash can cut one short)."""
    try:
        json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return False
    return True


def _moves(moves: Iterable[tuple[Path, Path]]) -> list[dict[str, str]]:
    return [{"from": str(src), "to": str(dst)} for src, dst in moves]


#: A moved picture -> its companions (role, where it went), as the mover found them.
SetsMoved = Mapping[Path, Sequence[tuple[str, Path]]]


def _companions(sets: SetsMoved) -> dict[str, list[dict[str, str]]]:
    return {
        str(picture): [{"role": role, "path": str(path)} for role, path in companions]
        for picture, companions in sets.items()
    }


def new_manifest(
    group: Group, moves: Iterable[tuple[Path, Path]], companions: SetsMoved | None = None
) -> bytes:
    """The manifest of a group folder this sort made; "companions" only when a set moved."""
    data: dict[str, Any] = {k: v for k, v in group.to_dict().items() if k not in ("op", "folder")}
    data["moved"] = _moves(moves)
    if companions:
        data["companions"] = _companions(companions)
    return json_bytes(data, indent=_INDENT)


def grown_manifest(
    old: bytes,
    group: Group,
    moves: Iterable[tuple[Path, Path]],
    companions: SetsMoved | None = None,
) -> bytes | None:
    """`old` with this sort's moves (and sets) added (and a new kept copy or best shot);
    None when `old` is damaged: it only held hints, and stays as it is. Other fields are
    kept."""
    try:
        data = json.loads(old)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    moved: list[Any] = data["moved"] if isinstance(data.get("moved"), list) else []
    data["moved"] = [*moved, *_moves(moves)]
    if companions:
        known = data["companions"] if isinstance(data.get("companions"), dict) else {}
        for picture, entries in _companions(companions).items():
            # A late companion joins the companions its picture came with.
            listed = known.get(picture)
            had = [c for c in listed if c not in entries] if isinstance(listed, list) else []
            known[picture] = [*had, *entries]
        data["companions"] = known
    kept = str(group.kept) if group.kept else None
    if kept and data.get("kept") != kept:  # a better copy, or a better shot (issue 25)
        data.update(kept=kept, best=str(group.best), reason=group.reason)
    return json_bytes(data, indent=_INDENT)
