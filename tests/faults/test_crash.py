"""kill -9 at every step of a sort (and of an undo), then `remedia undo` or the next run recovers.

The steps are not guessed: a first run of `python -m remedia_tray sort` records every named step
it takes (cache writes, journal records, mkdir, link, unlink, cross-filesystem copy halves,
renames, report, review page; see site/sitecustomize.py), then one fresh run per step is
SIGKILLed exactly there. Every file's bytes are compared before and after.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from remedia_tray.errors import NothingToUndo
from remedia_tray.filing.mover import PART_SUFFIX, recover_incomplete, undo_last_sort
from remedia_tray.layout import MANIFEST_NAME
from remedia_tray.sorter import SortOptions, sort_folder

from ..conftest import photo
from ._guard import LEDGER, Snapshot, read_files
from .conftest import build_library, can_mount, cli_env, run_cli, tmpfs_at

HASH = ("--engine", "hash", "--workers", "1")
IN_PROCESS = SortOptions(engine="hash", workers=1)
KILLED = -signal.SIGKILL


def _trace(tmp: Path, fs: str, *args: str) -> list[str]:
    """The named steps a clean run of `remedia ARGS` takes on a fresh library."""
    root = tmp / "trace" / "lib"
    with _library(root, fs) as faults:
        log = tmp / "trace" / "steps.txt"
        done = run_cli("sort", root, *HASH, trace=str(log), **faults)
        assert done.returncode == 0, done.stderr
        steps = log.read_text().split()
        if args:  # trace the undo of that sort instead
            log.unlink()
            done = run_cli(*args, root, trace=str(log), **faults)
            assert done.returncode == 0, done.stderr
            steps = log.read_text().split()
    return steps


def _kill_points(steps: list[str], only: frozenset[str] = frozenset()) -> list[int]:
    """1-based step numbers to kill at: every step (or every step named in `only`), but of a
    run of equal steps (a batch of cache rows) only the first and the last."""
    points = []
    for i, name in enumerate(steps):
        first = i == 0 or steps[i - 1] != name
        last = i == len(steps) - 1 or steps[i + 1] != name
        if (first or last) and (not only or name in only):
            points.append(i + 1)
    return points


# Across filesystems the journal steps are those of a same-filesystem sort (killed at every
# step above); what differs is the copy, so the cross-filesystem cases kill around it.
COPY_STEPS = frozenset({"journal:move", "copy:half", "copy:done", "rename", "unlink", "mkdir"})


class _library:
    """A fresh library; for fs="cross", duplicates/ is another filesystem (tmpfs)."""

    def __init__(self, root: Path, fs: str) -> None:
        self.root, self.fs = root, fs
        self._mount = tmpfs_at(root / "duplicates") if fs == "cross" else None

    def __enter__(self) -> dict[str, str]:
        build_library(self.root)
        if self._mount is None:
            return {}
        if self._mount.__enter__():
            return {}
        return {"oserror": "link:EXDEV"}  # no mount here: the same code path, simulated

    def __exit__(self, *exc: object) -> None:
        if self._mount is not None:
            self._mount.__exit__(None, None, None)


def _simulated(kind: str) -> bool:
    """True where no tmpfs can be mounted: EXDEV is then injected at os.link instead."""
    return kind == "cross" and not can_mount()


def _sorted_layout(root: Path) -> dict[str, bytes]:
    """Where every photo is once a sort finished (group manifests hold paths: names only)."""
    return {
        p: (b"manifest" if Path(p).name == MANIFEST_NAME else b)
        for p, b in read_files(root).items()
    }


def _undo_all(root: Path) -> int:
    n = 0
    while True:
        try:
            undo_last_sort(root)
        except NothingToUndo:
            return n
        n += 1


def _next_run(root: Path, faults: dict[str, str]) -> None:
    """The next sort, in this process (the library call the CLI makes)."""
    if faults:  # simulated cross-filesystem moves need the hooks: run it as a process
        again = run_cli("sort", root, *HASH, **faults)
        assert again.returncode == 0, (again.stdout, again.stderr)
    else:  # no feature cache: inode numbers of the put-back tree may be reused ones
        sort_folder(root, dataclasses.replace(IN_PROCESS, use_cache=False))


def _keep(root: Path, where: Path) -> Path:
    """A copy of a crashed tree, hard links between its files kept (a half-done move is two
    names for one file), ReMedia's journal included."""
    where.mkdir(parents=True)
    subprocess.run(["cp", "-a", f"{root}/.", str(where)], check=True)
    return where


