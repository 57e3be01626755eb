"""Fixtures for the AI-engine tests: one model cache per session, a network guard, CLIP weights.

Import the fixtures into a test module to use them (pytest treats them as the module's own).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ai_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Exported ONNX models are cached here for the whole session (exports take seconds)."""
    path = tmp_path_factory.getbasetemp() / "ai-models"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _shared_model_cache(
    _isolated_dirs: None, ai_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loading CLIP sets HF_HUB_OFFLINE=1 in this process, as a sort does; undo it afterwards.
    monkeypatch.setenv("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", ""))
    # Each test has its own XDG cache (conftest); only the exported ONNX models are shared.
    models = Path(os.environ["XDG_CACHE_HOME"]) / "remedia" / "models"
    models.mkdir(parents=True, exist_ok=True)
    link = models / "onnx"
    if not link.exists():
        link.symlink_to(ai_models, target_is_directory=True)


class NetworkGuard:
    """Every attempt to reach the network, caught even if a library swallows the error."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def refuse(self, what: str) -> Any:
        def blocked(*args: object, **kwargs: object) -> None:
            self.attempts.append(f"{what}{args!r}")
            raise OSError("network access is not allowed in this test")

        return blocked


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    monkeypatch.setattr(socket.socket, "connect", guard.refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", guard.refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", guard.refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", guard.refuse("getaddrinfo"))
    yield guard
    assert guard.attempts == [], f"network access attempted: {guard.attempts}"


@pytest.fixture(scope="session")
def clip_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ViT-B-32-quickgelu image tower, randomly initialised (seed 0), as fp16 safetensors.

    Same architecture and compute as the OpenAI weights, which cannot be downloaded here.
    """
    torch = pytest.importorskip("torch")
    pytest.importorskip("open_clip")
    from safetensors.torch import save_file

    from remedia_tray.engines.clip_weights import build_clip_visual

    torch.manual_seed(0)
    offline = os.environ.get("HF_HUB_OFFLINE")
    visual = build_clip_visual()
    if offline is None:  # building sets it for the process, as a sort does
        os.environ.pop("HF_HUB_OFFLINE", None)
    path = tmp_path_factory.mktemp("clip") / "vit-b-32-random.safetensors"
    save_file({k: v.detach().half().contiguous() for k, v in visual.state_dict().items()}, path)
    return path
