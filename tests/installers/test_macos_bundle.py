"""installers/macos: the Info.plist keys, the scripts' syntax, uninstall.sh on a fake home.

No Mac here: build_app.sh must refuse to run, and uninstall.sh's file removal is run
against a throwaway HOME (REMEDIA_ALLOW_NON_MACOS=1) holding what the app writes.
"""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from remedia_tray.desktop.autostart import AGENT_LABEL, Autostart
from remedia_tray.integrations.base import Launcher
from remedia_tray.integrations.macos import MacInstaller

from .conftest import INSTALLERS, listing

MACOS = INSTALLERS / "macos"
SCRIPTS = sorted([*MACOS.glob("*.sh"), *(INSTALLERS / "linux").glob("*.sh")], key=lambda p: p.name)


def test_info_plist_keys() -> None:
    with open(MACOS / "Info.plist", "rb") as f:
        info = plistlib.load(f)
    assert info["CFBundleIdentifier"] == AGENT_LABEL  # the login item has the app's name
    assert info["LSUIElement"] is True  # menu-bar app: no Dock icon, no app menu
    assert info["CFBundlePackageType"] == "APPL"
    assert info["CFBundleExecutable"] == info["CFBundleName"] == "ReMedia"
    assert info["CFBundleShortVersionString"] == info["CFBundleVersion"] == "@VERSION@"
    assert info["NSHighResolutionCapable"] is True
    assert tuple(int(x) for x in info["LSMinimumSystemVersion"].split(".")) >= (10, 15)
    for key in ("NSDesktopFolderUsageDescription", "NSDocumentsFolderUsageDescription",
                "NSDownloadsFolderUsageDescription"):  # fmt: skip
        assert "photos" in info[key]


def test_build_script_substitutes_only_known_placeholders() -> None:
    text = (MACOS / "Info.plist").read_text()
    assert text.count("@") == text.count("@VERSION@") * 2
    assert "@VERSION@" in (MACOS / "build_app.sh").read_text()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scripts_parse(script: Path) -> None:
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert script.read_text().splitlines()[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in script.read_text()
    assert script.stat().st_mode & 0o111, f"{script} is not executable"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scripts_shellcheck(script: Path) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (Debian: apt-get install shellcheck)")
    proc = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.skipif(sys.platform == "darwin", reason="checks the refusal on other systems")
def test_build_app_refuses_off_macos(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["bash", str(MACOS / "build_app.sh")], capture_output=True, text=True,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 1
    assert "needs macOS" in proc.stderr
    assert listing(tmp_path) == set()


@pytest.mark.skipif(sys.platform == "darwin", reason="would touch the real Mac")
def test_uninstall_removes_what_the_app_wrote(tmp_path: Path) -> None:
    home = tmp_path / "home"
    apps = tmp_path / "Applications"
    (apps / "ReMedia.app" / "Contents" / "MacOS").mkdir(parents=True)
    lib = home / "Library"
    (lib / "Preferences").mkdir(parents=True)
    (lib / "Preferences" / "com.apple.finder.plist").write_bytes(b"keep")
    before = listing(home)
    # What the app itself writes: the Quick Action, the LaunchAgent, settings and cache.
    exe = str(apps / "ReMedia.app" / "Contents" / "MacOS" / "ReMedia")
    MacInstaller(home=home, launcher=Launcher((exe,))).install()
    Autostart(platform="macos", home=home).enable([exe, "tray"])
    for d in ("Application Support/ReMedia", "Caches/remedia", "Logs/ReMedia"):
        (lib / d).mkdir(parents=True, exist_ok=True)
        (lib / d / "x").write_text("x")
    assert (lib / "Services" / "Sort with ReMedia.workflow" / "Contents" / "Info.plist").is_file()
    assert (lib / "LaunchAgents" / f"{AGENT_LABEL}.plist").is_file()

    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "REMEDIA_APP_DIRS": str(apps),
           "REMEDIA_ALLOW_NON_MACOS": "1"}  # fmt: skip
    refused = subprocess.run(
        ["bash", str(MACOS / "uninstall.sh")], capture_output=True, text=True,
        env={k: v for k, v in env.items() if k != "REMEDIA_ALLOW_NON_MACOS"},
    )  # fmt: skip
    assert refused.returncode == 1 and (apps / "ReMedia.app").exists()
    for _ in range(2):  # idempotent
        proc = subprocess.run(
            ["bash", str(MACOS / "uninstall.sh")], capture_output=True, text=True, env=env
        )
        assert proc.returncode == 0, proc.stderr
    assert not (apps / "ReMedia.app").exists()
    after = listing(home)
    # Only the empty parent folders the app created may stay (Services, LaunchAgents...).
    assert {p for p in after if "remedia" in p.lower()} == set(), sorted(after)
    assert before <= after
    left = after - before
    assert all((home / p).is_dir() and not any((home / p).iterdir()) for p in left), sorted(left)
