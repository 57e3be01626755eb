"""Finder Quick Action: valid property lists, and a shell step that keeps paths in "$@".

No Mac here: the bundle is checked with plistlib (and plistutil when libplist-utils is
installed), and the Run Shell Script step is run the way Automator runs it with input
"as arguments": the script text for bash, the selected folders as positional parameters.
"""

from __future__ import annotations

import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest

from remedia_tray.integrations import Launcher, get_installer
from remedia_tray.integrations.macos import MacInstaller

from .helpers import (
    NASTY,
    assert_no_pwned,
    recorded,
    recorder,
)


def _install(tmp_path: Path, launcher: Launcher) -> MacInstaller:
    inst = get_installer("macos", home=tmp_path / "home", launcher=launcher)
    assert isinstance(inst, MacInstaller)
    inst.install()
    return inst


def _shell_step(inst: MacInstaller) -> dict[str, object]:
    wflow = plistlib.loads((inst.bundle / "Contents" / "document.wflow").read_bytes())
    (action,) = wflow["actions"]
    params: dict[str, object] = action["action"]["ActionParameters"]
    return params


def _run_like_automator(inst: MacInstaller, folders: list[Path], cwd: Path) -> None:
    step = _shell_step(inst)
    script = str(step["COMMAND_STRING"])
    shell = str(step["shell"])
    subprocess.run(
        [shell, "-c", script, shell, *map(str, folders)], cwd=cwd, check=True, timeout=120
    )


def test_bundle_is_a_finder_quick_action_for_folders(tmp_path: Path) -> None:
    inst = _install(tmp_path, Launcher.current())
    assert inst.bundle == tmp_path / "home/Library/Services/Sort with ReMedia.workflow"
    info = plistlib.loads((inst.bundle / "Contents" / "Info.plist").read_bytes())
    (service,) = info["NSServices"]
    assert service["NSMenuItem"] == {"default": "Sort with ReMedia"}
    assert service["NSMessage"] == "runWorkflowAsService"
    assert service["NSRequiredContext"] == {"NSApplicationIdentifier": "com.apple.finder"}
    assert service["NSSendFileTypes"] == ["public.folder"]
    wflow = plistlib.loads((inst.bundle / "Contents" / "document.wflow").read_bytes())
    meta = wflow["workflowMetaData"]
    assert meta["workflowTypeIdentifier"] == "com.apple.Automator.servicesMenu"
    assert meta["serviceInputTypeIdentifier"] == "com.apple.Automator.fileSystemObject.folder"
    assert meta["serviceApplicationBundleID"] == "com.apple.finder"
    step = _shell_step(inst)
    assert step["inputMethod"] == 1 and step["shell"] == "/bin/bash"
    (action,) = wflow["actions"]
    assert action["action"]["BundleIdentifier"] == "com.apple.RunShellScript"


def test_plists_pass_plistutil(tmp_path: Path) -> None:
    plistutil = shutil.which("plistutil")
    if plistutil is None:
        pytest.skip("plistutil missing (Debian: libplist-utils)")
    inst = _install(tmp_path, Launcher.current())
    for name in ("Info.plist", "document.wflow"):
        src = inst.bundle / "Contents" / name
        binary = tmp_path / f"{name}.bin"
        subprocess.run([plistutil, "-i", str(src), "-o", str(binary)], check=True)
        assert plistlib.loads(binary.read_bytes()) == plistlib.loads(src.read_bytes())


def test_shell_step_passes_each_folder_as_one_argument(tmp_path: Path) -> None:
    log = tmp_path / "argv.jsonl"
    inst = _install(tmp_path, recorder(log))
    assert '"$@"' in str(_shell_step(inst)["COMMAND_STRING"])
    folders = [tmp_path / "work" / n for n in NASTY]
    for f in folders:
        f.mkdir(parents=True)
    _run_like_automator(inst, folders, tmp_path / "work")
    assert recorded(log) == [["sort", "--notify", "--", *map(str, folders)]]
    assert_no_pwned(tmp_path)


def test_install_twice_changes_nothing_and_uninstall_leaves_no_trace(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "Library" / "Services").mkdir(parents=True)
    (home / "Library" / "Services" / "Mine.workflow").mkdir()
    before = sorted(p.relative_to(home) for p in home.rglob("*"))
    inst = _install(tmp_path, Launcher.current())
    bytes_once = (inst.bundle / "Contents" / "document.wflow").read_bytes()
    assert inst.install().changed == ()
    assert (inst.bundle / "Contents" / "document.wflow").read_bytes() == bytes_once
    assert {s.state for s in inst.status()} == {"installed"}
    inst.uninstall()
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == before
    assert {s.state for s in inst.status()} == {"missing"}
