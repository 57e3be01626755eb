"""Choosing the AI engine: CLIP when local weights exist, else the bundled EfficientNet-Lite."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import EngineUnavailable
from .base import SimilarityEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AiEngineChoice:
    engine: SimilarityEngine
    #: One line for the report when the fallback model runs instead of CLIP; else None.
    note: str | None


def load_ai_engine(
    *,
    strictness: int = 50,
    clip_weights: Path | None = None,
    configured_weights: Path | None = None,
) -> AiEngineChoice:
    """Load the engine that fills similar/, ready to embed. Never opens a network connection.

    Raises EngineUnavailable when `clip_weights` was given but cannot be used, or when no AI
    model can run at all (the `ai` extra is not installed).
    """
    from .clip_weights import find_clip_weights

    lookup = find_clip_weights(clip_weights, configured=configured_weights)
    problems = list(lookup.problems)
    if lookup.found is not None:
        from .clip import ClipEngine

        try:
            clip = ClipEngine(lookup.found.path, strictness=strictness)
            clip.load()
            return AiEngineChoice(clip, None)
        except EngineUnavailable as exc:
            if lookup.found.source == "option":
                raise
            problems.append(str(exc))
            log.warning("CLIP weights %s not usable: %s", lookup.found.path, exc)

    from .effnet import EffNetEngine

    fallback = EffNetEngine(strictness=strictness)
    fallback.load()
    why = f" ({'; '.join(problems)})" if problems else ""
    note = (
        f"no usable CLIP weights{why}: similar photos were found with the bundled "
        "EfficientNet-Lite0 model; `remedia model download` fetches CLIP once"
    )
    return AiEngineChoice(fallback, note)
