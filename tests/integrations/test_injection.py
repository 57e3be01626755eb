"""A folder named `a'"; touch PWNED; $(touch PWNED2)` is sorted through every entry's command.

Each generated entry is read back from its file (Nemo's two actions, Thunar's uca.xml,
Dolphin's service menu, the Nautilus script, the macOS workflow's shell step, the Explorer
verb), its placeholder is expanded the way the file manager does (helpers.py), and the
result is run with the launcher users get: the real `python -m remedia_tray`. The folder
must be sorted and nothing else may run. Entries that reuse one of these commands
(Thunar's and Dolphin's background, the script with nothing selected) are covered argument
by argument in test_linux.py; the Nautilus extension in test_nautilus_extension.py; real
file managers in tests/desktop/test_file_managers.py.
"""

from __future__ import annotations

import plistlib
import subprocess
import sys
from pathlib import Path, PureWindowsPath

from remedia_tray.integrations import Launcher, get_installer
from remedia_tray.integrations.macos import MacInstaller
from remedia_tray.integrations.windows import verb_roots

from .helpers import (
    INJECTION,
    WINDOWS_NASTY,
    assert_no_pwned,
    assert_sorted,
    photo_folder,
    windows_split,
)
from .test_linux import ENTRIES, _installer
from .test_windows import FakeWinReg

Job = tuple[str, list[str], Path, Path]  # label, argv, working directory, folder to check


def _linux_jobs(tmp_path: Path) -> list[Job]:
    jobs: list[Job] = []
    for entry in ("nemo", "nemo-background", "thunar", "dolphin", "nautilus-script"):
        target, runner, background = ENTRIES[entry]
        base = tmp_path / entry
        inst = _installer(base / "home", Launcher.current(), target)
        folder = photo_folder(base / "work", INJECTION)
        shown = folder if background else base / "work"
        jobs.append((entry, runner(inst, [] if background else [folder], shown), shown, folder))
    return jobs


def _finder_job(tmp_path: Path) -> Job:
    base = tmp_path / "finder"
    inst = get_installer("macos", home=base / "home", launcher=Launcher.current())
    assert isinstance(inst, MacInstaller)
    inst.install()
    wflow = plistlib.loads((inst.bundle / "Contents" / "document.wflow").read_bytes())
    step = wflow["actions"][0]["action"]["ActionParameters"]
    folder = photo_folder(base / "work", INJECTION)
    # Automator, input "as arguments": the script for the shell, the folders as $1...
    argv = [step["shell"], "-c", step["COMMAND_STRING"], step["shell"], str(folder)]
    return ("finder", argv, base / "work", folder)


def _explorer_job(tmp_path: Path) -> Job:
    base = tmp_path / "explorer"
    name = WINDOWS_NASTY[0]  # Windows forbids " in names
    reg = FakeWinReg()
    launcher = Launcher((sys.executable, "-m", "remedia_tray"))
    get_installer(
        "windows", home=base / "home", launcher=launcher, registry=reg, icon="x.ico"
    ).install()
    command = reg.snapshot()[rf"{verb_roots()[0]}\command"][""]
    argv = windows_split(command.replace("%1", f"C:\\Users\\me\\{name}"))
    assert len(argv) == 7 and PureWindowsPath(argv[-1]).name == name
    folder = photo_folder(base / "work", name)
    # What Explorer starts, with the Windows folder mapped onto this machine.
    return ("explorer", [*argv[:-1], str(folder)], base / "work", folder)


def test_a_folder_named_like_a_command_is_sorted_through_every_entry(tmp_path: Path) -> None:
    jobs = [*_linux_jobs(tmp_path), _finder_job(tmp_path), _explorer_job(tmp_path)]
    for label, argv, cwd, _ in jobs:
        out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, (label, out.stdout, out.stderr)
    for label, _, _, folder in jobs:
        assert folder.name in (INJECTION, WINDOWS_NASTY[0]), label
        assert_sorted(folder)
    assert_no_pwned(tmp_path)
