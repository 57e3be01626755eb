"""Reference folders on disk: checked before a sort starts, then read, never written.

A reference inside FOLDER is read by the walk of FOLDER; one outside it is walked here. Its
features go to the usual feature cache (keyed by file identity, in the user's cache folder,
so every folder that names the same reference shares them) and its search keys to FOLDER's
library index; nothing is written in the reference itself: no data folder, lock or preview.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ..core.media import MediaFile, Skipped
from ..core.planning import GroupSpec, SortPlan
from ..core.reference import copies_kept_note, kept_reason, outermost, reference_of
from ..core.wording import shown
from ..errors import FolderNotFound, RemediaError
from .discovery import is_ignored, iter_files


def check_references(root: Path, given: Iterable[Path]) -> tuple[Path, ...]:
    """The reference folders of a sort of `root`, each resolved (a symlink means the folder
    it leads to) and named as the sort names its files: below `root` when it lies inside it.
    Overlapping ones count once (the outer one). Raises, before anything moves, when one is
    missing, not a folder, unreadable, `root` itself, holds `root`, or lies where a sort
    never reads (ReMedia's own or a hidden folder)."""
    real_root = Path(os.path.realpath(root))
    return outermost(_checked(root, real_root, Path(p).expanduser()) for p in given)


def folder_resolver(root: Path) -> Callable[[Path, str], Path]:
    """`resolve(path, what)` for the keep rule `folder:PATH` of a sort of `root`: the folder
    resolved and named as `check_references` names a reference; `what` names the rule in
    the error (FolderNotFound when there is no such folder)."""
    real_root = Path(os.path.realpath(root))
    return lambda given, what: _in_root(root, real_root, _real_folder(given, what, what))


def _real_folder(given: Path, missing: str, not_dir: str) -> Path:
    """The folder `given` leads to (symlinks resolved); raises when it is not one."""
    real = Path(os.path.realpath(given.absolute()))
    name = shown(given)
    if not real.exists():
        raise FolderNotFound(f"{missing} not found: {name}; nothing was moved")
    if not real.is_dir():
        raise FolderNotFound(f"{not_dir} is not a folder: {name}; nothing was moved")
    return real


def _in_root(root: Path, real_root: Path, real: Path) -> Path:
    """A real folder named as a sort of `root` names its files: below `root` when inside."""
    return root / real.relative_to(real_root) if real.is_relative_to(real_root) else real


def _checked(root: Path, real_root: Path, given: Path) -> Path:
    real = _real_folder(given, "reference folder", "reference")
    name = shown(given)
    if real_root.is_relative_to(real):
        what = (
            "is the folder being sorted" if real == real_root else "holds the folder being sorted"
        )
        raise RemediaError(
            f"the reference folder {name} {what}, so nothing in it could move: name a folder "
            "inside it, or one beside it; nothing was moved"
        )
    try:
        with os.scandir(real) as entries:
            next(entries, None)
    except OSError as exc:
        msg = f"cannot read reference folder {name} ({exc.strerror or exc}); nothing was moved"
        raise RemediaError(msg) from None
    if not real.is_relative_to(real_root):
        return real
    inside = _in_root(root, real_root, real)
    if is_ignored(root, inside / "photo.jpg"):
        raise RemediaError(
            f"the reference folder {name} is in ReMedia's own folders (duplicates/, similar/) "
            "or a hidden folder, which a sort never reads; nothing was moved"
        )
    return inside


def read_outside(root: Path, references: Sequence[Path], skipped: list[Skipped]) -> list[MediaFile]:
    """The files of the references outside `root` (the walk of `root` finds the others), by
    the walk's rules: a reference that was itself sorted keeps its own duplicates/ out."""
    return [
        f
        for ref in references
        if not ref.is_relative_to(root)
        for f in iter_files(ref, skipped=skipped)
    ]


def in_references(files: Sequence[MediaFile], references: Sequence[Path]) -> frozenset[Path]:
    """The files that lie in a reference folder: they win a duplicates group's keeper choice,
    as a copy the user chose on the review page does."""
    if not references:
        return frozenset()
    return frozenset(f.path for f in files if reference_of(f.path, references))


def with_reference_reasons(
    specs: Sequence[GroupSpec], references: Sequence[Path]
) -> list[GroupSpec]:
    """Each duplicates group kept by a copy in a reference folder says so."""
    out = []
    for spec in specs:
        ref = reference_of(spec.best, references) if spec.keep_best_in_place else None
        out.append(spec if ref is None else dataclasses.replace(spec, reason=kept_reason(ref)))
    return out


def reference_notes(plan: SortPlan) -> list[str]:
    """One note per group with more than one copy in reference folders: they all stay."""
    notes = []
    for group in (*plan.groups, *plan.held):
        kept = [group.keeper] if group.keeper is not None else []
        copies = [p for p in (*kept, *group.stayed) if reference_of(p, plan.references)]
        if group.kind == "duplicates" and len(copies) > 1:
            notes.append(copies_kept_note(copies))
    return notes
