"""The group kinds and the scopes of a sort, without a folder on disk.

Photos are points on a line: a "duplicates" engine calls two photos the same within 1, a
"similar" engine within 4. Each photo is a square of a given width, so the keeper criteria
pick the widest copy ("most pixels").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from remedia_tray.core.bestshot import ShotQuality
from remedia_tray.core.keeper import CHOSEN_REASON
from remedia_tray.core.media import ImageInfo, MediaFile
from remedia_tray.core.planning import GroupSpec, Move, PlannedGroup, SortKind, SortPlan
from remedia_tray.engines.base import Neighbours, SimilarityEngine
from remedia_tray.kinds.base import Claims, Growing, Library, Shots
from remedia_tray.kinds.duplicates import (
    INTO_SERIES,
    DuplicatesKind,
    kept_after,
    kept_copies,
    note_keepers_moving_on,
    with_kept,
)
from remedia_tray.kinds.library import (
    KINDS,
    Scope,
    group,
    group_library,
    kind_of,
    reused_folders,
)
from remedia_tray.kinds.similar import SimilarKind
from remedia_tray.pipeline.features import ScanResult
from remedia_tray.pipeline.placed import PlacedGroup

ROOT = Path("/lib")


class _Line(SimilarityEngine):
    """Photos as points on a line: the distance is how far apart they are."""

    metric = "bits"
    decode_side = 8

    @property
    def cache_key(self) -> str:
        return self.name

    def load(self) -> None:
        """Nothing to load: the points are the features."""

    def prepare(self, image: object) -> np.ndarray:
        raise NotImplementedError

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(abs(int(a[0]) - int(b[0])))

    def neighbours(self, features: np.ndarray) -> Neighbours:
        v = features[:, 0].astype(np.int64)
        i, j = np.triu_indices(len(v), 1)
        d = np.abs(v[i] - v[j]).astype(np.float64)
        near = d <= self.threshold
        return Neighbours(i[near], j[near], d[near])


class _Copies(_Line):
    name: ClassVar[str] = "copies"
    kind = "duplicates"
    thresholds: ClassVar = {0: 1.0, 100: 1.0}


class _Shots(_Line):
    name: ClassVar[str] = "shots"
    kind = "similar"
    thresholds: ClassVar = {0: 4.0, 100: 4.0}


BOTH = (_Copies(), _Shots())


def _scan(*photos: tuple[str, int, int]) -> ScanResult:
    """(path under ROOT, point on the line, width) per photo, in scan order."""
    files = tuple(MediaFile(ROOT / rel, 1000, 1, 1, k + 1) for k, (rel, _, _) in enumerate(photos))
    infos = tuple(ImageInfo(w, w, "JPEG", 0) for _, _, w in photos)
    line = np.array([[x] for _, x, _ in photos], dtype=np.int64)
    return ScanResult(files, infos, {"copies": line, "shots": line}, ())


def _placed(scan: ScanResult, folder: str, *, kept: str | None = None) -> PlacedGroup:
    """The group folder ROOT/`folder` with the scan's photos in it."""
    path = ROOT / folder
    members = tuple(f for f in scan.files if f.path.parent == path)
    kind: SortKind = "duplicates" if folder.startswith("duplicates/") else "similar"
    return PlacedGroup(kind, path, members, None if kept is None else ROOT / kept)


