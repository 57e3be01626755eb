"""The launcher part of every entry survives each consumer's parser unchanged."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path, PureWindowsPath

import pytest

from remedia_tray.integrations.commands import (
    IntegrationError,
    check_launcher,
    desktop_exec,
    keyfile_value,
    no_percent,
    sh_command,
    sort_argv,
    windows_command,
)

from .helpers import NASTY, WINDOWS_NASTY, desktop_argv, glib, windows_split

LAUNCHERS = (
    ("/usr/bin/python3", "-m", "remedia_tray"),
    ("/home/Zoë O'Brien/my venv/bin/python", "-m", "remedia_tray"),
    ('/opt/we"ird $HOME `x` ;&|/bin/python', "-m", "remedia_tray"),
    ("/opt/back\\slash/100%/remedia",),
)


def test_sort_argv_ends_options_before_the_folders() -> None:
    assert sort_argv(("/x/python", "-m", "remedia_tray")) == (
        "/x/python", "-m", "remedia_tray", "sort", "--notify", "--",
    )  # fmt: skip


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_sh_command_round_trips_through_sh_and_glib(launcher: tuple[str, ...]) -> None:
    argv = list(sort_argv(launcher))
    line = sh_command(argv)
    assert shlex.split(line) == argv
    ok, parsed = glib().shell_parse_argv(line)
    assert ok and list(parsed) == argv
    out = subprocess.run(
        ["/bin/sh", "-c", f"printf '%s\\0' {line}"], capture_output=True, check=True
    ).stdout
    assert out.decode().split("\0")[:-1] == argv


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_desktop_exec_round_trips_through_a_key_file(
    launcher: tuple[str, ...], tmp_path: Path
) -> None:
    argv = list(sort_argv(launcher))
    entry = tmp_path / "x.desktop"
    entry.write_text(f"[Desktop Entry]\nExec={keyfile_value(desktop_exec(argv, '%F'))}\n")
    GLib = glib()
    kf = GLib.KeyFile()
    kf.load_from_file(str(entry), GLib.KeyFileFlags.NONE)
    exec_value = kf.get_string("Desktop Entry", "Exec")
    assert desktop_argv(exec_value, ["/p/a b", "/p/c"]) == [*argv, "/p/a b", "/p/c"]


def test_keyfile_value_escapes_what_glib_unescapes(tmp_path: Path) -> None:
    value = " lead\\ back\tslash\nnew\rline"
    f = tmp_path / "k.ini"
    f.write_text(f"[g]\nk={keyfile_value(value)}\n")
    GLib = glib()
    kf = GLib.KeyFile()
    kf.load_from_file(str(f), GLib.KeyFileFlags.NONE)
    assert kf.get_string("g", "k") == value


@pytest.mark.parametrize("placeholder", ["%1", "%V"])
@pytest.mark.parametrize(
    "folder",
    [
        "C:\\",
        "D:\\",
        "C:\\Photos",
        "C:\\Users\\Zoë O'Brien\\Pictures\\Holiday 2024",
        *(f"C:\\Users\\me\\{name}" for name in WINDOWS_NASTY),
        "\\\\server\\share\\photos",
    ],
)
def test_windows_command_gives_back_the_folder(placeholder: str, folder: str) -> None:
    exe = "C:\\Users\\Zoë O'Brien\\AppData\\Local\\ReMedia\\venv\\Scripts\\pythonw.exe"
    line = windows_command((exe, "-m", "remedia_tray", "sort", "--notify", "--"), placeholder)
    assert line.startswith(f'"{exe}" -m remedia_tray sort --notify -- "{placeholder}')
    # What Explorer does: substitute, then the new process splits its command line.
    argv = windows_split(line.replace(placeholder, folder))
    assert argv[:6] == [exe, "-m", "remedia_tray", "sort", "--notify", "--"]
    assert len(argv) == 7
    assert PureWindowsPath(argv[6]) == PureWindowsPath(folder)


def test_plain_quoting_would_break_drive_roots() -> None:
    # Why windows_command appends "\.": the naive form turns C:\ into C:" .
    assert windows_split('"C:\\py.exe" sort -- "C:\\"') == ["C:\\py.exe", "sort", "--", 'C:"']


def test_unusable_launchers_are_refused() -> None:
    with pytest.raises(IntegrationError):
        check_launcher(())
    with pytest.raises(IntegrationError):
        check_launcher(("/opt/new\nline/python",))
    with pytest.raises(IntegrationError):
        no_percent(("/opt/100%/python",), "Nemo")
    with pytest.raises(IntegrationError):
        windows_command(('C:\\a"b\\python.exe',), "%1")


def test_nasty_names_are_distinct() -> None:
    assert len(set(NASTY)) == len(NASTY)
