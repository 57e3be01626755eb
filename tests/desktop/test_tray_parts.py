"""Tray parts that need no display: the menu model, icons, autostart files, single instance."""

from __future__ import annotations

import os
import plistlib
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers beside this file

from tray_support import requires_tray, wait_until

from remedia_tray.cli import main
from remedia_tray.desktop import autostart as am
from remedia_tray.desktop import single_instance as si
from remedia_tray.desktop.service import ServiceState
from remedia_tray.desktop.tray import SEPARATOR, MenuItem, build_menu, draw_icon, load_icon

ASSETS = Path(__file__).resolve().parents[2] / "remedia_tray" / "assets"


def _state(**kw: Any) -> ServiceState:
    base: dict[str, Any] = dict(
        activity="idle", status="Watching 2 folders", paused=False, strictness=50,
        engine="both", watched=(Path("/p/Phone"), Path("/p/WhatsApp")), waiting=0,
    )  # fmt: skip
    base.update(kw)
    return ServiceState(**base)


def _find(items: tuple[MenuItem, ...], text: str) -> MenuItem:
    for item in items:
        if item.text == text:
            return item
        if item.submenu:
            try:
                return _find(item.submenu, text)
            except LookupError:
                pass
    raise LookupError(text)


# -- menu model -------------------------------------------------------------------------------


def test_menu_layout_status_first_and_every_entry_present() -> None:
    menu = build_menu(_state(), autostart=False)
    assert menu[0] == MenuItem("Watching 2 folders", enabled=False)  # no left click: status first
    texts = [m.text for m in menu if m is not SEPARATOR]
    assert texts == [
        "Watching 2 folders", "Pause sorting", "Strictness", "Keep…", "Sort now",
        "Re-sort everything",
        "Review last sort", "Watched folders", "Add folder…", "Start at login", "Open settings",
        "Quit",
    ]  # fmt: skip
    assert _find(menu, "Pause sorting").checked is False
    assert _find(menu, "Start at login").checked is False
    radios = _find(menu, "Strictness").submenu
    assert [(r.text, r.checked, r.radio) for r in radios] == [
        ("Exact", False, True), ("Strict", False, True),
        ("Balanced", True, True), ("Loose", False, True),
    ]  # fmt: skip
    phone = _find(menu, "/p/Phone")
    assert [(m.text, m.action) for m in phone.submenu] == [
        ("Open", "open:/p/Phone"), ("Stop watching", "unwatch:/p/Phone"),
    ]  # fmt: skip


def test_menu_follows_the_state() -> None:
    menu = build_menu(
        _state(paused=True, strictness=60, watched=(), status="Paused"), autostart=True
    )
    assert _find(menu, "Pause sorting").checked is True
    assert _find(menu, "Start at login").checked is True
    assert _find(menu, "Sort now").enabled is False
    assert _find(menu, "No folders yet").enabled is False
    custom = _find(menu, "Custom (60)")
    assert custom.checked is True and custom.enabled is False
    assert not any(r.checked for r in _find(menu, "Strictness").submenu[:4])


def test_keep_menu_offers_presets_per_watched_folder() -> None:
    phone, chats = Path("/p/Phone"), Path("/p/WhatsApp")
    one = build_menu(_state(watched=(phone,)), autostart=False, keep=((phone, None),))
    presets = _find(one, "Keep…").submenu
    assert [(m.text, m.action, m.checked, m.radio) for m in presets] == [
        ("Best quality (default)", "keep:0:/p/Phone", True, True),
        ("Largest file", "keep:1:/p/Phone", False, True),
        ("Newest", "keep:2:/p/Phone", False, True),
        ("Oldest", "keep:3:/p/Phone", False, True),
    ]  # fmt: skip
    # Several folders: a submenu each, with its own choice; rules from the settings file
    # that are no preset show as the checked "Custom: …".
    custom = ("folder:Library", "newest")
    menu = build_menu(_state(), autostart=False, keep=((phone, ("newest",)), (chats, custom)))
    by_folder = {m.text: m.submenu for m in _find(menu, "Keep…").submenu}
    assert [m.text for m in by_folder["/p/Phone"] if m.checked] == ["Newest"]
    assert [m.text for m in by_folder["/p/WhatsApp"] if m.checked] == [
        "Custom: folder:Library, newest"
    ]
    assert by_folder["/p/WhatsApp"][-1].action is None
    none = build_menu(_state(watched=()), autostart=False)
    assert [m.text for m in _find(none, "Keep…").submenu] == ["No folders yet"]


