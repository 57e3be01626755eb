"""Hash engine on real photos: copies stay close, different photos stay apart."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from remedia_tray.core.search.hash import hash_neighbours
from remedia_tray.engines import HashEngine
from remedia_tray.pipeline.features import feature_set

from .conftest import PHOTOS, SHARED, photo, save_as, whatsapp_copy


@pytest.fixture(scope="module")
def engine() -> HashEngine:
    return HashEngine(strictness=50)


def _features(engine: HashEngine, paths: list[Path]) -> np.ndarray:
    result = engine.compute_features(paths, extract=feature_set)
    assert not result.skipped
    return result.features


def test_copies_are_similar(engine: HashEngine, tmp_path: Path) -> None:
    for name in PHOTOS:
        original = photo(name)
        copies = [
            whatsapp_copy(original, tmp_path / f"{name}_wa.jpg"),
            save_as(original, tmp_path / f"{name}.png", "PNG"),
            save_as(original, tmp_path / f"{name}.webp", "WEBP", quality=80),
        ]
        feats = _features(engine, [original, *copies])
        for k in range(1, len(feats)):
            assert engine.are_similar(feats[0], feats[k]), (
                name,
                k,
                engine.distance(feats[0], feats[k]),
            )


def test_different_photos_are_not_similar(engine: HashEngine) -> None:
    feats = _features(engine, [photo(n) for n in PHOTOS])
    for a, b in combinations(range(len(PHOTOS)), 2):
        assert engine.distance(feats[a], feats[b]) > 12, (PHOTOS[a], PHOTOS[b])


def test_flip_is_not_a_duplicate(engine: HashEngine, tmp_path: Path) -> None:
    strict = HashEngine(strictness=75)
    with Image.open(photo("peaks")) as im:
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "flip.jpg")
    feats = _features(engine, [photo("peaks"), tmp_path / "flip.jpg"])
    assert not strict.are_similar(feats[0], feats[1])


def test_golden_hash_is_stable(engine: HashEngine) -> None:
    # Guards against silent changes in decoding or hashing that would invalidate caches.
    feats = _features(engine, [photo("coffee")])
    again = _features(engine, [photo("coffee")])
    assert feats.dtype == np.uint64 and feats.shape == (1, engine.feature_dim)
    assert np.array_equal(feats, again)
    assert (hex(int(feats[0, 0])), hex(int(feats[0, 1]))) == (
        "0xf3e96933160b1b36",
        "0xbb8320376c0f3637",
    )
    assert engine.thumbnail(feats[0]).shape == (64, 64)
    assert engine.cache_key == "hash:dhash8+phash8+thumb64:v2"


def test_strictness_orders_thresholds() -> None:
    values = [HashEngine(strictness=s).threshold for s in (0, 25, 50, 75, 100)]
    assert values == sorted(values, reverse=True)
    assert HashEngine(strictness=100).threshold == 0


@pytest.mark.parametrize("threshold", [0, 3, 8, 14])
def test_neighbours_match_brute_force(threshold: float) -> None:
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**63, size=(300, 2), dtype=np.uint64)
    flips = rng.integers(0, 64, size=(300, 2, 3))
    near = base.copy()
    for k in range(300):
        for col in range(2):
            for bit in flips[k, col, : k % 4]:
                near[k, col] ^= np.uint64(1) << np.uint64(bit)
    feats = np.concatenate([base, near])
    got = hash_neighbours(feats, threshold, 0.5)
    pairs = set(zip(got.i.tolist(), got.j.tolist()))
    engine = HashEngine()
    expected = {
        (a, b)
        for a in range(len(feats))
        for b in range(a + 1, len(feats))
        if engine.distance(feats[a], feats[b]) <= threshold
    }
    assert pairs == expected


def test_hashes_are_imagehash_bits_without_scipy() -> None:
    """The numpy dHash/pHash give imagehash's exact bits on real photos (it needs scipy)."""
    imagehash = pytest.importorskip("imagehash")
    from remedia_tray.engines.hash import dhash, phash

    paths = [photo(n) for n in PHOTOS]
    shared = SHARED / "photos" / "images"
    if shared.is_dir():
        paths += sorted(shared.iterdir())
    differing = []
    for path in paths:
        with Image.open(path) as im:
            im.draft("L", (256, 256))
            grey = im.convert("L")
        if dhash(grey) != int(str(imagehash.dhash(grey)), 16):
            differing.append(("dhash", path.name))
        if phash(grey) != int(str(imagehash.phash(grey)), 16):
            differing.append(("phash", path.name))
    assert differing == []
    assert len(paths) >= len(PHOTOS)
