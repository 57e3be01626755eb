#!/usr/bin/env python3
"""Run one tray scenario on the *current* session bus and print the outcome as JSON.

What it does
    Used by test_tray_nonotify.py inside a nested `dbus-run-session` (a bus with no
    notification server, or one whose server crashes on activation). Plays the panel
    with sni_driver.SniPanel, starts `python -m remedia_tray tray --watch INBOX --settle S`,
    drops a photo and a byte copy of it into INBOX, waits for the copy to be sorted into
    duplicates/, clicks Quit and waits for the exit code. Prints one JSON object:
        {"sorted": bool, "exit_code": int | null, "seconds": float, "menu": bool}

How to run
    dbus-run-session --config-file=tests/desktop/session-noservices.conf -- \\
        python tests/desktop/tray_scenario.py INBOX PHOTO [SETTLE]
    Needs an X display (xvfb-run) and PyGObject with Gtk 3 + AyatanaAppIndicator3.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sni_driver import SniPanel


def main() -> int:
    inbox, photo = Path(sys.argv[1]), Path(sys.argv[2])
    settle = sys.argv[3] if len(sys.argv) > 3 else "0.5"
    started = time.monotonic()
    out: dict[str, object] = {"sorted": False, "exit_code": None, "menu": False}
    env = dict(os.environ, PYSTRAY_BACKEND="appindicator", NO_AT_BRIDGE="1")
    with SniPanel(timeout=20) as panel:
        app = panel.start_app(
            [
                sys.executable,
                "-m",
                "remedia_tray",
                "tray",
                "--watch",
                str(inbox),
                "--settle",
                settle,
            ],
            env=env,
        )
        try:
            panel.wait_menu()
            out["menu"] = True
            shutil.copy2(photo, inbox / photo.name)
            shutil.copy2(photo, inbox / f"copy of {photo.name}")
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and not out["sorted"]:
                out["sorted"] = any((inbox / "duplicates").glob("*/*.jpg"))
                panel.pump(lambda: False, 0.2)
            time.sleep(1.0)  # let the (failing) notification attempt finish
            panel.click("Quit")
            out["exit_code"] = app.wait(30)
        except Exception as exc:  # report, never hang the test
            out["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            if app.poll() is None:
                app.kill()
                app.wait(5)
    out["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
