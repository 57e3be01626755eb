"""Start at login: XDG autostart (Linux), a LaunchAgent (macOS), the Run key (Windows).

The file/value generators are pure so that Linux CI checks every platform's output; the
Windows registry module is injected (a fake in tests, `winreg` for real).
"""

from __future__ import annotations

import logging
import os
import plistlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from .._platform import IS_MACOS, IS_WINDOWS
from ..atomicfile import write_atomic

log = logging.getLogger(__name__)

Platform = Literal["linux", "darwin", "win32"]

DESKTOP_NAME = "remedia-tray.desktop"
AGENT_LABEL = "org.remedia.tray"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "ReMedia"
_MARKER = "X-ReMedia-Autostart=true"


def current_platform() -> Platform:
    return "win32" if IS_WINDOWS else "darwin" if IS_MACOS else "linux"


def launch_command() -> list[str]:
    """Absolute command that starts the tray (login sessions lack the venv in PATH)."""
    exe = Path(sys.executable)
    if IS_WINDOWS:
        windowed = exe.with_name("pythonw.exe")  # no console window at login
        if windowed.exists():
            exe = windowed
    return [str(exe), "-m", "remedia_tray", "tray"]


def _exec_quote(arg: str) -> str:
    # Desktop Entry spec, "The Exec key": quote args with reserved characters, and escape
    # " ` $ \ inside the quotes; a literal % is written %%.
    arg = arg.replace("%", "%%")
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if arg and not (set(arg) & reserved):
        return arg
    for ch in ("\\", '"', "`", "$"):
        arg = arg.replace(ch, "\\" + ch)
    return f'"{arg}"'


def desktop_exec(argv: Sequence[str]) -> str:
    """The Exec value, escaped once more for the key file's string rules (\\ -> \\\\)."""
    line = " ".join(_exec_quote(a) for a in argv)
    return line.replace("\\", "\\\\")


def desktop_entry(argv: Sequence[str]) -> str:
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Name=ReMedia",
            "Comment=Sort new photos into duplicates and similar groups",
            f"Exec={desktop_exec(argv)}",
            "Icon=image-x-generic",
            "Terminal=false",
            "Categories=Graphics;Photography;",
            # Give the panel time to start its StatusNotifier watcher first.
            "X-GNOME-Autostart-Delay=5",
            "X-GNOME-Autostart-enabled=true",
            _MARKER,
            "",
        ]
    )


def launch_agent_plist(argv: Sequence[str], log_dir: Path) -> bytes:
    data = {
        "Label": AGENT_LABEL,
        "ProgramArguments": list(argv),
        "RunAtLoad": True,
        # Restart after a crash, but Quit from the menu (exit 0) stays quit.
        "KeepAlive": {"SuccessfulExit": False},
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
        "StandardOutPath": str(log_dir / "tray.log"),
        "StandardErrorPath": str(log_dir / "tray.log"),
    }
    return plistlib.dumps(data)


def run_value(argv: Sequence[str]) -> str:
    return subprocess.list2cmdline(list(argv))


class Autostart:
    """Enable, disable and query start at login for one platform."""

    def __init__(
        self,
        *,
        platform: Platform | None = None,
        home: Path | None = None,
        config_home: Path | None = None,
        winreg: Any = None,
    ) -> None:
        self.platform = platform or current_platform()
        self.home = home if home is not None else Path.home()
        env_config = os.environ.get("XDG_CONFIG_HOME")
        self.config_home = config_home or (
            Path(env_config) if env_config else self.home / ".config"
        )
        self._winreg = winreg

    @property
    def location(self) -> str:
        if self.platform == "linux":
            return str(self.config_home / "autostart" / DESKTOP_NAME)
        if self.platform == "darwin":
            return str(self.home / "Library" / "LaunchAgents" / f"{AGENT_LABEL}.plist")
        return rf"HKEY_CURRENT_USER\{RUN_KEY}\{RUN_VALUE}"

    def _registry(self) -> Any:
        if self._winreg is None:
            import winreg  # only on Windows

            self._winreg = winreg
        return self._winreg

    def enable(self, argv: Sequence[str] | None = None) -> str:
        argv = list(argv or launch_command())
        if self.platform == "win32":
            reg = self._registry()
            with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_WRITE) as key:
                reg.SetValueEx(key, RUN_VALUE, 0, reg.REG_SZ, run_value(argv))
            return self.location
        path = Path(self.location)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.platform == "darwin":
            log_dir = self.home / "Library" / "Logs" / "ReMedia"
            log_dir.mkdir(parents=True, exist_ok=True)
            data = launch_agent_plist(argv, log_dir)
        else:
            data = desktop_entry(argv).encode("utf-8")
        write_atomic(path, data, private=False)
        return str(path)

    def disable(self) -> bool:
        """Remove our entry; True if there was one."""
        if self.platform == "win32":
            reg = self._registry()
            try:
                with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                    reg.DeleteValue(key, RUN_VALUE)
                return True
            except FileNotFoundError:
                return False
        path = Path(self.location)
        if not path.exists():
            return False
        if self.platform == "linux" and _MARKER not in path.read_text(errors="replace"):
            # Not written by us (e.g. a distribution's entry): hide it instead of deleting.
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("Hidden=true\n")
            return True
        path.unlink()
        return True

    def is_enabled(self) -> bool:
        if self.platform == "win32":
            reg = self._registry()
            try:
                with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_READ) as key:
                    reg.QueryValueEx(key, RUN_VALUE)
                return True
            except FileNotFoundError:
                return False
        path = Path(self.location)
        if not path.exists():
            return False
        if self.platform == "linux":
            return "Hidden=true" not in path.read_text(errors="replace")
        return True
