"""EfficientNet-Lite0 embeddings: the AI engine that needs no setup (the model ships inside).

Features: the photo squashed to 224x224, the last feature map GeM-pooled (p=3),
L2-normalised, PCA-whitened to 1024 dimensions and L2-normalised again, once as stored and once
turned 90 degrees (some cameras and editors save a quarter turn without an EXIF tag), so a row
holds 2 x 1024 values. The network is a ready ONNX file in the package (assets/models, made by
scripts/export_bundled_model.py from the Apache-2.0 ImageNet weights) run in ONNX Runtime: no
torch, no download, no export. The whitening was learned on the Holidays dev split only; it was
the one change of those tried (Lite1/Lite2, regional pooling, larger and multi-scale inputs)
that raised precision and recall together (benchmarks/descriptor_study/README.md).
"""

from __future__ import annotations

import hashlib
import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..core.search.cosine import l2_normalise
from ..errors import EngineUnavailable
from .base import Neighbours
from .effnet_search import (
    rotation_aware_cross,
    rotation_aware_distance,
    rotation_aware_neighbours,
    rotation_aware_query,
)
from .embedding import EmbeddingEngine
from .onnx import onnxruntime_available, ort_session

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

MODEL_FILE = "effnet-lite0-gem3-w1024.onnx"
SIZE = 224
EMBED_DIM = 1024
# Images per model call: the early feature maps are large (16 images ~ 80 MB of activations),
# and bigger calls are no faster on a CPU.
_CHUNK = 16
#: Part of the cache key: bump when preprocessing or pooling changes.
PREPROCESS_VERSION = 2

# Strictness -> max cosine distance (1 - cosine) of the best rotation match. Chosen on the
# Holidays dev split by cross-fitting (benchmarks/descriptor_study/README.md): each level is the
# largest distance whose precision, measured on photos the whitening never saw, stays at or
# above a target: loose 0.85, balanced 0.95, strict 0.98, exact 0.995. Held-out P / R (5 folds by
# group x 3 seeds, mean +- std): loose 0.871+-0.086 / 0.782+-0.099, balanced 0.937+-0.063 /
# 0.715+-0.118, strict 0.963+-0.057 / 0.686+-0.115, exact 0.975+-0.048 / 0.607+-0.117.
# exact also covers the same picture: re-encodes, resizes, flips and greyscale copies score
# cosine 0.79-1.00, different photos at most 0.31. The value at 0 is an extrapolation.
THRESHOLDS: dict[int, float] = {0: 0.80, 25: 0.76, 50: 0.685, 75: 0.615, 100: 0.535}
#: Max distance at which the bundled model calls two photos the same picture.
DUPLICATE_DISTANCE = THRESHOLDS[100]


def model_path() -> Path:
    """The bundled ONNX file inside the installed package."""
    path = Path(str(resources.files("remedia_tray") / "assets" / "models" / MODEL_FILE))
    if not path.is_file():
        raise EngineUnavailable(f"the bundled AI model is missing from the installation: {path}")
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def to_model_input(batch: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) with TF-Lite's (x - 127) / 128."""
    x = np.ascontiguousarray(np.asarray(batch).transpose(0, 3, 1, 2), dtype=np.float32)
    x -= 127.0
    x /= 128.0
    return x


class EffNetEngine(EmbeddingEngine):
    name: ClassVar[str] = "effnet"
    thresholds = THRESHOLDS
    decode_side: ClassVar[int] = SIZE
    feature_dtype: ClassVar[str] = "float16"  # 4 KB a photo in the cache; cosine error < 1e-3
    #: The embedding of the photo as stored, then of the photo turned 90 degrees.
    feature_dim = 2 * EMBED_DIM
    preprocess_version: ClassVar[int] = PREPROCESS_VERSION
    model_attributes: ClassVar[tuple[str, ...]] = ("_model",)

    def __init__(self, *, strictness: int = 50) -> None:
        super().__init__(strictness=strictness)
        self._model_file = model_path()
        self._digest = _digest(self._model_file)
        self._model: Any = None
        self.runtime: str = "not loaded"

    @property
    def model_id(self) -> str:
        return f"lite0-onnx-{self._digest[:12]}:{SIZE}sq:gem3w1024:rot90"

    @property
    def label(self) -> str:
        return (
            "EfficientNet-Lite0 ImageNet, whitened (bundled fallback), rotation-aware, "
            f"{self.runtime}"
        )

    def load(self) -> None:
        """Load the model now (otherwise the first batch does it)."""
        if self._model is not None:
            return
        if not onnxruntime_available():
            raise EngineUnavailable(
                "the AI engine needs onnxruntime (pip install onnxruntime), "
                "which installs with ReMedia"
            )
        try:
            self._model = ort_session(self._model_file)
        except Exception as exc:
            raise EngineUnavailable(f"the bundled AI model cannot be loaded: {exc}") from exc
        self.runtime = "ONNX Runtime"

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
            parts.append(self._model.run(None, {"x": x})[0])
        if not parts:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        return l2_normalise(np.concatenate(parts))

    def finalize(self, prepared: np.ndarray) -> np.ndarray:
        batch = np.asarray(prepared)
        turned = np.rot90(batch, 1, axes=(1, 2))
        both = self.embed(np.concatenate([batch, turned]))
        n = len(batch)
        return np.concatenate([both[:n], both[n:]], axis=1).astype(np.float16)

    # Rows carry a quarter-turned copy: the best rotation match decides (effnet_search).

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return rotation_aware_distance(a, b, EMBED_DIM)

    def neighbours(self, features: np.ndarray) -> Neighbours:
        return rotation_aware_neighbours(features, EMBED_DIM, self._threshold)

    def neighbours_of(self, features: np.ndarray, query: np.ndarray) -> Neighbours:
        return rotation_aware_query(features, EMBED_DIM, self._threshold, query)

    def library_candidates(self, library: np.ndarray, new: np.ndarray) -> np.ndarray:
        return rotation_aware_cross(library, new, EMBED_DIM, self._threshold)
