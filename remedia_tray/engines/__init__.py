"""Engine registry; the AI engines are imported only when asked for."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .base import FeatureSet, Neighbours, SimilarityEngine, SortKind
from .hash import HashEngine

if TYPE_CHECKING:
    from .registry import AiEngineChoice

EngineChoice = Literal["both", "hash", "clip"]
DEFAULT_ENGINE: EngineChoice = "both"

__all__ = [
    "DEFAULT_ENGINE",
    "EngineChoice",
    "FeatureSet",
    "HashEngine",
    "Neighbours",
    "SimilarityEngine",
    "SortKind",
    "load_ai_engine",
]


def load_ai_engine(
    *,
    strictness: int = 50,
    clip_weights: Path | None = None,
    configured_weights: Path | None = None,
) -> AiEngineChoice:
    """CLIP if local weights exist, else the bundled EfficientNet-Lite (imports torch lazily)."""
    from .registry import load_ai_engine as load

    return load(
        strictness=strictness, clip_weights=clip_weights, configured_weights=configured_weights
    )
