"""Border crops of fine textures: the layout channel proposes them, the pixel check decides."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from remedia_tray.core.search.grid import radius_neighbours, radius_query
from remedia_tray.engines import HashEngine
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import PHOTOS, photo, shared_data

HASH = SortOptions(engine="hash", workers=1)


def brick() -> Image.Image:
    """A real fine texture (scikit-image's brick wall), whose hashes alias under a crop."""
    with Image.open(shared_data("photos", "images", "skimage__brick.png")) as im:
        return im.convert("RGB")


def window(im: Image.Image, dx: float = 0.0, dy: float = 0.0, inset: float = 0.0) -> Image.Image:
    """The central 80 % of `im`, moved by (dx, dy) and cropped by `inset` a side (fractions)."""
    w, h = im.size
    cw, ch = round(w * 0.8), round(h * 0.8)
    x0, y0 = round((w - cw) / 2 + dx * cw), round((h - ch) / 2 + dy * ch)
    ix, iy = round(cw * inset), round(ch * inset)
    return im.crop((x0 + ix, y0 + iy, x0 + cw - ix, y0 + ch - iy))


def test_a_2_percent_crop_of_a_brick_wall_is_a_copy_and_a_5_percent_shift_is_not(
    tmp_path: Path,
) -> None:
    source = brick()
    engine = HashEngine(strictness=50)
    original, crop, shifted = (
        engine.prepare(window(source, **kw))  # type: ignore[arg-type]
        for kw in ({}, {"inset": 0.02}, {"dy": 0.05})
    )
    # The hashes alone lose the crop: this pair is the layout channel's.
    assert engine.distance(original, crop) > engine.threshold
    assert engine.are_similar(original, crop)
    assert not engine.are_similar(original, shifted)
    assert not engine.are_similar(crop, shifted)

    root = tmp_path / "photos"
    root.mkdir()
    window(source).save(root / "IMG_0001.jpg", quality=92)
    window(source, inset=0.02).save(root / "IMG_0001_crop.jpg", quality=90)
    window(source, dy=0.05).save(root / "IMG_0002.jpg", quality=92)
    (group,) = sort_folder(root, HASH).groups
    assert sorted(p.name for p in group.members) == ["IMG_0001.jpg", "IMG_0001_crop.jpg"]


@pytest.mark.parametrize("batch", [False, True], ids=["walk", "batch"])
def test_the_crop_is_found_for_a_photo_arriving_in_a_sorted_library(
    tmp_path: Path, batch: bool
) -> None:
    root = tmp_path / "photos"
    (root / "Camera").mkdir(parents=True)
    window(brick()).save(root / "Camera" / "IMG_0001.jpg", quality=92)
    for name in PHOTOS[:3]:
        shutil.copy2(photo(name), root / "Camera" / f"{name}.jpg")
    assert sort_folder(root, HASH).groups == ()
    (root / "Edited").mkdir()
    window(brick(), inset=0.02).save(root / "Edited" / "IMG_0001.jpg", quality=90)
    arrived = (root / "Edited" / "IMG_0001.jpg",) if batch else None
    # One search for the new photo, not a regroup; a batch searches the library index.
    report = sort_folder(root, dataclasses.replace(HASH, arrived=arrived))
    assert report.mode == ("batch" if batch else "walk")
    (group,) = report.groups
    assert group.keeper == root / "Camera" / "IMG_0001.jpg"


def test_flat_frames_stay_out_of_the_layout_channel() -> None:
    engine = HashEngine(strictness=50)
    black = [Image.new("RGB", (320, 240), (v, v, v)) for v in (3, 4)]
    a, b = (engine.prepare(im) for im in black)
    feats = np.stack([a, b])
    assert engine._layouts(feats)[1].max() < 1.0  # no detail: the hashes alone decide
    assert len(engine._with_layout(feats, engine.neighbours(feats[:0]), None).i) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_radius_search_is_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(600, 16)) * np.linspace(40, 4, 16)
    pts[:100] = pts[100:200] + rng.normal(size=(100, 16))
    radius = 6.0
    d2 = ((pts[:, None] - pts[None]) ** 2).sum(-1)
    i, j = np.nonzero(np.triu(d2 <= radius * radius, 1))
    found = radius_neighbours(pts, radius)
    assert np.array_equal(found.i, i) and np.array_equal(found.j, j)
    np.testing.assert_allclose(found.distance, np.sqrt(d2[i, j]), rtol=1e-5)
    query = rng.choice(len(pts), size=40, replace=False)
    touching = np.isin(i, query) | np.isin(j, query)
    asked = radius_query(pts, query, radius)
    assert np.array_equal(asked.i, i[touching]) and np.array_equal(asked.j, j[touching])
