"""installers/linux/install.sh and uninstall.sh in a throwaway HOME on this machine.

The install downloads ReMedia's dependencies with pip, like a user's would. It uses the
system interpreter (/usr/bin/python3) when there is one, so `--system-site-packages` and
the distribution's python3-gi are exercised; `remedia sort` must then move a resized
copy into duplicates/, and uninstall.sh must leave HOME exactly as it found it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import INSTALLERS, listing, make_photos, remedia_paths

pytestmark = pytest.mark.slow

INSTALL = INSTALLERS / "linux" / "install.sh"
UNINSTALL = INSTALLERS / "linux" / "uninstall.sh"
FIND_TRAY = (
    "import importlib.util as u, sys; "
    "sys.exit(not (u.find_spec('pystray') and u.find_spec('watchdog')))"
)
SYSTEM_PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else None


def _python() -> str:
    py = SYSTEM_PYTHON or shutil.which("python3")
    if py is None:
        pytest.skip("no python3 to install with")
    proc = subprocess.run([py, "-c", "import ensurepip, venv"], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"{py} cannot create venvs (Debian: apt-get install python3-venv)")
    return py


def _has_gi(py: str) -> bool:
    return subprocess.run([py, "-c", "import gi"], capture_output=True).returncode == 0


def _env(home: Path, py: str) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "PATH": f"{home}/.local/bin:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "REMEDIA_PYTHON": py,
    }
    # pip must reach the index the way this machine's pip does (certificates, proxies).
    for key in (
        "PIP_CERT",
        "PIP_INDEX_URL",
        "PIP_DEFAULT_TIMEOUT",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
    ):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _run(args: list[str], env: dict[str, str], timeout: int = 600) -> str:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _need_index(py: str, tmp_path: Path, env: dict[str, str]) -> None:
    probe = subprocess.run(
        [py, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp_path / "probe"),
         "platformdirs"],
        env={**env, "PIP_NO_CACHE_DIR": "1"}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    if probe.returncode != 0 and "No module named pip" not in probe.stderr:
        pytest.skip(f"pip cannot reach a package index: {probe.stderr.strip()[-200:]}")


def _check_cycle(wheel: Path, tmp_path: Path, py: str, method: str) -> None:
    home = tmp_path / "home"
    (home / ".local" / "share").mkdir(parents=True)
    (home / ".bashrc").write_text("# the user's own file\n")
    env = _env(home, py)
    _need_index(py, tmp_path, env)
    before = listing(home)

    t0 = time.monotonic()
    out = _run(["bash", str(INSTALL), f"--{method}", "--all-file-managers", str(wheel)], env)
    seconds = time.monotonic() - t0
    print(out)
    assert "installed remedia" in out
    link = home / ".local" / "bin" / "remedia"
    assert link.is_symlink() and link.exists()
    assert _run([str(link), "--version"], env).startswith("remedia ")

    # Every file manager got its entry, and each runs an interpreter that exists.
    share = home / ".local" / "share"
    nemo = share / "nemo" / "actions" / "remedia-sort.nemo_action"
    dolphin = share / "kio" / "servicemenus" / "remedia-sort.desktop"
    for entry in (nemo, dolphin):
        assert entry.is_file(), entry
    exec_line = next(ln for ln in nemo.read_text().splitlines() if ln.startswith("Exec="))
    interpreter = exec_line.split("=", 1)[1].split()[0].strip("'\"")
    assert os.access(interpreter, os.X_OK), exec_line
    assert str(home) in interpreter  # the installed venv, not the interpreter running pytest
    assert "remedia" in (home / ".config" / "Thunar" / "uca.xml").read_text().lower()

    autostart = home / ".config" / "autostart" / "remedia-tray.desktop"
    venv_python = Path(interpreter)
    # find_spec, not import: pystray opens the X display at import time.
    tray = subprocess.run([str(venv_python), "-c", FIND_TRAY], env=env)
    if _has_gi(py):
        assert autostart.is_file(), out
        assert tray.returncode == 0, "tray packages missing although gi is importable"
        gi = subprocess.run([str(venv_python), "-c", "import gi"], env=env)
        assert gi.returncode == 0, "the venv does not see the system's PyGObject"
    else:
        assert not autostart.exists()
        assert "sudo apt install python3-gi" in out

    photos = tmp_path / "photos"
    small = make_photos(photos)
    sort_out = _run([str(link), "sort", "--engine", "hash", str(photos)], env)
    assert (photos / "duplicates" / "cat" / small.name).is_file(), sort_out
    assert not small.exists()

    again = _run(["bash", str(INSTALL), f"--{method}", "--all-file-managers", str(wheel)], env)
    assert "installed remedia" in again

    venv = Path(interpreter).parent.parent
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"linux install ({method}): {seconds:.1f} s, venv {size / 2**20:.0f} MB")

    _run(["bash", str(UNINSTALL)], env)
    after = listing(home)
    assert remedia_paths(after) == set(), sorted(remedia_paths(after))
    assert after == before, sorted(after ^ before)
    # The photos and the undo journal are the user's: untouched.
    assert (photos / "duplicates" / "cat" / small.name).is_file()
    assert list((photos / ".remedia" / "journal").glob("*.jsonl"))
    # Idempotent: a second uninstall succeeds and changes nothing.
    _run(["bash", str(UNINSTALL)], env)
    assert listing(home) == before


def test_install_sort_uninstall_venv(wheel: Path, tmp_path: Path) -> None:
    _check_cycle(wheel, tmp_path, _python(), "venv")


def test_install_sort_uninstall_pipx(wheel: Path, tmp_path: Path) -> None:
    if shutil.which("pipx") is None:
        pytest.skip("pipx is not installed (Debian: apt-get install pipx)")
    _check_cycle(wheel, tmp_path, _python(), "pipx")


def test_without_pygobject_installs_no_tray(wheel: Path, tmp_path: Path) -> None:
    """An interpreter without gi: no tray packages, no autostart, one line on how to get it."""
    # A bare venv of the interpreter behind this one: no system site packages, so no gi.
    base = Path(sys.base_prefix) / "bin" / "python3"
    nogi = tmp_path / "nogi"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(nogi)], check=True)
    py = str(nogi / "bin" / "python3")
    if _has_gi(py):
        pytest.skip(f"{base} can import gi even in a bare venv")
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home, py)
    _need_index(py, tmp_path, env)
    out = _run(["bash", str(INSTALL), "--venv", str(wheel)], env)
    hint = [ln for ln in out.splitlines() if "python3-gi" in ln]
    assert len(hint) == 1 and "gir1.2-ayatanaappindicator3-0.1" in hint[0], out
    assert not (home / ".config" / "autostart" / "remedia-tray.desktop").exists()
    venv_python = home / ".local" / "share" / "remedia" / "venv" / "bin" / "python"
    proc = subprocess.run([str(venv_python), "-c", FIND_TRAY], capture_output=True)
    assert proc.returncode != 0, "pystray was installed without PyGObject"
    _run(["bash", str(UNINSTALL)], env)
    assert listing(home) == set()


def test_scripts_refuse_bad_input(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    bad = subprocess.run(
        ["bash", str(INSTALL), str(tmp_path / "missing.whl")], env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    assert bad.returncode != 0 and "not found" in bad.stderr
    opt = subprocess.run(["bash", str(UNINSTALL), "--bogus"], env=env, capture_output=True)
    assert opt.returncode == 2
    # Nothing installed: uninstall succeeds and creates nothing.
    _run(["bash", str(UNINSTALL)], env)
    assert listing(tmp_path) == set()
