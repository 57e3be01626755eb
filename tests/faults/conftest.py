"""Fixtures for the fault suite, and the "never lose a photo" summary table.

Each fault case snapshots the bytes of its folder (`guard`), breaks something, recovers and
checks: nothing lost, nothing overwritten. The totals are printed at the end of the run and
the run fails if any photo was lost or overwritten, even if a test swallowed its assertion.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import photo, whatsapp_copy
from ._guard import LEDGER, Snapshot

SITE = Path(__file__).parent / "site"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _isolated_runtime(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No hand-off to a tray the developer may be running; each test has its own runtime dir.
    runtime = tmp_path_factory.mktemp("run")
    runtime.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))


@pytest.fixture
def guard(request: pytest.FixtureRequest) -> Callable[[Path], Snapshot]:
    """`guard(folder)` -> Snapshot counted in the summary under this test module."""
    category = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")

    def take(root: Path, case: str = "", **kw: Any) -> Snapshot:
        return Snapshot(root, category, f"{request.node.name}{'/' + case if case else ''}", **kw)

    return take


def cli_env(**faults: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SITE), str(REPO), *filter(None, [env.get("PYTHONPATH", "")])]
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for key, value in faults.items():
        env["REMEDIA_FAULTS_" + key.upper()] = value
    return env


def run_cli(
    *args: str | Path,
    timeout: float = 120,
    preexec: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
    **faults: str,
) -> subprocess.CompletedProcess[str]:
    """`python -m remedia_tray ARGS` in a fresh process, with the fault hooks asked for."""
    return subprocess.run(
        [sys.executable, "-m", "remedia_tray", *map(str, args)],
        env=env if env is not None else cli_env(**faults),
        capture_output=True,
        text=True,
        errors="surrogateescape",
        timeout=timeout,
        preexec_fn=preexec,
        cwd=REPO,
    )


def build_library(root: Path, *, identical: bool = True) -> Path:
    """A small real library: 3 photos and 3 copies (2 byte-identical, 1 re-encoded).

    With identical=False the first two copies are re-encoded too.
    """
    root.mkdir(parents=True, exist_ok=True)
    for name in ("sunset", "peaks", "cat"):
        shutil.copy2(photo(name), root / f"{name}.jpg")
    (root / "Phone").mkdir(exist_ok=True)
    for k, side in ((1, 300), (2, 260)):
        target = root / "Phone" / f"IMG_000{k}.jpg"
        if identical:
            shutil.copy2(photo("sunset"), target)
        else:
            whatsapp_copy(photo("sunset"), target, side=side)
    whatsapp_copy(photo("peaks"), root / "Phone" / "IMG-WA0003.jpg")
    (root / "notes.txt").write_text("not a photo")
    return root


# --- second filesystems (tmpfs) ------------------------------------------------------------


@functools.cache
def can_mount() -> bool:
    """Whether this process may mount a tmpfs (root on Linux, with the capability to).

    REMEDIA_FAULTS_NO_MOUNT=1 answers no, to run the fallbacks (injected EXDEV/ENOSPC) here.
    """
    if os.environ.get("REMEDIA_FAULTS_NO_MOUNT") == "1":
        return False
    if not (sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("mount")):
        return False
    probe = Path(tempfile.mkdtemp(prefix="remedia-mount-probe-"))
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True
        )
        if done.returncode == 0:
            subprocess.run(["umount", str(probe)], capture_output=True)
        return done.returncode == 0
    finally:
        probe.rmdir()


@contextlib.contextmanager
def tmpfs_at(path: Path, size: str = "64m") -> Iterator[bool]:
    """Mount a fresh tmpfs at `path` (True), or yield False where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    if not can_mount():
        yield False
        return
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def mounts() -> Iterator[Callable[..., bool]]:
    """`mounts(path, size)` mounts a tmpfs there for this test; False when not possible."""
    stack = contextlib.ExitStack()

    def mount(path: Path, size: str = "64m") -> bool:
        return stack.enter_context(tmpfs_at(path, size))

    with stack:
        yield mount


def fill(folder: Path, *, leave: int = 0) -> None:
    """Fill the filesystem of `folder` until at most `leave` bytes are free."""
    with open(folder / ".filler", "wb") as fh:
        chunk = b"\0" * 65536
        while True:
            free = shutil.disk_usage(folder).free - leave
            if free <= 0:
                break
            try:
                fh.write(chunk[: max(1, min(len(chunk), free))])
                fh.flush()
            except OSError:
                break


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # SIGKILL, flock, tmpfs mounts, capabilities and `cp -a` are POSIX (mostly Linux) tools.
    if sys.platform == "win32":
        here = Path(__file__).parent
        for item in items:
            if here in item.path.parents:
                item.add_marker(pytest.mark.skip(reason="the fault suite needs POSIX"))


# --- the summary table ---------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not LEDGER.rows:
        return
    tr = terminalreporter
    tr.section("never lose a photo: fault suite summary")
    head = f"{'category':<14}{'cases':>7}{'files checked':>15}{'lost':>7}{'overwritten':>13}"
    tr.write_line(head + f"{'stray copies':>14}")
    tr.write_line("-" * len(head + " " * 14))
    for name, row in sorted(LEDGER.rows.items()):
        tr.write_line(
            f"{name:<14}{row.cases:>7}{row.files_checked:>15}{row.lost:>7}{row.overwritten:>13}"
            f"{row.stray:>14}"
        )
    total = LEDGER.total()
    tr.write_line("-" * len(head + " " * 14))
    tr.write_line(
        f"{'total':<14}{total.cases:>7}{total.files_checked:>15}{total.lost:>7}"
        f"{total.overwritten:>13}{total.stray:>14}"
    )
    for line in LEDGER.notes:
        tr.write_line(line)
    for line in LEDGER.problems:
        tr.write_line(f"PHOTO LOST OR OVERWRITTEN: {line}", red=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    total = LEDGER.total()
    if (total.lost or total.overwritten) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@contextlib.contextmanager
def held_sort(
    root: Path, hold: Path, *args: str, preexec: Callable[[], None] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`remedia sort ROOT ARGS` paused at its first move (the `hold` fault hook): yields the
    process while it waits there (touch hold/"release" to let it go on); killed if still
    running at the end."""
    hold.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "remedia_tray", "sort", str(root), *args],
        env=cli_env(hold=str(hold)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        preexec_fn=preexec,
    )
    try:
        deadline = time.monotonic() + 120
        while not (hold / "held").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sort never reached its first move"
            time.sleep(0.02)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
