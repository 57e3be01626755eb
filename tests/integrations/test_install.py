"""`remedia integrate install|uninstall|status` for a user, and the templates inside a wheel.

A fake HOME that already holds the user's own entries: install adds ours, a second install
changes nothing, and uninstall leaves every file, mode and folder exactly as before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
USER_UCA = (
    '<?xml encoding="UTF-8" version="1.0"?>\n<actions><action><icon>terminal</icon>'
    "<name>Open Terminal Here</name><unique-id>1-1</unique-id>"
    "<command>exo-open --working-directory %f --launch TerminalEmulator</command>"
    "<description></description><patterns>*</patterns><directories/></action></actions>\n"
)


def _tree(root: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under root with its mode and, for files, its bytes."""
    out: dict[str, tuple[int, bytes | None]] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(root))] = (st.st_mode, p.read_bytes() if p.is_file() else None)
    return out


def _remedia(home: Path, *args: str, system_config: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), XDG_CONFIG_DIRS=str(system_config))
    out = subprocess.run(
        [sys.executable, "-m", "remedia_tray", "integrate", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout


def _users_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".config" / "Thunar").mkdir(parents=True)
    (home / ".config" / "Thunar" / "uca.xml").write_text(USER_UCA)
    mine = home / ".local" / "share" / "nemo" / "actions" / "mine.nemo_action"
    mine.parent.mkdir(parents=True)
    mine.write_text("[Nemo Action]\nName=Mine\nExec=echo %F\nSelection=any\nExtensions=any;\n")
    (home / ".local" / "share" / "kio").mkdir()  # an empty folder of theirs stays
    ext = home / ".local" / "share" / "nautilus-python" / "extensions" / "other.py"
    ext.parent.mkdir(parents=True)
    ext.write_text("# someone else's extension\n")
    (home / "Pictures").mkdir()
    return home


def test_cli_install_twice_then_uninstall_leaves_home_as_it_was(tmp_path: Path) -> None:
    home = _users_home(tmp_path)
    system = tmp_path / "etc-xdg"
    (system / "Thunar").mkdir(parents=True)
    before = _tree(home)

    out = _remedia(home, "install", "--all", system_config=system)
    assert '"Sort with ReMedia" added:' in out
    installed = _tree(home)
    for name in ("remedia-sort.nemo_action", "remedia-sort.desktop", "uca.xml"):
        assert any(k.endswith(name) for k in installed), name
    assert "Sort with ReMedia" in (home / ".config" / "Thunar" / "uca.xml").read_text()

    assert "Already installed; nothing changed" in _remedia(
        home, "install", "--all", system_config=system
    )
    assert _tree(home) == installed

    status = _remedia(home, "status", system_config=system)
    for name in ("nemo", "thunar", "dolphin"):
        assert any(ln.split()[:2] == [name, "installed"] for ln in status.splitlines()), status

    out = _remedia(home, "uninstall", system_config=system)
    assert '"Sort with ReMedia" removed:' in out
    assert _tree(home) == before
    assert "Nothing to remove" in _remedia(home, "uninstall", system_config=system)
    assert _tree(home) == before


def test_cli_refuses_reg_export_off_windows(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("checks the message on other systems")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(tmp_path)
    reg = tmp_path / "x.reg"
    out = subprocess.run(
        [sys.executable, "-m", "remedia_tray", "integrate", "install", "--reg", str(reg)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode != 0 and "Windows .reg" in out.stderr
    assert not reg.exists()


@pytest.mark.slow
def test_an_installed_wheel_finds_its_templates_and_icon(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, src / name)
    shutil.copytree(
        REPO / "remedia_tray", src / "remedia_tray", ignore=shutil.ignore_patterns("__pycache__")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    dist = tmp_path / "dist"
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {built.stderr[-500:]}")
    (wheel,) = dist.glob("*.whl")
    target = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    home = tmp_path / "home"
    probe = (
        "import sys, pathlib, remedia_tray\n"
        "from remedia_tray.integrations import Launcher, get_installer\n"
        "from remedia_tray.integrations.windows import default_icon\n"
        f"assert remedia_tray.__file__.startswith({str(target)!r}), remedia_tray.__file__\n"
        "assert pathlib.Path(default_icon()).is_file(), default_icon()\n"
        "inst = get_installer('linux', home=pathlib.Path(sys.argv[1]), env={},\n"
        "    launcher=Launcher(('/usr/bin/python3', '-m', 'remedia_tray')),\n"
        "    targets=['nautilus', 'nautilus-script', 'nemo', 'thunar', 'dolphin'])\n"
        "print(len(inst.install().changed))\n"
    )
    # -S and cwd outside the repo: only the unpacked wheel can provide remedia_tray.
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(home)],
        env={"PYTHONPATH": str(target), "PATH": os.environ.get("PATH", "")},
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "6"
    ext = home / ".local/share/nautilus-python/extensions/remedia_sort.py"
    assert "class RemediaMenuProvider" in ext.read_text()
