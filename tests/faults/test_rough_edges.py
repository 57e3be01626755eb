"""Rough edges a clumsy user meets: a file where ReMedia keeps its data, a typo in a folder
name, output piped into `head`, file names that are terminal commands, noisy image libraries,
a full disk and pictures too large to decode. Each ends in one clear line (or none), never a
traceback, and the photos are all still there.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ..conftest import photo
from ._guard import LEDGER, Snapshot
from .conftest import REPO, build_library, cli_env, fill, run_cli
from .test_bad_images import _build as build_bad_images

HASH = ("--engine", "hash", "--workers", "1")


def own_lines(stderr: str) -> list[str]:
    """stderr's lines that are not ReMedia's own ("remedia: ..."; the progress bar is only
    drawn on a terminal, and these runs have none)."""
    return [line for line in stderr.splitlines() if line and not line.startswith("remedia: ")]


def env_with_log(tmp_path: Path, **faults: str) -> tuple[dict[str, str], Path]:
    """The CLI's environment with its own state folder, and where its log file goes."""
    env = cli_env(**faults)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env, tmp_path / "state" / "remedia" / "log" / "remedia.log"


# --- .remedia is a file, a folder name with a typo ------------------------------------------


def test_a_file_named_remedia_gives_one_line(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root = build_library(tmp_path / "lib")
    (root / ".remedia").write_bytes(b"my notes, not ReMedia's")
    snap = guard(root)
    for args in (
        ("sort", root, *HASH),
        ("sort", root, *HASH, "--dry-run"),  # says what the real run would say
        ("undo", root),
        ("forget", root),
    ):
        done = run_cli(*args)
        assert done.returncode != 0, (args, done.stdout)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert ".remedia is a file" in done.stderr, done.stderr
    assert (root / ".remedia").read_bytes() == b"my notes, not ReMedia's"
    snap.check(restored=True)


@pytest.mark.parametrize(
    "command", [("undo",), ("review", "--print-path"), ("review", "--serve"), ("forget",)]
)
def test_a_missing_folder_is_never_made(
    tmp_path: Path, guard: Callable[..., Snapshot], command: tuple[str, ...]
) -> None:
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    typo = tmp_path / "lbi"
    args = (*command, typo, "--no-browser", "--idle", "1") if "--serve" in command else (
        *command, typo,
    )  # fmt: skip
    done = run_cli(*args)
    assert done.returncode != 0, done.stdout
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert str(typo) in done.stderr, done.stderr
    assert not typo.exists(), sorted(p.name for p in tmp_path.iterdir())
    snap.check(restored=True)


# --- output into a closed pipe ---------------------------------------------------------------


def test_output_into_a_closed_pipe_ends_quietly(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    """`remedia sort FOLDER | head`: head leaves early. The sort is done, the output stops,
    nothing is printed about it, and the exit code is 141 (as for a program that SIGPIPE
    killed), so `set -o pipefail` still sees the output was cut short."""
    root = build_library(tmp_path / "lib", identical=False)
    for k in range(40):  # more output than a pipe holds
        shutil.copy2(photo("cat"), root / f"cat copy {k:02d}.jpg")
    snap = guard(root)
    proc = subprocess.Popen(
        [sys.executable, "-m", "remedia_tray", "sort", str(root), *HASH, "-v"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(), cwd=REPO,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, stderr
    assert stderr == "", stderr
    out = snap.check()
    assert len(out.moved) == 43, out.describe()  # the sort itself was not cut short
    done = run_cli("undo", root)
    assert done.returncode == 0, done.stderr
    snap.check(restored=True)


# --- names that are terminal commands --------------------------------------------------------

#: Red text, a cleared screen, a right-to-left override, and bytes that are not UTF-8.
NASTY = ("\x1b[31mred\x1b[0m", "clear\x1b[2J", "gpj.\u202eexe", "bell\x07")


def test_names_are_printed_with_control_characters_escaped(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root = tmp_path / "lib\x1b]0;title\x07"
    root.mkdir()
    shutil.copy2(photo("peaks"), root / "peaks.jpg")
    for k, name in enumerate(NASTY):
        shutil.copy2(photo("peaks"), root / f"{name} {k}.jpg")
        (root / f"{name} broken {k}.jpg").write_bytes(b"\xff\xd8\xff not a photo")
    raw = os.fsdecode(b"raw \xff\xfe.jpg")
    shutil.copy2(photo("peaks"), root / raw)
    snap = guard(root)
    for args in (("--dry-run", "-v"), ()):
        done = run_cli("sort", root, *HASH, *args)
        assert done.returncode == 0, done.stderr
        for stream in (done.stdout, done.stderr):
            assert not any(ch in stream for ch in "\x1b\x07\u202e\udcff\udcfe"), stream
        assert "skipped" in done.stdout and "bell\\x07 broken 3.jpg" in done.stdout
        assert "lib\\x1b]0;title\\x07" in done.stdout  # the folder, and the undo command
        if args:  # the moves are listed
            assert "\\x1b[31mred\\x1b[0m 0.jpg" in done.stdout
            assert "gpj.\\u202eexe 2.jpg" in done.stdout
            assert "raw \\xff\\xfe.jpg" in done.stdout
    snap.check()
    # A library message that embeds a name is escaped too.
    gone = run_cli("undo", tmp_path / "gone\x1b[2J")
    assert gone.returncode == 2 and "gone\\x1b[2J" in gone.stderr and "\x1b" not in gone.stderr
    assert run_cli("undo", root).returncode == 0
    snap.check(restored=True)


# --- stderr: ReMedia's lines only ------------------------------------------------------------


def _libtiff_noise(seed: int) -> bytes:
    """An LZW TIFF with broken strip data: libtiff writes its complaint to fd 2 itself."""
    import io

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(
        buf, "TIFF", compression="tiff_lzw"
    )
    data = bytearray(buf.getvalue())
    for k in range(20, 2000, 37):
        data[k] ^= 0xFF
    return bytes(data)


def test_stderr_has_only_remedias_own_lines(tmp_path: Path, guard: Callable[..., Snapshot]) -> None:
    """The fault suite's bad images, libtiff's own complaints, and enough files to use the
    decoding workers: stderr has ReMedia's lines only; the rest went to the log file."""
    root = tmp_path / "lib"
    build_bad_images(root)
    for k in range(6):
        (root / f"libtiff-{k}.tif").write_bytes(_libtiff_noise(k))
    rng = np.random.default_rng(7)
    for k in range(24):  # distinct photos, so that more than 48 files are decoded: workers
        im = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
        im.resize((96, 72)).save(root / f"filler-{k:02d}.jpg", quality=80)
    snap = guard(root)
    env, log = env_with_log(tmp_path)
    done = run_cli("sort", root, "--engine", "hash", "--workers", "2", env=env, timeout=300)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    assert own_lines(done.stderr) == [], done.stderr
    assert log.is_file(), "nothing reached the log"
    text = log.read_text()
    assert "Using code not yet in table" in text  # libtiff, in a worker and in this process
    assert f"remedia: more details are in {log}" in done.stderr
    snap.check()
    undo = run_cli("undo", root, env=env)
    assert undo.returncode == 0 and own_lines(undo.stderr) == [], undo.stderr
    snap.check(restored=True)


def test_a_full_disk_is_one_line(
    tmp_path: Path, guard: Callable[..., Snapshot], mounts: Callable[..., bool]
) -> None:
    """The review page cannot be written on a full disk: one line, no traceback."""
    root = tmp_path / "lib"
    if not mounts(root, "2m"):
        pytest.skip("needs a small tmpfs (root on Linux)")
    build_library(root)
    snap = guard(root)
    assert run_cli("sort", root, *HASH).returncode == 0
    shutil.rmtree(root / ".remedia" / "review")
    fill(root)
    snap.expect(".filler", (root / ".filler").read_bytes())
    done = run_cli("review", "--print-path", root)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("remedia: disk full"), done.stderr
    snap.check()
    (root / ".filler").unlink()
    snap.expect(".filler", None)
    assert run_cli("undo", root).returncode == 0
    snap.check(restored=True)


# --- the tray without its packages ----------------------------------------------------------


def test_the_tray_without_its_packages_says_what_to_install(tmp_path: Path) -> None:
    env = cli_env(block="pystray,watchdog")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    done = run_cli("tray", env=env, timeout=60)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr == (
        f"remedia: the tray needs pystray and watchdog; install with: "
        f'"{sys.executable}" -m pip install pystray watchdog\n'
    )


# --- pictures too large to decode in full ----------------------------------------------------


def _png(path: Path, side: int, *, alpha: bool, seed: int) -> None:
    """A real side x side PNG, written row by row and small on disk (its rows repeat a short
    random pattern), so neither making it nor the snapshot holds its pixels."""
    channels = 4 if alpha else 3
    pattern = np.random.default_rng(seed).integers(0, 255, 997 * channels, dtype=np.uint8)
    line = np.resize(pattern, side * channels).tobytes()
    rows = [b"\x00" + line[k:] + line[:k] for k in (0, 5 * channels, 11 * channels)]
    z = zlib.compressobj(6)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 6 if alpha else 2, 0, 0, 0)
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header))
        for y in range(side):
            data = z.compress(rows[(y // 64) % len(rows)])
            if data:
                fh.write(chunk(b"IDAT", data))
        fh.write(chunk(b"IDAT", z.flush()) + chunk(b"IEND", b""))


def _tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants now (Linux /proc)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * page
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


#: Runs the command in its argv and writes the largest ru_maxrss among its process tree to
#: the first argument: a small process, so that its own size at fork does not count.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def run_measured(*args: str | Path, env: dict[str, str], tmp: Path) -> tuple[dict, int, int]:
    """The CLI's JSON report, the peak of its whole process tree's RSS (sampled every 10 ms)
    and the largest single process's peak (ru_maxrss), in bytes."""
    peak = [0]
    maxrss = tmp / "maxrss"
    command = [sys.executable, "-m", "remedia_tray", *map(str, args), "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-c", _MEASURE, str(maxrss), *command],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO, text=True,
    )  # fmt: skip
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate(timeout=600)
    done.set()
    sampler.join()
    assert proc.returncode == 0, err[-3000:]
    assert own_lines(err) == [], err
    return json.loads(out), peak[0], int(maxrss.read_text()) * 1024


def note_peak(what: str, tree: int, single: int) -> None:
    """Under the fault suite's table: the measured peaks."""
    LEDGER.notes.append(
        f"peak RSS, {what}, 2 workers: whole process tree {tree / 1e6:.0f} MB, "
        f"largest process {single / 1e6:.0f} MB"
    )


@pytest.fixture
def big_folder(tmp_path: Path) -> Iterator[Callable[[int, bool], Path]]:
    def make(side: int, alpha: bool) -> Path:
        root = tmp_path / f"big-{side}"
        root.mkdir()
        # Names put the two large pictures first in two work batches of 4 files: the two
        # workers decode them at the same time.
        _png(root / "a0 large.png", side, alpha=alpha, seed=1)
        _png(root / "b0 large.png", side, alpha=alpha, seed=2)
        rng = np.random.default_rng(3)
        for k in range(50):
            im = Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8))
            name = f"{'ab'[k % 2]}{k + 1:02d}.jpg" if k < 6 else f"c{k:02d}.jpg"
            im.resize((64, 48)).save(root / name, quality=80)
        return root

    yield make


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_two_13000px_pngs_are_skipped_naming_the_bound(
    big_folder: Callable[[int, bool], Path], guard: Callable[..., Snapshot], tmp_path: Path
) -> None:
    root = big_folder(13000, False)
    snap = guard(root)
    env, _ = env_with_log(tmp_path)
    report, tree, single = run_measured(
        "sort", root, "--engine", "hash", "--workers", "2", env=env, tmp=tmp_path
    )
    reasons = {os.path.basename(s["path"]): s["reason"] for s in report["skipped"]}
    for name in ("a0 large.png", "b0 large.png"):
        assert reasons[name] == (
            "image too large to read in full (13000x13000 px, 169 MP; the limit for PNG is 50 MP)"
        )
    note_peak("two 13000x13000 PNGs (skipped)", tree, single)
    assert tree < 700e6 and single < 700e6
    snap.check()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_two_pngs_just_under_the_bound_decode_within_700_mb(
    big_folder: Callable[[int, bool], Path], guard: Callable[..., Snapshot], tmp_path: Path
) -> None:
    """Two 49 MP RGBA PNGs (the costliest kind to convert) decoded at once by 2 workers."""
    root = big_folder(7000, True)
    snap = guard(root)
    env, _ = env_with_log(tmp_path)
    report, tree, single = run_measured(
        "sort", root, "--engine", "hash", "--workers", "2", env=env, tmp=tmp_path
    )
    skipped = {os.path.basename(s["path"]) for s in report["skipped"]}
    assert not skipped & {"a0 large.png", "b0 large.png"}, report["skipped"]
    assert report["images"] == 52
    note_peak("two 7000x7000 RGBA PNGs (decoded)", tree, single)
    assert tree < 700e6 and single < 700e6
    snap.check()
