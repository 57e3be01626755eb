"""Shared helpers for the tray and notification tests (real bus, real server, real files).

Imported by tests/desktop/test_tray*.py and test_notify*.py. Needs a D-Bus session bus
(`dbus-run-session`) and, for the tray, an X display (`xvfb-run -a`) and PyGObject with the
Gtk 3 and AyatanaAppIndicator3 typelibs; the `requires_*` markers skip with the reason.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
FAKE_NOTIFYD = HERE / "fake_notifyd.py"
NOSERVICES_CONF = HERE / "session-noservices.conf"


@functools.cache
def _has_gi(*typelibs: tuple[str, str]) -> str | None:
    # Checked in a child process: Gtk loaded into the test process would stay there, and
    # importing torchvision after it crashes (see remedia_tray.desktop.tray._keep_triton_out).
    code = "import gi\n" + "".join(
        f"gi.require_version({name!r}, {version!r}); from gi.repository import {name}\n"
        for name, version in typelibs
    )
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return f"PyGObject/typelib missing: {lines[-1] if lines else done.returncode}"
    return None


def bus_reason() -> str | None:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no D-Bus session bus (run under dbus-run-session)"
    return _has_gi(("Gio", "2.0"))


def tray_reason() -> str | None:
    if not os.environ.get("DISPLAY"):
        return "no X display (run under xvfb-run -a)"
    return bus_reason() or _has_gi(("Gtk", "3.0"), ("AyatanaAppIndicator3", "0.1"))


def nested_bus_reason() -> str | None:
    if shutil.which("dbus-run-session") is None:
        return "dbus-run-session not installed"
    return _has_gi(("Gio", "2.0"))


requires_bus = pytest.mark.skipif(bus_reason() is not None, reason=str(bus_reason()))
requires_tray = pytest.mark.skipif(tray_reason() is not None, reason=str(tray_reason()))
requires_nested_bus = pytest.mark.skipif(
    nested_bus_reason() is not None, reason=str(nested_bus_reason())
)


def photo(name: str) -> Path:
    return DATA / f"{name}.jpg"


def whatsapp_copy(src: Path, dst: Path, *, side: int = 320, quality: int = 60) -> Path:
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((side, side))
        dst.parent.mkdir(parents=True, exist_ok=True)
        im.save(dst, "JPEG", quality=quality)
    return dst


def small_photo(seed: int, w: int = 96, h: int = 72) -> bytes:
    """A small real JPEG with its own look: smooth colour field plus a few shapes.

    Seeds 0..499 are pairwise far apart for the hash engine at every named level
    (checked by test_tray_burst via a sort that must find no group among them).
    """
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    small = Image.new("RGB", (4, 3))
    small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(12)])
    im = small.resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(im)
    for _ in range(3):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        box = (x0, y0, x0 + rng.randrange(10, 40), y0 + rng.randrange(10, 30))
        draw.ellipse(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def recompress(data: bytes, quality: int = 60) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=quality)
        return buf.getvalue()


class NotifyServer:
    """fake_notifyd.py on the session bus; `records()` are its JSON lines."""

    def __init__(self, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKE_NOTIFYD), str(log)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "owns org.freedesktop.Notifications" not in line:
            self.proc.kill()
            raise RuntimeError(f"fake notification server did not start: {line!r}")

    def records(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def summaries(self) -> list[str]:
        return [r["summary"] for r in self.records()]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@contextlib.contextmanager
def running_notify_server(tmp_path: Path) -> Iterator[NotifyServer]:
    """fake_notifyd for one test (each test module wraps this in its own fixture)."""
    server = NotifyServer(tmp_path / "notify.jsonl")
    try:
        yield server
    finally:
        server.stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def app_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a `remedia tray` child: private config, cache and runtime folders."""
    env = dict(os.environ)
    run = tmp_path / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_RUNTIME_DIR=str(run),
        NO_AT_BRIDGE="1",
        PYSTRAY_BACKEND="appindicator",
    )
    return env


def write_settings(env: dict[str, str], text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "ReMedia" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def remedia(*args: str) -> list[str]:
    return [sys.executable, "-m", "remedia_tray", *args]
