"""The engine interface: what every engine declares, `load()`, and the embedding base the AI
engines share. No model runs here."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from remedia_tray.engines import ENGINES
from remedia_tray.engines.base import MediaKind, SimilarityEngine
from remedia_tray.engines.clip import ClipEngine
from remedia_tray.engines.effnet import PREPROCESS_VERSION, SIZE, EffNetEngine
from remedia_tray.engines.embedding import EmbeddingEngine
from remedia_tray.engines.hash import HashEngine
from remedia_tray.engines.video import VideoEngine

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def clip_file(tmp_path: Path) -> Path:
    path = tmp_path / "clip.safetensors"
    path.write_bytes(b"not really weights")
    return path


@pytest.fixture
def engines(clip_file: Path) -> list[SimilarityEngine]:
    return [HashEngine(), EffNetEngine(), ClipEngine(clip_file)]


def test_the_registry_covers_the_engines_tested_here(engines: list[SimilarityEngine]) -> None:
    # The video engine is tested with videos (tests/test_video_engine.py).
    assert sorted([*(e.name for e in engines), VideoEngine.name]) == sorted(ENGINES)


def test_every_engine_says_which_media_it_reads(engines: list[SimilarityEngine]) -> None:
    for engine in engines:
        assert engine.reads in get_args(MediaKind)
        assert engine.reads == "pictures"  # videos come with their own engine


def test_load_is_part_of_the_interface() -> None:
    # Every engine must say what getting ready means; the hashes need no model: a no-op.
    assert "load" in SimilarityEngine.__abstractmethods__
    assert HashEngine().load() is None


def test_the_ai_engines_share_the_embedding_base(engines: list[SimilarityEngine]) -> None:
    hash_engine, effnet, clip = engines
    assert not isinstance(hash_engine, EmbeddingEngine)
    for engine in (effnet, clip):
        assert isinstance(engine, EmbeddingEngine)
        assert (engine.kind, engine.metric, engine.batched) == ("similar", "cosine", True)


def test_cache_keys_keep_their_format(engines: list[SimilarityEngine]) -> None:
    _, effnet, clip = engines
    digest = effnet.cache_key.split(":")[1].removeprefix("lite0-onnx-")
    assert len(digest) == 12
    assert effnet.cache_key == (
        f"effnet:lite0-onnx-{digest}:{SIZE}sq:gem3w1024:rot90:v{PREPROCESS_VERSION}"
    )
    assert clip.cache_key.startswith("clip:ViT-B-32-quickgelu:")
    assert clip.cache_key.endswith(":v1") and len(clip.cache_key.split(":")[2]) == 16


def test_an_engine_travels_to_workers_without_its_model(engines: list[SimilarityEngine]) -> None:
    _, effnet, clip = engines
    effnet._model = object()  # type: ignore[attr-defined]
    clip._session = object()  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(effnet))._model is None
    copy = pickle.loads(pickle.dumps(clip))
    assert copy._session is None and copy._torch is None
    assert copy.cache_key == clip.cache_key


def test_the_single_view_cosine_search_of_the_base(clip_file: Path) -> None:
    engine = ClipEngine(clip_file, strictness=50)  # max distance 0.10
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 512)).astype(np.float32)
    feats = np.concatenate([a, a[:1] * 2.0 + 0.01 * rng.standard_normal((1, 512))])
    found = engine.neighbours(feats)
    assert list(zip(found.i.tolist(), found.j.tolist())) == [(0, 3)]
    assert engine.are_similar(feats[0], feats[3]) and not engine.are_similar(feats[0], feats[1])
    query = engine.neighbours_of(feats, np.array([3]))
    assert query.i.tolist() == [0] and query.j.tolist() == [3]


def test_the_engines_import_no_model_runtime() -> None:
    code = (
        "import sys\n"
        "import remedia_tray.engines.hash, remedia_tray.engines.effnet, remedia_tray.engines.clip\n"
        "import remedia_tray.engines.embedding, remedia_tray.core.search.cosine\n"
        "import remedia_tray.engines.video\n"
        "print(sorted({'onnxruntime', 'torch', 'open_clip', 'av'} & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.strip() == "[]"
