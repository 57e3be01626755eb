"""The tray icon and its menu (pystray, imported only when the tray really starts).

`build_menu` is pure (state in, menu description out) so the menu is tested without a
display; `run` turns it into a pystray menu, on Linux through the AppIndicator backend
(the only Linux backend with a working menu: xorg has none and never gets clicks).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._platform import IS_LINUX, IS_MACOS
from ..core.strictness import LEVELS

if TYPE_CHECKING:
    from PIL import Image

    from .service import TrayService
    from .status import Activity, ServiceState

log = logging.getLogger(__name__)

APP_ID = "remedia"
TITLE = "ReMedia"
ICON_SIZE = 64


@dataclass(frozen=True)
class MenuItem:
    """Pure description of one menu entry; `action` is an id that `dispatch` understands."""

    text: str
    action: str | None = None
    checked: bool | None = None  # None: not checkable
    radio: bool = False
    enabled: bool = True
    submenu: tuple[MenuItem, ...] = ()


SEPARATOR = MenuItem("---")

#: Keep rules per folder (None: the default rules).
KeepChoice = tuple[str, ...] | None
#: The "Keep…" presets: (label, keep rules). Other rules (set in the settings file) show as
#: "Custom: …".
KEEP_PRESETS: tuple[tuple[str, KeepChoice], ...] = (
    ("Best quality (default)", None),
    ("Largest file", ("largest",)),
    ("Newest", ("newest",)),
    ("Oldest", ("oldest",)),
)


def keep_menu(folder: Path, current: KeepChoice) -> tuple[MenuItem, ...]:
    """The keep presets of one watched folder as radio items, its custom rules included."""
    items = [
        MenuItem(label, f"keep:{k}:{folder}", current == rules, radio=True)
        for k, (label, rules) in enumerate(KEEP_PRESETS)
    ]
    if current is not None and current not in (rules for _, rules in KEEP_PRESETS):
        items.append(
            MenuItem(f"Custom: {', '.join(current)}", None, True, radio=True, enabled=False)
        )
    return tuple(items)


def _keep_entry(keep: tuple[tuple[Path, KeepChoice], ...]) -> MenuItem:
    """ "Keep…": the presets of the one watched folder, or a submenu per folder."""
    if len(keep) == 1:
        return MenuItem("Keep…", submenu=keep_menu(*keep[0]))
    folders = tuple(MenuItem(str(f), submenu=keep_menu(f, rules)) for f, rules in keep)
    return MenuItem("Keep…", submenu=folders or (MenuItem("No folders yet", enabled=False),))


def build_menu(
    state: ServiceState, *, autostart: bool, keep: tuple[tuple[Path, KeepChoice], ...] = ()
) -> tuple[MenuItem, ...]:
    """The whole tray menu for one state (status first: AppIndicator has no left-click).

    `keep`: each watched folder with its keep rules, for the "Keep…" entry.
    """
    levels = sorted(LEVELS.items(), key=lambda kv: -kv[1])
    strictness: list[MenuItem] = [
        MenuItem(name.capitalize(), f"strictness:{value}", state.strictness == value, radio=True)
        for name, value in levels
    ]
    if state.strictness not in LEVELS.values():
        strictness.append(
            MenuItem(f"Custom ({state.strictness})", None, True, radio=True, enabled=False)
        )
    folders: list[MenuItem] = [
        MenuItem(
            str(folder),
            submenu=(
                MenuItem("Open", f"open:{folder}"),
                MenuItem("Stop watching", f"unwatch:{folder}"),
            ),
        )
        for folder in state.watched
    ] or [MenuItem("No folders yet", enabled=False)]
    return (
        MenuItem(state.status, enabled=False),
        SEPARATOR,
        MenuItem("Pause sorting", "pause", checked=state.paused),
        MenuItem("Strictness", submenu=tuple(strictness)),
        _keep_entry(keep),
        MenuItem("Sort now", "sort_now", enabled=bool(state.watched)),
        MenuItem("Re-sort everything", "sort_full", enabled=bool(state.watched)),
        MenuItem("Review last sort", "review", enabled=state.last_sorted is not None),
        SEPARATOR,
        MenuItem("Watched folders", submenu=tuple(folders)),
        MenuItem("Add folder…", "add_folder"),
        SEPARATOR,
        MenuItem("Start at login", "autostart", checked=autostart),
        MenuItem("Open settings", "settings"),
        MenuItem("Quit", "quit"),
    )


# -- icons -----------------------------------------------------------------------------------

_COLOURS = {"idle": (47, 128, 237), "working": (242, 153, 74), "paused": (130, 130, 130)}


def draw_icon(activity: Activity, size: int = ICON_SIZE) -> Image.Image:
    """Two stacked photos (the app), tinted by state, with a badge for working/paused."""
    from PIL import Image, ImageDraw

    s = size / 64
    colour = _COLOURS[activity]
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((14 * s, 4 * s, 60 * s, 42 * s), 6 * s, fill=(*colour, 110))
    d.rounded_rectangle((4 * s, 14 * s, 50 * s, 52 * s), 6 * s, fill=(*colour, 255))
    d.rounded_rectangle((9 * s, 19 * s, 45 * s, 47 * s), 3 * s, fill=(255, 255, 255, 255))
    d.polygon([(11 * s, 45 * s), (22 * s, 29 * s), (30 * s, 39 * s), (35 * s, 33 * s),
               (43 * s, 45 * s)], fill=(*colour, 255))  # fmt: skip
    d.ellipse((34 * s, 22 * s, 40 * s, 28 * s), fill=(*colour, 255))
    if activity == "working":
        d.ellipse((38 * s, 38 * s, 63 * s, 63 * s), fill=(255, 255, 255, 255))
        d.arc(
            (42 * s, 42 * s, 59 * s, 59 * s), 30, 320, fill=(*colour, 255), width=max(1, int(4 * s))
        )
        d.polygon([(55 * s, 40 * s), (62 * s, 47 * s), (53 * s, 49 * s)], fill=(*colour, 255))
    elif activity == "paused":
        d.ellipse((38 * s, 38 * s, 63 * s, 63 * s), fill=(255, 255, 255, 255))
        d.rectangle((45 * s, 44 * s, 49 * s, 57 * s), fill=(*colour, 255))
        d.rectangle((52 * s, 44 * s, 56 * s, 57 * s), fill=(*colour, 255))
    return im


def load_icon(activity: Activity) -> Image.Image:
    """The shipped PNG from remedia_tray/assets, or a freshly drawn one if it is missing."""
    from PIL import Image

    try:
        ref = resources.files("remedia_tray").joinpath("assets").joinpath(f"tray-{activity}.png")
        with ref.open("rb") as fh:
            im = Image.open(fh)
            im.load()
            return im
    except (OSError, FileNotFoundError):
        return draw_icon(activity)


# -- platform helpers --------------------------------------------------------------------------


def choose_folder() -> Path | None:
    """Ask the user for a folder with the desktop's own dialog; None if cancelled."""
    try:
        if IS_LINUX:
            return _choose_folder_linux()
        if IS_MACOS:
            out = subprocess.run(
                ["osascript", "-e", 'POSIX path of (choose folder with prompt "Watch folder")'],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None
        from tkinter import Tk, filedialog

        root = Tk()
        root.withdraw()
        try:
            chosen = filedialog.askdirectory(title="Watch folder")
        finally:
            root.destroy()
        return Path(chosen) if chosen else None
    except Exception:
        log.warning("no folder dialog available", exc_info=True)
        return None


def _choose_folder_linux() -> Path | None:
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk

        dialog = Gtk.FileChooserDialog(
            title="Watch folder", action=Gtk.FileChooserAction.SELECT_FOLDER
        )
        dialog.add_buttons("Cancel", Gtk.ResponseType.CANCEL, "Watch", Gtk.ResponseType.OK)
        try:
            if dialog.run() == Gtk.ResponseType.OK:
                name = dialog.get_filename()
                return Path(name) if name else None
            return None
        finally:
            dialog.destroy()
    except (ImportError, ValueError):
        pass
    for argv in (
        ["zenity", "--file-selection", "--directory", "--title=Watch folder"],
        ["kdialog", "--getexistingdirectory", str(Path.home())],
    ):
        if shutil.which(argv[0]):
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
            return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None
    log.warning("no folder dialog available (install zenity or PyGObject)")
    return None


def _wrap_pystray_notifier() -> None:
    """Pitfalls 3 and 4 of the desktop notes: pystray's GTK/AppIndicator icon creates a
    notification proxy in run() (a failed service activation then raises and hangs the
    process) and calls hide() on it in stop() (no server: exit 1). We send notifications
    ourselves, so make that proxy lazy and its errors harmless."""
    try:
        from pystray._util import notify_dbus
    except Exception:
        return
    original = notify_dbus.Notifier
    if getattr(original, "_remedia_safe", False):
        return

    class SafeNotifier:
        _remedia_safe = True

        def __init__(self) -> None:
            self._inner: Any = None

        def notify(self, title: str, message: str, icon: str) -> None:
            try:
                if self._inner is None:
                    self._inner = original()
                self._inner.notify(title, message, icon)
            except Exception as exc:
                log.warning("tray notification failed: %s", exc)

        def hide(self) -> None:
            if self._inner is None:
                return
            try:
                self._inner.hide()
            except Exception as exc:
                log.debug("hiding the tray notification failed: %s", exc)

    notify_dbus.Notifier = SafeNotifier


class TrayUnavailable(Exception):
    """No tray with a menu here (no display, no PyGObject/AppIndicator ...)."""


def _keep_triton_out() -> None:
    """Gtk on X loads Mesa's LLVM; importing triton (its own LLVM) afterwards segfaults, and
    torchvision and open_clip import it through torch._dynamo (seen with torch 2.14, triton
    bundled). CPU inference never compiles kernels, so make `import triton` fail cleanly,
    which torch treats as "no triton"."""
    if "triton" not in sys.modules:
        sys.modules["triton"] = None  # type: ignore[assignment]


def _import_pystray() -> Any:
    if IS_LINUX:
        _keep_triton_out()  # before Gtk is loaded
        # AppIndicator: menus, radios and checkmarks work and panels see it over D-Bus.
        os.environ.setdefault("PYSTRAY_BACKEND", "appindicator")
    try:
        import pystray  # without a display this raises Xlib's DisplayNameError, not ImportError
    except Exception as exc:
        raise TrayUnavailable(f"{type(exc).__name__}: {exc}") from None
    return pystray


# -- the running tray --------------------------------------------------------------------------


class Tray:
    """Binds a TrayService to a pystray icon; menu callbacks hand work to threads."""

    def __init__(self, service: TrayService) -> None:
        from .autostart import Autostart

        self.service = service
        self.autostart = Autostart()
        self.icon: Any = None
        self._pystray: Any = None
        self._activity: Activity | None = None

    # -- menu -> actions ------------------------------------------------------------------
    def dispatch(self, action: str) -> None:
        svc = self.service
        kind, _, arg = action.partition(":")
        if kind == "pause":
            svc.set_paused(not svc.settings.paused)
        elif kind == "strictness":
            svc.set_strictness(int(arg))
        elif kind == "keep":
            preset, _, where = arg.partition(":")
            svc.set_keep(Path(where), KEEP_PRESETS[int(preset)][1])
        elif kind == "sort_now":
            svc.sort_now()
        elif kind == "sort_full":
            svc.sort_now(full=True)
        elif kind == "open":
            from .notify import open_with_desktop

            open_with_desktop(Path(arg))
        elif kind == "review":
            from .review_launch import open_review

            last = svc.state().last_sorted
            if last is not None:
                open_review(last)
        elif kind == "unwatch":
            svc.remove_folder(Path(arg))
        elif kind == "add_folder":
            folder = choose_folder()
            if folder is not None:
                svc.add_folder(folder)
        elif kind == "autostart":
            if self.autostart.is_enabled():
                self.autostart.disable()
            else:
                self.autostart.enable()
        elif kind == "settings":
            from . import settings as settings_mod
            from .notify import open_with_desktop

            if not svc.settings_path.exists():
                settings_mod.save(svc.settings, svc.settings_path)
            open_with_desktop(svc.settings_path)
        elif kind == "quit":
            self.quit()
        self.refresh()

    def _callback(self, action: str) -> Callable[[Any, Any], None]:
        def run(icon: Any, item: Any) -> None:
            if action == "add_folder":
                self.dispatch(action)  # dialogs belong to the GUI thread
                return
            threading.Thread(target=self._safe_dispatch, args=(action,), daemon=True).start()

        return run

    def _safe_dispatch(self, action: str) -> None:
        try:
            self.dispatch(action)
        except Exception:
            log.exception("menu action %s failed", action)

    def _to_pystray(self, items: tuple[MenuItem, ...]) -> list[Any]:
        ps = self._pystray
        out: list[Any] = []
        for item in items:
            if item is SEPARATOR or item.text == "---":
                out.append(ps.Menu.SEPARATOR)
                continue
            kwargs: dict[str, Any] = {"enabled": item.enabled}
            if item.checked is not None:
                kwargs["checked"] = lambda _i, value=item.checked: value
                kwargs["radio"] = item.radio
            if item.submenu:
                sub = item.submenu
                out.append(
                    ps.MenuItem(item.text, ps.Menu(lambda sub=sub: self._to_pystray(sub)), **kwargs)
                )
            else:
                action = item.action
                callback = self._callback(action) if action else (lambda _icon, _item: None)
                out.append(ps.MenuItem(item.text, callback, **kwargs))
        return out

    def _items(self) -> list[Any]:
        state = self.service.state()
        try:
            autostart = self.autostart.is_enabled()
        except Exception:
            autostart = False
        chosen = self.service.settings
        keep = tuple((f, chosen.folder(f).keep) for f in state.watched)
        return self._to_pystray(build_menu(state, autostart=autostart, keep=keep))

    def refresh(self) -> None:
        """Redraw after a change made outside the menu (watcher, worker threads)."""
        icon = self.icon
        if icon is None:
            return
        activity = self.service.state().activity
        try:
            if activity != self._activity:
                self._activity = activity
                icon.icon = load_icon(activity)
            icon.title = f"{TITLE}: {self.service.state().status}"
            icon.update_menu()
        except Exception:
            log.debug("tray refresh failed", exc_info=True)

    def quit(self) -> None:
        self.service.stop()
        if self.icon is not None:
            self.icon.stop()

    # -- run ---------------------------------------------------------------------------------
    def run(self) -> None:
        """Show the icon and block until Quit. Raises TrayUnavailable when there is no tray."""
        self._pystray = _import_pystray()
        _wrap_pystray_notifier()
        ps = self._pystray
        self._activity = self.service.state().activity
        self.icon = ps.Icon(APP_ID, load_icon(self._activity), TITLE, ps.Menu(self._items))
        if not getattr(self.icon, "HAS_MENU", False):
            raise TrayUnavailable(f"pystray backend {type(self.icon).__module__} has no menu")
        self.service.notifier.attach_icon(self.icon)
        self.service.on_change = self.refresh

        def setup(icon: Any) -> None:
            icon.visible = True  # never block here: stop() joins this thread for 5 s only

        try:
            self.icon.run(setup)
        except Exception:
            # pystray's setup thread is not a daemon: without this the process never ends.
            log.exception("the tray icon failed")
            self.service.stop()
            sys.stderr.flush()
            os._exit(1)


def run_headless(service: TrayService) -> None:
    """Watch, sort and notify without an icon, until SIGINT/SIGTERM."""
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, on_signal)
        except ValueError:
            pass  # not the main thread (tests)
    while not stop.wait(1.0):
        pass
    service.stop()
