"""No network during a sort: with default settings (hash + AI engine) and with CLIP.

The sort runs as `python -m remedia_tray sort` in a fresh process whose start-up installs an
audit hook (site/sitecustomize.py): every socket created, connected or bound, and every name
lookup, in the CLI and in each decoding worker it spawns, is written down; internet sockets
(AF_INET, AF_INET6) and lookups are refused as well, so nothing can leave even if a library
swallowed the error. Local AF_UNIX sockets are recorded and reported, not refused. Where
strace works, a second run is watched at the system-call level (native code included).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from .. import ai_support
from ..conftest import PHOTOS, photo, whatsapp_copy
from ._guard import LEDGER, Snapshot
from .conftest import REPO, cli_env

INTERNET = ("AF_INET", "AF_INET6")

# A randomly initialised ViT-B-32 image tower, as in the AI tests (real CLIP code and compute).
clip_weights = ai_support.clip_weights


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """56 photos (over the size where decoding moves to worker processes)."""
    master = tmp_path_factory.mktemp("privacy") / "photos"
    for k, side in enumerate((0, 640, 480, 360, 300, 240, 200)):
        for name in PHOTOS:
            target = master / f"set{k}" / f"{name}.jpg"
            if side:
                whatsapp_copy(photo(name), target, side=side)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(photo(name), target)
    return master


def _env(tmp_path: Path, log: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = cli_env(net_log=str(log))
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        env.pop(var, None)  # the product must not rely on the user setting these
    for var in [v for v in env if v.startswith("ORT_")]:
        env.pop(var)  # ... nor this (ORT_DISABLE_TELEMETRY)
    env["HOME"] = str(tmp_path / "home")  # where telemetry libraries keep their state
    # ONNX exports of the AI models are shared with the AI tests (tests/ai_support.py).
    models = Path(env["XDG_CACHE_HOME"]) / "remedia" / "models"
    models.mkdir(parents=True, exist_ok=True)
    shared = tmp_path_factory.getbasetemp() / "ai-models"
    shared.mkdir(exist_ok=True)
    if not (models / "onnx").exists():
        (models / "onnx").symlink_to(shared, target_is_directory=True)
    return env


def _sockets(log: Path) -> Counter[str]:
    """What the audit hook saw: 'socket AF_UNIX', 'connect AF_INET ...', 'resolve ...'."""
    seen: Counter[str] = Counter()
    if log.exists():
        for line in log.read_text().splitlines():
            _pid, _, what = line.partition(" ")
            seen[" ".join(what.split()[:2])] += 1
    return seen


def _pids(log: Path) -> set[str]:
    return {line.split()[0] for line in log.read_text().splitlines()} if log.exists() else set()


def _note(label: str, seen: Counter[str]) -> None:
    families = Counter()
    for what, n in seen.items():
        families[what.split()[-1] if what.startswith(("socket", "connect", "bind")) else what] += n
    shown = ", ".join(f"{k} x{v}" for k, v in sorted(families.items())) or "none"
    LEDGER.notes.append(f"privacy, {label}: sockets seen: {shown}")


def _sort(root: Path, env: dict[str, str], *args: str, timeout: float = 400) -> dict:
    """Run `remedia sort ROOT ARGS` exactly as given; the report is read from its JSON file."""
    done = subprocess.run(
        [sys.executable, "-m", "remedia_tray", "sort", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    reports = sorted((root / ".remedia" / "reports").glob("*.json"))
    return json.loads(reports[-1].read_text())


def _telemetry_state(env: dict[str, str]) -> list[str]:
    """Files a library's telemetry left: ONNX Runtime (1.29+, Linux too) keeps a device id and
    an upload queue that it sends to Microsoft now and then, from native code that no Python
    hook sees. They exist only if telemetry was switched on, so they show it deterministically
    even when this run happened not to upload anything."""
    found = []
    for base in (env["XDG_CACHE_HOME"], env["HOME"]):
        for p in Path(base).rglob("*"):
            if "DeveloperTools" in p.parts and p.is_file():
                found.append(str(p))
    return found


def _assert_no_network(seen: Counter[str]) -> None:
    internet = {w: n for w, n in seen.items() if any(f in w for f in INTERNET)}
    lookups = {w: n for w, n in seen.items() if w.startswith("resolve")}
    assert not internet and not lookups, f"network use during a sort: {internet} {lookups}"


@pytest.mark.slow
def test_default_sort_opens_no_network_socket(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    photos: Path,
    guard: Callable[..., Snapshot],
) -> None:
    root = tmp_path / "photos"
    shutil.copytree(photos, root)
    log = tmp_path / "net.log"
    env = _env(tmp_path, log, tmp_path_factory)
    snap = guard(root)
    # Exactly what a user types (a file-manager menu runs the same, plain command).
    report = _sort(root, env)
    assert "hash" in report["engines"] and len(report["engines"]) == 2, report["engines"]
    assert report["duplicates_moved"] > 0
    seen = _sockets(log)
    _note("remedia sort FOLDER (hash + AI engine)", seen)
    _assert_no_network(seen)
    assert not _telemetry_state(env), f"telemetry was switched on: {_telemetry_state(env)}"
    snap.check()


@pytest.mark.slow
def test_both_engines_with_clip_open_no_network_socket(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    photos: Path,
    clip_weights: Path,
    guard: Callable[..., Snapshot],
) -> None:
    root = tmp_path / "photos"
    shutil.copytree(photos, root)
    log = tmp_path / "net.log"
    env = _env(tmp_path, log, tmp_path_factory)
    snap = guard(root)
    report = _sort(root, env, "--engine", "both", "--clip-weights", str(clip_weights))
    assert "hash" in report["engines"] and any("CLIP" in d for d in report["engines"].values())
    seen = _sockets(log)
    _note("--engine both with CLIP", seen)
    _assert_no_network(seen)
    assert not _telemetry_state(env), f"telemetry was switched on: {_telemetry_state(env)}"
    snap.check()


def test_the_guard_sees_sockets_in_the_cli_and_its_workers(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The check above cannot pass by not looking: the same hook catches a connection
    attempt in the main process and in a spawned worker, even when the error is swallowed."""
    log = tmp_path / "net.log"
    env = _env(tmp_path, log, tmp_path_factory)
    script = _reach_script(tmp_path)
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = _sockets(log)
    assert seen["socket AF_INET"] >= 2 and seen["resolve 'example.invalid'"] >= 2, seen
    assert seen["socket AF_UNIX"] >= 2  # recorded, not refused
    assert len(_pids(log)) >= 2  # the spawned worker was watched too


