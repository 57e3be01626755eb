"""The review page shows the folder, checked in real Chromium: after an incremental sort it
lists every group of the folder with the new ones marked, and after `remedia undo` the undone
sort is said undone and its groups are gone.

Real photos (../shared/data and tests/data), real sorts, the DOM as headless Chromium
renders it (--dump-dom, after the page's script ran).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote_to_bytes

from remedia_tray.cli import main
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import chromium, headless, photo, shared_data, whatsapp_copy

HASH = SortOptions(engine="hash", workers=1)


class Dom(HTMLParser):
    """The elements of a dumped DOM: (tag, attributes, text inside), in document order."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[list[str]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        texts: list[str] = []
        self.elements.append((tag, {k: v or "" for k, v in attrs}, texts))
        if tag not in ("img", "input", "meta", "br", "link"):
            self._open.append(texts)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for texts in self._open:
            texts.append(data)

    def find(self, tag: str, css: str = "") -> list[tuple[dict[str, str], str]]:
        """Elements with `tag` whose class list holds every class in `css`."""
        want = set(css.split())
        return [
            (a, "".join(t))
            for tg, a, t in self.elements
            if tg == tag and want <= set(a.get("class", "").split())
        ]

    def groups(self) -> dict[str, dict[str, str]]:
        return {a["data-group"]: a for a, _ in self.find("section", "group")}


