"""Where model weights come from. A sort only ever reads local files; downloads are explicit.

CLIP weights are looked up, in this order: the `--clip-weights FILE` option, the
`REMEDIA_CLIP_WEIGHTS` environment variable, `clip_weights` in the tray settings (passed in by
the caller), the file that
`remedia model download` writes (user cache, then user data folder), and finally open_clip's own
Hugging Face cache (what `pretrained="openai"` would have used with `HF_HUB_OFFLINE=1`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..atomicfile import replacing
from ..atomicfile import write_atomic as _write_atomic
from ..errors import EngineUnavailable, RemediaError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

CLIP_ARCH = "ViT-B-32-quickgelu"
CLIP_TAG = "openai"
#: What `remedia model download` writes: the image tower only, as safetensors.
CLIP_FILE_NAME = "clip-ViT-B-32-quickgelu-openai.visual.safetensors"
#: What `remedia model import|download` converts it to: what sorts run, with no torch.
CLIP_ONNX_NAME = "clip-ViT-B-32-quickgelu-openai.visual.onnx"
#: The one line a user sees when the conversion tools are missing.
CONVERT_HINT = "needs the conversion tools: pip install 'remedia-tray[convert]'"
#: int8 CLIP is kept only if every check image (or photo of the first batch) stays this close
#: to fp32: for a conversion here and for the engine's own check.
MIN_INT8_COSINE = 0.99
ENV_WEIGHTS = "REMEDIA_CLIP_WEIGHTS"
# open_clip's download location for the openai tag (a Hugging Face model repository).
_HF_REPO_DIR = "models--timm--vit_base_patch32_clip_224.openai"
_HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")

WeightsSource = Literal["option", "environment", "settings", "download", "huggingface cache"]


@dataclass(frozen=True)
class WeightsFile:
    path: Path
    source: WeightsSource


@dataclass(frozen=True)
class WeightsLookup:
    """The weights to use, if any, and what was wrong with a configured file."""

    found: WeightsFile | None
    problems: tuple[str, ...] = ()


def _app_cache_dir() -> Path:
    from ..layout import user_cache_dir

    return user_cache_dir()


def models_dir() -> Path:
    """Downloaded weights and converted (ONNX) models live here, in the user's cache."""
    return _app_cache_dir() / "models"


def data_models_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("remedia", appauthor=False)) / "models"


def clip_download_target() -> Path:
    return models_dir() / CLIP_FILE_NAME


def _hf_hub_cache() -> Path:
    # Same rules as huggingface_hub, without importing it.
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def _hf_cached_files() -> Iterator[Path]:
    repo = _hf_hub_cache() / _HF_REPO_DIR
    ref = repo / "refs" / "main"
    try:
        revision = ref.read_text(encoding="utf-8").strip()
    except OSError:
        return
    for name in _HF_FILES:
        yield repo / "snapshots" / revision / name