def _put_back(kept: Path, root: Path) -> None:
    """Make `root` the crashed tree again (its mount point, if any, stays)."""
    for entry in root.iterdir():
        if entry.is_dir() and not entry.is_symlink() and os.path.ismount(entry):
            for inner in entry.iterdir():
                if inner.is_dir() and not inner.is_symlink():
                    shutil.rmtree(inner)
                else:
                    inner.unlink()
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    subprocess.run(["cp", "-a", f"{kept}/.", str(root)], check=True)


def _no_part_files(root: Path) -> None:
    parts = [p for p in root.rglob("*") if p.name.endswith(PART_SUFFIX)]
    assert not parts, f"partial copies left: {parts}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = build_library(tmp_path_factory.mktemp("reference") / "lib")
    sort_folder(root, IN_PROCESS)
    return _sorted_layout(root)


def _parallel(fn: Callable[[int], None], points: list[int]) -> None:
    # Each case is a separate folder and process; a few at once keep the suite quick.
    with ThreadPoolExecutor(max_workers=min(4, (os.cpu_count() or 1) + 1)) as pool:
        for result in pool.map(fn, points):
            assert result is None


@pytest.mark.slow
@pytest.mark.parametrize("fs", ["same-fs", "cross-fs"])
def test_kill_at_every_step_of_a_sort(
    tmp_path: Path,
    fs: str,
    guard: Callable[..., Snapshot],
    reference: dict[str, bytes],
) -> None:
    kind = "cross" if fs == "cross-fs" else "same"
    steps = _trace(tmp_path, kind)
    assert "journal:move" in steps, steps
    if kind == "cross":
        assert "copy:half" in steps and "rename" in steps, steps
    points = _kill_points(steps, COPY_STEPS if kind == "cross" else frozenset())
    LEDGER.notes.append(
        f"crash, sort {fs}{' (simulated EXDEV)' if _simulated(kind) else ''}: "
        f"killed at {len(points)} of {len(steps)} steps: {' '.join(sorted(set(steps)))}"
    )

    def case(k: int) -> None:
        step = f"{k}:{steps[k - 1]}"
        root = tmp_path / f"k{k}" / "lib"
        with _library(root, kind) as faults:
            snap = guard(root, f"{step} then undo")
            # Killed at the n-th step of that name (not the k-th step overall): how many cache
            # commits a run makes depends on the machine's speed, the other steps do not.
            name = steps[k - 1]
            nth = steps[:k].count(name)
            seen = tmp_path / f"k{k}" / "steps.txt"
            done = run_cli("sort", root, *HASH, kill_on=f"{name}:{nth}", trace=str(seen), **faults)
            if done.returncode == 0 and seen.read_text().split().count(name) < nth:
                assert _sorted_layout(root) == reference, step  # this run had no such step
                _undo_all(root)
                snap.check(restored=True)
                return
            assert done.returncode == KILLED, (step, done.returncode, done.stderr[-2000:])
            crashed = _keep(root, tmp_path / f"k{k}" / "crashed")
            # 1) `remedia undo` puts everything back.
            undo = run_cli("undo", root, **faults)
            if undo.returncode == 4:  # killed before the journal existed: nothing was moved
                assert "no sort" in undo.stderr
            else:
                assert undo.returncode == 0, (step, undo.stdout, undo.stderr)
            snap.check(restored=True)
            _no_part_files(root)
            # 2) Or, from the same crashed state, the next sort recovers and finishes the job.
            _put_back(crashed, root)
            before = snap.files
            snap = guard(root, f"{step} then next run")
            snap.files = before  # checked against the tree from before the crash
            _next_run(root, faults)
            snap.check()
            _no_part_files(root)
            # The same result as a sort nobody killed: same folders, same names.
            assert _sorted_layout(root) == reference, step
            _undo_all(root)
            snap.check(restored=True)

    _parallel(case, points)


@pytest.mark.slow
@pytest.mark.parametrize("fs", ["same-fs", "cross-fs"])
def test_kill_at_every_step_of_an_undo(
    tmp_path: Path, fs: str, guard: Callable[..., Snapshot]
) -> None:
    kind = "cross" if fs == "cross-fs" else "same"
    steps = _trace(tmp_path, kind, "undo")
    assert "unlink" in steps, steps
    points = _kill_points(steps, COPY_STEPS if kind == "cross" else frozenset())
    LEDGER.notes.append(
        f"crash, undo {fs}{' (simulated EXDEV)' if _simulated(kind) else ''}: "
        f"killed at {len(points)} of {len(steps)} steps"
    )

    def case(k: int) -> None:
        step = f"{k}:{steps[k - 1]}"
        root = tmp_path / f"u{k}" / "lib"
        with _library(root, kind) as faults:
            snap = guard(root, f"undo killed at {step}")
            _next_run(root, faults)  # a clean sort to undo
            done = run_cli("undo", root, kill_at=str(k), **faults)
            assert done.returncode == KILLED, (step, done.returncode, done.stderr[-2000:])
            again = run_cli("undo", root, **faults)
            assert again.returncode == 0, (step, again.stdout, again.stderr)
            snap.check(restored=True)
            _no_part_files(root)

    _parallel(case, points)


