"""Media sets on the review page, checked in real Chromium (issue 23): after a real sort of a
phone backup and a second backup of its Live Photo, the duplicates group shows each set as one
tile with its badges (the kept Live Photo: Live, AAE, Edited; the copy that moved whole: Live,
AAE), no companion is a tile of its own, the report names the companions, and the pages of
reports older than media sets render as they did.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from remedia_tray.filing.formats import Report, read_json
from remedia_tray.review.facts import facts_from_report
from remedia_tray.review.page import render_page
from remedia_tray.review.view import page_view
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import chromium, photo
from .mediafiles import phone_backup
from .test_review_folder import Dom, rendered

pytest.importorskip("av")
pytest.importorskip("pillow_heif")

HASH = SortOptions(engine="hash", workers=1)
LIVE = ("IMG_0001.HEIC", "IMG_0001.MOV", "IMG_0001.AAE")
COMPANIONS = (".mov", ".mp4", ".aae", ".xmp", ".json", ".thm", ".dng")
FORMATS = Path(__file__).parent / "data" / "formats" / "sorted" / "reports"


def _badges(dom: Dom) -> dict[str, list[tuple[str, str]]]:
    """Each tile's data-path -> its set badges (label, title), in the page's order."""
    found: dict[str, list[tuple[str, str]]] = {}
    tile = None
    for tag, attrs, texts in dom.elements:
        if tag == "figure":
            tile = attrs["data-path"]
            found[tile] = []
        elif tag == "span" and attrs.get("class") == "set" and tile is not None:
            found[tile].append(("".join(texts), attrs["title"]))
    return found


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    phone_backup(root / "Phone", [photo("cat"), photo("peaks"), photo("ridge")])
    (root / "Backup").mkdir()
    for name in LIVE:  # the Live Photo backed up once more, byte for byte, without its edits
        shutil.copy2(root / "Phone" / name, root / "Backup" / name)
    return root


def test_a_live_photo_is_one_tile_with_its_badges(library: Path, tmp_path: Path) -> None:
    browser = chromium()
    report = sort_folder(library, HASH)
    assert report.review_path is not None and report.report_path is not None
    saved = json.loads(report.report_path.read_text("utf-8"))
    (group,) = [g for g in saved["groups"] if g["members"][0].endswith("Phone/IMG_0001.HEIC")]
    copy = str(library / "Backup" / "IMG_0001.HEIC")
    moved_to = library / "duplicates" / "IMG_0001"
    assert sorted(group["companions"][copy], key=lambda c: c["role"]) == [
        {"role": "aae", "path": str(moved_to / "IMG_0001.AAE")},
        {"role": "live", "path": str(moved_to / "IMG_0001.MOV")},
    ]
    kept = group["companions"][str(library / "Phone" / "IMG_0001.HEIC")]
    assert {(c["role"], Path(c["path"]).name) for c in kept} == {
        ("live", "IMG_0001.MOV"), ("aae", "IMG_0001.AAE"), ("aae", "IMG_O0001.AAE"),
        ("edited", "IMG_E0001.JPG"),
    }  # fmt: skip
    assert all(Path(c["path"]).parent == library / "Phone" for c in kept)  # in place

    index = library / ".remedia" / "review" / "index.html"
    for page in (report.review_path, index):
        dom = rendered(browser, page, tmp_path / "profile")
        assert "duplicates/IMG_0001" in dom.groups()
        badges = _badges(dom)
        assert [label for label, _ in badges["Phone/IMG_0001.HEIC"]] == ["Live", "AAE", "Edited"]
        assert badges["Phone/IMG_0001.HEIC"][1][1] == "AAE: IMG_0001.AAE, IMG_O0001.AAE"
        assert badges["duplicates/IMG_0001/IMG_0001.HEIC"] == [
            ("Live", "Live: IMG_0001.MOV"),
            ("AAE", "AAE: IMG_0001.AAE"),
        ]
        # No companion is a tile: every tile is a picture.
        tiles = list(badges)
        assert tiles and not [t for t in tiles if t.lower().endswith(COMPANIONS)], tiles
        assert not [t for t in tiles if Path(t).name.upper().startswith("IMG_E")], tiles
        captions = [text for _, text in dom.find("figure")]
        assert any("+ 4 companions" in c for c in captions)
        assert any("+ 2 companions" in c for c in captions)


@pytest.mark.parametrize("path", sorted(FORMATS.glob("*.json")), ids=lambda p: p.name)
def test_a_report_older_than_media_sets_renders_as_before(path: Path, tmp_path: Path) -> None:
    report = Report.from_dict(read_json(path))
    assert all(g.companions == () for g in report.groups)
    facts = facts_from_report(report, name=path.stem)
    assert all(m.companions == () for g in facts.groups for m in g.members)
    html = render_page(page_view(facts, page_dir=tmp_path, thumbs={}))
    assert 'class="sets"' not in html and "companion" not in html
