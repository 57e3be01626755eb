"""The engine interface fixed by the design: what every similarity engine answers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

import numpy as np

from ..core.planning import SortKind as SortKind
from ..core.search.pairs import Neighbours as Neighbours
from ..core.strictness import interpolate

if TYPE_CHECKING:
    from PIL import Image

    from ..core.media import MediaFile, Skipped


#: What an engine reads: decoded pictures (every engine today), or videos.
MediaKind = Literal["pictures", "videos"]


@dataclass(frozen=True)
class FeatureSet:
    files: tuple[MediaFile, ...]
    features: np.ndarray
    skipped: tuple[Skipped, ...]


class SimilarityEngine(ABC):
    """Turns images into features and decides which pairs are similar."""

    name: ClassVar[str]
    #: The media this engine reads; the pipeline decodes pictures for a "pictures" engine.
    reads: ClassVar[MediaKind]
    #: The output folder this engine's groups go to when it runs with the hash engine.
    kind: ClassVar[SortKind]
    #: What a distance counts: differing bits of a 64-bit hash, or cosine distance.
    metric: ClassVar[Literal["bits", "cosine"]]
    #: Strictness (0-100) -> largest distance still called similar; interpolated between.
    thresholds: ClassVar[Mapping[int, float]]
    #: Short side the decoder must deliver; JPEGs are DCT-scaled down to about this.
    decode_side: ClassVar[int]
    #: Features are stored as this dtype, `feature_dim` values per image.
    feature_dtype: ClassVar[str] = "float32"
    feature_dim: int = 0
    #: True when `finalize` does real batch work (a model), so inputs are batched for it.
    batched: ClassVar[bool] = False
    #: Leading feature columns a library search needs (None: all of them); the rest is read
    #: back only for the photos the search finds.
    search_width: ClassVar[int | None] = None

    @property
    @abstractmethod
    def cache_key(self) -> str:
        """Identifies the features (model, version, parameters), not the threshold."""

    def __init__(self, *, strictness: int = 50) -> None:
        self.strictness = strictness
        self._threshold = interpolate(strictness, self.thresholds)

    @property
    def threshold(self) -> float:
        """Largest distance still called similar."""
        return self._threshold

    @property
    def label(self) -> str:
        """The model in words, for the report."""
        return self.name

    @property
    def description(self) -> str:
        if self.metric == "cosine":
            return f"{self.label}; similar at cosine >= {1.0 - self._threshold:.2f}"
        return f"{self.label} (max distance {self._threshold:g} of 64 bits)"

    @abstractmethod
    def load(self) -> None:
        """Make the engine ready to compute features: load its model or weights now rather
        than on the first batch. Raises EngineUnavailable when they cannot be used; an engine
        with nothing to load returns at once."""

    @abstractmethod
    def prepare(self, image: Image.Image) -> np.ndarray:
        """Per-image work; runs in worker processes, so it must not need a loaded model."""

    def finalize(self, prepared: np.ndarray) -> np.ndarray:
        """Batch step in the main process (model inference); identity by default."""
        return prepared

    @abstractmethod
    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """Distance between two feature vectors; 0 means identical."""

    def are_similar(self, a: np.ndarray, b: np.ndarray) -> bool:
        return self.distance(a, b) <= self.threshold

    @abstractmethod
    def neighbours(self, features: np.ndarray) -> Neighbours:
        """All pairs within the threshold, found without a Python loop over pairs."""

    def neighbours_of(self, features: np.ndarray, query: np.ndarray) -> Neighbours:
        """The pairs within the threshold that involve a `query` row (new photos).

        Engines override this with a search of k rows against n (O(k * n)); this default
        searches all pairs and keeps those, which is exact but costs a full search.
        """
        found = self.neighbours(features)
        asked = np.zeros(len(features), dtype=bool)
        asked[np.asarray(query, dtype=np.int64)] = True
        keep = asked[found.i] | asked[found.j]
        return Neighbours(found.i[keep], found.j[keep], found.distance[keep])

    def search_keys(self, features: np.ndarray) -> np.ndarray:
        """What the library index keeps of each photo's features."""
        return features if self.search_width is None else features[:, : self.search_width]

    def library_candidates(self, library: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Rows of `library` (search keys) that may be within the threshold of a `new` photo
        (full features), sorted: a superset, decided afterwards on the full features."""
        n = len(library)
        stacked = np.concatenate([np.asarray(library), self.search_keys(new)])
        found = self.neighbours_of(stacked, np.arange(n, n + len(new)))
        hits = np.concatenate([found.i, found.j])
        return np.unique(hits[hits < n])

    def compute_features(
        self,
        media_list: Sequence[Path | MediaFile],
        *,
        extract: FeatureExtractor,
        workers: int = 1,
    ) -> FeatureSet:
        """Features for each readable image; unreadable ones are returned as skipped.

        `extract` reads the files (pipeline.features.feature_set): injected, so that this
        interface imports nothing that reads the disk.
        """
        return extract(media_list, self, workers=workers)


class FeatureExtractor(Protocol):
    """Reads files and computes one engine's features for them."""

    def __call__(
        self, media_list: Sequence[Path | MediaFile], engine: SimilarityEngine, *, workers: int
    ) -> FeatureSet: ...
