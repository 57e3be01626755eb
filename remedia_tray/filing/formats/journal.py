"""The records of a journal (one JSON object a line, told apart by "op"), typed.

Each record type writes itself (`to_dict`, the exact keys journals have always had) and
`parse_record` reads any of them back; a record it does not know (or a damaged one) stays
in place as `Unknown`, so positions ("undone" marks point at them) are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from ...core.mediasets import RULES, Role
from ...core.planning import SortKind

Op = Literal[
    "begin",
    "mkdir",
    "group",
    "move",
    "moved",
    "set-done",
    "manifest",
    "manifest-update",
    "review",
    "end",
    "run-end",
    "undone",
    "redone",
]
#: Records of things done to the folder (an undo reverts them).
EFFECTS: frozenset[Op] = frozenset({"move", "mkdir", "manifest", "manifest-update"})
VERSION = 1


@dataclass(frozen=True)
class Begin:
    """First record: the folder, and the run (the sort the user ran) it belongs to."""

    op: ClassVar[Literal["begin"]] = "begin"
    root: Path | None  # None: not recorded (a damaged record)
    run: str | None  # None: a journal older than runs (each journal its own)
    version: int = VERSION

    def to_dict(self) -> dict[str, Any]:
        root = str(self.root) if self.root is not None else None
        return {"op": self.op, "root": root, "version": self.version, "run": self.run}


@dataclass(frozen=True)
class Mkdir:
    """A folder made for the sort (removed by undo if it is left empty)."""

    op: ClassVar[Literal["mkdir"]] = "mkdir"
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "path": str(self.path)}


@dataclass(frozen=True)
class Group:
    """The group the next moves fill: what its manifest will say (recovery writes it)."""

    op: ClassVar[Literal["group"]] = "group"
    folder: Path
    kind: SortKind
    kept: Path | None
    best: Path
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "folder": str(self.folder),
            "kind": self.kind,
            "kept": str(self.kept) if self.kept else None,
            "best": str(self.best),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class MoveIntent:
    """A move about to be made (on disk before the file moves): what undo reverts.

    A member of a media set names its `unit` (the picture's original path) and, for a
    companion, its `role`; journals older than sets have neither (each file on its own).
    """

    op: ClassVar[Literal["move"]] = "move"
    src: Path
    dst: Path
    unit: Path | None = None
    role: Role | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"op": self.op, "src": str(self.src), "dst": str(self.dst)}
        if self.unit is not None:
            d["unit"] = str(self.unit)
        if self.role is not None:
            d["role"] = self.role
        return d


@dataclass(frozen=True)
class SetDone:
    """Every member of the set `unit` has moved. A set whose moves are journaled without
    it was cut short: recovery puts its moved members back, so a set is never split."""

    op: ClassVar[Literal["set-done"]] = "set-done"
    unit: Path

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "unit": str(self.unit)}


@dataclass(frozen=True)
class Moved:
    """A move done (a note for people; undo needs only the intent)."""

    op: ClassVar[Literal["moved"]] = "moved"
    dst: Path

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "dst": str(self.dst)}


@dataclass(frozen=True)
class ManifestMade:
    """A group manifest about to be made (undo deletes it)."""

    op: ClassVar[Literal["manifest"]] = "manifest"
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "path": str(self.path)}


@dataclass(frozen=True)
class ManifestUpdated:
    """A manifest about to grow; `old` is its text before (bytes as latin-1), for undo."""

    op: ClassVar[Literal["manifest-update"]] = "manifest-update"
    path: Path
    old: str

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "path": str(self.path), "old": self.old}


@dataclass(frozen=True)
class Review:
    """A review action (its journal holds only its moves): what the user asked for."""

    op: ClassVar[Literal["review"]] = "review"
    action: str  # review.state.Action
    group: str  # "duplicates/NAME"
    path: Path | None  # the photo it was about (where the sort found it)
    folder: Path  # the group folder

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "action": self.action,
            "group": self.group,
            "path": str(self.path) if self.path is not None else None,
            "folder": str(self.folder),
        }


@dataclass(frozen=True)
class End:
    """The sort finished; `recovered`: a later sort tidied it after a crash (resumable)."""

    op: ClassVar[Literal["end"]] = "end"
    recovered: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "recovered": True} if self.recovered else {"op": self.op}


@dataclass(frozen=True)
class RunEnd:
    """A sort that resumed this run found nothing to move: the run is over."""

    op: ClassVar[Literal["run-end"]] = "run-end"

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op}


@dataclass(frozen=True)
class Undone:
    """An undo reverted the record at index `n`."""

    op: ClassVar[Literal["undone"]] = "undone"
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "n": self.n}


@dataclass(frozen=True)
class Redone:
    """An undo put the file of record `n` forward again, to where the sort put it, because
    its media set could not go back whole: the move stands again (the next undo retries).
    It withdraws every "undone" mark of `n` journaled before it."""

    op: ClassVar[Literal["redone"]] = "redone"
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "n": self.n}


@dataclass(frozen=True)
class Unknown:
    """A record of no type above (or a damaged one), kept as read."""

    data: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


Record = (
    Begin
    | Mkdir
    | Group
    | MoveIntent
    | Moved
    | SetDone
    | ManifestMade
    | ManifestUpdated
    | Review
    | End
    | RunEnd
    | Undone
    | Redone
    | Unknown
)


def _opt_path(value: Any) -> Path | None:
    return Path(value) if value else None


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a path or a name is a string")
    return value


def _begin(d: Mapping[str, Any]) -> Begin:
    root, run = d.get("root"), d.get("run")
    return Begin(
        Path(root) if isinstance(root, str) else None,
        run if isinstance(run, str) else None,
        d.get("version", VERSION),
    )


def _group(d: Mapping[str, Any]) -> Group:
    kind = d["kind"]
    if kind not in ("duplicates", "similar"):
        raise ValueError(f"Unknown group kind {kind!r}")
    folder, best = Path(_str(d["folder"])), Path(_str(d["best"]))
    return Group(folder, kind, _opt_path(d.get("kept")), best, _str(d["reason"]))


_ROLES: frozenset[str] = frozenset(r.role for r in RULES)


def _move(d: Mapping[str, Any]) -> MoveIntent:
    unit, role = d.get("unit"), d.get("role")
    if role is not None and role not in _ROLES:
        raise ValueError(f"Unknown companion role {role!r}")
    return MoveIntent(
        Path(_str(d["src"])),
        Path(_str(d["dst"])),
        Path(_str(unit)) if unit is not None else None,
        role,
    )


def _review(d: Mapping[str, Any]) -> Review:
    path = d.get("path")
    return Review(
        _str(d["action"]),
        _str(d["group"]),
        Path(_str(path)) if path is not None else None,
        Path(_str(d["folder"])),
    )


def _index(d: Mapping[str, Any]) -> int:
    n = d["n"]
    if not isinstance(n, int):
        raise TypeError("an undone mark points at a record index")
    return n


_READERS: dict[str, Callable[[Mapping[str, Any]], Record]] = {
    "begin": _begin,
    "mkdir": lambda d: Mkdir(Path(_str(d["path"]))),
    "group": _group,
    "move": _move,
    "moved": lambda d: Moved(Path(_str(d["dst"]))),
    "set-done": lambda d: SetDone(Path(_str(d["unit"]))),
    "manifest": lambda d: ManifestMade(Path(_str(d["path"]))),
    "manifest-update": lambda d: ManifestUpdated(Path(_str(d["path"])), _str(d["old"])),
    "review": _review,
    "end": lambda d: End(d.get("recovered") is True),
    "run-end": lambda d: RunEnd(),
    "undone": lambda d: Undone(_index(d)),
    "redone": lambda d: Redone(_index(d)),
}


def parse_record(data: Mapping[str, Any]) -> Record:
    """The typed record in `data`; `Unknown` when it is none (or is damaged)."""
    reader = _READERS.get(str(data.get("op")))
    if reader is None:
        return Unknown(data)
    try:
        return reader(data)
    except (KeyError, TypeError, ValueError):
        return Unknown(data)


def as_records(records: Sequence[Record | Mapping[str, Any]]) -> list[Record]:
    """Records as read (mappings) or typed already, typed."""
    return [r if not isinstance(r, Mapping) else parse_record(r) for r in records]
