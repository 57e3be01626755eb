"""Linux file managers: Nautilus (extension, or script fallback), Nemo, Thunar, Dolphin.

Everything goes under the user's XDG folders; nothing needs root. How each file manager
turns its placeholder into arguments (checked with the real programs, see
tests/desktop/test_file_managers.py):

- Nautilus extension: our Python code gets the folders and starts the argv itself.
- Nautilus script: the selection arrives in "$@".
- Nemo 5.6: `%F`/`%P` become paths wrapped in `"` (Quote=double) with `"` and `\\` escaped,
  then g_shell_parse_argv (no shell) splits the line.
- Thunar 4.18: `%F` becomes g_shell_quote'd paths and the line runs under `/bin/sh -c`.
- Dolphin (KIO): Desktop Entry Exec rules, paths quoted by KIO itself.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from .base import LABEL, TIP, ChangeReport, EntryStatus, Launcher, Platform
from .commands import (
    IntegrationError,
    check_launcher,
    desktop_exec,
    keyfile_list,
    keyfile_value,
    no_percent,
    sh_command,
    sort_argv,
)
from .userfiles import FileSpec, MergeSpec, UserFiles

Target = Literal["nautilus", "nautilus-script", "nemo", "thunar", "dolphin"]
TARGETS: tuple[Target, ...] = ("nautilus", "nautilus-script", "nemo", "thunar", "dolphin")
ICON = "folder-pictures"
THUNAR_ID = "remedia-sort-with-remedia"
DOLPHIN_ACTION = "sortWithReMedia"
_THUNAR_MINIMAL = '<?xml version="1.0" encoding="UTF-8"?>\n<actions>\n</actions>\n'

# Where distributions put nautilus-python's loader (Debian, Fedora, Arch, openSUSE).
_NAUTILUS_PYTHON_GLOBS = (
    "usr/lib/*/nautilus/extensions-*/libnautilus-python.so",
    "usr/lib*/nautilus/extensions-*/libnautilus-python.so",
)


def template(name: str) -> str:
    return (resources.files(__package__) / "templates" / name).read_text(encoding="utf-8")


# -- renderers (pure) -----------------------------------------------------------------------
def nautilus_extension(command: Sequence[str]) -> str:
    text, n = re.subn(
        r"^REMEDIA_COMMAND: list\[str\] = .*$",
        lambda _m: f"REMEDIA_COMMAND: list[str] = {list(command)!r}",
        template("remedia_nautilus.py"),
        count=1,
        flags=re.M,
    )
    if n != 1:
        raise IntegrationError("the Nautilus template lost its REMEDIA_COMMAND line")
    return text


def nautilus_script(command: Sequence[str]) -> str:
    return template("nautilus_script.sh").replace("@REMEDIA_COMMAND@", sh_command(command))


def nemo_actions(command: Sequence[str]) -> dict[str, str]:
    """File name -> content: one action for selected folders, one for the background."""
    no_percent(command, "Nemo")
    line = sh_command(command)

    def action(selection: str, extensions: str, code: str, comment: str) -> str:
        return (
            "[Nemo Action]\n"
            f"Name={keyfile_value(LABEL)}\n"
            f"Comment={keyfile_value(comment)}\n"
            f"Exec={keyfile_value(f'{line} {code}')}\n"
            f"Icon-Name={ICON}\n"
            f"Selection={selection}\n"
            f"Extensions={extensions}\n"
            # Nemo wraps each path in "" and escapes " and \ in it: one argument each.
            "Quote=double\n"
            f"Dependencies={keyfile_list([command[0]])}\n"
        )

    return {
        "remedia-sort.nemo_action": action("notnone", "dir;", "%F", TIP),
        "remedia-sort-here.nemo_action": action(
            "none", "any;", "%P", "Sort the photos in the folder shown"
        ),
    }


def thunar_action(command: Sequence[str]) -> str:
    # Thunar expands %X itself (%% is a literal %) and runs the line with /bin/sh -c.
    line = sh_command([a.replace("%", "%%") for a in command]) + " %F"
    return (
        "<action>\n"
        f"\t<icon>{ICON}</icon>\n"
        f"\t<name>{escape(LABEL)}</name>\n"
        "\t<submenu></submenu>\n"
        f"\t<unique-id>{THUNAR_ID}</unique-id>\n"
        f"\t<command>{escape(line)}</command>\n"
        f"\t<description>{escape(TIP)}</description>\n"
        "\t<range>*</range>\n"
        "\t<patterns>*</patterns>\n"
        "\t<directories/>\n"
        "</action>\n"
    )


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_ACTION = re.compile(r"[ \t]*<action>(?:(?!</action>).)*</action>[ \t]*\n?", re.S)


def thunar_remove(text: str, command: Sequence[str] | None = None) -> str:
    """Take our action out of a uca.xml text, byte for byte leaving the rest."""
    ours_cmd = None
    if command is not None:
        line = sh_command([a.replace("%", "%%") for a in command]) + " %F"
        ours_cmd = f"<command>{escape(line)}</command>"

    def keep(m: re.Match[str]) -> str:
        block = m.group(0)
        if re.search(r"<unique-id>\s*" + re.escape(THUNAR_ID) + r"\s*</unique-id>", block):
            return ""
        # Older Thunar versions rewrite the file without unique ids: match our command.
        if ours_cmd is not None and ours_cmd in block and f"<name>{escape(LABEL)}</name>" in block:
            return ""
        return block

    return _ACTION.sub(keep, text)


def thunar_add(text: str, command: Sequence[str]) -> str:
    """Add (or update) our action before </actions>, keeping the user's actions."""
    try:
        # Thunar itself writes `<?xml encoding=... version=...?>`, which GMarkup accepts
        # and expat does not: check the elements, not the declaration.
        root = ET.fromstring(_XML_DECL.sub("", text, count=1).encode("utf-8"))
    except ET.ParseError as exc:
        raise IntegrationError(
            f"Thunar's uca.xml is not valid XML ({exc}); left unchanged"
        ) from None
    if root.tag != "actions":
        raise IntegrationError("Thunar's uca.xml has no <actions> root; left unchanged")
    stripped = thunar_remove(text, command)
    end = stripped.rfind("</actions>")
    if end < 0:
        raise IntegrationError("Thunar's uca.xml has no closing </actions>; left unchanged")
    lead = "" if stripped[:end].endswith("\n") else "\n"
    new = stripped[:end] + lead + thunar_action(command) + stripped[end:]
    return text if new == text else new


