"""ClipEngine and its weights: local files only, the real loading code, no network ever.

No CLIP weights can be downloaded here, so the weights are a randomly initialised
ViT-B-32-quickgelu image tower saved by the test (same architecture, same loading code).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from remedia_tray.errors import EngineUnavailable, RemediaError
from remedia_tray.pipeline.imaging import load_image
from remedia_tray.sorter import SortOptions, sort_folder

from . import ai_support
from .ai_support import NetworkGuard
from .conftest import PHOTOS, photo, read_tree, whatsapp_copy

# Fixtures shared by the AI tests (pytest finds them as this module's own).
_shared_model_cache = ai_support._shared_model_cache
ai_models = ai_support.ai_models
clip_weights = ai_support.clip_weights
no_network = ai_support.no_network

torch = pytest.importorskip("torch")
pytest.importorskip("open_clip")
clip = pytest.importorskip("remedia_tray.engines.clip")
models = pytest.importorskip("remedia_tray.engines.clip_weights")


def reference_embeddings(weights: Path, images: list[object]) -> np.ndarray:
    """fp32 embeddings from open_clip's own model and transform, weights loaded by hand."""
    import open_clip
    from safetensors.torch import load_file

    model, _, transform = open_clip.create_model_and_transforms(models.CLIP_ARCH, pretrained=None)
    state = {k: v.float() for k, v in load_file(str(weights)).items()}
    model.visual.load_state_dict(state, strict=True)
    x = torch.stack([transform(im) for im in images])
    with torch.inference_mode():
        out = model.eval().encode_image(x, normalize=True).numpy()
    result: np.ndarray = out
    return result


def images(*names: str) -> list[object]:
    return [load_image(photo(n), min_side=clip.SIZE).image for n in names]


def test_clip_loads_local_weights_without_network(
    clip_weights: Path, no_network: NetworkGuard
) -> None:
    engine = clip.ClipEngine(clip_weights, runtime="torch")
    engine.load()
    ims = images("sunset", "cat", "coffee")
    got = engine.finalize(np.stack([engine.prepare(im) for im in ims]))
    assert got.shape == (3, 512) and got.dtype == np.float32
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    want = reference_embeddings(clip_weights, ims)
    assert np.min(np.sum(got * want, axis=1)) > 0.9999
    assert engine.runtime == "torch fp32"
    assert "ViT-B-32-quickgelu" in engine.description


def test_preprocessing_matches_open_clip(clip_weights: Path) -> None:
    import open_clip

    _, _, transform = open_clip.create_model_and_transforms(models.CLIP_ARCH, pretrained=None)
    for im in images("sunset", "umang", "cat"):
        ours = clip.to_model_input(clip.preprocess(im)[None])[0]  # type: ignore[arg-type]
        theirs = transform(im).numpy()
        assert ours.shape == theirs.shape == (3, 224, 224)
        assert np.abs(ours - theirs).max() < 1e-4


@pytest.mark.slow
def test_a_full_clip_checkpoint_installs_as_an_image_tower_file(
    clip_weights: Path, tmp_path: Path
) -> None:
    import open_clip

    full = open_clip.create_model(models.CLIP_ARCH, pretrained=None)
    visual = {k: v.float() for k, v in models.read_state_dict(clip_weights).items()}
    full.visual.load_state_dict(visual)
    # The layout open_clip downloads: both towers, fp32, "visual." prefixes, torch pickle.
    source = tmp_path / "open_clip_pytorch_model.bin"
    torch.save(full.state_dict(), source)
    target = models.install_clip_weights(source, tmp_path / "installed.safetensors")
    installed = models.read_state_dict(target)
    assert set(installed) == set(visual)
    assert all(t.dtype == torch.float16 for t in installed.values())  # lossless for fp16 weights
    assert all(torch.equal(installed[k].float(), visual[k]) for k in visual)
    assert target.stat().st_size < source.stat().st_size / 3


