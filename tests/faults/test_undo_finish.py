"""An undo can be finished: what one undo could not put back, the next one does.

A group folder made read-only, or the folder the copies came from, stops an undo half way (run
as a user file permissions apply to); a sort interrupted by kill -9 and by Ctrl-C, then
resumed, is still one sort to undo; an undo killed half way is finished by the next.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from remedia_tray.layout import MANIFEST_NAME

from ..conftest import photo, whatsapp_copy
from ._guard import Snapshot
from .conftest import build_library, held_sort, run_cli

# `unprivileged`: the fixture that runs the CLI as a user file permissions apply to.
from .test_environment import HASH, moved_names, sort_json, unprivileged  # noqa: F401

KILLED = -signal.SIGKILL
Unprivileged = tuple[Path, Callable[[], None] | None, dict[str, str]]


def library(root: Path) -> Path:
    """build_library plus a copy of the cat elsewhere: three groups, copies in two folders."""
    build_library(root)
    (root / "Camera").mkdir()
    shutil.copy2(photo("cat"), root / "Camera" / "cat copy.jpg")
    return root


def journals(root: Path) -> list[str]:
    return sorted(os.listdir(root / ".remedia" / "journal"))


# --- an undo stopped half way by permissions ------------------------------------------------


@pytest.mark.parametrize("locked", ["group folder", "original folder"])
def test_an_undo_that_fails_half_way_is_finished_by_the_next(
    unprivileged: Unprivileged,  # noqa: F811
    guard: Callable[..., Snapshot],
    locked: str,
) -> None:
    base, preexec, env = unprivileged
    root = library(base / "lib")
    snap = guard(root, locked)
    report = sort_json(root, env=env, preexec=preexec, ok=(0,))
    assert len(moved_names(report)) == 4
    # Read-only: duplicates/sunset (2 copies cannot leave it), or Phone/ (3 cannot go back).
    folder = root / ("duplicates/sunset" if locked == "group folder" else "Phone")
    folder.chmod(0o555)
    stuck = 2 if locked == "group folder" else 3
    done = run_cli("undo", root, env=env, preexec=preexec)
    assert done.returncode == 1 and "Traceback" not in done.stderr, (done.stdout, done.stderr)
    out = done.stdout
    assert f"Restored {4 - stuck} file" in out, out
    assert f"Not back yet, {stuck} files" in out, out
    assert out.count("Permission denied") == stuck, out
    assert f"remedia undo {json.dumps(str(root))}" in out and "again" in out, out
    snap.check()
    # A manifest goes only with the last file of its group.
    assert (root / "duplicates" / "sunset" / MANIFEST_NAME).is_file()
    assert not (root / "duplicates" / "cat").exists()  # done with: gone, manifest and all
    folder.chmod(0o755)
    again = run_cli("undo", root, env=env, preexec=preexec)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert f"Restored {stuck} files" in again.stdout, again.stdout
    snap.check(restored=True)
    last = run_cli("undo", root, env=env, preexec=preexec)
    assert last.returncode == 4 and "no sort" in last.stderr, (last.stdout, last.stderr)
    assert all(name.endswith(".undone.jsonl") for name in journals(root)), journals(root)


def test_a_sort_between_a_partial_undo_and_its_end(
    unprivileged: Unprivileged,  # noqa: F811
    guard: Callable[..., Snapshot],
) -> None:
    """Copies one undo put back are sorted again by a sort before the undo is finished (they
    were not moved back by the user), and both undos still end with every photo home."""
    base, preexec, env = unprivileged
    root = library(base / "lib")
    snap = guard(root)
    sort_json(root, env=env, preexec=preexec, ok=(0,))
    (root / "duplicates" / "peaks").chmod(0o555)
    done = run_cli("undo", root, env=env, preexec=preexec)
    assert done.returncode == 1 and "Not back yet, 1 file" in done.stdout, done.stdout
    report = sort_json(root, env=env, preexec=preexec, ok=(0,))
    assert moved_names(report) == {"IMG_0001.jpg", "IMG_0002.jpg", "cat copy.jpg"}
    assert not any("where you moved" in n for n in report["notes"]), report["notes"]
    snap.check()
    (root / "duplicates" / "peaks").chmod(0o755)
    for _ in range(2):  # the second sort, then the rest of the first
        step = run_cli("undo", root, env=env, preexec=preexec)
        assert step.returncode == 0, (step.stdout, step.stderr)
    snap.check(restored=True)


# --- a sort interrupted, then resumed -------------------------------------------------------


def _interrupted_then_resumed(root: Path, tmp: Path) -> None:
    """kill -9 after two moves, then a sort stopped by Ctrl-C, then one that finishes."""
    done = run_cli("sort", root, *HASH, kill_on="unlink:2")
    assert done.returncode == KILLED, (done.returncode, done.stderr[-2000:])
    # A shell without job control starts background jobs with Ctrl-C ignored; a user's
    # terminal does not.
    with held_sort(
        root, tmp / "hold", *HASH, preexec=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    ) as proc:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in stderr, (proc.returncode, stderr)
    assert "Traceback" not in stderr, stderr
    done = run_cli("sort", root, *HASH)
    assert done.returncode == 0, (done.stdout, done.stderr)


def _more_copies(root: Path) -> Path:
    library(root)
    (root / "Chat").mkdir()
    for name in ("life", "coffee"):
        shutil.copy2(photo(name), root / f"{name}.jpg")
        whatsapp_copy(photo(name), root / "Chat" / f"{name}-wa.jpg")
    return root


def test_one_undo_reverts_a_sort_interrupted_and_resumed(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root = _more_copies(tmp_path / "lib")
    snap = guard(root)
    _interrupted_then_resumed(root, tmp_path)
    snap.check()
    assert len(journals(root)) == 3
    done = run_cli("undo", root)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "Restored 6 files" in done.stdout and "2 earlier journals" in done.stdout, done.stdout
    snap.check(restored=True)
    again = run_cli("undo", root)
    assert again.returncode == 4 and "no sort" in again.stderr, (again.stdout, again.stderr)


@pytest.mark.parametrize("step", ["journal:undone:2", "unlink:4", "rmdir:1"])
def test_an_undo_killed_half_way_is_finished_by_the_next(
    tmp_path: Path, guard: Callable[..., Snapshot], step: str
) -> None:
    """kill -9 of the undo of that interrupted-and-resumed sort, at a step of its own."""
    root = _more_copies(tmp_path / "lib")
    snap = guard(root, step)
    _interrupted_then_resumed(root, tmp_path)
    done = run_cli("undo", root, kill_on=step)
    assert done.returncode == KILLED, (done.returncode, done.stdout, done.stderr[-2000:])
    snap.check()
    again = run_cli("undo", root)
    assert again.returncode == 0, (again.stdout, again.stderr)
    snap.check(restored=True)
    last = run_cli("undo", root)
    assert last.returncode == 4, (last.stdout, last.stderr)


def test_a_resumed_sort_with_nothing_to_move_ends_the_run(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    """Killed after its last move: the next sort moves nothing and the interrupted sort is
    over. A later sort is a sort of its own, undone on its own."""
    root = library(tmp_path / "lib")
    snap = guard(root)
    done = run_cli("sort", root, *HASH, kill_on="journal:moved:4")
    assert done.returncode == KILLED, (done.returncode, done.stderr[-2000:])
    assert sort_json(root, ok=(0,))["duplicates_moved"] == 0
    late = root / "Later" / "IMG_0099.jpg"
    late.parent.mkdir()
    shutil.copy2(photo("peaks"), late)
    snap.expect("Later/IMG_0099.jpg", late.read_bytes())
    assert moved_names(sort_json(root, ok=(0,))) == {"IMG_0099.jpg"}
    first = run_cli("undo", root)
    assert first.returncode == 0 and "Restored 1 file from" in first.stdout, first.stdout
    assert late.is_file() and not (root / "Phone" / "IMG_0001.jpg").exists()
    second = run_cli("undo", root)
    assert second.returncode == 0 and "Restored 4 files" in second.stdout, second.stdout
    snap.check(restored=True)
