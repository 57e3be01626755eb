"""Explorer entries: the winreg writer against an in-memory registry, and the .reg export.

The registry cannot run here, so `FakeWinReg` stands in for the `winreg` module with the
behaviour the writer relies on: keys case-insensitive, missing keys raise
FileNotFoundError, DeleteKey refuses keys that still have subkeys, handles must be closed.
Everything else (command lines, .reg text, Explorer's placeholder expansion and the
MSVCRT argument split) is the real thing.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

import pytest

from remedia_tray.integrations import Launcher, get_installer
from remedia_tray.integrations.windows import (
    VERB,
    WindowsInstaller,
    default_icon,
    render_unreg,
    verb_roots,
    windowless_launcher,
)

from .helpers import WINDOWS_NASTY, windows_split

PYTHONW = "C:\\Users\\Zoë O'Brien\\AppData\\Local\\Programs\\ReMedia\\venv\\Scripts\\pythonw.exe"
ICON = "C:\\Users\\Zoë O'Brien\\AppData\\Local\\Programs\\ReMedia\\remedia.ico"
LAUNCHER = Launcher((PYTHONW, "-m", "remedia_tray"))


@dataclass
class _Node:
    name: str
    subkeys: dict[str, _Node] = field(default_factory=dict)
    values: dict[str, tuple[str, Any, int]] = field(default_factory=dict)


@dataclass
class _Handle:
    node: _Node
    open: bool = True


class FakeWinReg:
    HKEY_CURRENT_USER = 0x80000001
    KEY_READ = 0x20019
    KEY_WRITE = 0x20006
    REG_SZ = 1

    def __init__(self) -> None:
        self.hkcu = _Node("HKEY_CURRENT_USER")
        self.handles: list[_Handle] = []

    def _node(self, key: Any) -> _Node:
        if key == self.HKEY_CURRENT_USER:
            return self.hkcu
        assert isinstance(key, _Handle) and key.open, "used a closed handle"
        return key.node

    def _walk(self, key: Any, sub_key: str, create: bool) -> _Node:
        node = self._node(key)
        for part in filter(None, sub_key.split("\\")):
            child = node.subkeys.get(part.lower())
            if child is None:
                if not create:
                    raise FileNotFoundError(2, "The system cannot find the file specified")
                child = node.subkeys[part.lower()] = _Node(part)
            node = child
        return node

    def _handle(self, node: _Node) -> _Handle:
        h = _Handle(node)
        self.handles.append(h)
        return h

    def CreateKeyEx(self, key: Any, sub_key: str, reserved: int = 0, access: int = 0) -> _Handle:
        return self._handle(self._walk(key, sub_key, create=True))

    def OpenKey(self, key: Any, sub_key: str, reserved: int = 0, access: int = 0) -> _Handle:
        return self._handle(self._walk(key, sub_key, create=False))

    def SetValueEx(
        self, key: Any, value_name: str | None, reserved: int, type: int, value: str
    ) -> None:
        name = value_name or ""
        self._node(key).values[name.lower()] = (name, value, type)

    def QueryValueEx(self, key: Any, value_name: str | None) -> tuple[Any, int]:
        try:
            _, value, kind = self._node(key).values[(value_name or "").lower()]
        except KeyError:
            raise FileNotFoundError(2, "The system cannot find the file specified") from None
        return value, kind

    def QueryInfoKey(self, key: Any) -> tuple[int, int, int]:
        node = self._node(key)
        return len(node.subkeys), len(node.values), 0

    def EnumKey(self, key: Any, index: int) -> str:
        names = [n.name for n in self._node(key).subkeys.values()]
        if index >= len(names):
            raise OSError(259, "No more data is available")
        return names[index]

    def DeleteKey(self, key: Any, sub_key: str) -> None:
        parent = self._node(key)
        child = parent.subkeys.get(sub_key.lower())
        if child is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        if child.subkeys:
            raise PermissionError(5, "Access is denied")
        del parent.subkeys[sub_key.lower()]

    def CloseKey(self, hkey: Any) -> None:
        assert isinstance(hkey, _Handle) and hkey.open, "closed twice"
        hkey.open = False

    def snapshot(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}

        def walk(node: _Node, path: str) -> None:
            out[path] = {name: value for name, value, _ in node.values.values()}
            for child in node.subkeys.values():
                walk(child, f"{path}\\{child.name}" if path else child.name)

        walk(self.hkcu, "")
        return out

    def open_handles(self) -> int:
        return sum(h.open for h in self.handles)


def _installer(reg: FakeWinReg, tmp_path: Path, launcher: Launcher = LAUNCHER) -> WindowsInstaller:
    inst = get_installer(
        "windows", home=tmp_path / "home", launcher=launcher, registry=reg, icon=ICON
    )
    assert isinstance(inst, WindowsInstaller)
    return inst


def _users_registry() -> FakeWinReg:
    reg = FakeWinReg()
    h = reg.CreateKeyEx(reg.HKEY_CURRENT_USER, r"Software\Classes\Directory\shell\git_shell")
    reg.SetValueEx(h, None, 0, reg.REG_SZ, "Open Git &Bash here")
    reg.CloseKey(h)
    h = reg.CreateKeyEx(reg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows\CurrentVersion\Run")
    reg.SetValueEx(h, "OneDrive", 0, reg.REG_SZ, '"C:\\OneDrive.exe" /background')
    reg.CloseKey(h)
    return reg


def test_install_writes_three_verbs_with_icon_and_windowless_command(tmp_path: Path) -> None:
    reg = _users_registry()
    _installer(reg, tmp_path).install()
    snap = reg.snapshot()
    expected = {
        r"Directory\shell": "%1",
        r"Directory\Background\shell": "%V",
        r"Drive\shell": "%1",
    }
    for shell, placeholder in expected.items():
        root = rf"Software\Classes\{shell}\{VERB}"
        assert snap[root] == {"": "Sort with ReMedia", "Icon": ICON, "MultiSelectModel": "Player"}
        assert snap[rf"{root}\command"] == {
            "": f'"{PYTHONW}" -m remedia_tray sort --notify -- "{placeholder}\\."'
        }
    assert snap[r"Software\Classes\Directory\shell\git_shell"] == {"": "Open Git &Bash here"}
    assert reg.open_handles() == 0


def test_install_is_idempotent_and_uninstall_restores_the_registry(tmp_path: Path) -> None:
    reg = _users_registry()
    before = reg.snapshot()
    inst = _installer(reg, tmp_path)
    assert {s.state for s in inst.status()} == {"missing"}
    first = inst.install()
    assert len(first.changed) == 12
    after = reg.snapshot()
    second = inst.install()
    assert second.changed == () and reg.snapshot() == after
    assert {s.state for s in inst.status()} == {"installed"}
    inst.uninstall()
    assert reg.snapshot() == before
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*"))
    assert inst.uninstall().changed == ()
    assert reg.open_handles() == 0


def test_uninstall_on_an_empty_registry_removes_the_parents_it_created(tmp_path: Path) -> None:
    reg = FakeWinReg()
    inst = _installer(reg, tmp_path)
    inst.install()
    assert r"Software\Classes\Drive\shell" in reg.snapshot()
    inst.uninstall()
    assert reg.snapshot() == {"": {}}


def test_status_sees_a_changed_command(tmp_path: Path) -> None:
    reg = FakeWinReg()
    inst = _installer(reg, tmp_path)
    inst.install()
    h = reg.OpenKey(reg.HKEY_CURRENT_USER, verb_roots()[2] + r"\command")
    reg.SetValueEx(h, None, 0, reg.REG_SZ, '"C:\\old\\remedia.exe" sort "%1"')
    reg.CloseKey(h)
    states = [s.state for s in inst.status()]
    assert states == ["installed", "installed", "outdated"]


def _parse_reg(data: bytes) -> tuple[list[str], dict[str, dict[str | None, str]]]:
    """regedit's format: UTF-16 LE with BOM, CRLF, [key], @= or "name"= quoted strings."""
    assert data[:2] == b"\xff\xfe"
    text = data[2:].decode("utf-16-le")
    assert "\n" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    keys: dict[str, dict[str | None, str]] = {}
    deleted: list[str] = []
    current: dict[str | None, str] | None = None
    string = r'"((?:[^"\\]|\\.)*)"'
    for line in lines[1:]:
        if not line:
            continue
        if m := re.fullmatch(r"\[-(.+)\]", line):
            deleted.append(m.group(1))
        elif m := re.fullmatch(r"\[(.+)\]", line):
            current = keys.setdefault(m.group(1), {})
        else:
            m = re.fullmatch(rf"(@|{string})={string}", line)
            assert m and current is not None, line
            name = None if m.group(1) == "@" else re.sub(r"\\(.)", r"\1", m.group(2))
            current[name] = re.sub(r"\\(.)", r"\1", m.group(3))
    assert lines[0] == "Windows Registry Editor Version 5.00"
    return deleted, keys


