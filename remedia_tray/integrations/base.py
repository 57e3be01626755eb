"""What every platform's context-menu installer offers, and the values it returns."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Literal, Protocol

from .._platform import Platform as Platform

LABEL = "Sort with ReMedia"
TIP = "Sort the photos in this folder into duplicates/ and similar/"

State = Literal["installed", "outdated", "missing", "unavailable"]


@dataclass(frozen=True)
class Launcher:
    """The program part of the click command, by absolute path.

    File managers start entries without the venv or ~/.local/bin in PATH, so the
    interpreter (or frozen executable) found at install time is written into every entry.
    """

    argv: tuple[str, ...]

    @classmethod
    def current(cls) -> Launcher:
        if getattr(sys, "frozen", False):
            return cls((os.path.abspath(sys.executable),))
        # abspath, not resolve(): a venv's python is a symlink whose *path* selects the venv.
        return cls((os.path.abspath(sys.executable), "-m", "remedia_tray"))


@dataclass(frozen=True)
class EntryStatus:
    """One menu entry (one file manager) as found on disk or in the registry."""

    name: str
    state: State
    locations: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True)
class ChangeReport:
    """What an install or uninstall did; `changed` is empty when it was already done."""

    action: Literal["install", "uninstall"]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    notes: tuple[str, ...] = ()


class Installer(Protocol):
    """Per-user, no admin rights; install and uninstall are idempotent and exact inverses."""

    platform: Platform

    def install(self) -> ChangeReport: ...

    def uninstall(self) -> ChangeReport: ...

    def status(self) -> tuple[EntryStatus, ...]: ...