def rendered(browser: str, page: Path, profile: Path) -> Dom:
    """The page's DOM as Chromium has it once loaded."""
    done = subprocess.run(
        headless(browser, profile, "--dump-dom", page.as_uri()),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "</section>" in done.stdout or "No duplicates found." in done.stdout
    return Dom(done.stdout)


def _library(root: Path) -> int:
    """Real photos, each with a copy people end up with; returns how many pairs."""
    images = shared_data("photos")
    camera, chat = root / "Camera", root / "WhatsApp"
    camera.mkdir(parents=True)
    chat.mkdir()
    seen: set[str] = set()
    with open(images / "manifest.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["natural_group"] in seen or len(seen) == 8:
                continue
            seen.add(row["natural_group"])
            k = len(seen)
            src = images / "images" / row["image"]
            shutil.copyfile(src, camera / f"IMG_{k:03d}{src.suffix}")
            shutil.copyfile(src, chat / f"IMG-WA{k:03d}{src.suffix}")  # the same bytes
    shutil.copy2(photo("sunset"), camera / "sunset.jpg")
    whatsapp_copy(photo("sunset"), chat / "sunset-WA.jpg")
    shutil.copy2(photo("ridge"), camera / "ridge.jpg")  # alone, until a copy arrives
    return len(seen) + 1


def test_the_folder_page_after_an_incremental_sort_and_an_undo(tmp_path: Path) -> None:
    browser = chromium()
    root = tmp_path / "Photos"
    pairs = _library(root)
    index = root / ".remedia" / "review" / "index.html"

    first = sort_folder(root, HASH)
    assert len(first.duplicate_groups) == pairs and first.review_path is not None
    # A first sort: the folder is what it made, so both pages are one page, with no marks.
    assert index.read_text("utf-8") == first.review_path.read_text("utf-8")
    dom = rendered(browser, index, tmp_path / "profile")
    assert len(dom.groups()) == pairs
    assert not [a for a, _ in dom.find("section") if "data-change" in a]
    assert not dom.find("div", "undone")

    # Two photos arrive: a copy of one already grouped, and a copy of one that was alone.
    whatsapp_copy(photo("sunset"), root / "WhatsApp" / "sunset-WA2.jpg", side=300)
    whatsapp_copy(photo("ridge"), root / "WhatsApp" / "ridge-WA.jpg")
    second = sort_folder(root, HASH)
    assert second.review_path is not None and second.duplicates_moved == 2
    own = rendered(browser, second.review_path, tmp_path / "profile")
    assert set(own.groups()) == {"duplicates/sunset", "duplicates/ridge"}  # this sort's

    dom = rendered(browser, index, tmp_path / "profile")
    groups = dom.groups()
    assert len(groups) == pairs + 1  # every group of the folder
    marks = Counter(a.get("data-change") for a in groups.values())
    assert marks == {None: pairs - 1, "new": 1, "grown": 1}
    assert groups["duplicates/ridge"]["data-change"] == "new"
    assert groups["duplicates/sunset"]["data-change"] == "grown"
    # The group that grew shows all its members, the newcomer marked.
    sunset = [a["data-path"] for a, _ in dom.find("figure") if "sunset" in a["data-path"]]
    assert sorted(sunset) == [
        "Camera/sunset.jpg",
        "duplicates/sunset/sunset-WA.jpg",
        "duplicates/sunset/sunset-WA2.jpg",
    ]
    assert [a["data-path"] for a, _ in dom.find("figure") if "data-new" in a] == [
        "duplicates/sunset/sunset-WA2.jpg"
    ]
    changes = dom.find("div", "box")
    assert any("1 new group and 1 group grown" in text for _, text in changes)
    totals = dict(zip((t for _, t in dom.find("dt")), (t for _, t in dom.find("dd")), strict=True))
    assert totals["Duplicate groups"] == str(pairs + 1)
    assert totals["Copies moved to duplicates/"] == str(pairs + 2)
    # Each picture opens the file where it is now.
    for a, _ in dom.find("a", "thumb"):
        assert (index.parent / os.fsdecode(unquote_to_bytes(a["href"]))).resolve().is_file()

    # `remedia undo` puts the second sort back; the page says so, and shows what is left.
    assert main(["undo", str(root)]) == 0
    assert main(["review", "--print-path", str(root)]) == 0
    dom = rendered(browser, index, tmp_path / "profile")
    groups = dom.groups()
    assert len(groups) == pairs and "duplicates/ridge" not in groups
    assert not [a for a in groups.values() if "data-change" in a]
    assert not [a for a, _ in dom.find("figure") if "data-new" in a]
    sunset = [a["data-path"] for a, _ in dom.find("figure") if "sunset" in a["data-path"]]
    assert sorted(sunset) == ["Camera/sunset.jpg", "duplicates/sunset/sunset-WA.jpg"]
    (undone,) = dom.find("li")
    assert undone[0]["data-sort"] == second.report_path.stem  # type: ignore[union-attr]
    assert "was undone" in undone[1]
    # The next undo would put back the first sort: its command is still offered.
    assert dom.find("code")[0][1] == f"remedia undo {root}"
    assert not (root / "duplicates" / "ridge").exists()


def test_the_folder_page_follows_a_copy_chosen_on_the_review_page(tmp_path: Path) -> None:
    from remedia_tray.review.actions import run_action
    from remedia_tray.review.writer import ensure_page

    root = tmp_path / "Photos"
    root.mkdir()
    shutil.copy2(photo("peaks"), root / "peaks.jpg")
    whatsapp_copy(photo("peaks"), root / "peaks-WA.jpg")
    whatsapp_copy(photo("cat"), root / "cat-WA.jpg")
    shutil.copy2(photo("cat"), root / "cat.jpg")
    sort_folder(root, HASH)
    run_action(root, action="keep", group="duplicates/peaks", path="duplicates/peaks/peaks-WA.jpg")
    run_action(root, action="undo-group", group="duplicates/cat", path=None)

    page = ensure_page(root)
    doc = Dom(page.read_text("utf-8"))
    assert set(doc.groups()) == {"duplicates/peaks"}  # the group put back is gone
    kept = [a["data-path"] for a, _ in doc.find("figure", "kept")]
    assert kept == ["peaks-WA.jpg"]  # the chosen copy, back where it was
    paths = sorted(a["data-path"] for a, _ in doc.find("figure"))
    assert paths == ["duplicates/peaks/peaks.jpg", "peaks-WA.jpg"]
    assert any("your choice" in text for _, text in doc.find("div", "why"))
    written = page.stat().st_mtime_ns
    assert ensure_page(root) == page and page.stat().st_mtime_ns == written  # current: kept


def test_remedia_undo_rewrites_the_folder_page_at_once(tmp_path: Path) -> None:
    """The tray opens index.html as a file: after `remedia undo` it is current already."""
    root = tmp_path / "Photos"
    pairs = _library(root)
    index = root / ".remedia" / "review" / "index.html"
    sort_folder(root, HASH)
    whatsapp_copy(photo("ridge"), root / "WhatsApp" / "ridge-WA.jpg")
    second = sort_folder(root, HASH)
    assert second.report_path is not None
    assert "duplicates/ridge" in Dom(index.read_text("utf-8")).groups()

    assert main(["undo", str(root)]) == 0  # and no `remedia review`
    dom = Dom(index.read_text("utf-8"))
    assert len(dom.groups()) == pairs and "duplicates/ridge" not in dom.groups()
    (undone,) = dom.find("li")
    assert undone[0]["data-sort"] == second.report_path.stem and "was undone" in undone[1]
    written = index.stat().st_mtime_ns
    from remedia_tray.review.writer import ensure_page

    assert ensure_page(root) == index and index.stat().st_mtime_ns == written  # current


def test_a_page_of_a_sort_not_saved_is_named_from_one_clock_reading(tmp_path: Path) -> None:
    import dataclasses
    import re

    from remedia_tray.review.writer import write_review

    root = tmp_path / "Photos"
    root.mkdir()
    shutil.copy2(photo("peaks"), root / "peaks.jpg")
    shutil.copy2(photo("peaks"), root / "peaks copy.jpg")
    report = dataclasses.replace(sort_folder(root, HASH), report_path=None)
    page = write_review(report, workers=1)
    assert re.fullmatch(r"sort-\d{8}-\d{6}-\d{9}\.html", page.path.name)
