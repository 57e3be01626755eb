"""Real file managers under Xvfb: right-click, "Sort with ReMedia", and the folder is sorted.

Nautilus 43 (with Debian's python3-nautilus), Nemo, Thunar and Dolphin each open a folder
from a fake HOME in which `LinuxInstaller` put the entries. Two folders named like shell
commands, each holding a real photo and its byte-identical copy, are selected together and
the entry is clicked: one process must receive both folders, exactly, and both must end up
sorted by the real `python -m remedia_tray` (the copy in duplicates/). Then the background
menu's entry must hand over the folder shown (also named like a command). The launcher is
tests/integrations/record_argv.py --run, which records the argv and then runs ReMedia.
No PWNED file may appear. The Nautilus script fallback (Scripts submenu) is clicked too.
Screenshots of every menu are kept in artifacts/file-managers/ (git-ignored).

Skips cleanly when Xvfb, xdotool, ImageMagick, dbus-run-session or the file manager is
missing (Debian packages in scripts/apt-packages.txt). Coordinates: tests/desktop/fm_driver.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from remedia_tray.integrations.linux import LinuxInstaller, Target, has_nautilus_python
from tests.desktop.fm_driver import RECIPES, FileManager, missing_tools
from tests.integrations.helpers import (
    INJECTION,
    assert_no_pwned,
    assert_sorted,
    photo_folder,
    recorded,
    recorder,
)

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "file-managers"
SECOND = "Zoë's photos; `touch PWNED3`"
SHOWN = "photos $(touch PWNED) & more"
# Nautilus script fallback: "Scripts" in the menu of several selected folders, then the entry.
SCRIPTS_SUBMENU = (380, 211)
SCRIPT_ENTRY = (408, 166)
TIMEOUT = 90.0


def _require(name: str) -> Target:
    why = missing_tools(name)
    if why:
        pytest.skip(why)
    if name == "nautilus" and not has_nautilus_python():
        pytest.skip("python3-nautilus missing: Nautilus cannot load the extension")
    target: Target = "nautilus" if name == "nautilus" else name  # type: ignore[assignment]
    return target


def _wait(done: Callable[[], bool], what: str) -> float:
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > TIMEOUT:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)
    return time.monotonic() - start


def _exit_codes(log: Path) -> list[int]:
    if not log.exists():
        return []
    return [e["rc"] for e in map(json.loads, log.read_text().splitlines()) if "rc" in e]


def _click_through(
    name: str, target: Target, tmp_path: Path, entry: list[tuple[int, int]], background: bool
) -> None:
    home, log = tmp_path / "home", tmp_path / "argv.jsonl"
    shown = tmp_path / SHOWN
    first = photo_folder(shown, INJECTION)
    second = photo_folder(shown, SECOND, picture="peaks")
    # Record the argv the file manager produced, then run the real `python -m remedia_tray`.
    LinuxInstaller(home=home, env={}, launcher=recorder(log, run=True), targets=[target]).install()
    recipe = RECIPES[name]
    with FileManager(name, shown, home, ARTIFACTS, label=target) as fm:
        fm.right_click(
            *recipe.item, select=True, select_all=True, shot=f"{target}_folders_menu.png"
        )
        for x, y in entry:
            fm.click(x, y)
        took = _wait(lambda: len(_exit_codes(log)) >= 1, f"{target} to run the entry")
        print(f"\n{target}: 2 selected folders sorted {took:.1f} s after the click", end="")
        (call,) = recorded(log)  # one process for the whole selection
        assert call[:3] == ["sort", "--notify", "--"]
        assert sorted(call[3:]) == sorted([str(first), str(second)])
        assert _exit_codes(log) == [0]
        assert_sorted(first)
        assert_sorted(second, picture="peaks")
        if background:
            # Click empty space (clears the selection), then the background menu's entry.
            fm.right_click(*recipe.background, select=True, shot=f"{target}_background_menu.png")
            fm.click(*recipe.background_entry)
            took = _wait(
                lambda: len(_exit_codes(log)) >= 2, f"{target} to run the background entry"
            )
            print(f"; the folder shown {took:.1f} s after the click", end="")
            assert recorded(log)[1] == ["sort", "--notify", "--", str(shown)]
            assert _exit_codes(log) == [0, 0]
    print(f"; screenshots in {ARTIFACTS}")
    assert_no_pwned(tmp_path)


@pytest.mark.parametrize("name", list(RECIPES))
def test_entries_sort_selected_folders_in_one_batch_and_the_folder_shown(
    name: str, tmp_path: Path
) -> None:
    target = _require(name)
    _click_through(name, target, tmp_path, [RECIPES[name].item_entry], background=True)


def test_nautilus_script_fallback_sorts_selected_folders(tmp_path: Path) -> None:
    if why := missing_tools("nautilus"):
        pytest.skip(why)
    _click_through("nautilus", "nautilus-script", tmp_path, [SCRIPTS_SUBMENU, SCRIPT_ENTRY], False)
