"""How the click command is written down for each consumer (pure string functions).

Every entry runs the same argv: `<launcher> sort --notify -- <folder>...`. The folders are
only ever appended by the file manager as separate arguments; what differs per file
manager is how the fixed launcher part must be quoted so that its parser gives it back
unchanged:

- g_shell_parse_argv (Nemo, Thunar) and POSIX sh (Nautilus script, macOS Quick Action):
  single quotes, `shlex.quote`;
- the Desktop Entry Exec key (Dolphin): double quotes with `\\` escapes, `%%` for `%`;
- Windows CreateProcess/CommandLineToArgvW (Explorer): MSVCRT rules, `subprocess.list2cmdline`;
- GKeyFile values (.nemo_action, .desktop): `\\`, `\\n`, `\\t`, `\\r`, leading `\\s`.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence

from ..errors import RemediaError

SORT_ARGS = ("sort", "--notify", "--")

# Reserved characters of the Desktop Entry Specification ("The Exec key").
_DESKTOP_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


class IntegrationError(RemediaError):
    """An entry cannot be written safely for this launcher or file."""


def check_launcher(argv: Sequence[str]) -> None:
    """Refuse launcher paths that no menu format can carry unchanged."""
    if not argv or not argv[0]:
        raise IntegrationError("empty launcher command")
    for arg in argv:
        if any(ord(c) < 32 or c == "\x7f" for c in arg):
            raise IntegrationError(f"launcher argument has a control character: {arg!r}")


def sort_argv(launcher: Sequence[str]) -> tuple[str, ...]:
    """The command every entry runs, before the folders."""
    return (*launcher, *SORT_ARGS)


def sh_command(argv: Sequence[str]) -> str:
    """For POSIX sh and g_shell_parse_argv (both accept sh single quoting)."""
    return shlex.join(argv)


def no_percent(argv: Sequence[str], consumer: str) -> None:
    # Nemo and Thunar expand every %X in the line and have no escape for a literal %.
    for arg in argv:
        if "%" in arg:
            raise IntegrationError(
                f"{consumer} cannot run a launcher whose path contains '%': {arg}"
            )


def desktop_exec_arg(arg: str) -> str:
    """Quote one argument for a Desktop Entry Exec value (before key-file escaping)."""
    arg = arg.replace("%", "%%")
    if arg and not (_DESKTOP_RESERVED & set(arg)):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def desktop_exec(argv: Sequence[str], field_code: str | None = None) -> str:
    """An Exec value (before key-file escaping); `field_code` such as %F goes last."""
    return " ".join([*(desktop_exec_arg(a) for a in argv), *([field_code] if field_code else [])])


def keyfile_value(value: str) -> str:
    """Escape a string for a GKeyFile / Desktop Entry value."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    if out.startswith(" "):
        out = "\\s" + out[1:]
    return out


def keyfile_list(items: Sequence[str]) -> str:
    return "".join(keyfile_value(i).replace(";", "\\;") + ";" for i in items)


def windows_command(argv: Sequence[str], placeholder: str) -> str:
    r"""A command line for an Explorer verb: `"exe" args... "<placeholder>\."`.

    The program path is always quoted. `\.` follows the placeholder because Explorer hands a
    drive root over with a trailing backslash: `"C:\"` parses as `C:"` under the MSVCRT
    rules, while `"C:\\."` parses as `C:\\.`, which Windows path APIs and pathlib read as
    `C:\`; `"C:\Photos\."` likewise reads as `C:\Photos`.
    """
    exe, *rest = argv
    if '"' in exe:
        raise IntegrationError(f"a Windows program path cannot contain '\"': {exe}")
    parts = [f'"{exe}"']
    if rest:
        parts.append(subprocess.list2cmdline(rest))
    parts.append(f'"{placeholder}\\."')
    return " ".join(parts)