def dolphin_service_menu(command: Sequence[str]) -> str:
    # Type=Application (not KDE's old Type=Service) so desktop-file-validate accepts it;
    # Dolphin 22.12 (KF 5.103) shows both kinds. NoDisplay keeps it out of app menus.
    exec_line = keyfile_value(desktop_exec(command, "%F"))
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        f"Name={keyfile_value(LABEL)}\n"
        f"Comment={keyfile_value(TIP)}\n"
        f"Icon={ICON}\n"
        f"Exec={exec_line}\n"
        "NoDisplay=true\n"
        "MimeType=inode/directory;\n"
        f"Actions={DOLPHIN_ACTION};\n"
        "X-KDE-Priority=TopLevel\n"
        "X-KDE-StartupNotify=false\n"
        "\n"
        f"[Desktop Action {DOLPHIN_ACTION}]\n"
        f"Name={keyfile_value(LABEL)}\n"
        f"Icon={ICON}\n"
        f"Exec={exec_line}\n"
    )


# -- detection ------------------------------------------------------------------------------
def has_nautilus_python(root: Path = Path("/")) -> bool:
    return any(glob.glob(str(root / pattern)) for pattern in _NAUTILUS_PYTHON_GLOBS)


def detect(
    which: Callable[[str], str | None] = shutil.which,
    nautilus_python: Callable[[], bool] = has_nautilus_python,
    *,
    everything: bool = False,
) -> tuple[Target, ...]:
    """The entries that fit this system (`everything`: for every file manager we know)."""
    found: list[Target] = []
    if everything or which("nautilus"):
        found.append("nautilus" if nautilus_python() else "nautilus-script")
    for name in ("nemo", "thunar", "dolphin"):
        if everything or which(name):
            found.append(name)
    return tuple(found)


