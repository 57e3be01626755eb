"""Fixtures shared by the desktop tests (helpers beside this file, see tray_support)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tray_support import NotifyServer, running_notify_server


@pytest.fixture
def notify_server(tmp_path: Path) -> Iterator[NotifyServer]:
    """A real D-Bus notification server (fake_notifyd.py) on the session bus, for one test."""
    with running_notify_server(tmp_path) as server:
        yield server