def test_menu_converts_to_pystray_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYSTRAY_BACKEND", "dummy")
    pystray = pytest.importorskip("pystray")
    from remedia_tray.desktop.tray import Tray

    tray = Tray.__new__(Tray)
    tray._pystray = pystray
    items = tray._to_pystray(build_menu(_state(paused=True), autostart=False))
    menu = pystray.Menu(*items)
    by_text = {i.text: i for i in menu.items if i is not pystray.Menu.SEPARATOR}
    assert by_text["Pause sorting"].checked is True and not by_text["Pause sorting"].radio
    assert by_text["Watching 2 folders"].enabled is False
    strict = {i.text: i for i in by_text["Strictness"].submenu.items}
    assert strict["Balanced"].checked is True and strict["Balanced"].radio


# -- icons --------------------------------------------------------------------------------------


def test_shipped_icons_exist_and_differ_by_state() -> None:
    from PIL import ImageChops

    icons = {a: load_icon(a) for a in ("idle", "working", "paused")}
    for activity, im in icons.items():
        assert (ASSETS / f"tray-{activity}.png").exists()
        assert im.size == (64, 64) and im.mode == "RGBA"
        assert ImageChops.difference(im, draw_icon(activity)).getbbox() is None
    assert ImageChops.difference(icons["idle"], icons["paused"]).getbbox() is not None
    assert ImageChops.difference(icons["idle"], icons["working"]).getbbox() is not None


# -- autostart ------------------------------------------------------------------------------------

AWKWARD = ["/opt/Zoë's apps/py 3/bin/python", "-m", "remedia_tray", "tray",
           "--watch", '/srv/a "b" $HOME\\x 100%']  # fmt: skip


def test_desktop_entry_exec_round_trips_through_glib(tmp_path: Path) -> None:
    gi = pytest.importorskip("gi")
    gi.require_version("GLib", "2.0")
    from gi.repository import GLib

    path = tmp_path / "remedia-tray.desktop"
    path.write_text(am.desktop_entry(AWKWARD))
    kf = GLib.KeyFile()
    kf.load_from_file(str(path), GLib.KeyFileFlags.NONE)
    exec_line = kf.get_string("Desktop Entry", "Exec")
    ok, argv = GLib.shell_parse_argv(exec_line.replace("%%", "%"))
    assert ok and argv == AWKWARD
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout


def test_systemd_turns_the_entry_into_a_login_service(tmp_path: Path) -> None:
    generator = Path("/usr/lib/systemd/user-generators/systemd-xdg-autostart-generator")
    if not generator.exists():
        pytest.skip("systemd-xdg-autostart-generator not installed")
    auto = am.Autostart(platform="linux", home=tmp_path, config_home=tmp_path / "cfg")
    auto.enable([sys.executable, "-m", "remedia_tray", "tray"])  # Exec must exist for systemd
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_CONFIG_DIRS="/nonexistent")
    subprocess.run([str(generator), str(out), str(out), str(out)], env=env, check=True)
    [unit] = list(out.glob("app-remedia*autostart.service"))
    assert f"ExecStart=:{sys.executable} -m remedia_tray tray" in unit.read_text()


