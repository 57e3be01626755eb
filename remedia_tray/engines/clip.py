"""OpenCLIP ViT-B-32-quickgelu (OpenAI weights) image embeddings for similar photos.

Weights come only from a local file (found and converted by clip_weights.py); nothing here opens
a network connection. Preprocessing matches open_clip's for this model (shortest side to 224
bicubic, centre crop, OpenAI mean/std) but runs in numpy/PIL inside the worker processes.
Inference is batched in the main process: ONNX Runtime with int8 weights when, on the first
batch of real photos, it agrees with the fp32 torch model to cosine >= 0.99 (the decision is
cached with the model), otherwise torch fp32.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from ..core.search.cosine import l2_normalise
from ..errors import EngineUnavailable
from .clip_weights import MIN_INT8_COSINE
from .embedding import EmbeddingEngine
from .onnx import (
    EXPORT_VERSION,
    export_onnx,
    onnxruntime_available,
    ort_session,
    quantize_int8,
    set_torch_threads,
)

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

Runtime = Literal["auto", "onnx-int8", "torch"]

SIZE = 224
EMBED_DIM = 512
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
PREPROCESS_VERSION = 1

# Strictness -> max cosine distance (1 - cosine). NOT calibrated here: no CLIP weights can be
# obtained on the build machines. Chosen from published practice for OpenAI ViT-B/32 image
# embeddings: Immich's duplicate detection defaults to a max distance of 0.01 for
# near-identical photos, and same-scene series typically sit at cosine 0.85-0.95 while
# unrelated photos sit near 0.5-0.7. Re-calibrate with benchmarks/holidays.py --model clip.
THRESHOLDS: dict[int, float] = {0: 0.20, 25: 0.15, 50: 0.10, 75: 0.07, 100: 0.03}


def preprocess(image: Image.Image) -> np.ndarray:
    """open_clip's transform for this model up to normalisation: uint8 (224, 224, 3)."""
    from PIL import Image as PILImage

    w, h = image.size
    # Short side exactly SIZE, long side truncated: what torchvision.transforms.Resize does.
    size = (SIZE, int(SIZE * h / w)) if w <= h else (int(SIZE * w / h), SIZE)
    resized = image.convert("RGB").resize(size, PILImage.Resampling.BICUBIC)
    # CenterCrop as torchvision rounds it.
    left = round((size[0] - SIZE) / 2.0)
    top = round((size[1] - SIZE) / 2.0)
    cropped = resized.crop((left, top, left + SIZE, top + SIZE))
    return np.asarray(cropped, dtype=np.uint8)


def to_model_input(batch: np.ndarray) -> np.ndarray:
    x = np.asarray(batch, dtype=np.float32) / np.float32(255.0)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)


