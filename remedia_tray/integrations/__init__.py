"""Sort with ReMedia" in file-manager context menus, per user: install, uninstall, status.

`get_installer()` picks the installer for this system; every installer takes `home` and a
`launcher` so tests (and packagers) can point it elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._platform import current_platform
from .base import LABEL, ChangeReport, EntryStatus, Installer, Launcher, Platform
from .commands import IntegrationError

__all__ = [
    "LABEL",
    "ChangeReport",
    "EntryStatus",
    "Installer",
    "IntegrationError",
    "Launcher",
    "Platform",
    "current_platform",
    "get_installer",
]


def get_installer(
    platform: Platform | None = None,
    *,
    home: Path | None = None,
    launcher: Launcher | None = None,
    **options: Any,
) -> Installer:
    """The installer for `platform` (default: this system).

    Options: Linux `env`, `targets`, `everything`; Windows `env`, `registry`, `icon`.
    """
    platform = platform or current_platform()
    if platform == "windows":
        from .windows import WindowsInstaller

        return WindowsInstaller(home=home, launcher=launcher, **options)
    if platform == "macos":
        from .macos import MacInstaller

        return MacInstaller(home=home, launcher=launcher, **options)
    from .linux import LinuxInstaller

    return LinuxInstaller(home=home, launcher=launcher, **options)
