"""The tray's "Keep…" menu over D-Bus, as a panel drives it (issue 25): choosing a preset
saves the folder's keep rules, and the next batch keeps the copy they name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers beside this file

from test_tray_menu import _click, _quit  # the panel's clicks, as the menu tests make them
from tray_support import NotifyServer, app_env, remedia, requires_tray, wait_until, write_settings

from remedia_tray.desktop import settings as sm
from tests.test_keep_rules import camera_copy

pytestmark = [pytest.mark.desktop, requires_tray]


@pytest.fixture
def panel():  # type: ignore[no-untyped-def]
    from sni_driver import SniPanel

    with SniPanel(timeout=20) as p:
        yield p


def _checked(panel) -> list[str]:  # type: ignore[no-untyped-def]
    """The checked entries of the "Keep…" submenu."""
    layout = panel.layout()
    start = next(k for k, e in enumerate(layout) if e.label == "Keep…")
    entries = []
    for e in layout[start + 1 :]:
        if e.depth <= layout[start].depth:
            break
        entries.append(e)
    return [e.label for e in entries if e.toggle_state == 1]


def test_keep_newest_from_the_menu(panel, tmp_path: Path, notify_server: NotifyServer) -> None:  # type: ignore[no-untyped-def]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = app_env(tmp_path)
    settings_file = write_settings(env, 'engine = "hash"\n')
    log = open(tmp_path / "tray.log", "wb")
    app = panel.start_app(
        remedia("tray", "--watch", str(inbox), "--settle", "0.5"),
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    panel.wait_menu()
    try:
        labels = [e.label for e in panel.layout()]
        assert {"Keep…", "Best quality (default)", "Largest file", "Newest", "Oldest"} <= set(
            labels
        )
        assert _checked(panel) == ["Best quality (default)"]

        _click(panel, "Newest")
        panel.wait_for(lambda: _checked(panel) == ["Newest"])
        assert wait_until(lambda: 'keep = ["newest"]' in settings_file.read_text(), timeout=5)
        saved = sm.load(settings_file)
        assert saved.problem is None
        assert saved.settings.folder(inbox) == sm.FolderSettings(keep=("newest",))

        # The next batch keeps the newest copy where it is, and says why.
        camera_copy(inbox / "new.jpg", taken="2024:05:01 10:02:33")
        camera_copy(inbox / "old.jpg", taken="2023:01:02 08:00:00")  # older, and larger
        assert wait_until(lambda: (inbox / "duplicates/new/old.jpg").exists(), timeout=60)
        assert (inbox / "new.jpg").exists()
        # The report is saved after the moves: wait for it as well.
        reports = inbox / ".remedia/reports"
        assert wait_until(lambda: any(reports.glob("*.json")), timeout=30)
        report = json.loads(max(reports.glob("*.json")).read_text())
        reasons = [g["reason"] for g in report["groups"]]
        assert reasons == ["newest (taken 2024-05-01 10:02), as you asked"]

        # Back to the default: saved without a folder table.
        _click(panel, "Best quality (default)")
        panel.wait_for(lambda: _checked(panel) == ["Best quality (default)"])
        assert wait_until(lambda: "[folders." not in settings_file.read_text(), timeout=5)
    finally:
        _quit(panel, app, tmp_path)


def test_custom_rules_from_the_settings_file_show_checked(
    panel, tmp_path: Path, notify_server: NotifyServer
) -> None:  # type: ignore[no-untyped-def]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env = app_env(tmp_path)
    settings_file = write_settings(
        env,
        f'engine = "hash"\nwatched = ["{inbox}"]\n\n'
        f'[folders."{inbox}"]\nkeep = ["folder:Library", "largest"]\n',
    )
    log = open(tmp_path / "tray.log", "wb")
    app = panel.start_app(remedia("tray", "--settle", "0.5"), env=env, stdout=log, stderr=log)
    panel.wait_menu()
    try:
        assert _checked(panel) == ["Custom: folder:Library, largest"]
        _click(panel, "Oldest")
        panel.wait_for(lambda: _checked(panel) == ["Oldest"])
        assert "Custom: folder:Library, largest" not in [e.label for e in panel.layout()]
        assert wait_until(lambda: 'keep = ["oldest"]' in settings_file.read_text(), timeout=5)
    finally:
        _quit(panel, app, tmp_path)
