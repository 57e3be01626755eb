"""A missing or crashing notification server never crashes or hangs the tray.

Each case runs the real tray in a nested private session bus (session-noservices.conf:
nothing can be auto-started), once with no notification server at all and once with a
server whose activation dies with SIGTRAP (what dunst does when started without $DISPLAY:
pystray's own notifier then raises in run() and the process used to hang).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers beside this file

from tray_support import (
    HERE,
    NOSERVICES_CONF,
    app_env,
    nested_bus_reason,
    photo,
    tray_reason,
    write_settings,
)

pytestmark = [
    pytest.mark.desktop,
    pytest.mark.skipif(
        (tray_reason() or nested_bus_reason()) is not None,
        reason=str(tray_reason() or nested_bus_reason()),
    ),
]


def bus_config(tmp_path: Path, *, crashing_server: bool) -> Path:
    text = NOSERVICES_CONF.read_text()
    if crashing_server:
        services = tmp_path / "services"
        services.mkdir()
        (services / "org.freedesktop.Notifications.service").write_text(
            "[D-BUS Service]\nName=org.freedesktop.Notifications\nExec=/bin/sh -c 'kill -TRAP $$'\n"
        )
        text = text.replace("</busconfig>", f"  <servicedir>{services}</servicedir>\n</busconfig>")
    conf = tmp_path / "bus.conf"
    conf.write_text(text)
    return conf


@pytest.mark.parametrize("crashing_server", [False, True], ids=["no-server", "server-crashes"])
def test_tray_sorts_and_quits_cleanly_without_a_notification_server(
    tmp_path: Path, crashing_server: bool
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = app_env(tmp_path)
    write_settings(env, 'engine = "hash"\n')
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    conf = bus_config(tmp_path, crashing_server=crashing_server)
    proc = subprocess.run(
        ["dbus-run-session", f"--config-file={conf}", "--", sys.executable,
         str(HERE / "tray_scenario.py"), str(inbox), str(photo("ridge")), "0.5"],
        env=env, capture_output=True, text=True, timeout=150,
    )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stdout + proc.stderr
    result = json.loads(lines[-1])
    assert result.get("error") is None, proc.stderr
    assert result["menu"] and result["sorted"], proc.stderr
    assert result["exit_code"] == 0, proc.stderr
    assert "notification not shown" in proc.stderr  # reported in the log, not raised