class ClipEngine(EmbeddingEngine):
    name: ClassVar[str] = "clip"
    thresholds = THRESHOLDS
    decode_side: ClassVar[int] = SIZE
    feature_dtype: ClassVar[str] = "float32"
    feature_dim = EMBED_DIM
    preprocess_version: ClassVar[int] = PREPROCESS_VERSION
    model_attributes: ClassVar[tuple[str, ...]] = ("_torch", "_session")

    def __init__(self, weights: Path, *, strictness: int = 50, runtime: Runtime = "auto") -> None:
        if runtime not in ("auto", "onnx-int8", "torch"):
            raise ValueError(f"Unknown runtime {runtime!r}: use auto, onnx-int8 or torch")
        from .clip_weights import file_digest

        self.weights = Path(weights)
        if not self.weights.is_file():
            raise EngineUnavailable(f"CLIP weights file not found: {self.weights}")
        super().__init__(strictness=strictness)
        self.requested_runtime: Runtime = runtime
        self._digest = file_digest(self.weights)
        self._torch: Any = None
        self._session: Any = None
        self._check_pending = False
        self.runtime: str = "not loaded"
        #: Smallest int8-vs-fp32 cosine seen by the check (None when no check ran).
        self.int8_min_cosine: float | None = None

    @property
    def model_id(self) -> str:
        return f"ViT-B-32-quickgelu:{self._digest[:16]}"

    @property
    def label(self) -> str:
        return f"OpenCLIP ViT-B-32-quickgelu ({self.weights.name}), {self.runtime}"

    def _onnx_paths(self) -> tuple[Path, Path]:
        from .clip_weights import models_dir

        stem = f"clip-vit-b-32-{self._digest[:16]}-e{EXPORT_VERSION}"
        folder = models_dir() / "onnx"
        return folder / f"{stem}.int8.onnx", folder / f"{stem}.json"

    def _decision(self) -> dict[str, Any]:
        _, record = self._onnx_paths()
        try:
            data: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data

    def load(self) -> None:
        """Load weights now; raises EngineUnavailable when they cannot be used."""
        if self._torch is not None or self._session is not None:
            return
        if self.weights.suffix == ".onnx":
            # Converted by `remedia model import|download`: all a sort needs, no torch.
            try:
                self._session = ort_session(self.weights)
            except Exception as exc:
                raise EngineUnavailable(
                    f"cannot load the CLIP model {self.weights}: {exc}"
                ) from None
            self.runtime = "ONNX Runtime"
            return
        int8_path, _ = self._onnx_paths()
        if self.requested_runtime != "torch" and onnxruntime_available():
            decision = self._decision()
            if decision.get("runtime") == "onnx-int8" and int8_path.is_file():
                self._session = ort_session(int8_path)
                self.runtime = "ONNX Runtime int8"
                self.int8_min_cosine = decision.get("min_cosine")
                return
            if decision.get("runtime") != "torch":
                self._load_torch()
                try:
                    self._export_int8(int8_path)
                    self._session = ort_session(int8_path)
                    self._check_pending = True
                except Exception as exc:
                    if self.requested_runtime == "onnx-int8":
                        raise EngineUnavailable(f"int8 CLIP model unavailable: {exc}") from exc
                    log.warning("CLIP ONNX export failed (%s); using torch fp32", exc)
                return
        self._load_torch()

    def _load_torch(self) -> None:
        from .clip_weights import CONVERT_HINT, load_clip_visual

        try:
            set_torch_threads()
            self._torch = load_clip_visual(self.weights)
        except ImportError:
            raise EngineUnavailable(
                f"{self.weights.name} must be converted once: remedia model import "
                f"{self.weights} ({CONVERT_HINT})"
            ) from None
        self.runtime = "torch fp32"

    def _export_int8(self, int8_path: Path) -> None:
        import tempfile

        import torch

        log.info("converting the CLIP model for ONNX Runtime (once)")
        int8_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".export-", dir=int8_path.parent) as tmp:
            fp32 = export_onnx(self._torch, torch.zeros(1, 3, SIZE, SIZE), Path(tmp) / "fp32.onnx")
            quantize_int8(fp32, int8_path)

    def _record(self, choice: str, min_cosine: float, photos: int) -> None:
        from .clip_weights import write_atomic

        _, record = self._onnx_paths()
        data = {"runtime": choice, "min_cosine": round(min_cosine, 5), "photos": photos}
        try:
            write_atomic(record, json.dumps(data).encode("utf-8"))
        except OSError as exc:
            log.warning("cannot record the CLIP runtime choice: %s", exc)

    def prepare(self, image: Image.Image) -> np.ndarray:
        return preprocess(image)

    def _run_torch(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out: np.ndarray = self._torch(torch.from_numpy(x)).numpy()
        return out

    def finalize(self, prepared: np.ndarray) -> np.ndarray:
        self.load()
        x = to_model_input(prepared)
        if self._session is None:
            return l2_normalise(self._run_torch(x))
        fast = l2_normalise(self._session.run(None, {"x": x})[0])
        if not self._check_pending:
            return fast
        # First real photos: keep int8 only if it matches fp32 on every one of them.
        exact = l2_normalise(self._run_torch(x))
        worst = float(np.min(np.sum(exact * fast, axis=1)))
        self.int8_min_cosine = worst
        self._check_pending = False
        if worst >= MIN_INT8_COSINE:
            self._record("onnx-int8", worst, len(x))
            self._torch = None
            self.runtime = "ONNX Runtime int8"
        else:
            log.warning("int8 CLIP differs from fp32 (cosine %.4f); using torch fp32", worst)
            self._record("torch", worst, len(x))
            self._session = None
            self.runtime = "torch fp32"
        return exact