# -- installer ------------------------------------------------------------------------------
class LinuxInstaller:
    platform: Platform = "linux"

    def __init__(
        self,
        *,
        home: Path | None = None,
        env: Mapping[str, str] | None = None,
        launcher: Launcher | None = None,
        targets: Sequence[Target] | None = None,
        everything: bool = False,
    ) -> None:
        self.home = Path(home) if home is not None else Path.home()
        if env is None:
            env = os.environ if home is None else {}
        self.data_home = _xdg(env, "XDG_DATA_HOME", self.home / ".local" / "share")
        self.config_home = _xdg(env, "XDG_CONFIG_HOME", self.home / ".config")
        self.config_dirs = [
            Path(p) for p in env.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":") if p.startswith("/")
        ] or [Path("/etc/xdg")]
        self.launcher = launcher or Launcher.current()
        check_launcher(self.launcher.argv)
        self.command = sort_argv(self.launcher.argv)
        self.targets = tuple(targets) if targets is not None else detect(everything=everything)
        self.files = UserFiles(self.data_home / "ReMedia" / "integrations.json")

    # paths
    @property
    def nautilus_extension_path(self) -> Path:
        return self.data_home / "nautilus-python" / "extensions" / "remedia_sort.py"

    @property
    def nautilus_script_path(self) -> Path:
        return self.data_home / "nautilus" / "scripts" / LABEL

    @property
    def nemo_dir(self) -> Path:
        return self.data_home / "nemo" / "actions"

    @property
    def thunar_path(self) -> Path:
        return self.config_home / "Thunar" / "uca.xml"

    @property
    def dolphin_path(self) -> Path:
        return self.data_home / "kio" / "servicemenus" / "remedia-sort.desktop"

    def _thunar_initial(self) -> str:
        # Once a user uca.xml exists Thunar stops reading the system one: start from a copy.
        for d in self.config_dirs:
            try:
                return (d / "Thunar" / "uca.xml").read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
        return _THUNAR_MINIMAL

    def _thunar_spec(self) -> MergeSpec:
        return MergeSpec(
            self.thunar_path,
            add=lambda text: thunar_add(text, self.command),
            remove=lambda text: thunar_remove(text, self.command),
            initial=self._thunar_initial,
        )

    def _specs(self, target: Target) -> tuple[list[FileSpec], list[MergeSpec]]:
        if target == "nautilus":
            return [
                FileSpec(self.nautilus_extension_path, _b(nautilus_extension(self.command)))
            ], []
        if target == "nautilus-script":
            return [
                FileSpec(self.nautilus_script_path, _b(nautilus_script(self.command)), 0o755)
            ], []
        if target == "nemo":
            actions = nemo_actions(self.command)
            return [FileSpec(self.nemo_dir / n, _b(t)) for n, t in actions.items()], []
        if target == "thunar":
            return [], [self._thunar_spec()]
        # Recent KDE Frameworks only run service menus that are executable.
        return [FileSpec(self.dolphin_path, _b(dolphin_service_menu(self.command)), 0o755)], []

    def install(self) -> ChangeReport:
        files: list[FileSpec] = []
        merges: list[MergeSpec] = []
        skipped: list[str] = []
        for t in self.targets:
            try:
                f, m = self._specs(t)
                for spec in m:  # a merge that cannot be done must not stop the others
                    current = spec.path.read_text("utf-8") if spec.path.exists() else None
                    spec.add(current if current is not None else spec.initial())
            except (IntegrationError, OSError, UnicodeDecodeError) as exc:
                skipped.append(f"skipped {t}: {exc}")
                continue
            files += f
            merges += m
        changed, unchanged = self.files.sync(files, merges)
        notes = (*skipped, *self._notes(changed))
        return ChangeReport("install", tuple(changed), tuple(unchanged), notes)

    def uninstall(self) -> ChangeReport:
        changed, unchanged = self.files.remove_all([self._thunar_spec()])
        return ChangeReport("uninstall", tuple(changed), tuple(unchanged))

    def status(self) -> tuple[EntryStatus, ...]:
        out: list[EntryStatus] = []
        for t in TARGETS:
            try:
                files, merges = self._specs(t)
            except IntegrationError as exc:
                out.append(EntryStatus(t, "unavailable", (), str(exc)))
                continue
            states = [UserFiles.state(f) for f in files] + [
                self.files.merge_state(m) for m in merges
            ]
            locations = tuple(str(f.path) for f in files) + tuple(str(m.path) for m in merges)
            state = _combine(states)
            detail = "" if t in self.targets else "not selected on this system"
            out.append(EntryStatus(t, state, locations, detail))
        return tuple(out)

    def _notes(self, changed: Sequence[str]) -> tuple[str, ...]:
        notes = []
        if str(self.nautilus_extension_path) in changed:
            notes.append("Nautilus loads extensions at start: run `nautilus -q` once")
        if str(self.thunar_path) in changed:
            notes.append("Thunar reads its custom actions at start: run `thunar -q` once")
        if "nautilus-script" in self.targets:
            notes.append(
                "python3-nautilus (nautilus-python) is not installed: the entry is under "
                "Scripts in Nautilus; install it and run `remedia integrate install` again"
            )
        return tuple(notes)


def _combine(states: Sequence[str]) -> Literal["installed", "outdated", "missing"]:
    if states and all(s == "installed" for s in states):
        return "installed"
    if all(s == "missing" for s in states):
        return "missing"
    return "outdated"


def _xdg(env: Mapping[str, str], name: str, default: Path) -> Path:
    value = env.get(name, "")
    return Path(value) if value.startswith("/") else default


def _b(text: str) -> bytes:
    return text.encode("utf-8")
