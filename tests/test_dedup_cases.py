"""The real transformed copies from imagededup's test set (shared/data/dedup_cases)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from remedia_tray.pipeline.features import feature_set
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import shared_data


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, str]]]:
    src = shared_data("dedup_cases")
    root = tmp_path_factory.mktemp("cases")
    shutil.copytree(src / "images", root / "images")
    with open(src / "ground_truth.csv", newline="") as fh:
        truth = {row["image"]: row for row in csv.DictReader(fh)}
    return root / "images", truth


def _groups(root: Path, level: str) -> list[set[str]]:
    from remedia_tray.core.strictness import parse_strictness

    report = sort_folder(
        root,
        SortOptions(engine="hash", strictness=parse_strictness(level), dry_run=True, workers=1),
    )
    return [{p.name for p in g.members} for g in report.groups], report  # type: ignore[return-value]


@pytest.mark.parametrize("level", ["strict", "balanced"])
def test_copies_grouped_and_flips_rotations_not(cases: tuple, level: str) -> None:
    root, truth = cases
    groups, report = _groups(root, level)
    member_of = {name: k for k, g in enumerate(groups) for name in g}
    # byte-identical copy (wrong extension) and the WebP re-encode join their original
    assert (
        member_of["ukbench09380.jpg"]
        == member_of["ukbench09380.webp"]
        == member_of["ukbench09380_copy_named_png.png"]
    )
    # resized and greyscale copies join theirs
    assert (
        member_of["ukbench00120.jpg"]
        == member_of["ukbench00120_resize.jpg"]
        == member_of["ukbench00120_gray.jpg"]
    )
    # a horizontal flip and a rotation are different pictures at the strict levels
    assert "ukbench00120_hflip.jpg" not in member_of
    assert "ukbench00120_rotation.jpg" not in member_of
    # no group mixes pictures the ground truth calls different
    for g in groups:
        assert len({truth[n]["group_id"] for n in g}) == 1, g
    reasons = {p.path.name: p.reason for p in report.skipped}
    assert reasons.get("ukbench09268_corrupt.jpg")


def test_exact_level_only_groups_identical_hashes(cases: tuple) -> None:
    from remedia_tray.engines import HashEngine

    root, _ = cases
    groups, _ = _groups(root, "exact")
    assert {"ukbench09380.jpg", "ukbench09380_copy_named_png.png"} <= set().union(*groups)
    engine = HashEngine(strictness=100)
    for g in groups:
        feats = engine.compute_features([root / n for n in sorted(g)], extract=feature_set).features
        assert all(engine.distance(feats[0], f) == 0 for f in feats[1:])