def test_linux_enable_disable_and_foreign_entries(tmp_path: Path) -> None:
    auto = am.Autostart(platform="linux", home=tmp_path, config_home=tmp_path / "cfg")
    assert not auto.is_enabled()
    location = auto.enable(AWKWARD)
    assert location == str(tmp_path / "cfg" / "autostart" / "remedia-tray.desktop")
    assert auto.is_enabled()
    assert auto.disable() and not Path(location).exists() and not auto.is_enabled()
    assert auto.disable() is False
    # An entry we did not write (e.g. a packager's) is hidden, never deleted.
    Path(location).write_text("[Desktop Entry]\nType=Application\nName=R\nExec=remedia tray\n")
    assert auto.disable() and Path(location).exists() and not auto.is_enabled()


def test_macos_launch_agent(tmp_path: Path) -> None:
    auto = am.Autostart(platform="macos", home=tmp_path)
    location = Path(auto.enable(AWKWARD))
    assert location == tmp_path / "Library/LaunchAgents/org.remedia.tray.plist"
    data = plistlib.loads(location.read_bytes())
    assert data["Label"] == "org.remedia.tray" and data["ProgramArguments"] == AWKWARD
    assert data["RunAtLoad"] is True and data["KeepAlive"] == {"SuccessfulExit": False}
    assert auto.is_enabled() and auto.disable() and not auto.is_enabled()


