"""Shared pieces of the AI engines: CPU threads, ONNX export and ONNX Runtime sessions.

Everything heavy (torch, onnx, onnxruntime) is imported inside the function that needs it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._platform import usable_cores
from ..atomicfile import replacing
from ..core.neighbours import Neighbours, cosine_neighbours, cosine_query

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# This module is the only importer of onnxruntime, which uploads telemetry from native code
# unless this is set before it starts: a sort never opens a network connection.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

#: Bump when an exported graph changes for the same weights; part of every ONNX file name.
EXPORT_VERSION = 1


@contextmanager
def quiet_root_log(*fragments: str) -> Iterator[None]:
    """Drop root-logger lines containing `fragments` (third-party advice not meant for users)."""

    class Quiet(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            message = record.getMessage()
            return not any(f in message for f in fragments)

    quiet = Quiet()
    root = logging.getLogger()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


def cpu_threads() -> int:
    """Cores this process may use (the affinity mask, where the OS has one)."""
    return usable_cores()


def set_torch_threads() -> None:
    import torch

    threads = cpu_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def ort_session(path: Path) -> Any:
    """A CPU session using every core for one batch at a time."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = cpu_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: ORT's info lines are not for users
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def write_model_file(path: Path, produce: Callable[[Path], None]) -> Path:
    """Let `produce` write a temporary file, then rename it into place (no half files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        produce(tmp)
    return path


def export_onnx(module: torch.nn.Module, example: torch.Tensor, path: Path) -> Path:
    """Export with a dynamic batch axis; input "x", output "y"."""
    import warnings

    import torch

    def produce(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (example,),
                str(tmp),
                dynamo=False,
                opset_version=17,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
            )

    return write_model_file(path, produce)


def quantize_int8(source: Path, path: Path) -> Path:
    """Dynamic int8 quantisation of the weights of MatMul/Gemm layers (the ViT's bulk)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def produce(tmp: Path) -> None:
        with quiet_root_log("pre-processing before quantization"):
            quantize_dynamic(
                str(source),
                str(tmp),
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul", "Gemm"],
            )

    return write_model_file(path, produce)


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    out: np.ndarray = x / np.maximum(norms, np.float32(1e-12))
    return out


def rotation_aware_neighbours(features: np.ndarray, dim: int, max_distance: float) -> Neighbours:
    """Pairs whose best rotation match is within `max_distance`.

    Each row holds two unit embeddings: the photo as stored and turned 90 degrees. The
    similarity of a pair is the best of as-stored/as-stored, as-stored/turned and
    turned/as-stored, which covers a photo saved a quarter turn off either way. One blocked
    search over the 2N stacked rows finds every combination; pairs from the same photo and the
    turned/turned combination are dropped, and each pair keeps its smallest distance.
    """
    feats = np.asarray(features, dtype=np.float32)
    n = len(feats)
    stacked = l2_normalise(np.concatenate([feats[:, :dim], feats[:, dim : 2 * dim]]))
    return _best_rotation(cosine_neighbours(stacked, max_distance), n)


def rotation_aware_query(
    features: np.ndarray, dim: int, max_distance: float, query: np.ndarray
) -> Neighbours:
    """`rotation_aware_neighbours`, only the pairs that involve a `query` row."""
    feats = np.asarray(features, dtype=np.float32)
    n = len(feats)
    stacked = l2_normalise(np.concatenate([feats[:, :dim], feats[:, dim : 2 * dim]]))
    query = np.asarray(query, dtype=np.int64)
    found = cosine_query(stacked, np.concatenate([query, query + n]), max_distance)
    return _best_rotation(found, n)


def _best_rotation(found: Neighbours, n: int) -> Neighbours:
    keep = found.i < n  # i < j, so this drops turned/turned pairs
    a, b, d = found.i[keep], found.j[keep] % n, found.distance[keep]
    own = a != b
    a, b, d = a[own], b[own], d[own]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((d, hi, lo))
    lo, hi, d = lo[order], hi[order], d[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return Neighbours(lo[first].astype(np.int64), hi[first].astype(np.int64), d[first])


def rotation_aware_distance(a: np.ndarray, b: np.ndarray, dim: int) -> float:
    a0, a1 = l2_normalise(a[:dim]), l2_normalise(a[dim : 2 * dim])
    b0, b1 = l2_normalise(b[:dim]), l2_normalise(b[dim : 2 * dim])
    best = max(float(a0 @ b0), float(a0 @ b1), float(a1 @ b0))
    return min(2.0, max(0.0, 1.0 - best))
