"""The photos an earlier sort placed: FOLDER/duplicates/<group>/ and FOLDER/similar/<group>/.

They are part of the library: the next sort reads them as members of existing groups, so a
new copy or a new shot is matched against them (and never moves them again, unless a full
re-sort is asked for).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.media import MediaFile, Skipped
from ..core.mediasets import RULES, Role
from ..core.planning import Companions, SortKind
from ..filing.formats import Manifest, read_manifest
from ..layout import MANIFEST_NAME, OUTPUT_DIRS
from .discovery import is_temporary_name


@dataclass(frozen=True)
class PlacedGroup:
    """One group folder as an earlier sort left it."""

    kind: SortKind
    folder: Path
    members: tuple[MediaFile, ...]  # the photos inside the folder, by name
    #: Where the manifest says the group's kept copy (a series': its best shot) is now;
    #: None if unknown.
    kept: Path | None = None
    best: Path | None = None
    #: (member, its companions) for each member that came with companions (the manifest
    #: lists them); the companions are not among `members`: they go wherever it goes.
    companions: tuple[tuple[Path, Companions], ...] = ()

    def companions_of(self, member: Path) -> Companions:
        return next((c for m, c in self.companions if m == member), ())


_NO_MANIFEST = Manifest(None, None, None, None, ())


def _members(folder: Path, skipped: list[Skipped]) -> tuple[MediaFile, ...]:
    found: list[MediaFile] = []
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        skipped.append(Skipped(folder, f"cannot read folder: {exc.strerror or exc}"))
        return ()
    for entry in entries:
        if entry.name == MANIFEST_NAME or is_temporary_name(entry.name):
            continue
        try:
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            skipped.append(Skipped(Path(entry.path), f"cannot stat: {exc.strerror or exc}"))
            continue
        found.append(MediaFile.from_stat(Path(entry.path), st))
    return tuple(found)


def group_folder_of(root: Path, path: Path) -> Path | None:
    """The group folder `path` sits in (FOLDER/duplicates/<g>/ or FOLDER/similar/<g>/), if any."""
    folder = path.parent
    if folder.parent.parent == root and folder.parent.name in OUTPUT_DIRS:
        return folder
    return None


def _group_folders(root: Path) -> list[Path]:
    found: list[Path] = []
    for kind in OUTPUT_DIRS:
        base = root / kind
        if not base.is_dir() or base.is_symlink():
            continue
        found += sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink())
    return [f for f in found if not f.name.startswith(".")]


def read_placed(
    root: Path, *, skipped: list[Skipped] | None = None, folders: Sequence[Path] | None = None
) -> tuple[PlacedGroup, ...]:
    """Every group folder under `root` (or only `folders`) with its photos, and where each
    kept copy is now.

    A kept copy that moved on with its series (into similar/) is followed through the
    similar group's manifest (when that group is among the folders read).
    """
    root = Path(root)
    problems: list[Skipped] = [] if skipped is None else skipped
    raw: list[tuple[SortKind, Path, tuple[MediaFile, ...], Manifest]] = []
    moved_to: dict[str, str] = {}
    chosen = _group_folders(root) if folders is None else [f for f in folders if f.is_dir()]
    for folder in chosen:
        # A damaged manifest only costs the hints it held.
        manifest = read_manifest(folder) or _NO_MANIFEST
        raw.append((_kind(folder.parent.name), folder, _members(folder, problems), manifest))
        moved_to.update(manifest.moved)
    groups = []
    for kind, folder, members, manifest in raw:
        kept = _where_now(manifest.kept, moved_to)  # a series': its best shot (issue 25)
        best = Path(manifest.best) if manifest.best is not None else None
        sets = _sets(folder, members, manifest)
        companions = {c for _, found in sets for _, c in found}
        members = tuple(m for m in members if m.path not in companions)
        groups.append(PlacedGroup(kind, folder, members, kept, best, sets))
    return tuple(groups)


_ROLES: dict[str, Role] = {r.role: r.role for r in RULES}


def _sets(
    folder: Path, members: tuple[MediaFile, ...], manifest: Manifest
) -> tuple[tuple[Path, Companions], ...]:
    """The manifest's companions of the pictures still in `folder`, those still beside them
    (a file the user took out, or renamed, is no companion any more)."""
    here = {m.path for m in members}
    found = []
    for picture, listed in manifest.companions:
        path = Path(picture)
        if path.parent != folder or path not in here:
            continue
        kept = tuple(
            (_ROLES[role], Path(c))
            for role, c in listed
            if role in _ROLES and Path(c).parent == folder and Path(c) in here
        )
        if kept:
            found.append((path, kept))
    return tuple(found)


def moved_pictures(root: Path) -> dict[Path, Path]:
    """Where the files earlier sorts moved into group folders are now, by where they were
    before (their manifests' "moved" records, followed through later moves): "where is the
    picture that was at X now". Only files still in a group folder, whose old path is free."""
    root = Path(root)
    moved_to: dict[str, str] = {}
    for folder in _group_folders(root):
        manifest = read_manifest(folder)
        if manifest is not None:
            moved_to.update(manifest.moved)
    found: dict[Path, Path] = {}
    for was in moved_to:
        now = _where_now(moved_to[was], moved_to)
        if now is None or group_folder_of(root, now) is None or os.path.lexists(was):
            continue
        found[Path(was)] = now
    return found


def _kind(name: str) -> SortKind:
    if name == "duplicates":
        return "duplicates"
    if name == "similar":
        return "similar"
    raise ValueError(f"Unknown output folder {name!r}")


def _where_now(kept: str | None, moved_to: dict[str, str]) -> Path | None:
    if kept is None:
        return None
    seen = {kept}
    while kept in moved_to and moved_to[kept] not in seen:  # it moved on with its series
        kept = moved_to[kept]
        seen.add(kept)
    return Path(kept) if os.path.lexists(kept) else None
