"""Every duplicates group says how it was verified, in the JSON report and on the page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import photo, whatsapp_copy
from .textpics import draw, font_path
from .textpics import whatsapp_copy as messenger_copy


@pytest.mark.skipif(font_path("sans") is None, reason="DejaVu fonts are not installed")
def test_each_group_names_its_verification(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    shutil.copy2(photo("sunset"), root / "a" / "sunset.jpg")
    shutil.copy2(photo("sunset"), root / "b" / "sunset.jpg")  # the same bytes
    shutil.copy2(photo("peaks"), root / "a" / "peaks.jpg")
    whatsapp_copy(photo("peaks"), root / "b" / "peaks-WA.jpg", side=480, quality=80)
    shot = draw("chat", 0, seed=5, style="sans")
    shot.save(root / "a" / "Screenshot_1.png")
    messenger_copy(shot).save(root / "b" / "Screenshot_1-WA.jpg", quality=95)
    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    saved = json.loads(Path(str(report.report_path)).read_text(encoding="utf-8"))
    said = {Path(g["best"]).name: g["verified"] for g in saved["groups"]}
    assert said["sunset.jpg"] == "byte-identical"
    assert said["Screenshot_1.png"] == "full-size"
    assert said["peaks.jpg"] in ("64px", "full-size")  # a scaled photo may need no second look
    page = Path(str(report.review_path)).read_text(encoding="utf-8")
    assert "verified: byte-identical" in page
    assert "verified: same pixels at full size, text compared" in page