def test_exported_reg_matches_what_the_writer_writes(tmp_path: Path) -> None:
    reg = FakeWinReg()
    inst = _installer(reg, tmp_path)
    inst.install()
    deleted, keys = _parse_reg(inst.export_reg(tmp_path / "remedia.reg").read_bytes())
    assert deleted == []
    written = {
        f"HKEY_CURRENT_USER\\{path}": {(k or None): v for k, v in values.items()}
        for path, values in reg.snapshot().items()
        if VERB in path
    }
    assert keys == written
    raw = (tmp_path / "remedia.reg").read_bytes()[2:].decode("utf-16-le")
    # Quoting inside the .reg text: backslashes doubled, quotes escaped, placeholder quoted.
    assert '@="\\"C:\\\\Users\\\\Zoë O\'Brien\\\\' in raw
    assert '-- \\"%1\\\\.\\""' in raw and '-- \\"%V\\\\.\\""' in raw


def test_exported_uninstall_reg_deletes_exactly_our_keys(tmp_path: Path) -> None:
    inst = _installer(FakeWinReg(), tmp_path)
    deleted, keys = _parse_reg(inst.export_reg(tmp_path / "u.reg", uninstall=True).read_bytes())
    assert keys == {}
    assert deleted == [f"HKEY_CURRENT_USER\\{r}" for r in verb_roots()]
    assert render_unreg().count("[-") == 3


