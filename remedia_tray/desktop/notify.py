"""Desktop notifications behind one facade: delivered when possible, never fatal, never blocking.

Why not plyer everywhere (the design's first choice; measured with plyer 2.1.0):
- Linux: it splices the text into a GVariant string for `gdbus` when `/app` exists (quotes
  break it), and its `notify-send` fallback passes `-t 0`, so notifications never expire and
  our timeout is ignored. Here we call `org.freedesktop.Notifications.Notify` directly (Gio
  from PyGObject, with a call timeout), falling back to `gdbus call` / `notify-send` with an
  argument list.
- Windows: each notification adds a second tray icon. With the tray running we use the
  balloon of our own icon; plyer is used only for one-shot command-line runs (no icon).
- macOS: plyer needs pyobjus and the deprecated NSUserNotification; `osascript` works
  without either.
Every call runs on a daemon thread and is awaited at most `timeout` seconds, so a hung or
missing notification server costs at most that long and never raises.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .._platform import IS_MACOS, IS_WINDOWS
from ..core.wording import media_count, plural

if TYPE_CHECKING:
    from ..filing.report import SortReport

log = logging.getLogger(__name__)

APP_NAME = "ReMedia"
BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
DEFAULT_TIMEOUT = 5.0

Backend = Literal["dbus", "gdbus", "notify-send", "icon", "plyer", "osascript", "none"]


def batch_summary(new_photos: int, duplicates: int, similar_groups: int) -> str:
    """'Sorted 412 new photos: 37 duplicates, 5 similar groups' (pure, for tests and tray)."""
    return (
        f"Sorted {plural(new_photos, 'new photo')}: {plural(duplicates, 'duplicate')}, "
        f"{plural(similar_groups, 'similar group')}"
    )


def report_message(report: SortReport, *, new_photos: int | None = None) -> tuple[str, str]:
    """(summary, body) for a finished sort; `new_photos` is set for a tray batch."""
    dups, similar = report.duplicates_moved, len(report.similar_groups)
    if new_photos is not None:
        summary = batch_summary(new_photos, dups, similar)
    elif report.dry_run:
        summary = (
            f"Checked {media_count(report.images, report.videos)} (dry run): would move "
            f"{plural(dups, 'duplicate')}, {plural(similar, 'similar group')}"
        )
    else:
        summary = (
            f"Sorted {media_count(report.images, report.videos)}: {plural(dups, 'duplicate')}, "
            f"{plural(similar, 'similar group')}"
        )
    lines = [str(report.folder)]
    if report.skipped:
        lines.append(f"{plural(len(report.skipped), 'file')} skipped")
    if report.failed:
        lines.append(f"{plural(len(report.failed), 'file')} could not be moved")
    return summary, "\n".join(lines)


def review_page(folder: Path) -> Path | None:
    """The newest review page of `folder`, when the review module is installed."""
    try:
        from ..review.writer import latest_page_path
    except ImportError:
        return None
    try:
        page = latest_page_path(folder)
    except Exception:  # a missing page must not cost the notification
        log.debug("no review page for %s", folder, exc_info=True)
        return None
    return Path(page) if page else None


def open_with_desktop(target: Path | str) -> bool:
    """Open a file or folder with the user's default application; False if that failed."""
    target = str(target)
    try:
        if IS_WINDOWS:
            os.startfile(target)  # type: ignore[attr-defined]
            return True
        argv = ["open", target] if IS_MACOS else ["xdg-open", target]
        if shutil.which(argv[0]) is None:
            log.warning("cannot open %s: %s is not installed", target, argv[0])
            return False
        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        return True
    except OSError as exc:
        log.warning("cannot open %s: %s", target, exc)
        return False


def _printable(text: str) -> str:
    """D-Bus strings must be UTF-8: show undecodable bytes of file names as U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _gvariant_str(text: str) -> str:
    """GVariant text form of a string, for `gdbus call` (quoted, never spliced raw)."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


