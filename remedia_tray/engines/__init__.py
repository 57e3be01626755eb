"""Similarity engines behind one interface (base.py), found by name in the registry.

This module stays light (no numpy): the settings and the CLI read the engine choices from it,
and the engines themselves are imported only when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from .base import FeatureSet, Neighbours, SimilarityEngine, SortKind
    from .hash import HashEngine
    from .registry import ENGINES, AiEngineChoice, EngineSelection, get_engine, load_ai_engine
    from .registry import select_engines as select_engines

#: What the user picks: duplicates by hash then similar photos by AI, hash alone, or AI alone.
EngineChoice = Literal["both", "hash", "clip"]
ENGINE_CHOICES: tuple[EngineChoice, ...] = get_args(EngineChoice)
DEFAULT_ENGINE: EngineChoice = "both"

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "ENGINE_CHOICES",
    "AiEngineChoice",
    "EngineChoice",
    "EngineSelection",
    "FeatureSet",
    "HashEngine",
    "Neighbours",
    "SimilarityEngine",
    "SortKind",
    "get_engine",
    "load_ai_engine",
    "select_engines",
]

_LAZY = {
    "FeatureSet": "base",
    "Neighbours": "base",
    "SimilarityEngine": "base",
    "SortKind": "base",
    "HashEngine": "hash",
    "ENGINES": "registry",
    "AiEngineChoice": "registry",
    "EngineSelection": "registry",
    "get_engine": "registry",
    "load_ai_engine": "registry",
    "select_engines": "registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(name)