def find_clip_weights(
    explicit: Path | None = None,
    *,
    configured: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> WeightsLookup:
    """The CLIP weights file to use, without touching the network.

    `configured` is `clip_weights` from the tray settings, read by the caller (the CLI or the
    tray): this module never reads settings. Raises EngineUnavailable when `explicit` (the
    user's --clip-weights) is not a file.
    """
    env = os.environ if environ is None else environ
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise EngineUnavailable(f"CLIP weights file not found: {path}")
        return WeightsLookup(WeightsFile(path, "option"))
    problems: list[str] = []
    from_env = env.get(ENV_WEIGHTS)
    settable: list[tuple[Path | None, WeightsSource, str]] = [
        (Path(from_env).expanduser() if from_env else None, "environment", ENV_WEIGHTS),
        (configured, "settings", "clip_weights in the settings"),
    ]
    for candidate, source, label in settable:
        if candidate is None:
            continue
        if candidate.is_file():
            return WeightsLookup(WeightsFile(candidate, source), tuple(problems))
        problems.append(f"{label} points to {candidate}, which is not a file")
    # The converted ONNX file first, wherever it is: it runs without torch.
    for name in (CLIP_ONNX_NAME, CLIP_FILE_NAME):
        for folder in (models_dir(), data_models_dir()):
            candidate = folder / name
            if candidate.is_file():
                return WeightsLookup(WeightsFile(candidate, "download"), tuple(problems))
    for candidate in _hf_cached_files():
        if candidate.is_file():
            return WeightsLookup(WeightsFile(candidate, "huggingface cache"), tuple(problems))
    return WeightsLookup(None, tuple(problems))


def file_digest(path: Path) -> str:
    """SHA-256 of a weights file, remembered by (path, size, mtime) so big files hash once."""
    path = Path(path)
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    memo = models_dir() / "digests.json"
    try:
        known: dict[str, str] = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if key in known:
        return known[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    digest = h.hexdigest()
    known[key] = digest
    try:
        write_atomic(memo, json.dumps(known, indent=0).encode("utf-8"))
    except OSError:
        pass  # only a speed-up
    return digest


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, data)


def prepare_offline_imports() -> None:
    """Call before importing open_clip or huggingface_hub in a sort: they must stay offline."""
    os.environ["HF_HUB_OFFLINE"] = "1"


# --- loading and converting CLIP weights (needs torch and open_clip) ---------------------------


def build_clip_visual() -> torch.nn.Module:
    """The ViT-B-32-quickgelu image tower with random weights (no download, no warning)."""
    prepare_offline_imports()
    import open_clip

    from .onnx import quiet_root_log

    with quiet_root_log("No pretrained weights loaded"):
        model = open_clip.create_model(CLIP_ARCH, pretrained=None)
    visual: torch.nn.Module = model.visual
    return visual.eval()


def read_state_dict(path: Path) -> dict[str, Any]:
    """Tensors from a .safetensors, .bin/.pt/.pth state dict or OpenAI TorchScript file."""
    import torch

    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return dict(load_file(str(path), device="cpu"))
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except RuntimeError as exc:
            if "TorchScript" not in str(exc) and "constants.pkl" not in str(exc):
                raise
            # OpenAI's own release format (ViT-B-32.pt) is a TorchScript archive.
            obj = torch.jit.load(str(path), map_location="cpu").state_dict()  # type: ignore[no-untyped-call]
    except Exception as exc:
        raise EngineUnavailable(f"cannot read CLIP weights {path}: {exc}") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise EngineUnavailable(f"{path} does not hold a state dict")
    return dict(obj)


def visual_state_dict(state: Mapping[str, Any]) -> dict[str, Any]:
    """The image-tower tensors of a full CLIP state dict (or an image-tower-only one)."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        k = key[len("module.") :] if key.startswith("module.") else key
        if k.startswith("visual."):
            out[k[len("visual.") :]] = value
    if out:
        return out
    return dict(state)  # already the image tower alone


def load_clip_visual(path: Path) -> torch.nn.Module:
    """The image tower with the weights from `path`; raises EngineUnavailable if they do not fit."""
    import torch

    visual = build_clip_visual()
    tensors = visual_state_dict(read_state_dict(path))
    expected = visual.state_dict()
    missing = sorted(set(expected) - set(tensors))
    wrong = sorted(
        k for k in expected if k in tensors and tuple(tensors[k].shape) != tuple(expected[k].shape)
    )
    if missing or wrong:
        detail = f"missing {missing[:3]}" if missing else f"wrong shape for {wrong[:3]}"
        raise EngineUnavailable(f"{path} is not {CLIP_ARCH} CLIP weights ({detail})")
    visual.load_state_dict({k: tensors[k].to(torch.float32) for k in expected}, strict=True)
    return visual.eval()


def install_clip_weights(source: Path, target: Path | None = None) -> Path:
    """Store the image tower of `source` as one safetensors file where sorts look for it.

    fp16 when that is lossless (OpenAI released fp16 weights), otherwise fp32.
    """
    import torch
    from safetensors.torch import save_file

    target = clip_download_target() if target is None else target
    visual = load_clip_visual(source)
    tensors = {k: v.detach().contiguous() for k, v in visual.state_dict().items()}
    if all(torch.equal(v.half().float(), v) for v in tensors.values()):
        tensors = {k: v.half() for k, v in tensors.items()}
    target.parent.mkdir(parents=True, exist_ok=True)
    with replacing(target) as tmp:
        save_file(tensors, str(tmp), metadata={"arch": CLIP_ARCH, "tag": CLIP_TAG})
    return target


def download_clip_weights(target: Path | None = None, *, force: bool = False) -> Path:
    """Fetch the OpenAI ViT-B/32 weights once (progress bar on stderr) and install them.

    The only function in ReMedia that opens a network connection; called by
    `remedia model download`, never by a sort. An installed file is kept unless `force`.
    """
    target = clip_download_target() if target is None else target
    if target.is_file() and not force:
        return target
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise RemediaError(
            "HF_HUB_OFFLINE is set, so nothing can be downloaded; unset it, or copy a weights "
            "file here and pass --clip-weights FILE"
        )
    try:
        import open_clip
    except ImportError as exc:
        raise EngineUnavailable(f"downloading CLIP {CONVERT_HINT} ({exc})") from None
    cfg = open_clip.get_pretrained_cfg(CLIP_ARCH, CLIP_TAG)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as tmp:
        try:
            fetched = open_clip.download_pretrained(cfg, cache_dir=tmp)
        except Exception as exc:
            raise RemediaError(f"could not download the CLIP weights: {exc}") from None
        if not fetched:
            raise RemediaError("open_clip knows no download for ViT-B-32-quickgelu/openai")
        return install_clip_weights(Path(fetched), target)


@dataclass(frozen=True)
class Converted:
    path: Path
    #: "int8" or "fp32"; int8 when it matched fp32 within MIN_INT8_COSINE on the check images.
    precision: str
    min_cosine: float


def _check_images(count: int = 12) -> Any:
    """Photo-like test inputs for the int8 check: smooth gradients with edges and texture."""
    import numpy as np

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:224, 0:224].astype(np.float32) / 224.0
    images = []
    for _ in range(count):
        base = rng.uniform(0, 1, 3)[:, None, None] * (0.5 + 0.5 * np.stack([xx, yy, xx * yy]))
        blocks = rng.uniform(-0.3, 0.3, (3, 7, 7)).repeat(32, axis=1).repeat(32, axis=2)
        noise = rng.normal(0, 0.05, (3, 224, 224))
        images.append(np.clip(base + blocks + noise, 0, 1))
    x = (np.stack(images).astype(np.float32) - 0.45) / 0.27
    return x


def convert_clip_weights(source: Path, target: Path | None = None) -> Converted:
    """Convert a local open_clip checkpoint to the ONNX image tower that sorts run.

    Needs the `convert` extra (torch, open_clip). int8 weights (about 90 MB) when they agree
    with fp32, else fp32 (about 350 MB). Never opens a network connection.
    """
    import numpy as np

    try:
        import torch

        from ..core.search.cosine import l2_normalise
        from .onnx import export_onnx, ort_session, quantize_int8

        visual = load_clip_visual(Path(source))
    except ImportError as exc:
        raise EngineUnavailable(f"converting CLIP weights {CONVERT_HINT} ({exc})") from None
    target = data_models_dir() / CLIP_ONNX_NAME if target is None else target
    target.parent.mkdir(parents=True, exist_ok=True)
    x = _check_images()
    with tempfile.TemporaryDirectory(prefix=".convert-", dir=target.parent) as tmp:
        fp32 = export_onnx(visual, torch.zeros(1, 3, 224, 224), Path(tmp) / "fp32.onnx")
        int8 = quantize_int8(fp32, Path(tmp) / "int8.onnx")
        with torch.inference_mode():
            exact = l2_normalise(visual(torch.from_numpy(x)).numpy())
        fast = l2_normalise(ort_session(int8).run(None, {"x": x})[0])
        worst = float(np.min(np.sum(exact * fast, axis=1)))
        chosen, precision = (int8, "int8") if worst >= MIN_INT8_COSINE else (fp32, "fp32")
        os.replace(chosen, target)
    return Converted(target, precision, worst)
