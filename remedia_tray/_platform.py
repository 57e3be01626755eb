"""The only place that asks which OS this is."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Literal

Platform = Literal["linux", "windows", "macos"]

IS_WINDOWS = sys.platform == "win32"
IS_MACOS = sys.platform == "darwin"
IS_LINUX = sys.platform.startswith("linux")


def current_platform() -> Platform:
    """The platform name every installer and the autostart entry are chosen by."""
    if IS_WINDOWS:
        return "windows"
    return "macos" if IS_MACOS else "linux"


def usable_cores() -> int:
    """CPU cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not available on macOS and Windows
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int) -> int:
    """The workers to run: `workers` itself when positive; 0 or less means every usable core."""
    return workers if workers > 0 else usable_cores()


def missing_tray_packages() -> list[str]:
    """The pip packages the tray needs that this Python lacks (looked up, not imported: pystray
    opens the display at import)."""
    from importlib.util import find_spec

    return [name for name in ("pystray", "watchdog") if find_spec(name) is None]


def tray_icon_hint() -> str | None:
    """What to install for a tray icon with a menu, as one line; None when nothing is missing
    that a package would give (Linux: the distribution's PyGObject, never built by pip)."""
    from importlib.util import find_spec

    if not IS_LINUX or find_spec("gi") is not None:
        return None
    if shutil.which("apt-get"):
        what = "sudo apt install python3-gi python3-gi-cairo gir1.2-ayatanaappindicator3-0.1"
    elif shutil.which("dnf"):
        what = "sudo dnf install python3-gobject libayatana-appindicator-gtk3"
    else:
        what = "install your distribution's PyGObject (python3-gi) and AyatanaAppIndicator"
    if sys.prefix != sys.base_prefix and not _sees_system_packages():
        what += ", then make ReMedia's venv with --system-site-packages so it sees them"
        if (Path(sys.prefix).parent / "scripts" / "setup.sh").is_file():
            what += f" (rm -rf {sys.prefix} && bash scripts/setup.sh)"
    return what


def _sees_system_packages() -> bool:
    try:
        text = (Path(sys.prefix) / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return False
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "include-system-site-packages":
            return value.strip().lower() == "true"
    return False
