"""Notifications really reach a D-Bus server, and a missing or broken one costs nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers beside this file

from tray_support import (
    NOSERVICES_CONF,
    NotifyServer,
    app_env,
    nested_bus_reason,
    photo,
    remedia,
    requires_bus,
    wait_until,
    whatsapp_copy,
)

from remedia_tray.desktop.notify import Notifier, batch_summary, notify_report
from remedia_tray.sorter import SortOptions, sort_folder

pytestmark = pytest.mark.desktop


def test_batch_summary_wording() -> None:
    assert batch_summary(412, 37, 5) == "Sorted 412 new photos: 37 duplicates, 5 similar groups"
    assert batch_summary(1, 1, 1) == "Sorted 1 new photo: 1 duplicate, 1 similar group"
    assert batch_summary(3, 0, 0) == "Sorted 3 new photos: 0 duplicates, 0 similar groups"


@requires_bus
def test_notification_reaches_the_server_with_text_intact(notify_server: NotifyServer) -> None:
    n = Notifier()
    summary = "Sorted 2 new photos: 1 duplicate, 0 similar groups"
    body = '/home/zoë/Phone "Backup"\nit\'s 100% <b>fine</b>'
    assert n.notify(summary, body, open_path=Path("/tmp/review.html"))
    assert n.backend_used == "dbus"
    [record] = notify_server.records()
    assert record["app_name"] == "ReMedia"
    assert (record["summary"], record["body"]) == (summary, body)
    assert record["actions"] == ["default", "Open"]  # click opens the review page
    assert record["timeout"] == -1  # the server's default, never "stay forever"


@requires_bus
def test_undecodable_file_names_do_not_lose_the_notification(
    notify_server: NotifyServer,
) -> None:
    folder = os.fsdecode(b"/photos/Urlaub \xe4ltere")  # Latin-1 name on a UTF-8 system
    assert Notifier().notify("Sorted 1 new photo: 0 duplicates, 0 similar groups", folder)
    assert notify_server.records()[0]["body"] == "/photos/Urlaub \ufffdltere"


@requires_bus
def test_command_line_fallback_keeps_quotes_intact(notify_server: NotifyServer) -> None:
    # Without PyGObject the facade uses `gdbus call`; the text must not be spliced raw.
    if shutil.which("gdbus") is None:
        pytest.skip("gdbus not installed")
    n = Notifier()
    n._no_gi = True
    assert n.notify('it\'s "quoted" \\ and -1', "body with 'quotes'")
    assert n.backend_used == "gdbus"
    [record] = notify_server.records()
    assert record["summary"] == 'it\'s "quoted" \\ and -1'
    assert record["body"] == "body with 'quotes'"


@requires_bus
def test_report_of_a_real_sort_has_the_right_counts(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("sunset", "peaks", "cat"):
        shutil.copy2(photo(name), root / f"{name}.jpg")
    whatsapp_copy(photo("sunset"), root / "IMG-WA0001.jpg")
    shutil.copy2(photo("cat"), root / "cat (1).jpg")
    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    assert notify_report(report, notifier=Notifier())
    assert notify_server.summaries() == ["Sorted 5 photos: 2 duplicates, 0 similar groups"]


@requires_bus
def test_sort_notify_flag_sends_one_notification(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    shutil.copy2(photo("life"), root / "life.jpg")
    shutil.copy2(photo("life"), root / "life copy.jpg")
    env = app_env(tmp_path)
    proc = subprocess.run(
        remedia("sort", "--notify", "--engine", "hash", str(root)),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert wait_until(lambda: len(notify_server.records()) == 1, timeout=5)
    assert notify_server.summaries() == ["Sorted 2 photos: 1 duplicate, 0 similar groups"]


# -- no server, a hanging server, a crashing server: each in its own private bus ---------------

_CHILD = textwrap.dedent(
    """
    import json, sys, time, threading
    hang = sys.argv[1] == "hang"
    if hang:
        # A server that owns the name and never answers (a wedged daemon).
        from gi.repository import Gio, GLib
        xml = ('<node><interface name="org.freedesktop.Notifications"><method name="Notify">'
               + ''.join('<arg type="%s" direction="in"/>' % t
                         for t in ("s", "u", "s", "s", "s", "as", "a{sv}", "i"))
               + '<arg type="u" direction="out"/></method></interface></node>')
        held = []
        def on_bus(conn, name):
            iface = Gio.DBusNodeInfo.new_for_xml(xml).interfaces[0]
            conn.register_object("/org/freedesktop/Notifications", iface,
                                 lambda *a: held.append(a[-1]), None, None)
        owned = threading.Event()
        Gio.bus_own_name(Gio.BusType.SESSION, "org.freedesktop.Notifications", 0,
                         on_bus, lambda *a: owned.set(), None)
        loop = GLib.MainLoop()
        threading.Thread(target=loop.run, daemon=True).start()
        owned.wait(10)
    from remedia_tray.desktop.notify import Notifier
    n = Notifier(timeout=1.0)
    out = []
    for _ in range(2):
        t = time.monotonic()
        ok = n.notify("Sorted 1 new photo: 0 duplicates, 0 similar groups", "body")
        out.append({"ok": ok, "seconds": time.monotonic() - t, "error": n.last_error})
    print(json.dumps(out))
    """
)


def _nested(tmp_path: Path, mode: str, *, crashing_server: bool = False) -> list[dict[str, object]]:
    reason = nested_bus_reason()
    if reason:
        pytest.skip(reason)
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
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    proc = subprocess.run(
        ["dbus-run-session", f"--config-file={conf}", "--", sys.executable, "-c", _CHILD, mode],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_no_server_fails_fast_and_quietly(tmp_path: Path) -> None:
    for attempt in _nested(tmp_path, "none"):
        assert attempt["ok"] is False
        assert "ServiceUnknown" in str(attempt["error"])
        assert float(attempt["seconds"]) < 1.0  # type: ignore[arg-type]


def test_server_that_never_answers_costs_at_most_the_timeout(tmp_path: Path) -> None:
    for attempt in _nested(tmp_path, "hang"):
        assert attempt["ok"] is False
        assert "Timeout" in str(attempt["error"]) or "timed out" in str(attempt["error"]).lower()
        assert float(attempt["seconds"]) < 2.5  # type: ignore[arg-type]  # timeout 1 s


def test_server_that_crashes_on_activation_fails_cleanly(tmp_path: Path) -> None:
    for attempt in _nested(tmp_path, "none", crashing_server=True):
        assert attempt["ok"] is False
        assert "signal 5" in str(attempt["error"]) or "Spawn" in str(attempt["error"])
        assert float(attempt["seconds"]) < 2.5  # type: ignore[arg-type]


def test_no_session_bus_at_all_is_reported_not_raised() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
    env["XDG_RUNTIME_DIR"] = "/nonexistent"
    code = (
        "import json, time; from remedia_tray.desktop.notify import Notifier;"
        "n = Notifier(timeout=1.0);"
        "t = time.monotonic(); ok = n.notify('x', 'y');"
        "print(json.dumps([ok, time.monotonic() - t, n.last_error]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    ok, seconds, error = json.loads(proc.stdout.strip().splitlines()[-1])
    assert ok is False and seconds < 2.5 and error
