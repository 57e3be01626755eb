"""The generated nautilus-python extension, loaded by Debian's system Python and typelib.

Checks both MenuProvider call forms (Nautilus 43+ and older), that the entry shows only for
local folders, that a selection of folders becomes one process with one argument per
folder, and that activating it really sorts a folder named like a shell command.
Real Nautilus clicking the entry: tests/desktop/test_file_managers.py.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from remedia_tray.integrations import Launcher
from remedia_tray.integrations.linux import LinuxInstaller

from .helpers import (
    INJECTION,
    NASTY,
    assert_no_pwned,
    assert_sorted,
    photo_folder,
    recorded,
    recorder,
)

SYSTEM_PYTHON = Path("/usr/bin/python3")
HARNESS = Path(__file__).with_name("nautilus_harness.py")


def _nautilus_api() -> str:
    if not SYSTEM_PYTHON.exists():
        pytest.skip("no system Python at /usr/bin/python3")
    probe = (
        "import gi\n"
        "for v in ('4.0', '3.0'):\n"
        "    try:\n"
        "        gi.require_version('Nautilus', v); print(v); break\n"
        "    except ValueError: pass\n"
    )
    out = subprocess.run([str(SYSTEM_PYTHON), "-c", probe], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        pytest.skip("Nautilus typelib for the system Python missing (Debian: python3-nautilus)")
    return out.stdout.strip()


def _run_harness(extension: Path, spec: Mapping[str, object]) -> dict[str, object]:
    out = subprocess.run(
        [str(SYSTEM_PYTHON), str(HARNESS), str(extension), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout)
    return result


def _wait(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "the launched command did not finish in time"
        time.sleep(0.1)


def test_extension_offers_the_entry_and_launches_one_batch(tmp_path: Path) -> None:
    api = _nautilus_api()
    log = tmp_path / "argv.jsonl"
    inst = LinuxInstaller(
        home=tmp_path / "home", env={}, launcher=recorder(log), targets=["nautilus"]
    )
    inst.install()
    work = tmp_path / "work"
    folders = [work / n for n in NASTY]
    for f in folders:
        f.mkdir(parents=True)
    (work / "photo.jpg").write_bytes(b"\xff\xd8")
    spec = {
        "selection": [str(f) for f in folders],
        "background": str(folders[0]),
        "file": str(work / "photo.jpg"),
        "remote": "sftp://example.invalid/photos",
    }
    result = _run_harness(inst.nautilus_extension_path, spec)
    assert result["api"] == api
    for key in ("selection", "selection_old_api", "background", "background_old_api"):
        assert result[key] == ["Sort with ReMedia"], key
    assert result["with_a_file"] == [] and result["remote"] == []
    assert result["names"] == ["ReMedia::sort_selection", "ReMedia::sort_background"]
    _wait(lambda: len(recorded(log)) == 2)
    calls = sorted(recorded(log), key=len, reverse=True)
    assert calls == [
        ["sort", "--notify", "--", *map(str, folders)],
        ["sort", "--notify", "--", str(folders[0])],
    ]
    assert_no_pwned(tmp_path)


def test_extension_sorts_a_folder_named_like_a_command(tmp_path: Path) -> None:
    _nautilus_api()
    log = tmp_path / "argv.jsonl"
    # --run: record the argv, then run the real `python -m remedia_tray` with it.
    inst = LinuxInstaller(
        home=tmp_path / "home", env={}, launcher=recorder(log, run=True), targets=["nautilus"]
    )
    inst.install()
    folder = photo_folder(tmp_path / "work", INJECTION)
    other = photo_folder(tmp_path / "work", "second", picture="peaks")
    shown = photo_folder(tmp_path / "work", "shown", picture="ridge")
    spec = {
        "selection": [str(folder), str(other)],
        "background": str(shown),
        "file": str(folder / "sunset.jpg"),
        "remote": "smb://example.invalid/share",
    }
    _run_harness(inst.nautilus_extension_path, spec)
    _wait(lambda: log.read_text().count('"rc"') == 2 if log.exists() else False)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["rc"] for e in lines if "rc" in e] == [0, 0]
    assert_sorted(folder)
    assert_sorted(other, picture="peaks")
    assert_sorted(shown, picture="ridge")
    assert_no_pwned(tmp_path)


def test_extension_runs_the_current_interpreter_by_absolute_path(tmp_path: Path) -> None:
    inst = LinuxInstaller(home=tmp_path, env={}, launcher=Launcher.current(), targets=["nautilus"])
    inst.install()
    text = inst.nautilus_extension_path.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("REMEDIA_COMMAND"))
    assert repr([*Launcher.current().argv, "sort", "--notify", "--"]) in line
    assert Path(Launcher.current().argv[0]).is_absolute()
    # Standard library and gi only: nothing of ReMedia is imported inside Nautilus.
    assert "remedia_tray" not in "\n".join(ln for ln in text.splitlines() if "import" in ln)
