"""Linux entries (Nemo, Thunar, Dolphin, Nautilus script): valid files, exact arguments, no shell.

Each entry's command is read back out of the generated file, expanded the way its file
manager does (helpers.py), and run: hostile folder names must reach remedia as one argument
each, a single invocation per selection, and a folder named like a shell command must be
sorted without anything else running.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from remedia_tray.integrations import Launcher
from remedia_tray.integrations.linux import (
    DOLPHIN_ACTION,
    THUNAR_ID,
    LinuxInstaller,
    Target,
    detect,
    thunar_add,
    thunar_remove,
)

from .helpers import (
    NASTY,
    assert_no_pwned,
    desktop_argv,
    keyfile_get,
    nemo_argv,
    recorded,
    recorder,
    thunar_argv,
)

# (entry, "selection" or "background") -> argv the file manager would start
Runner = Callable[[LinuxInstaller, Sequence[Path], Path], list[str]]


def _nemo_selection(inst: LinuxInstaller, sel: Sequence[Path], shown: Path) -> list[str]:
    exec_line = keyfile_get(inst.nemo_dir / "remedia-sort.nemo_action", "Nemo Action", "Exec")
    return nemo_argv(exec_line, [str(p) for p in sel], str(shown))


def _nemo_background(inst: LinuxInstaller, sel: Sequence[Path], shown: Path) -> list[str]:
    exec_line = keyfile_get(inst.nemo_dir / "remedia-sort-here.nemo_action", "Nemo Action", "Exec")
    return nemo_argv(exec_line, [], str(shown))


def _uca(path: Path) -> ET.Element:
    # Thunar writes `<?xml encoding=.. version=..?>`, which only GMarkup accepts.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", path.read_text(encoding="utf-8"), count=1)
    return ET.fromstring(text)


def _thunar_command(inst: LinuxInstaller) -> str:
    root = _uca(inst.thunar_path)
    ours = [a for a in root.iter("action") if a.findtext("unique-id") == THUNAR_ID]
    assert len(ours) == 1
    return ours[0].findtext("command") or ""


def _thunar_selection(inst: LinuxInstaller, sel: Sequence[Path], shown: Path) -> list[str]:
    return thunar_argv(_thunar_command(inst), [str(p) for p in sel])


def _thunar_background(inst: LinuxInstaller, sel: Sequence[Path], shown: Path) -> list[str]:
    # Thunar hands the folder shown to %F when nothing is selected (checked in Thunar 4.18).
    return thunar_argv(_thunar_command(inst), [str(shown)])


def _dolphin(inst: LinuxInstaller, sel: Sequence[Path], shown: Path) -> list[str]:
    group = f"Desktop Action {DOLPHIN_ACTION}"
    exec_value = keyfile_get(inst.dolphin_path, group, "Exec")
    assert exec_value == keyfile_get(inst.dolphin_path, "Desktop Entry", "Exec")
    return desktop_argv(exec_value, [str(p) for p in (sel or [shown])])


def _script_selection(inst: LinuxInstaller, sel: Sequence[Path], shown: Path) -> list[str]:
    # Nautilus passes names relative to the folder shown, which is the working directory.
    return [str(inst.nautilus_script_path), *(p.name for p in sel)]


def _script_background(inst: LinuxInstaller, sel: Sequence[Path], shown: Path) -> list[str]:
    return [str(inst.nautilus_script_path)]


ENTRIES: dict[str, tuple[Target, Runner, bool]] = {
    "nemo": ("nemo", _nemo_selection, False),
    "nemo-background": ("nemo", _nemo_background, True),
    "thunar": ("thunar", _thunar_selection, False),
    "thunar-background": ("thunar", _thunar_background, True),
    "dolphin": ("dolphin", _dolphin, False),
    "dolphin-background": ("dolphin", _dolphin, True),
    "nautilus-script": ("nautilus-script", _script_selection, False),
    "nautilus-script-background": ("nautilus-script", _script_background, True),
}


def _installer(home: Path, launcher: Launcher, *targets: Target) -> LinuxInstaller:
    inst = LinuxInstaller(home=home, launcher=launcher, targets=targets, env={})
    inst.install()
    return inst


def _run(argv: list[str], cwd: Path) -> None:
    subprocess.run(argv, cwd=cwd, check=True, timeout=120)


@pytest.mark.parametrize("entry", ENTRIES)
def test_hostile_names_arrive_as_one_argument_each(entry: str, tmp_path: Path) -> None:
    target, runner, background = ENTRIES[entry]
    log = tmp_path / "argv.jsonl"
    inst = _installer(tmp_path / "home", recorder(log), target)
    work = tmp_path / "work"
    folders = [work / name for name in NASTY]
    for f in folders:
        f.mkdir(parents=True)
    if background:
        for f in folders:
            _run(runner(inst, [], f), cwd=f)
        assert recorded(log) == [["sort", "--notify", "--", str(f)] for f in folders]
    else:
        _run(runner(inst, folders, work), cwd=work)
        # The whole selection in one invocation: one batch.
        assert recorded(log) == [["sort", "--notify", "--", *map(str, folders)]]
    assert_no_pwned(tmp_path)


def test_dolphin_service_menu_passes_desktop_file_validate(tmp_path: Path) -> None:
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate missing (Debian: desktop-file-utils)")
    launcher = Launcher(("/home/Zoë O'Brien/my venv/bin/python", "-m", "remedia_tray"))
    inst = _installer(tmp_path / "home", launcher, "dolphin")
    out = subprocess.run([validate, str(inst.dolphin_path)], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout
    assert inst.dolphin_path.stat().st_mode & 0o111, "KDE runs only executable service menus"
    assert keyfile_get(inst.dolphin_path, "Desktop Entry", "MimeType") == "inode/directory;"
    # A validator that can fail: the same file without Name is rejected.
    broken = tmp_path / "broken.desktop"
    broken.write_text(inst.dolphin_path.read_text().replace("Name=Sort with ReMedia\n", "", 1))
    assert subprocess.run([validate, str(broken)], capture_output=True).returncode != 0


def test_nemo_actions_show_for_folders_and_the_background(tmp_path: Path) -> None:
    inst = _installer(tmp_path / "home", Launcher.current(), "nemo")
    sel = inst.nemo_dir / "remedia-sort.nemo_action"
    bg = inst.nemo_dir / "remedia-sort-here.nemo_action"
    assert keyfile_get(sel, "Nemo Action", "Name") == "Sort with ReMedia"
    assert keyfile_get(sel, "Nemo Action", "Selection") == "notnone"
    assert keyfile_get(sel, "Nemo Action", "Extensions") == "dir;"
    assert keyfile_get(bg, "Nemo Action", "Selection") == "none"
    for f in (sel, bg):
        assert keyfile_get(f, "Nemo Action", "Quote") == "double"
        assert keyfile_get(f, "Nemo Action", "Dependencies") == f"{Launcher.current().argv[0]};"


def test_nautilus_script_is_executable_sh(tmp_path: Path) -> None:
    inst = _installer(tmp_path / "home", Launcher.current(), "nautilus-script")
    script = inst.nautilus_script_path
    assert script.name == "Sort with ReMedia" and script.stat().st_mode & 0o111
    subprocess.run(["/bin/sh", "-n", str(script)], check=True)
    assert '"$@"' in script.read_text()


# -- Thunar's uca.xml is shared with the user: merge, keep theirs, remove exactly ours ---------
USER_UCA = (
    '<?xml encoding="UTF-8" version="1.0"?>\n<actions><action><icon>utilities-terminal</icon>'
    "<name>Open Terminal Here</name><unique-id>1700000000000000-1</unique-id>"
    "<command>exo-open --working-directory %f --launch TerminalEmulator</command>"
    "<description>mine</description><patterns>*</patterns><directories/></action>"
    "<action><icon></icon><name>Zip &amp; ship</name><unique-id>1700000000000001-2</unique-id>"
    "<command>zip -r %n.zip %N</command><description></description><patterns>*</patterns>"
    "<other-files/></action></actions>\n"
)


def _actions(path: Path) -> list[str]:
    return [a.findtext("name") or "" for a in _uca(path).iter("action")]


def test_thunar_merge_keeps_the_users_actions_and_uninstall_restores_the_bytes(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    uca = home / ".config" / "Thunar" / "uca.xml"
    uca.parent.mkdir(parents=True)
    uca.write_text(USER_UCA)
    inst = _installer(home, Launcher.current(), "thunar")
    assert _actions(uca) == ["Open Terminal Here", "Zip & ship", "Sort with ReMedia"]
    text = uca.read_text()
    assert text.startswith(USER_UCA[: USER_UCA.rindex("</actions>")])
    assert inst.install().changed == ()  # idempotent
    assert uca.read_text() == text
    inst.uninstall()
    assert uca.read_text() == USER_UCA


def test_thunar_uninstall_after_thunar_rewrote_the_file_removes_only_ours(tmp_path: Path) -> None:
    home = tmp_path / "home"
    inst = _installer(home, Launcher.current(), "thunar")
    uca = inst.thunar_path
    # Thunar saves the list in its own one-line format; the user added an action meanwhile.
    ours = [a for a in _uca(uca).iter("action") if a.findtext("unique-id") == THUNAR_ID]
    rewritten = (
        '<?xml encoding="UTF-8" version="1.0"?>\n<actions>'
        + ET.tostring(ours[0], encoding="unicode").replace("\n", "").replace("\t", "")
        + "<action><icon></icon><name>New one</name><unique-id>17-9</unique-id>"
        "<command>echo %F</command><description></description><patterns>*</patterns>"
        "<directories/></action></actions>\n"
    )
    uca.write_text(rewritten)
    inst.uninstall()
    assert _actions(uca) == ["New one"]


def test_thunar_starts_from_the_system_actions_and_uninstall_deletes_what_it_created(
    tmp_path: Path,
) -> None:
    system = tmp_path / "xdg"
    (system / "Thunar").mkdir(parents=True)
    (system / "Thunar" / "uca.xml").write_text(USER_UCA)
    home = tmp_path / "home"
    env = {"XDG_CONFIG_DIRS": str(system)}
    inst = LinuxInstaller(home=home, env=env, launcher=Launcher.current(), targets=["thunar"])
    inst.install()
    assert _actions(inst.thunar_path) == ["Open Terminal Here", "Zip & ship", "Sort with ReMedia"]
    inst.uninstall()
    assert not home.exists() or not any(home.rglob("*"))


def test_a_broken_uca_xml_is_left_alone_and_the_other_entries_still_install(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    uca = home / ".config" / "Thunar" / "uca.xml"
    uca.parent.mkdir(parents=True)
    uca.write_text("<actions><action>")
    inst = LinuxInstaller(
        home=home, env={}, launcher=Launcher.current(), targets=["thunar", "dolphin"]
    )
    report = inst.install()
    assert uca.read_text() == "<actions><action>"
    assert any(n.startswith("skipped thunar:") and "not valid XML" in n for n in report.notes)
    assert report.changed == (str(inst.dolphin_path),)
    inst.uninstall()
    assert uca.read_text() == "<actions><action>" and not inst.dolphin_path.exists()


def test_nemo_is_skipped_for_a_launcher_path_with_percent(tmp_path: Path) -> None:
    launcher = Launcher(("/opt/100%/bin/python", "-m", "remedia_tray"))
    inst = LinuxInstaller(home=tmp_path, env={}, launcher=launcher, targets=["nemo", "dolphin"])
    report = inst.install()
    assert any(n.startswith("skipped nemo:") for n in report.notes)
    assert inst.dolphin_path.exists() and not inst.nemo_dir.exists()
    assert "Exec=/opt/100%%/bin/python -m remedia_tray" in inst.dolphin_path.read_text()
    assert {e.name: e.state for e in inst.status()}["nemo"] == "unavailable"


def test_thunar_add_and_remove_are_inverse() -> None:
    cmd = ("/x/python", "-m", "remedia_tray", "sort", "--notify", "--")
    added = thunar_add(USER_UCA, cmd)
    assert thunar_add(added, cmd) == added
    assert thunar_remove(added, cmd).replace("\n</actions>", "</actions>") == USER_UCA


# -- detection and status --------------------------------------------------------------------
def test_detect_picks_the_nautilus_script_without_nautilus_python() -> None:
    which = {"nautilus": "/usr/bin/nautilus", "thunar": "/usr/bin/thunar"}.get
    assert detect(which, lambda: False) == ("nautilus-script", "thunar")
    assert detect(which, lambda: True) == ("nautilus", "thunar")
    assert detect(lambda _: None, lambda: True) == ()
    assert detect(lambda _: None, lambda: False, everything=True) == (
        "nautilus-script", "nemo", "thunar", "dolphin",
    )  # fmt: skip


def test_reinstall_after_python3_nautilus_arrived_swaps_script_for_extension(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    script = _installer(home, Launcher.current(), "nautilus-script").nautilus_script_path
    assert script.exists()
    inst = _installer(home, Launcher.current(), "nautilus")
    assert not script.exists() and inst.nautilus_extension_path.exists()


def test_status_follows_the_files(tmp_path: Path) -> None:
    inst = LinuxInstaller(
        home=tmp_path / "home", env={}, launcher=Launcher.current(), targets=["nemo", "thunar"]
    )
    states = {s.name: s.state for s in inst.status()}
    assert states["nemo"] == states["thunar"] == "missing"
    inst.install()
    states = {s.name: s.state for s in inst.status()}
    assert states["nemo"] == states["thunar"] == "installed"
    assert states["dolphin"] == "missing"
    (inst.nemo_dir / "remedia-sort.nemo_action").write_text("[Nemo Action]\nName=old\n")
    assert {s.name: s.state for s in inst.status()}["nemo"] == "outdated"
    inst.install()
    assert {s.name: s.state for s in inst.status()}["nemo"] == "installed"


def test_manifest_records_what_install_added(tmp_path: Path) -> None:
    inst = _installer(tmp_path / "home", Launcher.current(), "nemo", "dolphin")
    data = json.loads(inst.files.manifest.read_text())
    assert sorted(Path(p).name for p in data["files"]) == [
        "remedia-sort-here.nemo_action", "remedia-sort.desktop", "remedia-sort.nemo_action",
    ]  # fmt: skip
