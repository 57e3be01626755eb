"""The named steps of pipeline.features.extract_features, on lists and numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from remedia_tray.core.media import ImageInfo, MediaFile
from remedia_tray.engines.base import MediaKind, Neighbours, SimilarityEngine
from remedia_tray.engines.hash import HashEngine
from remedia_tray.pipeline.features import (
    Rows,
    Twin,
    extract_features,
    pack,
    read_info_blob,
    renumbered,
    representatives,
)

INFO = ImageInfo(4, 3, "JPEG", 2, "cam")


class Tiny(SimilarityEngine):
    """Two float features per picture; enough for the steps, which never look inside."""

    name: ClassVar[str] = "tiny"
    reads: ClassVar[MediaKind] = "pictures"
    kind = "similar"
    metric = "cosine"
    thresholds: ClassVar[dict[int, float]] = {0: 0.1, 100: 0.1}
    decode_side: ClassVar[int] = 8
    feature_dim = 2

    @property
    def cache_key(self) -> str:
        return "tiny:v1"

    def load(self) -> None:
        """Nothing to load."""

    def prepare(self, image: object) -> np.ndarray:
        return np.zeros(2, np.float32)

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a - b).sum())

    def neighbours(self, features: np.ndarray) -> Neighbours:
        raise NotImplementedError


def media(n: int) -> list[MediaFile]:
    return [MediaFile(Path(f"/p/{k}.jpg"), 10 + k, 1, 1, 100 + k) for k in range(n)]


def test_representatives_point_each_twin_at_the_first_of_its_set() -> None:
    assert representatives(6, [(1, 3, 4), (2, 5)]) == [0, 1, 2, 1, 1, 2]
    assert representatives(3, []) == [0, 1, 2]


def test_renumbered_follows_the_kept_files_and_drops_lone_survivors() -> None:
    identical = [(0, 2, 5), (1, 3), (4, 6)]
    assert renumbered(identical, [0, 2, 3, 4, 5, 6]) == ((0, 1, 4), (3, 5))


def test_read_info_blob_reads_both_kinds_of_record() -> None:
    blob = json.dumps({"w": 4, "h": 3, "f": "JPEG", "e": 2, "c": "cam"}).encode()
    assert read_info_blob(blob) == (INFO, None)
    assert read_info_blob(json.dumps({"skip": "damaged"}).encode()) == (None, "damaged")


def test_only_incomplete_representatives_are_decoded() -> None:
    engines = [Tiny()]
    rows = Rows.empty(5, engines)
    rows.infos[0], rows.feats["tiny"][0] = INFO, np.ones(2, np.float32)  # complete
    rows.infos[1] = INFO  # features missing
    rows.reasons[2] = "damaged"  # skipped for good
    # 3 is unknown; 4 is a twin of 3
    assert rows.to_decode([0, 1, 2, 3, 3], engines) == [1, 3]


def test_twins_take_their_representatives_result_and_say_what_they_lacked() -> None:
    engines = [Tiny()]
    rows = Rows.empty(3, engines)
    vec = np.array([1.0, 2.0], np.float32)
    rows.infos[0], rows.feats["tiny"][0] = INFO, vec
    rows.infos[2], rows.feats["tiny"][2] = INFO, vec  # cached already
    twins = rows.share_with_twins([0, 0, 0], engines)
    assert twins == [Twin(1, True, (engines[0],)), Twin(2, False, ())]
    assert rows.infos == [INFO, INFO, INFO]
    assert all(rows.feats["tiny"][k] is vec for k in (0, 1))


def test_pack_keeps_the_readable_files_in_order() -> None:
    engines = [Tiny()]
    files = media(4)
    rows = Rows.empty(4, engines)
    for k in (0, 2, 3):
        rows.infos[k], rows.feats["tiny"][k] = INFO, np.full(2, k, np.float32)
    rows.reasons[1] = "damaged"
    result = pack(files, rows, [(0, 1), (2, 3)], engines, decoded=3, from_cache=1)
    assert result.files == (files[0], files[2], files[3])
    assert result.infos == (INFO, INFO, INFO)
    assert result.features["tiny"].tolist() == [[0, 0], [2, 2], [3, 3]]
    assert [(s.path, s.reason) for s in result.skipped] == [(files[1].path, "damaged")]
    assert result.identical == ((1, 2),)
    assert (result.decoded, result.from_cache) == (3, 1)
    assert result.models == {"tiny": engines[0].description}


def test_pack_of_nothing_has_features_of_the_engines_shape() -> None:
    result = pack([], Rows.empty(0, [HashEngine()]), [], [HashEngine()], decoded=0, from_cache=0)
    assert result.features["hash"].shape == (0, HashEngine.feature_dim)
    assert result.features["hash"].dtype == np.uint64


def test_an_engine_that_reads_videos_is_refused_by_the_picture_pipeline() -> None:
    class Video(Tiny):
        reads: ClassVar[MediaKind] = "videos"

    with pytest.raises(ValueError, match="reads videos"):
        extract_features(media(1), [Video()])
