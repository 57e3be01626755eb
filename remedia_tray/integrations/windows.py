r"""Windows Explorer: per-user verbs under HKCU\Software\Classes (no admin rights).

Folders (`Directory\shell`), the folder background (`Directory\Background\shell`, where
`%1` is undefined and `%V` is the folder) and drives (`Drive\shell`) each get a
`ReMedia.Sort` verb, the same layout VS Code's user installer uses. The command starts a
windowless interpreter (pythonw.exe), so no console flashes per click. Explorer starts one
process per selected folder (static verbs); the single-instance hand-off turns them into
one batch. Windows 11 lists the verbs under "Show more options".

The registry is reached through `WinReg`, which the `winreg` module satisfies; tests pass
a fake. The same entries render as a .reg file for manual import or inspection.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from .base import LABEL, ChangeReport, EntryStatus, Launcher, Platform, State
from .commands import IntegrationError, check_launcher, sort_argv, windows_command
from .userfiles import UserFiles, write_atomic

CLASSES = r"Software\Classes"
VERB = "ReMedia.Sort"
HKCU = "HKEY_CURRENT_USER"
# (shell key, placeholder Explorer fills in)
VERBS = (
    (r"Directory\shell", "%1"),
    (r"Directory\Background\shell", "%V"),
    (r"Drive\shell", "%1"),
)


class WinReg(Protocol):
    """The part of the `winreg` module we use."""

    HKEY_CURRENT_USER: int
    KEY_READ: int
    KEY_WRITE: int
    REG_SZ: int

    def CreateKeyEx(
        self, key: Any, sub_key: str, reserved: int = ..., access: int = ...
    ) -> Any: ...

    def OpenKey(self, key: Any, sub_key: str, reserved: int = ..., access: int = ...) -> Any: ...

    def SetValueEx(
        self, key: Any, value_name: str | None, reserved: int, type: int, value: str
    ) -> None: ...

    def QueryValueEx(self, key: Any, value_name: str | None) -> tuple[Any, int]: ...

    def QueryInfoKey(self, key: Any) -> tuple[int, int, int]: ...

    def EnumKey(self, key: Any, index: int) -> str: ...

    def DeleteKey(self, key: Any, sub_key: str) -> None: ...

    def CloseKey(self, hkey: Any) -> None: ...


@dataclass(frozen=True)
class RegKey:
    """A key below HKCU and its string values (name None = the key's default value)."""

    path: str
    values: tuple[tuple[str | None, str], ...]


def verb_roots() -> tuple[str, ...]:
    return tuple(rf"{CLASSES}\{shell}\{VERB}" for shell, _ in VERBS)


def registry_entries(command: Sequence[str], icon: str) -> tuple[RegKey, ...]:
    keys: list[RegKey] = []
    for (_, placeholder), root in zip(VERBS, verb_roots()):
        keys.append(
            RegKey(
                root,
                (
                    (None, LABEL),
                    ("Icon", icon),
                    # Up to 100 selected folders instead of 15 before Explorer hides the verb.
                    ("MultiSelectModel", "Player"),
                ),
            )
        )
        keys.append(RegKey(rf"{root}\command", ((None, windows_command(command, placeholder)),)))
    return tuple(keys)


def _reg_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_reg(keys: Sequence[RegKey]) -> str:
    """regedit's text format (write it with `write_reg`: UTF-16 with BOM, CRLF)."""
    lines = ["Windows Registry Editor Version 5.00", ""]
    for key in keys:
        lines.append(f"[{HKCU}\\{key.path}]")
        for name, value in key.values:
            lines.append(f"{'@' if name is None else _reg_string(name)}={_reg_string(value)}")
        lines.append("")
    return "\r\n".join(lines) + "\r\n"


def render_unreg() -> str:
    lines = ["Windows Registry Editor Version 5.00", ""]
    for root in verb_roots():
        lines += [f"[-{HKCU}\\{root}]", ""]
    return "\r\n".join(lines) + "\r\n"


def write_reg(path: Path, text: str) -> None:
    write_atomic(path, b"\xff\xfe" + text.encode("utf-16-le"), 0o644)


def windowless_launcher(current: Launcher | None = None) -> Launcher:
    """pythonw.exe beside python.exe (a venv has both), else the launcher as it is."""
    current = current or Launcher.current()
    exe = Path(current.argv[0])
    if exe.name.lower() == "python.exe" and (exe.parent / "pythonw.exe").exists():
        return Launcher((str(exe.parent / "pythonw.exe"), *current.argv[1:]))
    return current


def default_icon() -> str:
    """The menu entry's icon: the frozen executable's own, else the packaged .ico."""
    if getattr(sys, "frozen", False):
        return os.path.abspath(sys.executable)
    return str(resources.files("remedia_tray") / "assets" / "remedia.ico")


class RegistryWriter:
    """Writes and deletes keys below HKCU through an injected `winreg`."""

    def __init__(self, reg: WinReg) -> None:
        self.reg = reg

    def exists(self, path: str) -> bool:
        try:
            self.reg.CloseKey(
                self.reg.OpenKey(self.reg.HKEY_CURRENT_USER, path, 0, self.reg.KEY_READ)
            )
        except OSError:
            return False
        return True

    def value(self, path: str, name: str | None) -> str | None:
        try:
            key = self.reg.OpenKey(self.reg.HKEY_CURRENT_USER, path, 0, self.reg.KEY_READ)
        except OSError:
            return None
        try:
            value, kind = self.reg.QueryValueEx(key, name)
        except OSError:
            return None
        finally:
            self.reg.CloseKey(key)
        return value if kind == self.reg.REG_SZ and isinstance(value, str) else None

    def ensure(self, path: str) -> list[str]:
        """Create `path` and any missing parents; returns the keys that were new."""
        parts = path.split("\\")
        created = [
            "\\".join(parts[:i])
            for i in range(1, len(parts) + 1)
            if not self.exists("\\".join(parts[:i]))
        ]
        self.reg.CloseKey(
            self.reg.CreateKeyEx(self.reg.HKEY_CURRENT_USER, path, 0, self.reg.KEY_WRITE)
        )
        return created

    def set(self, path: str, name: str | None, value: str) -> None:
        key = self.reg.CreateKeyEx(self.reg.HKEY_CURRENT_USER, path, 0, self.reg.KEY_WRITE)
        try:
            self.reg.SetValueEx(key, name, 0, self.reg.REG_SZ, value)
        finally:
            self.reg.CloseKey(key)

    def _subkeys(self, path: str) -> list[str]:
        key = self.reg.OpenKey(self.reg.HKEY_CURRENT_USER, path, 0, self.reg.KEY_READ)
        try:
            count = self.reg.QueryInfoKey(key)[0]
            return [self.reg.EnumKey(key, i) for i in range(count)]
        finally:
            self.reg.CloseKey(key)

    def delete_tree(self, path: str) -> bool:
        """Depth first: DeleteKey refuses keys that still have subkeys."""
        if not self.exists(path):
            return False
        for sub in self._subkeys(path):
            self.delete_tree(f"{path}\\{sub}")
        parent, _, name = path.rpartition("\\")
        key = self.reg.OpenKey(self.reg.HKEY_CURRENT_USER, parent, 0, self.reg.KEY_WRITE)
        try:
            self.reg.DeleteKey(key, name)
        finally:
            self.reg.CloseKey(key)
        return True

    def delete_if_empty(self, path: str) -> bool:
        if not self.exists(path):
            return False
        key = self.reg.OpenKey(self.reg.HKEY_CURRENT_USER, path, 0, self.reg.KEY_READ)
        try:
            subkeys, values, _ = self.reg.QueryInfoKey(key)
        finally:
            self.reg.CloseKey(key)
        return subkeys == 0 and values == 0 and self.delete_tree(path)


def _native_winreg() -> WinReg:
    if sys.platform != "win32":
        raise IntegrationError("the Windows registry is only reachable on Windows; use a .reg file")
    import winreg

    return winreg


class WindowsInstaller:
    platform: Platform = "windows"

    def __init__(
        self,
        *,
        home: Path | None = None,
        env: Mapping[str, str] | None = None,
        launcher: Launcher | None = None,
        registry: WinReg | None = None,
        icon: str | None = None,
    ) -> None:
        home_path = Path(home) if home is not None else Path.home()
        environ = dict(env) if env is not None else (dict(os.environ) if home is None else {})
        local = environ.get("LOCALAPPDATA")
        appdata = Path(local) if local else home_path / "AppData" / "Local"
        self.launcher = launcher or windowless_launcher()
        check_launcher(self.launcher.argv)
        self.command = sort_argv(self.launcher.argv)
        self.icon = icon if icon is not None else default_icon()
        self._registry = registry
        self.files = UserFiles(appdata / "ReMedia" / "integrations.json")

    @property
    def writer(self) -> RegistryWriter:
        if self._registry is None:
            self._registry = _native_winreg()
        return RegistryWriter(self._registry)

    def entries(self) -> tuple[RegKey, ...]:
        return registry_entries(self.command, self.icon)

    def install(self) -> ChangeReport:
        w = self.writer
        changed: list[str] = []
        unchanged: list[str] = []
        created: list[str] = list(self.files.extra.get("registry_created", []))
        roots = verb_roots()
        for key in self.entries():
            for new in w.ensure(key.path):
                # Our own verb keys go with delete_tree; remember only shared parents we made.
                if (
                    not any(new == r or new.startswith(r + "\\") for r in roots)
                    and new not in created
                ):
                    created.append(new)
            for name, value in key.values:
                label = f"HKCU\\{key.path}" + (f" [{name}]" if name else "")
                if w.value(key.path, name) == value:
                    unchanged.append(label)
                else:
                    w.set(key.path, name, value)
                    changed.append(label)
        self.files.extra["registry_created"] = created
        self.files.save()
        return ChangeReport("install", tuple(changed), tuple(unchanged))

    def uninstall(self) -> ChangeReport:
        w = self.writer
        changed: list[str] = []
        unchanged: list[str] = []
        for root in verb_roots():
            (changed if w.delete_tree(root) else unchanged).append(f"HKCU\\{root}")
        for key in sorted(
            self.files.extra.get("registry_created", []), key=lambda k: -k.count("\\")
        ):
            if w.delete_if_empty(key):
                changed.append(f"HKCU\\{key}")
        self.files.extra.pop("registry_created", None)
        c, u = self.files.remove_all([])
        return ChangeReport("uninstall", tuple(changed + c), tuple(unchanged + u))

    def status(self) -> tuple[EntryStatus, ...]:
        w = self.writer
        entries = self.entries()
        out = []
        for shell_key, root in zip((s for s, _ in VERBS), verb_roots()):
            keys = [k for k in entries if k.path == root or k.path.startswith(root + "\\")]
            found = [w.value(k.path, n) == v for k in keys for n, v in k.values]
            state: State = (
                "installed" if all(found) else ("outdated" if w.exists(root) else "missing")
            )
            out.append(EntryStatus(f"explorer ({shell_key})", state, (f"HKCU\\{root}",)))
        return tuple(out)

    def export_reg(self, path: Path, *, uninstall: bool = False) -> Path:
        write_reg(path, render_unreg() if uninstall else render_reg(self.entries()))
        return path
