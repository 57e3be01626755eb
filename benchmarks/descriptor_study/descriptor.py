"""Run-time descriptor for the "similar photos" engine: numpy + Pillow + onnxruntime only.

What the engine would call:
    d = Descriptor(model_path)                       # one ORT session, 2 threads by default
    rows = d.features([decode(p) for p in paths])    # (N, 2*D) float16, as the cache stores them
    sim = rotation_aware_similarity(rows_a, rows_b)  # best of stored/stored, stored/turned, turned/stored
    similar = sim >= THRESHOLDS["balanced"]

Pipeline (the chosen variant): JPEG decoded with Pillow draft mode to about 2x the model side,
EXIF orientation applied, RGB; squashed to 224x224 (bicubic); (pixel - 127) / 128; once as
stored and once turned 90 degrees; the ONNX graph does EfficientNet-Lite0 -> GeM (p=3) -> L2 ->
PCA-whitening (mean and projection learned on Holidays dev, 1280 -> D) -> L2. Matching is by
cosine on the float16 rows.

    python descriptor.py --check   # dev-time: compare with the torch reference (needs torch)
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
HERE = Path(__file__).resolve().parent
SIZE = 224
CHUNK = 16  # photos per model call (32 images with the turned copies)
MODEL = HERE / "models" / "descriptor.onnx"


def _thresholds() -> dict[str, float]:
    path = HERE / "thresholds.json"
    if path.is_file():
        return json.loads(path.read_text())["cosine"]
    return {}


#: Strictness level -> minimum rotation-aware cosine (see RESULTS.md for their meaning).
THRESHOLDS: dict[str, float] = _thresholds()


def decode(path: Path, side: int = SIZE) -> Image.Image:
    """Reduced JPEG decode (DCT scaling to about 2x `side`), EXIF orientation, RGB.

    For checks and benchmarks; the engine keeps remedia_tray.imaging.load_image (same draft and
    EXIF handling, plus alpha flattening on white and 16-bit handling) and calls `prepare`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft("RGB", (side * 2, side * 2))
            im.load()
            out = ImageOps.exif_transpose(im)
            return out.convert("RGB") if out.mode != "RGB" else out.copy()


def prepare(image: Image.Image) -> np.ndarray:
    """Per-photo work (worker processes): squash to SIZE x SIZE, uint8 HWC."""
    small = image.resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    return np.asarray(small.convert("RGB"), dtype=np.uint8)


def to_model_input(batch: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W), TF-Lite normalisation (x - 127) / 128."""
    x = np.ascontiguousarray(np.asarray(batch).transpose(0, 3, 1, 2), dtype=np.float32)
    x -= 127.0
    x /= 128.0
    return x


class Descriptor:
    def __init__(self, model: Path = MODEL, threads: int | None = None) -> None:
        import onnxruntime as ort

        o = ort.SessionOptions()
        o.intra_op_num_threads = threads or max(1, len(os.sched_getaffinity(0)))
        o.inter_op_num_threads = 1
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        o.log_severity_level = 3
        self.session = ort.InferenceSession(str(model), o, providers=["CPUExecutionProvider"])

    def embed(self, prepared: np.ndarray) -> np.ndarray:
        """Unit descriptors (N, D) float32 of prepared uint8 images (N, SIZE, SIZE, 3)."""
        y = self.session.run(None, {"x": to_model_input(prepared)})[0]
        return y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)

    def finalize(self, prepared: np.ndarray) -> np.ndarray:
        """(N, 2*D) float16 rows: [as stored | turned 90 degrees]."""
        parts = []
        for i in range(0, len(prepared), CHUNK):
            batch = np.asarray(prepared[i : i + CHUNK])
            turned = np.rot90(batch, 1, axes=(1, 2))
            both = self.embed(np.concatenate([batch, turned]))
            n = len(batch)
            parts.append(np.concatenate([both[:n], both[n:]], axis=1))
        return np.concatenate(parts).astype(np.float16)

    def features(self, images: list[Image.Image]) -> np.ndarray:
        return self.finalize(np.stack([prepare(im) for im in images]))


def rotation_aware_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(Na, Nb) best cosine over stored/stored, stored/turned, turned/stored."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    d = a.shape[1] // 2

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    a0, a1, b0, b1 = unit(a[:, :d]), unit(a[:, d:]), unit(b[:, :d]), unit(b[:, d:])
    return np.maximum(a0 @ b0.T, np.maximum(a0 @ b1.T, a1 @ b0.T))


def _check() -> int:
    """Runtime rows vs the fp32 torch reference (export_model.build_reference) on real photos."""
    import sys

    import torch

    sys.path.insert(0, str(HERE))
    from common import holidays_dev, photos
    from export_model import build_reference

    torch.set_num_threads(2)
    paths = holidays_dev()[0][::8] + photos()
    prepared = np.stack([prepare(decode(p)) for p in paths])
    rows = Descriptor().finalize(prepared).astype(np.float32)
    ref_model = build_reference(HERE / "whitening.npz")
    with torch.inference_mode():
        both = np.concatenate([prepared, np.rot90(prepared, 1, axes=(1, 2))])
        ref = ref_model(torch.from_numpy(to_model_input(both))).numpy()
    n, d = len(prepared), rows.shape[1] // 2
    ref_rows = np.concatenate([ref[:n], ref[n:]], axis=1)
    cos = []
    for k in (0, 1):
        x, y = rows[:, k * d : (k + 1) * d], ref_rows[:, k * d : (k + 1) * d]
        cos.append((x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1))
    cos = np.concatenate(cos)
    print(f"{n} real photos x 2 rotations: cosine(runtime fp16 rows, torch fp32) "
          f"min {cos.min():.5f} mean {cos.mean():.5f}")
    s_rt = rotation_aware_similarity(rows, rows)
    s_ref = rotation_aware_similarity(ref_rows, ref_rows)
    print(f"max |similarity difference| over all pairs: {np.abs(s_rt - s_ref).max():.5f}")
    ok = cos.min() >= 0.999
    print("PASS" if ok else "FAIL", "(needs min cosine >= 0.999)")
    return 0 if ok else 1


if __name__ == "__main__":
    import sys

    if "--check" in sys.argv:
        raise SystemExit(_check())
    print(__doc__)