@pytest.mark.parametrize("name", WINDOWS_NASTY)
def test_explorer_command_gives_each_folder_back_as_one_argument(name: str, tmp_path: Path) -> None:
    reg = FakeWinReg()
    _installer(reg, tmp_path).install()
    snap = reg.snapshot()
    for root in verb_roots():
        command = snap[rf"{root}\command"][""]
        placeholder = "%V" if "Background" in root else "%1"
        folder = f"C:\\Users\\Zoë O'Brien\\Pictures\\{name}"
        argv = windows_split(command.replace(placeholder, folder))
        assert argv[:6] == [PYTHONW, "-m", "remedia_tray", "sort", "--notify", "--"]
        assert len(argv) == 7 and PureWindowsPath(argv[6]) == PureWindowsPath(folder)


def test_windowless_launcher_prefers_pythonw(tmp_path: Path) -> None:
    scripts = tmp_path / "Scripts"
    scripts.mkdir()
    (scripts / "python.exe").write_bytes(b"")
    current = Launcher((str(scripts / "python.exe"), "-m", "remedia_tray"))
    assert windowless_launcher(current) == current  # no pythonw.exe: keep what works
    (scripts / "pythonw.exe").write_bytes(b"")
    assert windowless_launcher(current).argv == (str(scripts / "pythonw.exe"), "-m", "remedia_tray")


def test_the_icon_ships_with_the_package() -> None:
    from PIL import Image

    icon = Path(default_icon())
    assert icon.name == "remedia.ico" and icon.is_file()
    with Image.open(icon) as im:
        assert im.format == "ICO"
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(im.info["sizes"])


def test_a_frozen_build_uses_its_own_executable_as_the_icon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = tmp_path / "ReMedia" / "ReMedia.exe"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    assert default_icon() == str(exe)


def test_native_registry_is_refused_off_windows(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("this checks the message on other systems")
    from remedia_tray.integrations import IntegrationError

    inst = get_installer("windows", home=tmp_path, launcher=LAUNCHER, icon=ICON)
    with pytest.raises(IntegrationError, match="only reachable on Windows"):
        inst.install()
