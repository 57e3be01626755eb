"""The command line as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import photo, read_tree, whatsapp_copy
from .conftest import run_remedia as run

REPO = Path(__file__).resolve().parents[1]


def test_sort_and_undo_via_cli(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    shutil.copy2(photo("ridge"), root / "ridge.jpg")
    whatsapp_copy(photo("ridge"), root / "ridge small.jpg")
    before = read_tree(root)
    dry = run("sort", "--engine", "hash", "--dry-run", str(root))
    assert dry.returncode == 0, dry.stderr
    assert "Would move 1 duplicate" in dry.stdout and read_tree(root) == before
    done = run("sort", "--engine", "hash", "--json", str(root))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["duplicates_moved"] == 1
    assert (root / "duplicates/ridge/ridge small.jpg").exists()
    undo = run("undo", str(root))
    assert undo.returncode == 0 and "Restored 1" in undo.stdout
    assert read_tree(root) == before


def test_missing_folder_message_and_exit_code(tmp_path: Path) -> None:
    result = run("sort", "--engine", "hash", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "folder not found" in result.stderr and "Traceback" not in result.stderr


def test_bad_strictness_is_rejected() -> None:
    result = run("sort", "--strictness", "wobbly", ".")
    assert result.returncode == 2 and "Unknown strictness" in result.stderr


def test_nothing_to_undo(tmp_path: Path) -> None:
    result = run("undo", str(tmp_path))
    assert result.returncode == 4 and "no sort" in result.stderr


def test_demo_runs_on_bundled_photos() -> None:
    result = run("demo", "--engine", "hash")
    assert result.returncode == 0, result.stderr
    assert "duplicate copies" in result.stdout
    assert "broken.jpg" in result.stdout  # the corrupt file is reported, not fatal
    assert (REPO / "assets/demo/Camera/IMG_0001.jpg").exists()
    assert not (REPO / "assets/demo/duplicates").exists()  # the original stays pristine


def test_light_imports(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    shutil.copy2(photo("coffee"), root / "a.jpg")
    shutil.copy2(photo("coffee"), root / "b.jpg")
    code = (
        "import sys\n"
        "import remedia_tray\n"
        "heavy = {'torch', 'pystray', 'open_clip', 'numpy', 'PIL'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "from remedia_tray.cli import main\n"
        f"assert main(['sort', '--engine', 'hash', {str(root)!r}]) == 0\n"
        "assert not {'torch', 'pystray', 'open_clip'} & set(sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    shutil.copy2(photo("ridge"), root / "ridge.jpg")
    whatsapp_copy(photo("ridge"), root / "ridge small.jpg")
    assert run("sort", "--engine", "hash", str(root)).returncode == 0
    (root / "duplicates/ridge/ridge small.jpg").rename(root / "ridge small.jpg")  # "keep it"
    assert run("sort", "--engine", "hash", str(root)).returncode == 0  # remembers it
    forget = run("forget", str(root))
    assert forget.returncode == 0, forget.stderr
    assert forget.stdout == "Forgot 1 photo you had moved back; the next sort may sort it again\n"


def test_the_tray_says_what_to_install_for_an_icon(monkeypatch: pytest.MonkeyPatch) -> None:
    from remedia_tray import _platform

    if not _platform.IS_LINUX or not shutil.which("apt-get"):
        pytest.skip("the hint names Debian's packages")
    monkeypatch.setitem(sys.modules, "gi", None)  # `import gi` fails, as without PyGObject
    hint = _platform.tray_icon_hint()
    assert hint is not None and hint.startswith(
        "sudo apt install python3-gi python3-gi-cairo gir1.2-ayatanaappindicator3-0.1"
    )