def _reach_script(tmp_path: Path) -> Path:
    """A program that tries the network (and swallows the errors), also from a worker."""
    script = tmp_path / "reach.py"
    script.write_text(
        "import multiprocessing, socket\n"
        "def reach():\n"
        "    for family, kind in ((socket.AF_INET, 'tcp'), (socket.AF_UNIX, 'local')):\n"
        "        try:\n"
        "            socket.socket(family, socket.SOCK_STREAM).close()\n"
        "        except OSError:\n"
        "            pass\n"
        "    try:\n"
        "        socket.getaddrinfo('example.invalid', 443)\n"
        "    except OSError:\n"
        "        pass\n"
        "if __name__ == '__main__':\n"
        "    reach()\n"
        "    worker = multiprocessing.get_context('spawn').Process(target=reach)\n"
        "    worker.start()\n"
        "    worker.join()\n"
    )
    return script


def _strace_works() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(
        ["strace", "-f", "-e", "trace=socket", "-o", os.devnull, "true"], capture_output=True
    )
    return probe.returncode == 0


@pytest.mark.slow
def test_default_sort_makes_no_network_system_call(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    photos: Path,
    guard: Callable[..., Snapshot],
) -> None:
    """The same sort under strace: native code (ONNX Runtime, libheif, ...) included."""
    if not _strace_works():
        pytest.skip("strace is not installed or ptrace is not permitted here")
    root = tmp_path / "photos"
    shutil.copytree(photos, root)
    trace = tmp_path / "strace.log"
    env = _env(tmp_path, tmp_path / "net.log", tmp_path_factory)
    env.pop("REMEDIA_FAULTS_NET_LOG")  # only the kernel's view this time
    snap = guard(root)
    done = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=socket,connect,sendto,sendmsg", "-o", str(trace),
         sys.executable, "-m", "remedia_tray", "sort", str(root)],
        env=env, capture_output=True, text=True, timeout=400, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    # The same watch sees a program that does reach out (from a worker process, too).
    control = tmp_path / "control.log"
    subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=socket", "-o", str(control), sys.executable,
         str(_reach_script(tmp_path))],
        env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert len(re.findall(r"socket\(AF_INET\b", control.read_text())) >= 2
    calls = trace.read_text().splitlines()
    internet = [c for c in calls if re.search(r"AF_INET6?\b", c)]
    families = Counter(m.group(1) for c in calls if (m := re.search(r"socket\((AF_\w+)", c)))
    LEDGER.notes.append(
        "privacy, strace of remedia sort FOLDER: socket() calls by family: "
        + (", ".join(f"{k} x{v}" for k, v in sorted(families.items())) or "none")
    )
    assert not internet, internet[:10]
    assert not _telemetry_state(env), f"telemetry was switched on: {_telemetry_state(env)}"
    snap.check()
