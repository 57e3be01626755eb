"""installers/windows/remedia.nsi: build with makensis, install and uninstall under wine64.

The payload is a stand-in (a text file named remedia.exe and the icon where PyInstaller
puts package data): the test checks what the installer writes, not the frozen app. The
Explorer verbs must be exactly what `remedia integrate install` writes for a frozen
remedia.exe, so that the app and the installer can each remove the other's entries.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from remedia_tray.integrations.commands import sort_argv
from remedia_tray.integrations.windows import registry_entries

from .conftest import INSTALLERS, REPO

pytestmark = pytest.mark.slow

NSI = INSTALLERS / "windows" / "remedia.nsi"
ICON_REL = r"_internal\remedia_tray\assets\remedia.ico"
UNINST = r"Software\Microsoft\Windows\CurrentVersion\Uninstall\ReMedia"
RUN = r"Software\Microsoft\Windows\CurrentVersion\Run"
VALUE = re.compile(r"^\s{4}(.+?)\s{4}(REG_\w+)\s{4}(.*)$")


class Wine:
    def __init__(self, prefix: Path) -> None:
        self.env = {
            **os.environ,
            "WINEPREFIX": str(prefix),
            "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": "mscoree,mshtml=",  # no Mono/Gecko install prompts
            "DISPLAY": "",
        }
        self.prefix = prefix

    def run(self, *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["wine", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def wait(self) -> None:
        """Until every process of the prefix has exited (NSIS uninstallers re-launch)."""
        subprocess.run(["wineserver", "-w"], env=self.env, timeout=120, check=True)

    def query(self, key: str) -> dict[str, tuple[str, str]] | None:
        """Values of HKCU\\key: name -> (type, data); None when the key does not exist."""
        proc = self.run("reg", "query", f"HKCU\\{key}")
        if proc.returncode != 0:
            return None
        out: dict[str, tuple[str, str]] = {}
        for line in proc.stdout.splitlines():
            m = VALUE.match(line)
            if m:
                name = "" if m.group(1) == "(Default)" else m.group(1)
                out[name] = (m.group(2), m.group(3))
        return out

    def host_path(self, windows_path: str) -> Path:
        drive, rest = windows_path.split(":", 1)
        assert drive.upper() == "C", windows_path
        return self.prefix / "drive_c" / Path(*rest.strip("\\").split("\\"))


@pytest.fixture(scope="module")
def tools() -> None:
    for tool in ("makensis", "wine", "wineserver"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian: apt-get install nsis wine64 wine)")


def test_nsis_per_user_install_and_uninstall(tools: None, tmp_path: Path) -> None:
    payload = tmp_path / "payload"
    icon_dir = payload / "_internal" / "remedia_tray" / "assets"
    icon_dir.mkdir(parents=True)
    (payload / "remedia.exe").write_text("stand-in for the PyInstaller build\n")
    shutil.copy2(REPO / "remedia_tray" / "assets" / "remedia.ico", icon_dir / "remedia.ico")
    setup = tmp_path / "ReMedia-test-installer.exe"
    t0 = time.monotonic()
    build = subprocess.run(
        ["makensis", "-V2", "-WX", f"-DPAYLOAD={payload}", f"-DOUTFILE={setup}",
         "-DVERSION=9.8.7", str(NSI)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    assert setup.is_file()

    wine = Wine(tmp_path / "prefix")
    boot = wine.run("wineboot", "-i", timeout=180)
    if boot.returncode != 0:
        pytest.skip(f"wine cannot create a prefix here: {boot.stderr[-300:]}")
    wine.wait()
    boot_seconds = time.monotonic() - t0

    t1 = time.monotonic()
    assert wine.run(str(setup), "/S").returncode == 0
    wine.wait()

    entry = wine.query(UNINST)
    assert entry is not None, "no uninstall entry"
    instdir = entry["InstallLocation"][1]
    assert instdir.lower().endswith(r"\appdata\local\programs\remedia"), instdir
    exe = instdir + r"\remedia.exe"
    assert entry["DisplayName"] == ("REG_SZ", "ReMedia")
    assert entry["DisplayVersion"] == ("REG_SZ", "9.8.7")
    assert entry["Publisher"][1]
    assert entry["UninstallString"] == ("REG_SZ", f'"{instdir}\\Uninstall.exe"')
    assert entry["QuietUninstallString"] == ("REG_SZ", f'"{instdir}\\Uninstall.exe" /S')
    assert entry["NoModify"] == ("REG_DWORD", "0x1")
    assert entry["NoRepair"] == ("REG_DWORD", "0x1")
    assert entry["EstimatedSize"][0] == "REG_DWORD" and int(entry["EstimatedSize"][1], 16) > 0

    # The verbs, value for value, as the app itself writes them for a frozen remedia.exe.
    expected = registry_entries(sort_argv((exe,)), instdir + "\\" + ICON_REL)
    assert len(expected) == 6
    for key in expected:
        got = wine.query(key.path)
        assert got is not None, f"missing HKCU\\{key.path}"
        want = {("" if n is None else n): ("REG_SZ", v) for n, v in key.values}
        assert got == want, key.path

    run = wine.query(RUN)
    assert run is not None and run["ReMedia"] == ("REG_SZ", f'"{exe}" tray')

    installed = wine.host_path(instdir)
    assert (installed / "remedia.exe").read_text().startswith("stand-in")
    assert (installed / "Uninstall.exe").is_file()
    assert (installed / Path(*ICON_REL.split("\\"))).is_file()
    users = wine.prefix / "drive_c" / "users"
    (shortcut,) = users.glob("*/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/ReMedia.lnk")
    # What the app writes while it runs, which the uninstaller must remove too.
    settings = installed.parent.parent / "ReMedia" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text("[watch]\n")

    # No _?= : the uninstaller copies itself to %TEMP% and exits; wineserver -w waits.
    assert wine.run(f"{instdir}\\Uninstall.exe", "/S").returncode == 0
    wine.wait()
    seconds = time.monotonic() - t1
    for key in expected:
        assert wine.query(key.path) is None, f"left behind: HKCU\\{key.path}"
    assert wine.query(UNINST) is None
    run = wine.query(RUN)
    assert run is None or "ReMedia" not in run
    assert not installed.exists()
    assert not installed.parent.exists()  # Programs\ was empty before
    assert not settings.parent.exists()
    assert not shortcut.exists()
    leftovers = [p for p in users.rglob("*") if "remedia" in p.name.lower()]
    assert leftovers == []
    print(f"wine: makensis + prefix boot {boot_seconds:.1f} s, install + uninstall {seconds:.1f} s")


def test_nsis_refuses_without_payload(tools: None, tmp_path: Path) -> None:
    proc = subprocess.run(
        ["makensis", "-V2", f"-DOUTFILE={tmp_path / 'x.exe'}", str(NSI)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "PAYLOAD" in proc.stdout + proc.stderr
