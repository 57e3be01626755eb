"""The only place that asks which OS this is."""

from __future__ import annotations

import os
import sys
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
