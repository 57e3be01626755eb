"""Two sorts of one folder at once (CLI + CLI, CLI + the tray's library call, sort + undo):
the second waits or refuses with a clear message; the journal stays valid; undo restores all.

The first sort is held still at its first journaled move (REMEDIA_FAULTS_HOLD, see
site/sitecustomize.py), so the overlap is certain, not a matter of timing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from remedia_tray.filing.journal import read_journal

from ._guard import Snapshot
from .conftest import REPO, build_library, cli_env

HASH = ("--engine", "hash", "--workers", "1")


def _start(*args: str | Path, **faults: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "remedia_tray", *map(str, args)],
        env=cli_env(**faults),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def _held(hold: Path, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (hold / "held").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first sort never reached its first move"
        time.sleep(0.02)


def _finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _journals(root: Path) -> list[list[dict]]:
    folder = root / ".remedia" / "journal"
    return [read_journal(p) for p in sorted(folder.glob("*.jsonl"))]


def _valid(records: list[dict], path_count: int | None = None) -> None:
    assert records[0]["op"] == "begin" and records[-1]["op"] == "end", records
    moves = [r for r in records if r["op"] == "move"]
    assert len({r["src"] for r in moves}) == len(moves)  # no file moved twice
    if path_count is not None:
        assert len(moves) == path_count


def _undo(root: Path) -> tuple[int, str, str]:
    return _finish(_start("undo", root))


def test_second_cli_sort_waits_for_the_first(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    hold = tmp_path / "hold"
    hold.mkdir()
    first = _start("sort", root, *HASH, "--json", hold=str(hold))
    _held(hold, first)
    second = _start("sort", root, *HASH, "--json")
    time.sleep(1.5)  # the second is now waiting for the folder's lock
    assert second.poll() is None, second.communicate()
    (hold / "release").touch()
    rc1, out1, err1 = _finish(first)
    rc2, out2, err2 = _finish(second)
    assert rc1 == 0 and rc2 == 0, (err1, err2)
    assert json.loads(out1)["duplicates_moved"] == 3
    assert json.loads(out2)["duplicates_moved"] == 0  # it saw the finished sort
    journals = _journals(root)
    assert len(journals) == 1
    _valid(journals[0], 3)
    snap.check()
    rc, _, err = _undo(root)
    assert rc == 0, err
    snap.check(restored=True)
    rc, _, err = _undo(root)
    assert rc == 4 and "no sort" in err  # nothing else was journaled


def test_tray_sort_refuses_while_the_cli_sorts(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    """The tray service calls sort_folder with lock_wait=1: it gets FolderBusy (exit code 3
    in the CLI's terms) and a message that says what to do."""
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    hold = tmp_path / "hold"
    hold.mkdir()
    first = _start("sort", root, *HASH, hold=str(hold))
    _held(hold, first)
    code = (
        "import sys\n"
        "from remedia_tray.errors import RemediaError\n"
        "from remedia_tray.sorter import SortOptions, sort_folder\n"
        "try:\n"
        f"    sort_folder({str(root)!r}, SortOptions(engine='hash', lock_wait=1.0))\n"
        "except RemediaError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "    sys.exit(exc.exit_code)\n"
    )
    service = subprocess.run(
        [sys.executable, "-c", code], env=cli_env(), capture_output=True, text=True, timeout=60
    )
    assert service.returncode == 3, (service.stdout, service.stderr)
    assert service.stdout.startswith("FolderBusy ")
    assert "is being sorted or undone by another ReMedia process" in service.stdout
    assert "try again when it has finished" in service.stdout
    (hold / "release").touch()
    rc, _, err = _finish(first)
    assert rc == 0, err
    (journal,) = _journals(root)
    _valid(journal, 3)
    snap.check()
    rc, _, err = _undo(root)
    assert rc == 0, err
    snap.check(restored=True)


def test_undo_during_a_sort_waits_then_undoes_it(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    hold = tmp_path / "hold"
    hold.mkdir()
    first = _start("sort", root, *HASH, hold=str(hold))
    _held(hold, first)
    undo = _start("undo", root)
    time.sleep(1.0)
    assert undo.poll() is None  # waiting, not undoing a half-finished sort
    (hold / "release").touch()
    assert _finish(first)[0] == 0
    rc, out, err = _finish(undo)
    assert rc == 0 and "Restored 3 files" in out, (out, err)
    snap.check(restored=True)


def test_killed_lock_holder_does_not_block_the_next_sort(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    hold = tmp_path / "hold"
    hold.mkdir()
    first = _start("sort", root, *HASH, hold=str(hold))
    _held(hold, first)
    second = _start("sort", root, *HASH, "--json")
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)  # holding the lock, its first move journaled
    first.wait()
    rc, out, err = _finish(second)
    assert rc == 0, err
    assert json.loads(out)["duplicates_moved"] == 3
    for records in _journals(root):
        assert records[-1]["op"] == "end"  # the killed sort's journal was settled
    snap.check()
    while _undo(root)[0] == 0:
        pass
    snap.check(restored=True)


def test_sorts_of_a_folder_and_its_subfolder_at_once(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    """Different folders, different locks: the tray sorts ~/Pictures while the user sorts
    ~/Pictures/Phone. Both may want the same file; hard-link moves let only one have it."""
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    hold = tmp_path / "hold"
    hold.mkdir()
    outer = _start("sort", root, *HASH, "--json", hold=str(hold))
    _held(hold, outer)
    rc, out, err = _finish(_start("sort", root / "Phone", *HASH, "--json"))
    assert rc == 0, err
    assert json.loads(out)["duplicates_moved"] == 1  # IMG_0002, a copy of IMG_0001
    (hold / "release").touch()
    rc, out, err = _finish(outer)
    report = json.loads(out)
    failed = {Path(f["path"]).name: f["reason"] for f in report["failed"]}
    assert failed == {"IMG_0002.jpg": "file vanished before it could be moved"}, failed
    assert rc == 1  # something could not be moved, and the report says what
    snap.check()
    for folder in (root, root / "Phone"):
        rc, _, err = _undo(folder)
        assert rc == 0, err
    snap.check(restored=True)


@pytest.mark.slow
def test_many_sorts_at_once(tmp_path: Path, guard: Callable[..., Snapshot]) -> None:
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    procs = [_start("sort", root, *HASH, "--json") for _ in range(4)]
    results = [_finish(p) for p in procs]
    assert all(rc == 0 for rc, _, _ in results), [err for _, _, err in results]
    moved = sorted(json.loads(out)["duplicates_moved"] for _, out, _ in results)
    assert moved == [0, 0, 0, 3]
    (journal,) = _journals(root)
    _valid(journal, 3)
    snap.check()
    rc, _, err = _undo(root)
    assert rc == 0, err
    snap.check(restored=True)
