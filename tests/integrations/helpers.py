"""Shared by the context-menu tests: hostile folder names, a real photo folder, and the way
each file manager turns an entry's command line plus the selected folders into a process.

The expanders follow the file managers' own code (read for Nemo 5.6 nemo-action.c, Thunar
thunar-uca-model.c, GLib gdesktopappinfo.c, Windows CommandLineToArgvW) and use GLib's own
parser where the file manager does; tests/desktop/test_file_managers.py checks the real
programs with the same names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from remedia_tray.integrations import Launcher

from ..conftest import photo

HERE = Path(__file__).resolve().parent
RECORDER = HERE / "record_argv.py"

INJECTION = "a'\"; touch PWNED; $(touch PWNED2)"
# One argument each, whatever a shell or parser would make of them.
NASTY = (
    INJECTION,
    "with  two spaces",
    'it\'s "quoted"',
    "`touch PWNED3`",
    "semi;colon & amp | pipe > gt < lt",
    "Zoë Ωμέγα 写真 🙂",
    "new\nline",
    "-rf --notify",
    "%F %U %% %f %P 100%",
    "back\\slash\\",
    "$HOME ${PATH} $(id)",
    "tab\there",
    "~",
    "*?[a]",
)
# Windows forbids " * ? < > | and control characters in names.
WINDOWS_NASTY = (
    "a'; touch PWNED; $(touch PWNED2)",
    "with  two spaces",
    "it's",
    "`touch PWNED3`",
    "semi;colon & amp ^ caret",
    "Zoë Ωμέγα 写真 🙂",
    "-rf --notify",
    "%1 %V %% 100%",
    "$HOME $(id)",
)
PWNED = ("PWNED", "PWNED2", "PWNED3")


def needs_gi() -> None:
    pytest.importorskip("gi", reason="PyGObject (GLib's parsers) is not installed")


def glib() -> Any:
    needs_gi()
    from gi.repository import GLib

    return GLib


def recorder(log: Path, *, run: bool = False) -> Launcher:
    """A launcher that records the argv it gets (and with run=True then really sorts)."""
    return Launcher((sys.executable, str(RECORDER), *(["--run"] if run else []), str(log)))


def recorded(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return [entry["argv"] for entry in lines if "argv" in entry]


def photo_folder(parent: Path, name: str, picture: str = "sunset") -> Path:
    """A folder holding a real photo and a byte-identical copy: one duplicate to sort."""
    folder = parent / name
    folder.mkdir(parents=True)
    shutil.copyfile(photo(picture), folder / f"{picture}.jpg")
    shutil.copyfile(photo(picture), folder / f"{picture} copy.jpg")
    return folder


def assert_sorted(folder: Path, picture: str = "sunset") -> None:
    """The copy went to duplicates/, the original stayed."""
    moved = sorted(p.name for p in (folder / "duplicates").rglob("*.jpg"))
    left = sorted(p.name for p in folder.glob("*.jpg"))
    assert len(moved) == 1 and len(left) == 1, (moved, left)
    assert {moved[0], left[0]} == {f"{picture}.jpg", f"{picture} copy.jpg"}


def assert_no_pwned(*trees: Path) -> None:
    """No PWNED file in the test's trees, nor where a stray `touch` would have put it."""
    shallow = {Path.cwd(), Path.home(), Path(os.environ.get("TMPDIR", "/tmp")), Path("/tmp")}
    found = [p for t in trees for name in PWNED for p in t.rglob(name)]
    found += [d / n for d in shallow | set(trees) for n in PWNED if (d / n).exists()]
    assert not found, f"a shell ran part of a folder name: {found}"


# -- how each file manager runs an entry --------------------------------------------------------
def nemo_argv(exec_line: str, selection: Sequence[str], parent: str) -> list[str]:
    """Nemo 5.6 (Quote=double): each path in "" with " and \\ escaped, then g_shell_parse_argv."""

    def quoted(p: str) -> str:
        return '"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def token(m: re.Match[str]) -> str:
        code = m.group(0)
        if code == "%F":
            return " ".join(quoted(p) for p in selection) if selection else quoted(parent)
        if code == "%P":
            return quoted(parent)
        raise AssertionError(f"unexpected token {code}")

    line = re.sub(r"%[FP]", token, exec_line)
    ok, argv = glib().shell_parse_argv(line)
    assert ok
    return list(argv)


def thunar_argv(command: str, selection: Sequence[str]) -> list[str]:
    """Thunar 4.18: %F -> g_shell_quote'd paths, %% -> %, then /bin/sh -c LINE."""
    GLib = glib()

    def token(m: re.Match[str]) -> str:
        code = m.group(1)
        if code == "F":
            return " ".join(GLib.shell_quote(p) for p in selection)
        return "%" if code == "%" else ""

    return ["/bin/sh", "-c", re.sub(r"%(.)", token, command)]


def desktop_argv(exec_value: str, selection: Sequence[str]) -> list[str]:
    """Desktop Entry Exec (GLib's and KIO's way): %F -> quoted paths, %% -> %, then split."""
    GLib = glib()

    def token(m: re.Match[str]) -> str:
        code = m.group(1)
        if code == "F":
            return " ".join(GLib.shell_quote(p) for p in selection)
        return "%" if code == "%" else ""

    ok, argv = GLib.shell_parse_argv(re.sub(r"%(.)", token, exec_value))
    assert ok
    return list(argv)


def keyfile_get(path: Path, group: str, key: str) -> str:
    """A value as GLib's key-file parser (which Nemo, GLib and KDE all follow) reads it."""
    GLib = glib()
    kf = GLib.KeyFile()
    kf.load_from_file(str(path), GLib.KeyFileFlags.NONE)
    return str(kf.get_string(group, key))


def windows_split(cmdline: str) -> list[str]:
    """CommandLineToArgvW / MSVCRT rules, as a Windows process reads its command line."""
    args: list[str] = []
    i, n = 0, len(cmdline)
    # argv[0]: quoted up to the next quote, else up to whitespace; no escapes.
    if cmdline.startswith('"'):
        end = cmdline.index('"', 1)
        args.append(cmdline[1:end])
        i = end + 1
    else:
        while i < n and cmdline[i] not in " \t":
            i += 1
        args.append(cmdline[:i])
    while True:
        while i < n and cmdline[i] in " \t":
            i += 1
        if i >= n:
            return args
        arg, quoted = [], False
        while i < n and (quoted or cmdline[i] not in " \t"):
            if cmdline[i] == "\\":
                j = i
                while j < n and cmdline[j] == "\\":
                    j += 1
                if j < n and cmdline[j] == '"':
                    arg.append("\\" * ((j - i) // 2))
                    if (j - i) % 2:
                        arg.append('"')
                        i = j + 1
                    else:
                        i = j
                    continue
                arg.append("\\" * (j - i))
                i = j
            elif cmdline[i] == '"':
                if quoted and i + 1 < n and cmdline[i + 1] == '"':
                    arg.append('"')
                    i += 2
                    continue
                quoted = not quoted
                i += 1
            else:
                arg.append(cmdline[i])
                i += 1
        args.append("".join(arg))
