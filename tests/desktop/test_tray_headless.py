"""`remedia tray --watch X --settle S` from nothing: empty config and cache folders, no panel.

Without a display the tray has no icon and keeps watching, sorting and notifying (a
notification server may be missing too); SIGTERM ends it cleanly.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers beside this file

from tray_support import app_env, photo, remedia, wait_until

from remedia_tray.desktop.single_instance import endpoint, request

pytestmark = [
    pytest.mark.slow,  # the default engine runs the AI model
    pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM semantics"),
]


def test_tray_runs_from_empty_config_and_cache_folders(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = app_env(tmp_path)
    env.pop("DISPLAY", None)  # no icon: the service runs headless
    config, cache = Path(env["XDG_CONFIG_HOME"]), Path(env["XDG_CACHE_HOME"])
    config.mkdir()
    cache.mkdir()
    log = open(tmp_path / "tray.log", "wb")
    app = subprocess.Popen(
        remedia("tray", "--watch", str(inbox), "--settle", "0.5"), env=env, stdout=log, stderr=log
    )
    try:
        ep = endpoint(Path(env["XDG_RUNTIME_DIR"]) / "ReMedia")
        assert wait_until(lambda: request({"op": "ping"}, ep=ep, timeout=0.5) is not None, 60)
        shutil.copy2(photo("umang"), inbox / "umang.jpg")
        shutil.copy2(photo("umang"), inbox / "umang (1).jpg")
        assert wait_until(lambda: any((inbox / "duplicates").glob("*/*.jpg")), timeout=120), (
            tmp_path / "tray.log"
        ).read_text()
        assert list(cache.rglob("*.sqlite"))  # the feature cache lives in XDG_CACHE_HOME
        assert not (config / "ReMedia" / "settings.toml").exists()  # --watch is for this run
    finally:
        app.send_signal(signal.SIGTERM)
        rc = app.wait(30)
        log.close()
    text = (tmp_path / "tray.log").read_text()
    assert rc == 0, text
    assert "no tray icon" in text
