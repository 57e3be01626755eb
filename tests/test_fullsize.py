"""The full-size check on its own: copies pass, one changed value fails, at every level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from remedia_tray.core import fullsize
from remedia_tray.core.strictness import LEVELS
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import shared_data
from .textpics import draw, font_path, half_size, whatsapp_copy

pytestmark = pytest.mark.skipif(font_path("sans") is None, reason="DejaVu fonts are missing")


def _grids(a: Image.Image, b: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    size = fullsize.work_size(a.size, b.size)

    def grid(im: Image.Image) -> np.ndarray:
        grey = im.convert("L").resize(fullsize.own_work_size(im.size), Image.Resampling.LANCZOS)
        return np.asarray(grey.resize(size, Image.Resampling.LANCZOS), np.float32)

    return grid(a), grid(b)


@pytest.fixture(scope="module")
def settings() -> tuple[Image.Image, Image.Image]:
    """Two settings screens that differ in one grey value ("NN %") only."""
    return draw("settings", 0, seed=3, style="sans"), draw("settings", 1, seed=3, style="sans")


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_one_changed_value_is_another_picture(
    settings: tuple[Image.Image, Image.Image], level: str
) -> None:
    one, other = settings
    for a, b in [(one, other), (one, half_size(other)), (whatsapp_copy(one), half_size(other))]:
        assert not fullsize.same_pixels(*_grids(a, b), LEVELS[level], aligned=True)


@pytest.mark.parametrize("level", ["exact", "strict", "balanced"])
def test_copies_pass(settings: tuple[Image.Image, Image.Image], level: str) -> None:
    one, _ = settings
    for copy in (whatsapp_copy(one), half_size(one), whatsapp_copy(half_size(one))):
        assert fullsize.same_pixels(*_grids(one, copy), LEVELS[level], aligned=True)


def test_a_border_crop_is_fitted_and_passes() -> None:
    slide = draw("slide", 2, seed=4, style="sans")
    w, h = slide.size
    crop = slide.crop((int(w * 0.015), int(h * 0.015), w - int(w * 0.015), h - int(h * 0.015)))
    found = fullsize.compare(*_grids(slide, crop))
    assert found.fitted and found.worst <= fullsize.tile_limit(LEVELS["balanced"])


def test_the_rule_for_what_is_read_again() -> None:
    flat = np.full((64, 64), 240, np.uint8)
    flat[20:24, 8:56] = 30  # a line of "text" on a plain background
    ramp = np.asarray(Image.linear_gradient("L").resize((64, 64)), np.int16)
    noise = np.random.default_rng(0).integers(0, 30, (64, 64))
    photo = (ramp // 2 + noise).astype(np.uint8)
    assert fullsize.flat_share(flat) >= fullsize.GRAPHIC_FLAT_SHARE
    assert fullsize.flat_share(photo) < fullsize.GRAPHIC_FLAT_SHARE
    assert fullsize.needs_check(flat, flat)  # graphic: always read
    assert not fullsize.needs_check(photo, photo)  # a photo that matches: the 64 px check did
    assert fullsize.needs_check(photo, photo, same_size=True)  # same size, other bytes
    changed = photo.copy()
    changed[40:48, 8:40] = 255  # a caption
    assert fullsize.needs_check(photo, changed)


def test_a_smooth_crop_is_fitted_until_it_converges(tmp_path: Path) -> None:
    # The least textured half of a wallpaper, as benchmarks/hash_accuracy.py makes it, and its
    # true copies: with three fit steps per level, the 2 % crop settled at a zoom of 0.027 on
    # one axis and 0.050 on the other (0.040 on both), failed the check, and left the group.
    from benchmarks.hash_accuracy import least_textured, make_set

    source = shared_data("photos", "images", "lomiri1604__Bridge_by_Sander_Klootwijk.jpg")
    with Image.open(source) as im:
        smooth = least_textured(im.convert("RGB"))
    original, copies, _ = make_set(smooth, tmp_path, "bridge")
    report = sort_folder(tmp_path, SortOptions(engine="hash", dry_run=True, use_cache=False))
    groups = [{m.name for m in g.members} for g in report.duplicate_groups]
    with_original = next(g for g in groups if original.name in g)
    assert {"bridge-crop1.5.jpg", "bridge-crop2.jpg"} <= with_original, groups
    assert {c.name for c in copies} <= with_original, groups
