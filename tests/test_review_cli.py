"""`remedia review FOLDER [--print-path]` as a user runs it: a real process, a real browser hook."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

from .conftest import photo, whatsapp_copy
from .conftest import run_remedia as run


def sorted_folder(tmp_path: Path) -> Path:
    root = tmp_path / "My Photos"
    root.mkdir()
    shutil.copy2(photo("seeding"), root / "seeding.jpg")
    whatsapp_copy(photo("seeding"), root / "seeding small.jpg")
    done = run("sort", "--engine", "hash", "--workers", "1", str(root))
    assert done.returncode == 0, done.stderr
    assert "Review page: " in done.stdout
    return root


def test_print_path_prints_the_latest_page(tmp_path: Path) -> None:
    root = sorted_folder(tmp_path)
    result = run("review", str(root), "--print-path")
    assert result.returncode == 0, result.stderr
    page = Path(result.stdout.strip())
    assert page == root / ".remedia" / "review" / "index.html" and page.is_file()
    assert "seeding small.jpg" in page.read_text(encoding="utf-8")


def test_review_opens_the_page_in_the_users_browser(tmp_path: Path) -> None:
    root = sorted_folder(tmp_path)
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    # $BROWSER is what Python's webbrowser (and xdg-open) honour first.
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{opened}"\n')
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    result = run("review", str(root), env={"BROWSER": str(browser)})
    assert result.returncode == 0, result.stderr
    page = root / ".remedia" / "review" / "index.html"
    assert opened.read_text() == page.as_uri()
    assert str(page) in result.stdout


def test_review_rebuilds_a_missing_page_from_the_saved_report(tmp_path: Path) -> None:
    root = sorted_folder(tmp_path)
    shutil.rmtree(root / ".remedia" / "review")
    result = run("review", str(root), "--print-path")
    assert result.returncode == 0, result.stderr
    page = Path(result.stdout.strip())
    assert page.is_file() and "seeding small.jpg" in page.read_text(encoding="utf-8")
    assert len(list((root / ".remedia" / "review" / "thumbs").iterdir())) == 2


def test_review_before_any_sort_says_what_to_do(tmp_path: Path) -> None:
    result = run("review", str(tmp_path), "--print-path")
    assert result.returncode == 1 and "no sort of" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run("review", str(tmp_path / "missing"))
    assert missing.returncode == 2 and "folder not found" in missing.stderr
