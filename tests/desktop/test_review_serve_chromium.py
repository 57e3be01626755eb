"""`remedia review --serve` in real Chromium (Debian's, driven by Playwright, offline).

A real sort of real photos (tests/data and their WhatsApp copies); the server runs as the user
starts it (`python -m remedia_tray review FOLDER --serve`, the token URL on the first line), and
the URL it hands the browser (through $BROWSER, recorded) is a one-time code that Chromium
exchanges for a session cookie: the token never reaches the browser. Chromium clicks keep,
not-a-duplicate and undo-group; after each click the files on disk and the page are checked and
a screenshot is kept in artifacts/. Then a later sort respects both decisions and `remedia undo`
reverts the actions. The page loads nothing from the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from remedia_tray.sorter import SortOptions, sort_folder
from tests.conftest import photo, read_tree, run_remedia, whatsapp_copy

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
NAMES = ("sunset", "peaks", "life", "ridge")

pytestmark = pytest.mark.slow


@pytest.fixture
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--headless",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield b
        finally:
            b.close()


def _library(root: Path) -> None:
    for n in NAMES:
        (root / "Camera").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(photo(n), root / "Camera" / f"{n}.jpg")
        whatsapp_copy(photo(n), root / "WhatsApp" / f"{n}-wa.jpg")


@dataclass(frozen=True)
class Served:
    root: Path
    url: str  # printed for the user's terminal, with the token
    token: str
    opened: str  # what the server handed the browser's command line


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    root = tmp_path / "Photos"
    _library(root)
    report = sort_folder(root, SortOptions(engine="hash", workers=2))
    assert sorted(g.folder.name for g in report.duplicate_groups) == sorted(NAMES)
    record = tmp_path / "browser-argv"
    recorder = tmp_path / "browser.sh"  # stands in for the browser: records its command line
    recorder.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}.part && mv {record}.part {record}\n'
    )
    recorder.chmod(0o755)
    proc = subprocess.Popen(
        [sys.executable, "-m", "remedia_tray", "review", str(root), "--serve"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "BROWSER": str(recorder)},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "token=" in url, url
        token = url.split("token=", 1)[1]
        deadline = time.monotonic() + 60
        while not record.exists():
            assert time.monotonic() < deadline, "the server did not start the browser"
            time.sleep(0.1)
        (opened,) = record.read_text().split()
        assert token not in opened and "/open?code=" in opened, opened
        yield Served(root, url, token, opened)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)  # type: ignore[attr-defined]


def _loaded(page: object) -> None:
    # Polled from Python: a wait_for_function string would be eval'd, which the CSP forbids.
    loaded = "() => [...document.images].every((i) => i.complete && i.naturalWidth > 0)"
    deadline = time.monotonic() + 20
    while not page.evaluate(loaded):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "thumbnails did not load"
        time.sleep(0.1)


def test_actions_in_chromium(browser: object, server: Served) -> None:
    root = server.root
    origin = server.url.split("/?")[0]
    after_sort = read_tree(root)
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    # The one-time URL, as the server handed it to the browser: exchanged for a cookie, then
    # on to the page's clean URL.
    page.goto(server.opened)
    assert page.url == origin + "/"
    (cookie,) = context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert server.token not in cookie["value"]
    assert page.locator("section[data-group]").count() == len(NAMES)
    assert page.locator("img").count() == 2 * len(NAMES)
    _loaded(page)
    assert server.token not in page.content()
    _shot(page, "review-serve-0-sorted.png")

    # Keep this copy: the WhatsApp copy goes home, the camera original into the group folder.
    fig = page.locator('figure[data-path="duplicates/sunset/sunset-wa.jpg"]')
    with page.expect_navigation():
        fig.locator('button[data-action="keep"]').click()
    tree = read_tree(root)
    assert "WhatsApp/sunset-wa.jpg" in tree and "duplicates/sunset/sunset.jpg" in tree
    assert "Camera/sunset.jpg" not in tree
    kept = page.locator('section[data-group="duplicates/sunset"] figure.kept')
    assert kept.get_attribute("data-path") == "WhatsApp/sunset-wa.jpg"
    assert page.locator('figure[data-path="duplicates/sunset/sunset.jpg"]').count() == 1
    _shot(page, "review-serve-1-keep.png")

    # Not a duplicate: the copy goes home and its group is gone from the page.
    fig = page.locator('figure[data-path="duplicates/peaks/peaks-wa.jpg"]')
    with page.expect_navigation():
        fig.locator('button[data-action="not-duplicate"]').click()
    tree = read_tree(root)
    assert "WhatsApp/peaks-wa.jpg" in tree and "duplicates/peaks/peaks-wa.jpg" not in tree
    assert page.locator('section[data-group="duplicates/peaks"]').count() == 0
    _shot(page, "review-serve-2-not-duplicate.png")

    # Undo this group: every member goes back.
    group = page.locator('section[data-group="duplicates/life"]')
    with page.expect_navigation():
        group.locator('button[data-action="undo-group"]').click()
    tree = read_tree(root)
    assert "WhatsApp/life-wa.jpg" in tree and "Camera/life.jpg" in tree
    assert page.locator('section[data-group="duplicates/life"]').count() == 0
    assert page.locator("section[data-group]").count() == len(NAMES) - 2
    _shot(page, "review-serve-3-undo-group.png")

    # A second tab with the old page cannot apply an action twice.
    stale = context.new_page()
    stale.goto(origin + "/")  # the same browser: the cookie lets it in
    ridge = stale.locator('figure[data-path="duplicates/ridge/ridge-wa.jpg"]')
    with page.expect_navigation():
        page.locator(
            'figure[data-path="duplicates/ridge/ridge-wa.jpg"] button[data-action="keep"]'
        ).click()
    before = read_tree(root)
    with stale.expect_navigation():
        ridge.locator('button[data-action="keep"]').click()
    assert "changed" in stale.content()
    assert read_tree(root) == before
    context.close()

    # Nothing but the server itself was asked for, never with the token, and the page ran no
    # failing script.
    assert requests and all(u.startswith(origin + "/") for u in requests), requests
    assert not [u for u in requests if server.token in u]
    # The code was for one request: another browser (or user) cannot use it again.
    other = browser.new_context()  # type: ignore[attr-defined]
    refused = other.new_page().goto(server.opened)
    assert refused is not None and refused.status == 403
    other.close()
    assert problems == [], "\n".join(problems)

    # A later sort respects both decisions.
    (root / "Downloads").mkdir()
    shutil.copyfile(photo("sunset"), root / "Downloads" / "sunset.jpg")
    shutil.copyfile(photo("peaks"), root / "Downloads" / "peaks.jpg")
    report = sort_folder(root, SortOptions(engine="hash", workers=2))
    sunset = next(
        g for g in report.duplicate_groups if root / "Downloads" / "sunset.jpg" in g.members
    )
    assert sunset.keeper == root / "WhatsApp" / "sunset-wa.jpg"
    assert all(root / "WhatsApp" / "peaks-wa.jpg" not in g.members for g in report.groups)
    # `remedia undo`: the later sort, then the four actions, newest first, then the sort.
    for _ in range(5):
        assert run_remedia("undo", str(root)).returncode == 0
    downloads = {"Downloads/sunset.jpg", "Downloads/peaks.jpg"}
    tree = read_tree(root)
    assert downloads <= set(tree)
    assert {k: v for k, v in tree.items() if k not in downloads} == after_sort


def test_the_terminal_url_with_the_token_still_works(browser: object, server: Served) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(server.url)
    assert page.locator("section[data-group]").count() == len(NAMES)
    _loaded(page)
    context.close()
