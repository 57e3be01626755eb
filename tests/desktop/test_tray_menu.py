"""The real tray menu, driven over D-Bus as a panel does (StatusNotifierItem + dbusmenu).

Runs `python -m remedia_tray tray` with the AppIndicator backend under Xvfb and a private
session bus; sni_driver.SniPanel plays the panel and fake_notifyd.py the notification server.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers beside this file

from tray_support import (
    NotifyServer,
    app_env,
    photo,
    remedia,
    requires_tray,
    wait_until,
    whatsapp_copy,
    write_settings,
)

pytestmark = [pytest.mark.desktop, requires_tray]


SETTLE = "0.5"


@pytest.fixture
def panel():  # type: ignore[no-untyped-def]
    from sni_driver import SniPanel

    with SniPanel(timeout=20) as p:
        yield p


def _start(panel, tmp_path: Path, inbox: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    log = open(tmp_path / "tray.log", "wb")
    app = panel.start_app(
        remedia("tray", "--watch", str(inbox), "--settle", SETTLE),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    panel.wait_menu()
    return app  # type: ignore[no-any-return]


def _click(panel, label: str) -> None:  # type: ignore[no-untyped-def]
    """Click the entry labelled `label`. The tray rebuilds its menu when its state changes
    (after a sort, say), so an item id read just before may be gone by the click: dbusmenu
    refuses an unknown id (ids are never reused), and the click is sent again."""
    panel.wait_for(lambda: panel.click(label) is None)


def _quit(panel, app: subprocess.Popen[bytes], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _click(panel, "Quit")
    try:
        rc = app.wait(20)
    except subprocess.TimeoutExpired:
        app.kill()
        raise AssertionError("tray did not exit after Quit") from None
    assert rc == 0, (tmp_path / "tray.log").read_text(errors="replace")


def _label(text: str) -> str:
    # sni_driver drops mnemonic underscores from labels (a panel shows the real name).
    return text.replace("_", "")


def _status(panel) -> str:  # type: ignore[no-untyped-def]
    return str(panel.layout()[0].label)


def test_pause_resume_and_strictness_from_the_menu(
    panel, tmp_path: Path, notify_server: NotifyServer
) -> None:  # type: ignore[no-untyped-def]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = app_env(tmp_path)
    settings_file = write_settings(env, 'engine = "hash"\n')
    app = _start(panel, tmp_path, inbox, env)
    try:
        labels = [e.label for e in panel.layout()]
        wanted = ["Pause sorting", "Strictness", "Sort now", "Watched folders", "Add folder…",
                  "Start at login", "Open settings", "Quit", _label(str(inbox))]  # fmt: skip
        assert [w for w in wanted if w not in labels] == []
        assert _status(panel) == "Watching 1 folder"
        assert panel.find("Balanced").toggle_state == 1

        # Pause: photos keep being collected but nothing is sorted.
        _click(panel, "Pause sorting")
        panel.wait_for(lambda: panel.find("Pause sorting").toggle_state == 1)
        assert wait_until(lambda: "paused = true" in settings_file.read_text(), timeout=5)
        shutil.copy2(photo("sunset"), inbox / "sunset.jpg")
        whatsapp_copy(photo("sunset"), inbox / "IMG-WA0001.jpg")
        panel.wait_for(lambda: _status(panel) == "Paused: 2 new photos waiting", timeout=20)
        assert not (inbox / "duplicates").exists()
        assert notify_server.records() == []

        # Resume: the held photos are sorted, one notification.
        _click(panel, "Pause sorting")
        panel.wait_for(lambda: panel.find("Pause sorting").toggle_state == 0)
        assert wait_until(lambda: len(notify_server.records()) == 1)
        assert (inbox / "duplicates" / "sunset" / "IMG-WA0001.jpg").exists()
        assert notify_server.summaries() == ["Sorted 2 new photos: 1 duplicate, 0 similar groups"]
        assert "paused = false" in settings_file.read_text()

        # Strictness "Exact": saved, and used (a recompressed copy is no longer a duplicate,
        # a byte-identical one still is).
        _click(panel, "Exact")
        panel.wait_for(lambda: panel.find("Exact").toggle_state == 1)
        assert panel.find("Balanced").toggle_state == 0
        assert wait_until(lambda: "strictness = 100" in settings_file.read_text(), timeout=5)
        shutil.copy2(photo("seeding"), inbox / "seeding.jpg")
        shutil.copy2(photo("seeding"), inbox / "seeding copy.jpg")
        whatsapp_copy(photo("seeding"), inbox / "IMG-WA0002.jpg")
        assert wait_until(lambda: len(notify_server.records()) == 2)
        assert notify_server.summaries()[1] == "Sorted 3 new photos: 1 duplicate, 0 similar groups"
        assert (inbox / "IMG-WA0002.jpg").exists()  # at "balanced" this would be moved
        assert len(list((inbox / "duplicates").glob("seeding*/*.jpg"))) == 1
    finally:
        _quit(panel, app, tmp_path)


@pytest.mark.slow  # ends with a direct sort using the default engines (AI included)
def test_second_tray_exits_and_sort_hands_off_to_the_running_one(
    panel, tmp_path: Path, notify_server: NotifyServer
) -> None:  # type: ignore[no-untyped-def]
    inbox, other = tmp_path / "inbox", tmp_path / "other"
    inbox.mkdir()
    other.mkdir()
    env = app_env(tmp_path)
    write_settings(env, 'engine = "hash"\n')
    app = _start(panel, tmp_path, inbox, env)
    try:
        second = subprocess.run(
            remedia("tray"), env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 1
        assert "already running" in second.stderr and str(app.pid) in second.stderr

        # `remedia sort FOLDER` (the file-manager entry) goes to the running service.
        shutil.copy2(photo("peaks"), other / "peaks.jpg")
        shutil.copy2(photo("peaks"), other / "peaks (1).jpg")
        handed = subprocess.run(
            remedia("sort", str(other)), env=env, capture_output=True, text=True, timeout=60
        )
        assert handed.returncode == 0, handed.stderr
        assert handed.stdout.startswith(f"Handed {other} to the running ReMedia tray")
        assert wait_until(lambda: len(notify_server.records()) == 1)
        assert notify_server.summaries() == ["Sorted 2 photos: 1 duplicate, 0 similar groups"]
        assert len(list((other / "duplicates").glob("*/*.jpg"))) == 1

        # Start at login from the menu: a valid XDG autostart entry, removed again.
        desktop = Path(env["XDG_CONFIG_HOME"]) / "autostart" / "remedia-tray.desktop"
        _click(panel, "Start at login")
        panel.wait_for(lambda: panel.find("Start at login").toggle_state == 1)
        assert desktop.exists() and "-m remedia_tray tray" in desktop.read_text()
        if shutil.which("desktop-file-validate"):
            check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True)
            assert check.returncode == 0, check.stdout
        _click(panel, "Start at login")
        panel.wait_for(lambda: panel.find("Start at login").toggle_state == 0)
        assert not desktop.exists()
    finally:
        _quit(panel, app, tmp_path)

    # With no tray running, the same command sorts in this process.
    shutil.copy2(photo("cat"), other / "cat.jpg")
    shutil.copy2(photo("cat"), other / "cat (1).jpg")
    direct = subprocess.run(
        remedia("sort", str(other)), env=env, capture_output=True, text=True, timeout=120
    )
    assert direct.returncode == 0 and direct.stdout.startswith("ReMedia sorted"), direct.stderr


def test_stop_watching_from_the_menu(panel, tmp_path: Path, notify_server: NotifyServer) -> None:  # type: ignore[no-untyped-def]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = app_env(tmp_path)
    settings_file = write_settings(env, f'engine = "hash"\nwatched = ["{inbox}"]\n')
    log = open(tmp_path / "tray.log", "wb")
    app = panel.start_app(remedia("tray", "--settle", SETTLE), env=env, stdout=log, stderr=log)
    panel.wait_menu()
    try:
        assert panel.find(_label(str(inbox)))
        _click(panel, "Stop watching")
        panel.wait_for(lambda: panel.find("No folders yet") is not None)
        assert wait_until(lambda: "watched = []" in settings_file.read_text(), timeout=5)
        assert _status(panel) == "Not watching any folder"
        shutil.copy2(photo("cat"), inbox / "cat.jpg")
        shutil.copy2(photo("cat"), inbox / "cat copy.jpg")
        assert not wait_until(lambda: (inbox / "duplicates").exists(), timeout=3)
    finally:
        _quit(panel, app, tmp_path)


def test_review_last_sort_serves_the_review_page(
    panel, tmp_path: Path, notify_server: NotifyServer
) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = app_env(tmp_path)
    write_settings(env, 'engine = "hash"\n')
    # The "browser" the server opens records the page URL (webbrowser honours $BROWSER).
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" >> "{opened}"\n')
    browser.chmod(0o755)
    env["BROWSER"] = str(browser)
    app = _start(panel, tmp_path, inbox, env)
    try:
        assert panel.find("Review last sort").enabled is False  # nothing sorted yet
        shutil.copy2(photo("sunset"), inbox / "sunset.jpg")
        whatsapp_copy(photo("sunset"), inbox / "IMG-WA0001.jpg")
        assert wait_until(lambda: len(notify_server.records()) == 1)
        panel.wait_for(lambda: panel.find("Review last sort").enabled is True)

        _click(panel, "Review last sort")
        assert wait_until(lambda: opened.exists() and opened.read_text().strip() != "", 30)
        url = opened.read_text().split()[0]
        # A one-time link: the browser's command line never holds the server's token.
        assert url.startswith("http://127.0.0.1:") and "/open?code=" in url, url
        assert "token" not in url, url
        cookies = urllib.request.HTTPCookieProcessor()  # the code is swapped for a cookie
        with urllib.request.build_opener(cookies).open(url, timeout=10) as response:
            page = response.read().decode()
        assert 'data-group="duplicates/sunset"' in page
        assert 'data-action="keep"' in page  # the served page, with its action buttons
    finally:
        _quit(panel, app, tmp_path)
        subprocess.run(["pkill", "-f", f"review {inbox} --serve"], check=False)
