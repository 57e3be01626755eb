"""Reference folders: the user's own library, read and never moved (issue 25).

A group with a member in a reference folder keeps that member; copies that both live in one
stay where they are and are reported. The rules here are pure: which reference holds a
path, and how that is said. Reading and checking the folders is pipeline/reference.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .wording import shown


def outermost(folders: Iterable[Path]) -> tuple[Path, ...]:
    """`folders` without repeats and without any folder inside another one (the outer one
    holds it already), sorted."""
    out: list[Path] = []
    for folder in sorted(set(folders), key=lambda p: (len(p.parts), str(p))):
        if not any(folder.is_relative_to(kept) for kept in out):
            out.append(folder)
    return tuple(sorted(out))


def reference_of(path: Path, references: Sequence[Path]) -> Path | None:
    """The reference folder `path` lies in, or None (paths compared as written: the sorter
    names every file below the folder it walks, and references are named the same way)."""
    return next((ref for ref in references if path.is_relative_to(ref)), None)


def kept_reason(reference: Path) -> str:
    """Why a copy in a reference folder is the kept copy."""
    return f"in your reference folder {shown(reference)}"


def never_moved(reference: Path) -> str:
    """Why a move out of a reference folder was refused (the mover's last check)."""
    return f"in your reference folder {shown(reference)}: never moved"


def copies_kept_note(copies: Sequence[Path]) -> str:
    """The note for copies of one photo that all live in reference folders: they stay."""
    names = [shown(p) for p in copies]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    return (
        f"{listed} are copies of one photo, all in your reference folders: they stay where they are"
    )
