"""Duplicates are the same frame: the pixel check after the hashes, and the copy that stays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from remedia_tray.core import verify
from remedia_tray.engines import HashEngine
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import PHOTOS, jpeg_bytes, photo, whatsapp_copy


def features(engine: HashEngine, images: list[Image.Image]) -> list[np.ndarray]:
    return [engine.prepare(im) for im in images]


def sky_band(shift: float) -> Image.Image:
    """The smooth, low-texture top band of a real photo, moved sideways by `shift` of its width."""
    with Image.open(photo("umang")) as im:
        im = im.convert("RGB")
        w, h = im.size
        cw, ch = int(w * 0.6), int(h * 0.3)
        x0, y0 = int(w * 0.05) + int(cw * shift), int(h * 0.02)
        return im.crop((x0, y0, x0 + cw, y0 + ch))


@pytest.mark.parametrize("shift", [0.05, 0.08])
def test_a_burst_neighbour_of_a_sky_photo_is_not_a_duplicate(tmp_path: Path, shift: float) -> None:
    engine = HashEngine(strictness=50)
    a, b = features(engine, [sky_band(0.0), sky_band(shift)])
    # The hashes alone cannot see the shift on this smooth band: they call it a copy.
    assert engine.distance(a, b) <= engine.threshold
    assert not engine.are_similar(a, b)
    assert verify.align(engine.thumbnail(a), engine.thumbnail(b)).shift > 0.04

    root = tmp_path / "photos"
    root.mkdir()
    (root / "IMG_0001.jpg").write_bytes(jpeg_bytes(sky_band(0.0), quality=92))
    (root / "IMG_0002.jpg").write_bytes(jpeg_bytes(sky_band(shift), quality=92))
    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    assert report.groups == ()
    assert not (root / "duplicates").exists()


def crop(im: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = im.size
    return im.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


@pytest.mark.parametrize("name", PHOTOS)
def test_copies_and_small_border_crops_stay_duplicates(name: str, tmp_path: Path) -> None:
    engine = HashEngine(strictness=50)
    with Image.open(photo(name)) as im:
        original = im.convert("RGB")
    copies = {
        "q60": Image.open(whatsapp_copy(photo(name), tmp_path / "wa.jpg", side=400)),
        "crop 1.5 %": crop(original, 0.015, 0.015, 0.015, 0.015),
        "one-sided crop 2 %": crop(original, 0.0, 0.0, 0.02, 0.02),
    }
    base = engine.prepare(original)
    for label, copy in copies.items():
        f = engine.prepare(copy.convert("RGB"))
        assert verify.same_frame(engine.thumbnail(base), engine.thumbnail(f), 50), label


def test_shifts_and_reframes_are_rejected_on_every_test_photo() -> None:
    engine = HashEngine(strictness=50)
    for name in PHOTOS:
        with Image.open(photo(name)) as im:
            original = im.convert("RGB")
        base = engine.thumbnail(engine.prepare(crop(original, 0.1, 0.1, 0.1, 0.1)))
        moved = {
            "shift 5 %": crop(original, 0.15, 0.1, 0.05, 0.1),
            "shift 8 %": crop(original, 0.1, 0.18, 0.1, 0.02),
            "re-framed 10 %": crop(original, 0.15, 0.15, 0.15, 0.15),
        }
        for label, im2 in moved.items():
            other = engine.thumbnail(engine.prepare(im2))
            assert not verify.same_frame(base, other, 50), f"{name}: {label}"


def test_verification_is_symmetric_enough_to_be_order_free() -> None:
    engine = HashEngine(strictness=50)
    with Image.open(photo("peaks")) as im:
        original = im.convert("RGB")
    a = engine.thumbnail(engine.prepare(original))
    b = engine.thumbnail(engine.prepare(crop(original, 0.01, 0.01, 0.01, 0.01)))
    assert verify.same_frame(a, b, 50) and verify.same_frame(b, a, 50)


def camera_jpeg(path: Path) -> Path:
    """A real photo saved as a camera would: JPEG with make, model and date taken."""
    with Image.open(photo("peaks")) as im:
        exif = Image.Exif()
        exif[0x010F] = "Canon"
        exif[0x0110] = "Canon EOS 80D"
        exif.get_ifd(0x8769)[0x9003] = "2023:06:01 10:00:00"
        im.convert("RGB").save(path, "JPEG", quality=90, exif=exif)
    return path


def test_a_full_size_png_resave_never_beats_its_camera_original(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    (root / "Camera").mkdir(parents=True)
    (root / "Edited").mkdir()
    original = camera_jpeg(root / "Camera" / "IMG_0001.jpg")
    with Image.open(original) as im:
        im.save(root / "Edited" / "IMG_0001.png")  # lossless: same pixels, more bytes, no EXIF
    assert (root / "Edited" / "IMG_0001.png").stat().st_size > original.stat().st_size

    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    assert original.is_file()
    assert (root / "duplicates" / "IMG_0001" / "IMG_0001.png").is_file()
    (group,) = report.groups
    assert group.reason.startswith("camera original (EXIF: Canon EOS 80D, 2023:06:01 10:00:00)")


def test_without_any_exif_the_original_format_wins(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    with Image.open(photo("ridge")) as im:
        im.convert("RGB").save(root / "a_photo.jpg", "JPEG", quality=90)
    with Image.open(root / "a_photo.jpg") as im:
        im.save(root / "a_photo_copy.png")
    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    (group,) = report.groups
    assert (root / "a_photo.jpg").is_file()
    assert group.reason.startswith("original format (JPEG; the other copy is PNG)")


def test_flat_thumbnails_align_without_error() -> None:
    # A one-colour picture (a 1x1 image, a blank page) gives the fit nothing to solve for.
    for grey in (0.0, 128.0, 255.0):
        flat = np.full((verify.THUMB, verify.THUMB), grey, np.float32)
        found = verify.align(flat, flat, early=False)
        assert found.shift == 0.0 and found.zoom == 0.0