def test_kill_during_recovery_then_next_run(tmp_path: Path, guard: Callable[..., Snapshot]) -> None:
    """A crash, then a crash of the run that recovers from it, then a clean run."""
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    # Die between link and unlink of the second move: a half-move for recovery to settle.
    done = run_cli("sort", root, *HASH, kill_on="link:2")
    assert done.returncode == KILLED
    # The next run dies during its own recovery, at its first file operation.
    done = run_cli("sort", root, *HASH, kill_on="unlink:1")
    assert done.returncode == KILLED
    done = run_cli("sort", root, *HASH)
    assert done.returncode == 0, done.stderr
    snap.check()
    assert _undo_all(root) == 1  # a sort interrupted twice and finished is one sort to undo
    snap.check(restored=True)


def test_a_sort_killed_before_moving_anything_does_not_hide_the_one_before(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    """`remedia undo` undoes the last sort that did something, not an empty crashed one."""
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    assert run_cli("sort", root, *HASH).returncode == 0
    late = root / "Phone" / "IMG_0003.jpg"  # a new copy arrives; the next sort would move it
    shutil.copy2(photo("sunset"), late)
    snap.expect("Phone/IMG_0003.jpg", late.read_bytes())
    done = run_cli("sort", root, *HASH, kill_on="journal:begin:1")
    assert done.returncode == KILLED
    undo = run_cli("undo", root)
    assert undo.returncode == 0 and "Restored 3 files" in undo.stdout, (undo.stdout, undo.stderr)
    snap.check(restored=True)


def test_cache_survives_a_kill_mid_write(tmp_path: Path, guard: Callable[..., Snapshot]) -> None:
    # No byte-identical copies: only one of those would be cached (see the closing notes).
    root = build_library(tmp_path / "lib", identical=False)
    snap = guard(root)
    cache = tmp_path / "cache"
    env = cli_env(kill_on="cache:insert:3")
    env["XDG_CACHE_HOME"] = str(cache)
    done = run_cli("sort", root, *HASH, env=env)
    assert done.returncode == KILLED
    db = next(cache.rglob("features-v1.sqlite"))
    with sqlite3.connect(db) as con:  # the interrupted transaction is gone, the file is sound
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    env = cli_env()
    env["XDG_CACHE_HOME"] = str(cache)
    first = run_cli("sort", root, *HASH, "--json", env=env)
    assert first.returncode == 0, first.stderr
    second = run_cli("sort", root, *HASH, "--json", env=env)
    assert json.loads(second.stdout)["decoded"] == 0  # the cache works after the crash
    snap.check()
    _undo_all(root)
    snap.check(restored=True)


@pytest.mark.slow
def test_sigkill_from_outside_at_spread_out_moments(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    """kill -9 of the CLI and its decoding workers from another process, at moments spread
    over a bigger sort (64 photos, process pool), and at once after its journal appears."""
    from ..conftest import PHOTOS, whatsapp_copy

    master = tmp_path / "master"
    for k in range(8):
        for name in PHOTOS:
            target = master / f"d{k}" / f"{name}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            if k % 2:
                whatsapp_copy(photo(name), target, side=200 + 20 * k)
            else:
                shutil.copy2(photo(name), target)
    args = ("sort", "--engine", "hash", "--workers", "2")
    clean = tmp_path / "clean"
    shutil.copytree(master, clean)
    start = time.monotonic()
    assert run_cli(*args, clean).returncode == 0
    duration = time.monotonic() - start
    plans = [("after", f) for f in (0.2, 0.4, 0.6, 0.8)] + [
        ("journal", d) for d in (0.0, 0.01, 0.03, 0.08)
    ]
    interrupted = 0
    for n, (when, delay) in enumerate(plans):
        root = tmp_path / f"k{n}"
        shutil.copytree(master, root)
        snap = guard(root, f"kill {when} {delay}")
        proc = subprocess.Popen(
            [sys.executable, "-m", "remedia_tray", *args, str(root)],
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if when == "after":
            time.sleep(duration * delay)
        else:
            journals = root / ".remedia" / "journal"
            while proc.poll() is None and not any(journals.glob("*.jsonl")):
                time.sleep(0.002)
            time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its decoding workers
        proc.wait()
        interrupted += bool(recover_incomplete(root))
        snap.check()
        _no_part_files(root)
        sort_folder(root, IN_PROCESS)
        snap.check()
        _undo_all(root)
        snap.check(restored=True)
    assert interrupted, "no kill landed while files were being moved"