def test_weights_of_another_model_are_refused_clearly(tmp_path: Path) -> None:
    bogus = tmp_path / "not-clip.pth"
    torch.save({"conv.weight": torch.zeros(8, 3, 3, 3)}, bogus)
    with pytest.raises(EngineUnavailable, match="is not ViT-B-32-quickgelu CLIP weights"):
        clip.ClipEngine(bogus, runtime="torch").load()
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"this is no weights file")
    with pytest.raises(EngineUnavailable, match="cannot read CLIP weights"):
        clip.ClipEngine(garbage, runtime="torch").load()


def test_weights_lookup_order(
    clip_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(models.ENV_WEIGHTS, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert models.find_clip_weights().found is None
    # open_clip's own download cache (what pretrained="openai" would use offline)
    snap = tmp_path / "hf" / "hub" / "models--timm--vit_base_patch32_clip_224.openai"
    (snap / "refs").mkdir(parents=True)
    (snap / "refs" / "main").write_text("abc123")
    (snap / "snapshots" / "abc123").mkdir(parents=True)
    (snap / "snapshots" / "abc123" / "open_clip_pytorch_model.bin").write_bytes(b"x")
    assert models.find_clip_weights().found.source == "huggingface cache"  # type: ignore[union-attr]
    # what `remedia model download` writes
    downloaded = models.clip_download_target()
    downloaded.parent.mkdir(parents=True, exist_ok=True)
    downloaded.write_bytes(b"x")
    assert models.find_clip_weights().found == models.WeightsFile(downloaded, "download")
    # the tray settings
    from remedia_tray.desktop import settings

    in_settings = tmp_path / "from-settings.safetensors"
    in_settings.write_bytes(b"x")
    settings.save(settings.Settings(clip_weights=in_settings))
    # the caller (CLI, tray) reads the settings; the lookup never does
    configured = settings.configured_clip_weights()
    assert configured == in_settings
    assert models.find_clip_weights(configured=configured).found == models.WeightsFile(
        in_settings, "settings"
    )
    # the environment
    monkeypatch.setenv(models.ENV_WEIGHTS, str(clip_weights))
    found = models.find_clip_weights(configured=configured).found
    assert found == models.WeightsFile(clip_weights, "environment")
    # the command-line option wins
    assert models.find_clip_weights(in_settings).found == models.WeightsFile(in_settings, "option")
    # a configured file that is missing is reported, and the search goes on
    monkeypatch.setenv(models.ENV_WEIGHTS, str(tmp_path / "gone.safetensors"))
    lookup = models.find_clip_weights(configured=configured)
    assert lookup.found == models.WeightsFile(in_settings, "settings")
    assert lookup.problems == (f"{models.ENV_WEIGHTS} points to {tmp_path / 'gone.safetensors'}, "
                               "which is not a file",)  # fmt: skip
    with pytest.raises(EngineUnavailable, match="CLIP weights file not found"):
        models.find_clip_weights(tmp_path / "missing.safetensors")


def test_without_clip_weights_the_fallback_runs_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: NetworkGuard
) -> None:
    from remedia_tray.engines import load_ai_engine

    monkeypatch.delenv(models.ENV_WEIGHTS, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    choice = load_ai_engine()
    assert choice.engine.name == "effnet"
    assert choice.note is not None and "\n" not in choice.note
    assert "CLIP" in choice.note and "remedia model download" in choice.note
    # Configured weights that do not load also fall back, and the line says why.
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"no tensors here")
    monkeypatch.setenv(models.ENV_WEIGHTS, str(bad))
    choice = load_ai_engine()
    assert choice.engine.name == "effnet"
    assert choice.note is not None and "cannot read CLIP weights" in choice.note
    # ... but weights the user named on the command line must load, or the sort stops.
    with pytest.raises(EngineUnavailable):
        load_ai_engine(clip_weights=bad)


def test_download_refuses_when_hf_hub_offline(
    monkeypatch: pytest.MonkeyPatch, no_network: NetworkGuard
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RemediaError, match="HF_HUB_OFFLINE"):
        models.download_clip_weights()
    assert not models.clip_download_target().exists()


@pytest.mark.slow
def test_download_keeps_an_installed_file_and_converts_it_for_torch_free_sorts(
    monkeypatch: pytest.MonkeyPatch,
    no_network: NetworkGuard,
    clip_weights: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import shutil

    from remedia_tray.cli import main

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    target = models.clip_download_target()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip_weights, target)
    before = target.read_bytes()
    assert main(["model", "download"]) == 0  # no_network: nothing was fetched again
    out = capsys.readouterr().out
    assert "Converting" in out and "sorts now use CLIP" in out
    assert target.read_bytes() == before
    onnx = models.data_models_dir() / models.CLIP_ONNX_NAME
    assert onnx.is_file()
    found = models.find_clip_weights().found
    assert found is not None and found.path == onnx

    # The converted file is all a sort needs: no torch, and the same embeddings as fp32.
    engine = clip.ClipEngine(onnx)
    engine.load()
    assert engine.runtime == "ONNX Runtime"
    batch = np.stack([clip.preprocess(im) for im in images(*PHOTOS)])
    fast = engine.finalize(batch)
    exact = reference_embeddings(clip_weights, images(*PHOTOS))
    assert float(np.min(np.sum(fast * exact, axis=1))) >= 0.99
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("sunset", "peaks"):
        shutil.copyfile(photo(name), folder / f"{name}.jpg")
    probe = (
        "import sys\n"
        "from remedia_tray.cli import main\n"
        f"assert main(['sort', {str(folder)!r}, '--workers', '1']) == 0\n"
        "assert 'torch' not in sys.modules and 'open_clip' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "CLIP" in done.stdout and "ONNX Runtime" in done.stdout


def test_a_checkpoint_without_the_conversion_tools_says_what_to_run(
    clip_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_open_clip(name: str, *args: object, **kwargs: object) -> object:
        if name.split(".")[0] == "open_clip":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_open_clip)
    with pytest.raises(EngineUnavailable, match=r"remedia model import .*remedia-tray\[convert\]"):
        clip.ClipEngine(clip_weights, runtime="torch").load()


@pytest.mark.slow
def test_int8_runtime_is_kept_only_if_it_matches_fp32_on_real_photos(clip_weights: Path) -> None:
    engine = clip.ClipEngine(clip_weights)
    for cached in engine._onnx_paths():  # an earlier test may have decided already
        cached.unlink(missing_ok=True)
    engine.load()  # exports and quantises once; the first batch decides
    ims = [load_image(photo(n), min_side=clip.SIZE).image for n in PHOTOS]
    batch = np.stack([engine.prepare(im) for im in ims])
    first = engine.finalize(batch)
    assert engine.int8_min_cosine is not None
    want = reference_embeddings(clip_weights, ims)
    assert np.min(np.sum(first * want, axis=1)) > 0.9999  # the check batch itself is fp32
    if engine.int8_min_cosine >= clip.MIN_INT8_COSINE:
        assert engine.runtime == "ONNX Runtime int8"
        fast = engine.finalize(batch)
        assert np.min(np.sum(fast * want, axis=1)) >= clip.MIN_INT8_COSINE
        # The next engine for these weights starts on int8 at once, without torch.
        again = clip.ClipEngine(clip_weights)
        again.load()
        assert again.runtime == "ONNX Runtime int8" and again._torch is None
    else:
        assert engine.runtime == "torch fp32"


def test_a_sort_with_clip_weights_never_opens_a_socket(
    clip_weights: Path, tmp_path: Path, no_network: NetworkGuard
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    for name in PHOTOS:
        (root / f"{name}.jpg").write_bytes(photo(name).read_bytes())
    whatsapp_copy(photo("sunset"), root / "sunset-wa.jpg")
    before = read_tree(root)
    report = sort_folder(root, SortOptions(clip_weights=clip_weights, workers=1))
    assert "clip" in report.engines and "ViT-B-32-quickgelu" in report.engines["clip"]
    assert not any("EfficientNet" in n for n in report.notes)
    assert [g.kind for g in report.duplicate_groups] == ["duplicates"]
    saved = json.loads(report.report_path.read_text())  # type: ignore[union-attr]
    assert "ViT-B-32-quickgelu" in saved["engines"]["clip"]
    from remedia_tray.filing.mover import undo_last_sort

    undo_last_sort(root)
    assert read_tree(root) == before
