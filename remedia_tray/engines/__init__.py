"""Engine registry; the AI engines are imported only when asked for."""

from __future__ import annotations

from typing import Literal

from .base import FeatureSet, Neighbours, SimilarityEngine, SortKind
from .hash import HashEngine

EngineChoice = Literal["both", "hash", "clip"]

__all__ = ["EngineChoice", "FeatureSet", "HashEngine", "Neighbours", "SimilarityEngine", "SortKind"]