class _GioBus:
    """A private session-bus connection served by its own thread and GLib main context.

    Its own context means ActionInvoked signals arrive even when no GTK loop runs.
    """

    def __init__(self, on_action: Callable[[int, str], None]) -> None:
        from gi.repository import Gio, GLib

        self._Gio, self._GLib = Gio, GLib
        address = Gio.dbus_address_get_for_bus_sync(Gio.BusType.SESSION, None)
        if not address or address.startswith("autolaunch:"):
            # Autolaunching a bus without a desktop session can block for a long time.
            raise RuntimeError("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        self._address = address
        self._on_action = on_action
        self._ctx = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self._ctx, False)
        self._conn: Any = None
        self._thread = threading.Thread(target=self._run, name="remedia-notify", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._ctx.push_thread_default()
        self._loop.run()

    def _connect(self) -> Any:
        Gio = self._Gio
        if self._conn is None or self._conn.is_closed():
            flags = (
                Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
            )
            conn = Gio.DBusConnection.new_for_address_sync(self._address, flags, None, None)
            conn.signal_subscribe(
                BUS_NAME,
                BUS_NAME,
                "ActionInvoked",
                OBJECT_PATH,
                None,
                Gio.DBusSignalFlags.NONE,
                self._on_signal,
            )
            self._conn = conn
        return self._conn

    def _on_signal(
        self, conn: Any, sender: Any, path: Any, iface: Any, name: Any, params: Any
    ) -> None:
        nid, key = params.unpack()
        self._on_action(int(nid), str(key))

    def notify(self, summary: str, body: str, actions: Sequence[str], timeout: float) -> int:
        """Runs on the bus thread; returns the server's notification id."""
        GLib = self._GLib
        done = threading.Event()
        result: dict[str, Any] = {}

        def call(*_: object) -> bool:
            try:
                conn = self._connect()
                hints = {"urgency": GLib.Variant("y", 1)}
                reply = conn.call_sync(
                    BUS_NAME,
                    OBJECT_PATH,
                    BUS_NAME,
                    "Notify",
                    GLib.Variant(
                        "(susssasa{sv}i)",
                        (APP_NAME, 0, "", summary, body, list(actions), hints, -1),
                    ),
                    GLib.VariantType("(u)"),
                    self._Gio.DBusCallFlags.NONE,
                    int(timeout * 1000),
                    None,
                )
                result["id"] = int(reply.unpack()[0])
            except Exception as exc:
                result["error"] = exc
            finally:
                done.set()
            return False

        source = GLib.idle_source_new()
        source.set_callback(call)
        source.attach(self._ctx)
        if not done.wait(timeout + 1.0):
            raise TimeoutError(f"no answer from {BUS_NAME} within {timeout:g} s")
        if "error" in result:
            raise result["error"]
        return int(result["id"])


class Notifier:
    """Sends desktop notifications. Methods return False on failure and never raise."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self.last_error: str | None = None
        self.backend_used: Backend = "none"
        self._icon: Any = None
        self._bus: _GioBus | None = None
        self._no_gi = False
        self._lock = threading.Lock()
        self._actions: dict[int, Callable[[], object]] = {}

    def attach_icon(self, icon: Any) -> None:
        """Windows: show balloons on our own tray icon instead of a second one."""
        self._icon = icon

    def notify(
        self,
        summary: str,
        body: str = "",
        *,
        open_path: Path | None = None,
        on_open: Callable[[], object] | None = None,
    ) -> bool:
        """Show one notification; clicking it opens `open_path` where the server allows
        (or runs `on_open` instead, which opens it its own way)."""
        summary, body = _printable(summary), _printable(body)
        click = None
        if open_path is not None:
            click = on_open or (lambda: open_with_desktop(open_path))
        with self._lock:  # one at a time keeps ids and fallbacks simple
            try:
                self.backend_used = self._send(summary, body, click)
                self.last_error = None
                return True
            except Exception as exc:
                self.backend_used = "none"
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("notification not shown (%s): %s", self.last_error, summary)
                return False

    # -- delivery -------------------------------------------------------------------
    def _send(self, summary: str, body: str, click: Callable[[], object] | None) -> Backend:
        if IS_WINDOWS:
            return self._send_windows(summary, body)
        if IS_MACOS:
            self._run(
                [
                    "osascript",
                    "-e",
                    "on run argv",
                    "-e",
                    "display notification (item 2 of argv) with title (item 1 of argv)",
                    "-e",
                    "end run",
                    APP_NAME + ": " + summary,
                    body,
                ]
            )
            return "osascript"
        return self._send_freedesktop(summary, body, click)

    def _send_freedesktop(
        self, summary: str, body: str, click: Callable[[], object] | None
    ) -> Backend:
        bus = self._gio_bus()
        if bus is not None:
            actions = ["default", "Open"] if click is not None else []
            nid = bus.notify(summary, body, actions, self.timeout)
            if click is not None:
                self._actions[nid] = click
            return "dbus"
        if shutil.which("gdbus"):
            self._run(
                [
                    "gdbus",
                    "call",
                    "--session",
                    "--timeout",
                    str(max(1, round(self.timeout))),
                    "--dest",
                    BUS_NAME,
                    "--object-path",
                    OBJECT_PATH,
                    "--method",
                    BUS_NAME + ".Notify",
                    "--",  # "-1" below is an argument, not an option
                    _gvariant_str(APP_NAME),
                    "0",
                    "''",
                    _gvariant_str(summary),
                    _gvariant_str(body),
                    "@as []",
                    "@a{sv} {}",
                    "-1",
                ]
            )
            return "gdbus"
        if shutil.which("notify-send"):
            self._run(["notify-send", f"--app-name={APP_NAME}", "--", summary, body])
            return "notify-send"
        raise RuntimeError(
            "no way to reach a notification server (no PyGObject, gdbus, notify-send)"
        )

    def _gio_bus(self) -> _GioBus | None:
        """The Gio connection; None without PyGObject; raises when there is no session bus."""
        if self._bus is None and not self._no_gi:
            try:
                import gi

                gi.require_version("Gio", "2.0")
                from gi.repository import Gio  # noqa: F401
            except (ImportError, ValueError):
                self._no_gi = True  # use the command-line tools instead
                return None
            try:
                self._bus = _GioBus(self._on_action)
            except Exception as exc:  # GLib.Error: no bus; retried next time
                raise RuntimeError(str(exc)) from None
        return self._bus

    def _on_action(self, nid: int, key: str) -> None:
        action = self._actions.pop(nid, None)
        if action is not None and key == "default":
            threading.Thread(target=action, name="remedia-open", daemon=True).start()

    def _send_windows(self, summary: str, body: str) -> Backend:
        icon = self._icon
        if icon is not None and getattr(icon, "HAS_NOTIFICATION", False):
            icon.notify(body or summary, summary)
            return "icon"
        from plyer import notification  # one-shot CLI runs only: no icon of ours exists

        notification.notify(title=summary, message=body, app_name=APP_NAME, timeout=10)
        return "plyer"

    def _run(self, argv: list[str]) -> None:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=self.timeout,
            check=False,
        )
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"{argv[0]} failed: {err[-1] if err else proc.returncode}")


_default: Notifier | None = None


def default_notifier() -> Notifier:
    global _default
    if _default is None:
        _default = Notifier()
    return _default


def notify_report(
    report: SortReport, *, new_photos: int | None = None, notifier: Notifier | None = None
) -> bool:
    """One notification for a finished sort; clicking it opens the review page (served, with
    its action buttons; the static page if the server cannot start)."""
    summary, body = report_message(report, new_photos=new_photos)
    page = review_page(report.folder)
    if page is None:
        return (notifier or default_notifier()).notify(summary, body)
    return (notifier or default_notifier()).notify(
        summary, body, open_path=page, on_open=lambda: _open_review(report.folder, page)
    )


def _open_review(folder: Path, page: Path) -> None:
    from .review_launch import open_review

    if not open_review(folder):
        open_with_desktop(page)