def _names(paths: Sequence[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def _brief(specs: Sequence[GroupSpec]) -> list[tuple[str, list[str], str | None]]:
    """(kind, members best first, existing folder) per spec, in order."""
    return [
        (s.kind, _names(s.members), None if s.folder is None else str(s.folder.relative_to(ROOT)))
        for s in specs
    ]


# --- the registry and the scopes -------------------------------------------------------------


def test_each_kind_is_found_by_the_folder_it_fills() -> None:
    assert isinstance(kind_of("duplicates"), DuplicatesKind)
    assert isinstance(kind_of("similar"), SimilarKind)
    assert set(KINDS) == {"duplicates", "similar"}
    assert KINDS["duplicates"].keeps_best_in_place and not KINDS["similar"].keeps_best_in_place
    with pytest.raises(ValueError, match="Unknown group kind"):
        kind_of("videos")  # type: ignore[arg-type]


def test_the_scope_is_named_from_the_sorts_options() -> None:
    assert Scope.of(full=False, settled=None) == Scope("loose")
    assert Scope.of(full=False, settled=[True, False]) == Scope("new", (True, False))
    assert Scope.of(full=True, settled=[True]) == Scope("full")
    lib = Library.of(_scan(("a.jpg", 0, 10)), ())
    with pytest.raises(ValueError, match="Unknown scope"):
        group(lib, BOTH, Scope("all"))  # type: ignore[arg-type]


# --- duplicates ------------------------------------------------------------------------------


def test_duplicates_hold_their_groups_and_every_photo_of_a_series_as_an_anchor() -> None:
    scan = _scan(
        ("a.jpg", 0, 40),  # the kept copy of duplicates/a
        ("duplicates/a/a.jpg", 0, 20),
        ("similar/s/s1.jpg", 10, 40),
        ("similar/s/s2.jpg", 12, 40),  # also the kept copy of duplicates/b
        ("duplicates/b/s2.jpg", 12, 20),
        ("loose.jpg", 30, 40),
    )
    placed = (
        _placed(scan, "duplicates/a", kept="a.jpg"),
        _placed(scan, "duplicates/b", kept="similar/s/s2.jpg"),
        _placed(scan, "similar/s"),
    )
    lib = Library.of(scan, placed)
    kind = DuplicatesKind()
    held = kind.held(lib, Claims())
    assert held == [
        Growing(ROOT / "duplicates/a", [1], 0),
        Growing(ROOT / "duplicates/b", [4], 3),
        Growing(None, [], 2),  # s1; s2 is held as duplicates/b's kept copy
    ]
    free = [k for k in range(len(lib)) if k not in lib.in_groups()]
    assert free == [0, 5]
    assert kind.candidates(free, held, Claims()) == [5]  # a.jpg is a kept copy
    assert kind.anchor(5) == Growing(None, [], 5)


def test_a_better_copy_becomes_the_kept_one_and_takes_its_place_in_the_series() -> None:
    scan = _scan(
        ("similar/s/s1.jpg", 0, 20),  # kept copy of duplicates/s1
        ("similar/s/s2.jpg", 3, 20),
        ("duplicates/s1/s1.jpg", 0, 10),
        ("big.jpg", 0, 80),  # arrives: a better copy of s1
    )
    placed = (_placed(scan, "duplicates/s1", kept="similar/s/s1.jpg"), _placed(scan, "similar/s"))
    lib = Library.of(scan, placed)
    claims = Claims()
    grown = Growing(ROOT / "duplicates/s1", [2], 0, joined=[3])
    spec, series = DuplicatesKind().grow(lib, grown, claims)
    # The kept copy competes with the new one; the copy in the folder lost to it before.
    assert _names(spec.members) == ["big.jpg", "similar/s/s1.jpg"]
    assert spec.reason == "most pixels (80x80)" and spec.keep_best_in_place
    assert spec.folder == ROOT / "duplicates/s1"
    assert series == GroupSpec(
        "similar", ROOT / "big.jpg", INTO_SERIES, (ROOT / "big.jpg",), False, ROOT / "similar/s"
    )
    assert claims.moving == {0} and claims.swapped == {0: 3}
    # The series now holds the better copy, which no other group may take.
    assert SimilarKind().held(lib, claims) == [Growing(ROOT / "similar/s", [3, 1])]
    assert SimilarKind().candidates([3, 4, 5], [], claims) == [4, 5]


def test_the_users_choice_wins_over_the_criteria() -> None:
    scan = _scan(("a.jpg", 0, 80), ("b.jpg", 0, 10))
    kind = DuplicatesKind()
    assert kind.keeper(Library.of(scan, ()), [0, 1]) == (0, "most pixels (80x80)")
    chosen = Library.of(scan, (), preferred=frozenset({ROOT / "b.jpg"}))
    assert kind.keeper(chosen, [0, 1]) == (1, CHOSEN_REASON)
    assert CHOSEN_REASON == "your choice on the review page"
    # The best shot of a series is the user's choice too (issue 25) ...
    assert SimilarKind().keeper(chosen, [0, 1]) == (1, CHOSEN_REASON)
    # ... but a series that moves whole has none: its best photo names it.
    moving = Library.of(scan, (), preferred=frozenset({ROOT / "b.jpg"}), series="move-all")
    assert SimilarKind().keeper(moving, [0, 1]) == (0, "most pixels (80x80)")


class _Upscales:
    """A full-size check that finds every larger copy an upscale of the smaller one."""

    def graphic(self, pos: int) -> bool:
        return False

    def upscaled(self, big: int, small: int) -> bool:
        return True

    def confirm(self, pairs: Neighbours) -> Neighbours:
        return pairs

    def verification(self, members: Sequence[int]) -> str:
        return "full-size"


def test_an_upscale_loses_to_its_source() -> None:
    scan = _scan(("big.jpg", 0, 80), ("small.jpg", 0, 40))
    lib = Library.of(scan, (), check=_Upscales())  # type: ignore[arg-type]
    best, reason = DuplicatesKind().keeper(lib, [0, 1])
    assert best == 1 and reason.startswith("the original of an upscale")
    spec = DuplicatesKind().new_group(lib, [0, 1], Claims())
    assert spec.verified == "full-size"


def test_a_new_duplicates_group_keeps_its_best_copy_in_place() -> None:
    scan = _scan(("a.jpg", 0, 10), ("b.jpg", 1, 80))
    lib = Library.of(scan, ())
    claims = Claims()
    spec = DuplicatesKind().new_group(lib, [0, 1], claims)
    assert _names(spec.members) == ["b.jpg", "a.jpg"] and spec.keep_best_in_place
    assert spec.folder is None and spec.verified is None  # no full-size check ran
    assert claims.moving == {0}  # a.jpg moves into duplicates/: no series takes it


# --- similar ---------------------------------------------------------------------------------


def test_a_series_grows_whole_and_is_named_after_its_best_shot() -> None:
    scan = _scan(("similar/s/s1.jpg", 0, 20), ("s2.jpg", 2, 80))
    lib = Library.of(scan, (_placed(scan, "similar/s"),), series="move-all")
    claims = Claims()
    (spec,) = SimilarKind().grow(lib, Growing(ROOT / "similar/s", [0], joined=[1]), claims)
    assert _names(spec.members) == ["s2.jpg", "similar/s/s1.jpg"]
    assert not spec.keep_best_in_place and spec.folder == ROOT / "similar/s"
    assert claims == Claims()  # a series takes nothing from later kinds
    assert SimilarKind().anchor(1) == Growing(None, [1])


class _Screens(_Upscales):
    """A full-size check that finds the photos narrower than 50 px screenshots."""

    def __init__(self, scan: ScanResult) -> None:
        self.widths = [i.width for i in scan.infos]

    def graphic(self, pos: int) -> bool:
        return self.widths[pos] < 50

    def upscaled(self, big: int, small: int) -> bool:
        return False


def test_screenshots_in_a_series_are_not_judged_as_shots() -> None:
    # Sharpness says nothing of a screenshot, and reading one costs most: a series judges
    # its photos only, and a series of screenshots is named by the keep rules.
    scan = _scan(("p1.jpg", 0, 60), ("s1.png", 1, 40), ("p2.jpg", 2, 70), ("s2.png", 3, 45))
    judged: list[str] = []

    def measure(paths: Sequence[Path]) -> list[ShotQuality | None]:
        judged.extend(_names(paths))
        return [ShotQuality(1.0, 0, 0, 0, 1, score=float(p.name == "p1.jpg")) for p in paths]

    lib = Library.of(scan, (), check=_Screens(scan), shots=Shots(measure))  # type: ignore[arg-type]
    (spec,) = SimilarKind().form(lib, [], [[0, 1, 2, 3]], Claims())
    assert spec.best == ROOT / "p1.jpg" and spec.keep_best_in_place  # the best photo
    assert sorted(judged) == ["p1.jpg", "p2.jpg"]
    best, reason = SimilarKind().keeper(lib, [1, 3])
    assert best == 3 and reason.startswith("most pixels")  # screenshots only: the keep rules
    assert sorted(judged) == ["p1.jpg", "p2.jpg"]


# --- whole sorts, by scope -------------------------------------------------------------------


def test_a_first_sort_finds_copies_then_series_among_the_rest() -> None:
    scan = _scan(
        ("a.jpg", 0, 80),
        ("a copy.jpg", 1, 20),
        ("b.jpg", 3, 40),
        ("far.jpg", 50, 40),
    )
    specs = group_library(scan, BOTH, ())
    # a copy.jpg moves into duplicates/, so the series is a.jpg with b.jpg.
    assert _brief(specs) == [
        ("duplicates", ["a.jpg", "a copy.jpg"], None),
        ("similar", ["a.jpg", "b.jpg"], None),
    ]
    assert specs[0].reason == "most pixels (80x80)"


def test_new_photos_join_placed_groups_and_placed_photos_never_move() -> None:
    scan = _scan(
        ("a.jpg", 0, 80),  # kept copy of duplicates/a
        ("a2.jpg", 1, 10),  # arrives: another copy of a
        ("duplicates/a/a.jpg", 0, 20),
        ("similar/s/s1.jpg", 20, 40),
        ("similar/s/s2.jpg", 22, 40),
        ("s3.jpg", 24, 30),  # arrives: a new shot of the series
    )
    placed = (_placed(scan, "duplicates/a", kept="a.jpg"), _placed(scan, "similar/s"))
    specs = group_library(scan, BOTH, placed)
    assert _brief(specs) == [
        ("duplicates", ["a.jpg", "a2.jpg"], "duplicates/a"),
        ("similar", ["similar/s/s1.jpg", "similar/s/s2.jpg", "s3.jpg"], "similar/s"),
    ]


def test_only_new_photos_are_searched_and_a_settled_one_is_a_group_of_one() -> None:
    scan = _scan(
        ("old.jpg", 0, 80),  # sorted before, alone
        ("old twin.jpg", 1, 80),  # sorted before too: not regrouped with old.jpg
        ("new.jpg", 10, 20),  # arrives, a copy of nothing yet
        ("new copy.jpg", 11, 10),  # arrives with it
    )
    flags = [True, True, False, False]
    specs = group_library(scan, (_Copies(),), (), settled=flags)
    assert _brief(specs) == [("duplicates", ["new.jpg", "new copy.jpg"], None)]
    # A new copy of a settled photo joins it: the settled one is its group's kept copy.
    scan = _scan(("old.jpg", 0, 80), ("copy.jpg", 1, 10))
    specs = group_library(scan, BOTH, (), settled=[True, False])
    assert _brief(specs) == [("duplicates", ["old.jpg", "copy.jpg"], None)]
    # The loose scope, on the same photos, groups them as a first sort would.
    assert _brief(group_library(scan, BOTH, ())) == _brief(specs)


def test_a_full_sort_regroups_everything_and_reuses_the_folders() -> None:
    scan = _scan(
        ("a.jpg", 0, 80),
        ("duplicates/a/a.jpg", 0, 20),
        ("duplicates/a/b.jpg", 30, 20),  # not a copy of a.jpg after all
        ("similar/s/s1.jpg", 31, 40),
    )
    placed = (_placed(scan, "duplicates/a", kept="a.jpg"), _placed(scan, "similar/s"))
    specs = group_library(scan, BOTH, placed, full=True)
    assert _brief(specs) == [
        ("duplicates", ["a.jpg", "duplicates/a/a.jpg"], "duplicates/a"),
        # duplicates/a holds the first group: two groups in one folder would be one.
        ("duplicates", ["similar/s/s1.jpg", "duplicates/a/b.jpg"], None),
    ]


def test_a_folder_is_reused_by_one_group_and_a_tie_goes_to_the_first_name() -> None:
    a, b, c = ROOT / "similar/a", ROOT / "similar/b", ROOT / "similar/c"
    assert reused_folders([[b, a], [a, a, c]]) == [b, a]
    assert reused_folders([[c, b], [c, b]]) == [b, c]
    assert reused_folders([[a], [a], []]) == [a, None, None]


# --- what the sorter asks of the duplicates kind ---------------------------------------------


def test_kept_copies_are_followed_through_the_index_and_the_moves() -> None:
    scan = _scan(("a.jpg", 0, 80), ("duplicates/a/a.jpg", 0, 10), ("similar/s/s.jpg", 9, 9))
    dup = _placed(scan, "duplicates/a", kept="a.jpg")
    series = _placed(scan, "similar/s")
    assert kept_copies((dup, series)) == {ROOT / "duplicates/a": ROOT / "a.jpg"}
    moved_on = {ROOT / "duplicates/a": ROOT / "similar/s/a.jpg"}
    assert with_kept((dup, series), moved_on) == [
        PlacedGroup("duplicates", dup.folder, dup.members, ROOT / "similar/s/a.jpg"),
        series,
    ]
    group_b = PlannedGroup(
        "duplicates", ROOT / "duplicates/b", ROOT / "b.jpg", ROOT / "b.jpg", "", (), ()
    )
    after = kept_after(kept_copies((dup,)), [group_b], {ROOT / "b.jpg": ROOT / "similar/t/b.jpg"})
    assert after == {
        ROOT / "duplicates/a": ROOT / "a.jpg",
        ROOT / "duplicates/b": ROOT / "similar/t/b.jpg",
    }


def test_a_kept_copy_moving_on_with_its_series_is_said_in_its_group() -> None:
    a, dst = ROOT / "a.jpg", ROOT / "similar/a/a.jpg"
    dup = PlannedGroup("duplicates", ROOT / "duplicates/a", a, a, "most pixels", (a,), ())
    series = PlannedGroup("similar", dst.parent, None, a, "x", (a,), (Move(a, dst),))
    plan = note_keepers_moving_on(SortPlan(ROOT, (dup, series)))
    assert plan.groups[0].reason == "most pixels; it moves on to similar/a/ with its series"
    assert plan.groups[1] == series
