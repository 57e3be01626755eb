"""What the AI engines share: a model's unit embeddings, compared by cosine distance.

A subclass brings its model (`model_id`, `load`, `prepare`, `finalize`); this base gives the
cache key, pickling without the model, and the cosine distance and searches over rows of one
embedding. The bundled engine's rows also carry the photo turned a quarter, so it overrides the
searches with those of effnet_search.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Literal

import numpy as np

from ..core.search.cosine import cosine_cross, cosine_neighbours, cosine_query, l2_normalise
from .base import MediaKind, Neighbours, SimilarityEngine, SortKind


class EmbeddingEngine(SimilarityEngine):
    """An engine whose features are L2-normalised embeddings of a model, for similar photos."""

    kind: ClassVar[SortKind] = "similar"
    metric: ClassVar[Literal["bits", "cosine"]] = "cosine"
    reads: ClassVar[MediaKind] = "pictures"
    batched: ClassVar[bool] = True
    #: Part of the cache key: bump when preprocessing or pooling changes.
    preprocess_version: ClassVar[int]
    #: Attributes that hold a loaded model. Worker processes only run `prepare`, so an engine
    #: sent to them goes without these.
    model_attributes: ClassVar[tuple[str, ...]]

    @property
    @abstractmethod
    def model_id(self) -> str:
        """The network and its weights (a digest), as the cache key names them."""

    @property
    def cache_key(self) -> str:
        return f"{self.name}:{self.model_id}:v{self.preprocess_version}"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in self.model_attributes:
            state[name] = None
        return state

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        a = l2_normalise(a)
        b = l2_normalise(b)
        return min(2.0, max(0.0, 1.0 - float(a @ b)))

    def neighbours(self, features: np.ndarray) -> Neighbours:
        return cosine_neighbours(l2_normalise(features), self._threshold)

    def neighbours_of(self, features: np.ndarray, query: np.ndarray) -> Neighbours:
        return cosine_query(l2_normalise(features), query, self._threshold)

    def library_candidates(self, library: np.ndarray, new: np.ndarray) -> np.ndarray:
        return cosine_cross(library, new, self._threshold)
