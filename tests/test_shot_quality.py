"""Reading photos to judge them: the grey decode (imaging.load_grey) and the cache of their
qualities (pipeline/shot_quality.ShotScorer), on real photos from tests/data and files made
from them at test time."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from remedia_tray.core import bestshot
from remedia_tray.core.media import MediaFile
from remedia_tray.errors import UnreadableImage
from remedia_tray.pipeline.cache import FeatureCache
from remedia_tray.pipeline.imaging import load_grey, load_image
from remedia_tray.pipeline.shot_quality import CACHE_KEY, ShotScorer, _fingerprint, shot_quality

from .conftest import PHOTOS, photo


def _enlarged(name: str, dst: Path, size: tuple[int, int], **save: object) -> Path:
    """A real photo enlarged to `size` (a camera-sized file), saved as JPEG unless told."""
    with Image.open(photo(name)) as im:
        im.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(dst, **save)
    return dst


def _grey_of(path: Path, *, min_side: int) -> np.ndarray:
    """What the scorer read before: the colour decode (load_image), converted to grey."""
    return np.asarray(load_image(path, min_side=min_side).image.convert("L"), dtype=np.int16)


def test_a_camera_sized_jpeg_decodes_grey_at_three_eighths(tmp_path: Path) -> None:
    """3/8 is the smallest of libjpeg-turbo's n/8 scales keeping 1,000 px of a 4000x3000
    photo; load_image's draft rule (1/2, 1/4, 1/8) takes 1/2 and decodes 78 % more pixels."""
    path = _enlarged("peaks", tmp_path / "IMG_0001.jpg", (4000, 3000), quality=90)
    loaded = load_grey(path, min_side=1000)
    assert loaded.image.mode == "L" and loaded.image.size == (1500, 1125)
    assert (loaded.info.width, loaded.info.height, loaded.info.format) == (4000, 3000, "JPEG")
    assert load_image(path, min_side=500).image.size == (2000, 1500)


def test_the_grey_decode_is_the_luma_of_the_colour_one(tmp_path: Path) -> None:
    """At one scale, the JPEG's own luma equals the colour decode converted to grey, up to
    rounding (chroma adds nothing to luma)."""
    path = _enlarged("sunset", tmp_path / "IMG_0002.jpg", (1600, 1200), quality=90)
    grey = np.asarray(load_grey(path, min_side=600).image, dtype=np.int16)  # 4/8
    colour = _grey_of(path, min_side=300)  # draft 1/2
    assert grey.shape == colour.shape == (600, 800)
    assert np.abs(grey - colour).max() <= 2 and np.abs(grey - colour).mean() < 0.05


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied_as_load_image_does(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / f"IMG_rotated_{orientation}.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    _enlarged("ridge", path, (1600, 1200), quality=90, exif=exif)
    loaded = load_grey(path, min_side=600)  # 1/2, as the reference
    reference = load_image(path, min_side=300)
    assert loaded.info == reference.info
    upright = (600, 800) if orientation in (6, 8) else (800, 600)
    assert loaded.image.size == reference.image.size == upright
    grey = np.asarray(loaded.image, dtype=np.int16)
    assert np.abs(grey - _grey_of(path, min_side=300)).mean() < 0.05


def test_other_formats_and_cmyk_go_through_load_image(tmp_path: Path) -> None:
    png = _enlarged("coffee", tmp_path / "shot.png", (1200, 800))
    with Image.open(photo("cat")) as im:
        cmyk = tmp_path / "print.jpg"
        im.convert("CMYK").save(cmyk, quality=90)
    for path in (png, cmyk):
        grey = np.asarray(load_grey(path, min_side=1000).image, dtype=np.int16)
        assert np.array_equal(grey, _grey_of(path, min_side=500))


def test_a_damaged_jpeg_gets_load_images_reason(tmp_path: Path) -> None:
    data = _enlarged("life", tmp_path / "whole.jpg", (1600, 1200), quality=90).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableImage) as reference:
        load_image(cut, min_side=500)
    with pytest.raises(UnreadableImage) as got:
        load_grey(cut, min_side=1000)
    assert str(got.value) == str(reference.value) and str(got.value).startswith("damaged")


def _files(paths: list[Path]) -> list[MediaFile]:
    return [MediaFile.from_stat(p, p.stat()) for p in paths]


def test_a_later_scorer_reads_the_qualities_from_the_cache(tmp_path: Path) -> None:
    paths = [photo(name) for name in PHOTOS]
    cache = FeatureCache(tmp_path / "cache")
    first = ShotScorer(_files(paths), cache=cache)
    judged = first(paths)
    assert (first.read, first.from_cache) == (len(paths), 0)
    assert judged == [shot_quality(p) for p in paths]
    cache.close()

    cache = FeatureCache(tmp_path / "cache")  # a later sort, another process
    assert len(cache.get_many(_files(paths), CACHE_KEY)) == len(paths)
    later = ShotScorer(_files(paths), cache=cache)
    assert later(paths) == judged  # every field, to the last bit
    assert (later.read, later.from_cache) == (0, len(paths))
    cache.close()


def test_changed_and_unreadable_photos_are_read_again(tmp_path: Path) -> None:
    camera = tmp_path / "Camera"
    camera.mkdir()
    edited, broken = camera / "IMG_1.jpg", camera / "IMG_2.jpg"
    edited.write_bytes(photo("umang").read_bytes())
    broken.write_bytes(photo("peaks").read_bytes()[:2000])  # the header, hardly any pixels
    paths = [edited, broken]
    cache = FeatureCache(tmp_path / "cache")
    first = ShotScorer(_files(paths), cache=cache)
    before, unreadable = first(paths)
    assert before is not None and unreadable is None
    # The photo edited in place (new bytes, new mtime), and the broken one, not cached.
    _enlarged("umang", edited, (480, 270), quality=60)
    os.utime(edited, ns=(edited.stat().st_atime_ns, edited.stat().st_mtime_ns + 10**9))
    later = ShotScorer(_files(paths), cache=cache)
    after, still = later(paths)
    assert (later.read, later.from_cache) == (2, 0)
    assert after == shot_quality(edited) != before and still is None
    cache.close()


def test_retuned_weights_never_read_an_old_score(monkeypatch: pytest.MonkeyPatch) -> None:
    assert CACHE_KEY.startswith("shot:v1:") and CACHE_KEY.endswith(_fingerprint())
    monkeypatch.setattr(bestshot, "W_NOISE", bestshot.W_NOISE * 2)
    assert not CACHE_KEY.endswith(_fingerprint())
