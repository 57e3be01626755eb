"""Different text pictures with one layout are not duplicates; their true copies are.

A 64 x 64 thumbnail turns a line of text into a grey smear, so two chat screenshots with the
same layout and other words look alike there. The set (tests/textpics.py) holds five families
of such look-alikes at real sizes (chats, a settings screen differing in one value, A4 pages,
slides, captioned photos), each original with three true copies (WhatsApp-like, PNG re-save,
half size). Scored by duplicate pairs: precision = predicted pairs that are true, recall = true
pairs found. The set is drawn with seed 101 in serif; the tuning seeds (1-3, sans, see
benchmarks/text_accuracy.py) are never used here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Literal

import pytest
from PIL import Image, ImageChops

from remedia_tray.core.strictness import LEVELS
from remedia_tray.sorter import SortOptions, sort_folder

from .textpics import (
    FAMILIES,
    TextPicture,
    draw,
    font_path,
    half_size,
    make_set,
    true_pairs,
    whatsapp_copy,
)

if any(font_path(s, bold) is None for s in ("sans", "serif") for bold in (False, True)):
    pytest.skip("the DejaVu fonts are not installed", allow_module_level=True)

SEED, PER_FAMILY = 101, 15
STYLE: Literal["serif"] = "serif"
SCORED = ("exact", "strict", "balanced")

TextSet = tuple[Path, list[TextPicture]]
Groups = list[frozenset[Path]]


@pytest.fixture(scope="module")
def text_set(tmp_path_factory: pytest.TempPathFactory) -> TextSet:
    folder = tmp_path_factory.mktemp("textpics") / "set"
    return folder, make_set(folder, seed=SEED, style=STYLE, per_family=PER_FAMILY)


@pytest.fixture(scope="module")
def planned(
    text_set: TextSet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Groups]]:
    """The duplicate groups a dry-run sort plans at each scored level: one folder serves all."""
    from remedia_tray.pipeline.features import shutdown_workers

    folder, _ = text_set
    base = tmp_path_factory.mktemp("textpics-xdg")
    out: dict[str, Groups] = {}
    # A module fixture is set up before the per-test isolation: isolate it here as well.
    with pytest.MonkeyPatch.context() as mp:
        for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
            mp.setenv(name, str(base / name.lower()))
        for level in SCORED:
            options = SortOptions(
                engine="hash", strictness=LEVELS[level], dry_run=True, cache_dir=base / "cache"
            )
            groups = sort_folder(folder, options).duplicate_groups
            out[level] = [frozenset(p.resolve() for p in g.members) for g in groups]
        shutdown_workers()
        yield out


@dataclass(frozen=True)
class Score:
    found: int  # true pairs in the predicted groups
    predicted: int
    true: int
    wrong_groups: dict[str, int]  # family -> groups holding more than one source

    @property
    def precision(self) -> float:
        return self.found / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.true if self.true else 1.0

    def __str__(self) -> str:
        return (
            f"precision {self.precision:.4f} ({self.found}/{self.predicted} predicted pairs true),"
            f" recall {self.recall:.4f} ({self.found}/{self.true} true pairs found),"
            f" wrong groups per family {self.wrong_groups}"
        )


def score(groups: Groups, pics: Sequence[TextPicture]) -> Score:
    truth = {frozenset(p.resolve() for p in pair) for pair in true_pairs(pics)}
    predicted = {frozenset(pair) for g in groups for pair in combinations(g, 2)}
    info = {p.path.resolve(): p for p in pics}
    wrong = dict.fromkeys(FAMILIES, 0)
    for g in groups:
        if len({info[p].source for p in g}) > 1:
            for family in {info[p].family for p in g}:
                wrong[family] += 1
    return Score(len(truth & predicted), len(predicted), len(truth), wrong)


def test_the_set_is_what_it_claims(text_set: TextSet) -> None:
    folder, pics = text_set
    assert len(pics) == len(FAMILIES) * PER_FAMILY * 4
    assert sorted(p.relative_to(folder) for p in folder.rglob("*.*")) == sorted(
        p.path.relative_to(folder) for p in pics
    )
    assert len(true_pairs(pics)) == len(FAMILIES) * PER_FAMILY * 6


@pytest.mark.parametrize("level", ["strict", "balanced"])
def test_copies_grouped_and_look_alikes_kept_apart(
    text_set: TextSet, planned: dict[str, Groups], level: str
) -> None:
    result = score(planned[level], text_set[1])
    assert result.precision >= 0.995 and result.recall >= 0.98, f"{level}: {result}"


def test_exact_never_groups_different_pictures(
    text_set: TextSet, planned: dict[str, Groups]
) -> None:
    result = score(planned["exact"], text_set[1])
    assert result.precision == 1.0, f"exact: {result}"


@pytest.mark.parametrize("family", FAMILIES)
def test_no_group_mixes_sources_at_balanced(
    text_set: TextSet, planned: dict[str, Groups], family: str
) -> None:
    info = {p.path.resolve(): p for p in text_set[1]}
    touched = [g for g in planned["balanced"] if any(info[p].family == family for p in g)]
    mixed = [sorted({info[p].source for p in g}) for g in touched]
    mixed = [sources for sources in mixed if len(sources) > 1]
    assert not mixed, f"{len(mixed)} of {family}'s {len(touched)} groups mix sources: {mixed}"


# The generator itself: cheap checks, no sort.


def _differ(a: Image.Image, b: Image.Image) -> tuple[int, int, int, int] | None:
    assert a.size == b.size
    return ImageChops.difference(a, b).getbbox()


@pytest.mark.parametrize("family", FAMILIES)
def test_drawing_is_deterministic_and_words_differ(family: str) -> None:
    first = draw(family, 2, seed=7, style="sans")
    assert first.mode == "RGB"
    assert first.tobytes() == draw(family, 2, seed=7, style="sans").tobytes()
    assert _differ(first, draw(family, 4, seed=7, style="sans")) is not None
    assert _differ(first, draw(family, 2, seed=7, style="serif")) is not None


def test_sizes_are_real() -> None:
    sizes = {f: draw(f, 0, seed=3, style="sans").size for f in FAMILIES}
    assert sizes == {
        "chat": (1080, 2400), "settings": (1080, 2400), "page": (2480, 3508),
        "slide": (1920, 1080), "caption": (1600, 1067),
    }  # fmt: skip
    assert draw("chat", 1, seed=3, style="sans").size == (1170, 2532)


def test_settings_pictures_differ_in_one_value_only() -> None:
    a, b, c = (draw("settings", k, seed=5, style="serif") for k in (0, 1, 9))
    for other in (b, c):
        box = _differ(a, other)
        assert box is not None
        x0, y0, x1, y1 = box
        assert (x1 - x0) * (y1 - y0) < 0.005 * a.width * a.height, box
        assert y1 - y0 < 60, box  # one line of one row


def test_make_set_is_byte_identical_for_one_seed(tmp_path: Path) -> None:
    families = ("settings", "caption")
    one = make_set(tmp_path / "one", seed=11, style="sans", per_family=2, families=families)
    two = make_set(tmp_path / "two", seed=11, style="sans", per_family=2, families=families)
    assert [p.path.relative_to(tmp_path / "one") for p in one] == [
        p.path.relative_to(tmp_path / "two") for p in two
    ]
    for p, q in zip(one, two):
        assert p.path.read_bytes() == q.path.read_bytes(), p.path.name
        assert (p.family, p.source, p.variant) == (q.family, q.source, q.variant)


def test_copies_are_what_a_phone_makes(tmp_path: Path) -> None:
    pics = make_set(tmp_path, seed=13, style="sans", per_family=2, families=("slide",))
    assert [p.variant for p in pics[:4]] == ["original", "whatsapp", "png", "half"]
    original, whatsapp, png, half = (p.path for p in pics[:4])
    assert original.read_bytes() != png.read_bytes()
    with Image.open(original) as a, Image.open(png) as b:
        assert _differ(a.convert("RGB"), b.convert("RGB")) is None  # the same pixels
    with Image.open(whatsapp) as w, Image.open(half) as h:
        assert (w.format, w.size) == ("JPEG", (1600, 900))
        assert h.size == (960, 540)
    assert {frozenset((original, whatsapp)), frozenset((png, half))} <= true_pairs(pics)
    assert frozenset((original, pics[4].path)) not in true_pairs(pics)
    page = draw("page", 0, seed=13, style="sans")
    assert whatsapp_copy(page).size == (1131, 1600)
    assert half_size(page).size == (1240, 1754)
