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

from .._platform import usable_cores
from ..atomicfile import replacing

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