class FakeWinreg:
    """Stands in for the Windows registry (cannot run here)."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_WRITE = KEY_READ = KEY_SET_VALUE = 0
    REG_SZ = 1

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[int, str]] = {}

    class _Key:
        def __init__(self, path: str) -> None:
            self.path = path

        def __enter__(self) -> FakeWinreg._Key:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    def CreateKeyEx(self, root: str, path: str, reserved: int, access: int) -> _Key:
        return self._Key(path)

    def OpenKey(self, root: str, path: str, reserved: int, access: int) -> _Key:
        return self._Key(path)

    def SetValueEx(self, key: _Key, name: str, r: int, kind: int, value: str) -> None:
        self.values[(key.path, name)] = (kind, value)

    def QueryValueEx(self, key: _Key, name: str) -> tuple[str, int]:
        if (key.path, name) not in self.values:
            raise FileNotFoundError(name)
        kind, value = self.values[(key.path, name)]
        return value, kind

    def DeleteValue(self, key: _Key, name: str) -> None:
        if self.values.pop((key.path, name), None) is None:
            raise FileNotFoundError(name)


def test_windows_run_key() -> None:
    reg = FakeWinreg()
    auto = am.Autostart(platform="windows", winreg=reg)
    argv = [r"C:\Users\Zoë O'Brien\venv\Scripts\pythonw.exe", "-m", "remedia_tray", "tray"]
    auto.enable(argv)
    kind, value = reg.values[(am.RUN_KEY, "ReMedia")]
    assert kind == reg.REG_SZ
    assert value == '"C:\\Users\\Zoë O\'Brien\\venv\\Scripts\\pythonw.exe" -m remedia_tray tray'
    assert auto.is_enabled() and auto.disable() and not auto.is_enabled()
    assert auto.disable() is False


def test_launch_command_runs_the_tray_with_this_interpreter(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.delattr(sys, "frozen", raising=False)
    python = tmp_path / "venv" / "bin" / "python"
    monkeypatch.setattr(sys, "executable", str(python))
    assert am.launch_command() == [str(python), "-m", "remedia_tray", "tray"]


def test_launch_command_of_a_frozen_build_is_the_executable(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:  # fmt: skip
    exe = tmp_path / "ReMedia" / "remedia"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    assert am.launch_command() == [str(exe), "tray"]


def test_autostart_command(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert main(["autostart", "status"]) == 0 and capsys.readouterr().out == "disabled\n"
    assert main(["autostart", "enable"]) == 0
    assert "remedia-tray.desktop" in capsys.readouterr().out
    assert main(["autostart", "status"]) == 0 and capsys.readouterr().out == "enabled\n"
    assert main(["autostart", "disable"]) == 0
    assert (tmp_path / "cfg" / "autostart").is_dir()
    assert not (tmp_path / "cfg" / "autostart" / "remedia-tray.desktop").exists()


# -- single instance -------------------------------------------------------------------------------

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from remedia_tray.desktop import single_instance as si
    lock = si.ServiceLock(si.endpoint(Path(sys.argv[1])))
    lock.acquire()
    got = []
    def handler(msg):
        got.append(msg["folders"][0])
        print("got", msg["folders"][0], flush=True)
        return {"ok": True}
    lock.serve(handler)
    print("ready", flush=True)
    time.sleep(120)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="AF_UNIX and kill -9 semantics")
def test_one_service_many_hand_offs_and_recovery_after_kill(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    ep = si.endpoint(run)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(run)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        assert si.is_running(ep)
        with pytest.raises(si.AlreadyRunning) as exc:
            si.ServiceLock(ep).acquire()
        assert exc.value.pid == holder.pid and str(holder.pid) in str(exc.value)
        # Ten "clicks" at once: every folder reaches the one service.
        results: list[bool] = []

        def click(k: int) -> None:
            results.append(si.hand_off([tmp_path / f"f{k}"], ep=ep))

        clicks = [threading.Thread(target=click, args=(k,)) for k in range(10)]
        for t in clicks:
            t.start()
        for t in clicks:
            t.join()
        assert results == [True] * 10
        got = sorted(holder.stdout.readline().split()[1] for _ in range(10))
        assert got == sorted(str(tmp_path / f"f{k}") for k in range(10))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    # The kernel dropped the lock; the socket file is stale and the next service recovers.
    assert not si.is_running(ep)
    assert os.path.lexists(ep.address)
    assert si.hand_off([tmp_path], ep=ep, timeout=1) is False
    lock = si.ServiceLock(ep)
    lock.acquire()
    seen: list[Any] = []
    lock.serve(lambda msg: seen.append(msg) or {"ok": True})
    try:
        assert si.hand_off([tmp_path / "after"], ep=ep)
        assert wait_until(lambda: len(seen) == 1, timeout=5)
    finally:
        lock.release()
    assert not si.is_running(ep) and not os.path.lexists(ep.address)


def test_hand_off_refuses_a_wrong_key(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    ep = si.endpoint(run)
    lock = si.ServiceLock(ep)
    lock.acquire()
    seen: list[Any] = []
    lock.serve(lambda msg: seen.append(msg) or {"ok": True})
    try:
        real_key = ep.key.read_bytes()
        ep.key.write_bytes(b"not the key" * 3)  # e.g. another user's process guessing
        assert si.hand_off([tmp_path], ep=ep, timeout=1) is False
        assert seen == []
        ep.key.write_bytes(real_key)  # the service keeps serving after a refused client
        assert si.hand_off([tmp_path], ep=ep, timeout=5)
        assert wait_until(lambda: len(seen) == 1, timeout=5)
    finally:
        lock.release()


def test_long_runtime_dir_falls_back_to_a_short_socket_path(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    ep = si.endpoint(deep)
    if ep.family == "AF_UNIX":
        assert len(ep.address.encode()) <= 100 and ep.lock.parent == deep


def test_tray_modules_import_nothing_heavy() -> None:
    code = (
        "import sys, remedia_tray.desktop.tray, remedia_tray.desktop.service, "
        "remedia_tray.desktop.watcher, remedia_tray.desktop.notify, "
        "remedia_tray.desktop.settings, remedia_tray.desktop.autostart, "
        "remedia_tray.desktop.single_instance, remedia_tray.filing.decisions;"
        "heavy = ('pystray', 'torch', 'gi', 'watchdog', 'Xlib');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
@requires_tray
def test_tray_process_can_load_the_clip_stack_after_gtk() -> None:
    # open_clip and torchvision import triton through torch._dynamo; after Gtk (Mesa's LLVM)
    # that import crashed the whole tray. The tray's pystray import guards against it.
    pytest.importorskip("torchvision")
    code = (
        "from remedia_tray.desktop.tray import _import_pystray; _import_pystray();"
        "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk;"
        "assert Gtk.init_check()[0];"
        "import torchvision, torch;"
        "print('loaded', torch.utils._triton.has_triton_package())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "loaded False"
