"""Start at login: XDG autostart (Linux), a LaunchAgent (macOS), the Run key (Windows).

The file/value generators are pure so that Linux CI checks every platform's output; the
Windows registry module is injected (a fake in tests, `winreg` for real).
"""

from __future__ import annotations

import logging
import os
import plistlib
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._platform import IS_WINDOWS, Platform, current_platform
from ..atomicfile import write_atomic
from ..integrations.base import Launcher
from ..integrations.commands import desktop_exec, keyfile_value

log = logging.getLogger(__name__)

DESKTOP_NAME = "remedia-tray.desktop"
AGENT_LABEL = "org.remedia.tray"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "ReMedia"
_MARKER = "X-ReMedia-Autostart=true"


def launch_command() -> list[str]:
    """Absolute command that starts the tray (login sessions lack the venv in PATH).

    The same launcher the file-manager entries run: the frozen executable itself, else this
    interpreter with `-m remedia_tray` (pythonw.exe on Windows: no console window at login).
    """
    launcher = Launcher.current()
    if IS_WINDOWS:
        from ..integrations.windows import windowless_launcher

        launcher = windowless_launcher(launcher)
    return [*launcher.argv, "tray"]


def desktop_entry(argv: Sequence[str]) -> str:
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Name=ReMedia",
            "Comment=Sort new photos into duplicates and similar groups",
            f"Exec={keyfile_value(desktop_exec(argv))}",
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
        if self.platform == "macos":
            return str(self.home / "Library" / "LaunchAgents" / f"{AGENT_LABEL}.plist")
        return rf"HKEY_CURRENT_USER\{RUN_KEY}\{RUN_VALUE}"

    def _registry(self) -> Any:
        if self._winreg is None:
            import winreg  # only on Windows

            self._winreg = winreg
        return self._winreg

    def _run_value(self, *, delete: bool = False) -> bool:
        """Whether our Run value is there; `delete` removes it as well."""
        reg = self._registry()
        access, action = (
            (reg.KEY_SET_VALUE, reg.DeleteValue) if delete else (reg.KEY_READ, reg.QueryValueEx)
        )
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, access) as key:
                action(key, RUN_VALUE)
        except FileNotFoundError:
            return False
        return True

    def _entry_file(self) -> Path | None:
        path = Path(self.location)
        return path if path.exists() else None

    def enable(self, argv: Sequence[str] | None = None) -> str:
        argv = list(argv or launch_command())
        if self.platform == "windows":
            reg = self._registry()
            with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_WRITE) as key:
                reg.SetValueEx(key, RUN_VALUE, 0, reg.REG_SZ, run_value(argv))
            return self.location
        path = Path(self.location)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.platform == "macos":
            log_dir = self.home / "Library" / "Logs" / "ReMedia"
            log_dir.mkdir(parents=True, exist_ok=True)
            data = launch_agent_plist(argv, log_dir)
        else:
            data = desktop_entry(argv).encode("utf-8")
        write_atomic(path, data, private=False)
        return str(path)

    def disable(self) -> bool:
        """Remove our entry; True if there was one."""
        if self.platform == "windows":
            return self._run_value(delete=True)
        path = self._entry_file()
        if path is None:
            return False
        if self.platform == "linux" and _MARKER not in path.read_text(errors="replace"):
            # Not written by us (e.g. a distribution's entry): hide it instead of deleting.
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("Hidden=true\n")
            return True
        path.unlink()
        return True

    def is_enabled(self) -> bool:
        if self.platform == "windows":
            return self._run_value()
        path = self._entry_file()
        if path is not None and self.platform == "linux":
            return "Hidden=true" not in path.read_text(errors="replace")
        return path is not None
