from __future__ import annotations

from pathlib import Path

from remedia_tray.core.planning import (
    GroupSpec,
    free_name,
    free_set_names,
    group_folder_name,
    plan_sort,
)
from remedia_tray.layout import MANIFEST_NAME


def test_free_name_never_reuses() -> None:
    taken = {"a.jpg", "a (2).jpg"}
    assert free_name("a.jpg", taken.__contains__) == "a (3).jpg"
    assert free_name("noext", {"noext"}.__contains__) == "noext (2)"


def test_group_names_are_safe_and_unique() -> None:
    root = Path("/r")
    specs = [
        GroupSpec(
            "duplicates",
            root / "x" / "IMG_1.jpg",
            "r",
            (root / "x/IMG_1.jpg", root / "y/c.jpg"),
            True,
        ),
        GroupSpec(
            "duplicates",
            root / "y" / "IMG_1.jpg",
            "r",
            (root / "y/IMG_1.jpg", root / "y/c.jpg"),
            True,
        ),
    ]
    plan = plan_sort(root, specs, exists=lambda p: False)
    folders = [g.folder for g in plan.groups]
    assert folders == [root / "duplicates/IMG_1", root / "duplicates/IMG_1 (2)"]
    # Two members called c.jpg land in different folders; no destination is used twice.
    dsts = [m.dst for m in plan.moves]
    assert len(dsts) == len(set(dsts))
    assert group_folder_name(Path("/a/we:ird<name>.jpg")) == "we_ird_name_"


def test_existing_files_are_never_targets() -> None:
    root = Path("/r")
    existing = {root / "duplicates/k", root / "duplicates/k (2)/b.jpg"}
    spec = GroupSpec("duplicates", root / "k.jpg", "r", (root / "k.jpg", root / "b.jpg"), True)
    plan = plan_sort(root, [spec], exists=existing.__contains__)
    assert plan.groups[0].folder == root / "duplicates/k (2)"
    assert plan.moves[0].dst == root / "duplicates/k (2)/b (2).jpg"
    assert plan.groups[0].keeper == root / "k.jpg"


def test_free_name_stays_within_255_bytes() -> None:
    long_name = "é" * 125 + ".jpg"  # 254 bytes
    assert len(long_name.encode()) == 254
    got = free_name(long_name, {long_name}.__contains__)
    assert got.endswith(" (2).jpg") and len(got.encode()) <= 255


# --- media sets: a picture and its companions move as one -----------------------------------


def _dup_spec(root: Path, keeper: str, copy: str) -> GroupSpec:
    return GroupSpec("duplicates", root / keeper, "r", (root / keeper, root / copy), True)


def test_companions_move_with_their_picture_right_after_it() -> None:
    root = Path("/r")
    copy = root / "Phone/IMG_1.HEIC"
    sets = {copy: (("live", root / "Phone/IMG_1.MOV"), ("aae", root / "Phone/IMG_1.AAE"))}
    plan = plan_sort(root, [_dup_spec(root, "IMG_1.HEIC", "Phone/IMG_1.HEIC")],
                     exists=lambda p: False, companions=sets)  # fmt: skip
    folder = root / "duplicates/IMG_1"
    assert [(m.src, m.dst, m.unit, m.role) for m in plan.moves] == [
        (copy, folder / "IMG_1.HEIC", copy, None),
        (root / "Phone/IMG_1.MOV", folder / "IMG_1.MOV", copy, "live"),
        (root / "Phone/IMG_1.AAE", folder / "IMG_1.AAE", copy, "aae"),
    ]
    assert plan.groups[0].members == (root / "IMG_1.HEIC", copy)  # members stay pictures


def test_a_kept_members_companions_stay_in_place() -> None:
    root = Path("/r")
    sets = {root / "IMG_1.jpg": (("xmp", root / "IMG_1.jpg.xmp"),)}
    plan = plan_sort(root, [_dup_spec(root, "IMG_1.jpg", "b/IMG_1.jpg")],
                     exists=lambda p: False, companions=sets)  # fmt: skip
    assert [m.src for m in plan.moves] == [root / "b/IMG_1.jpg"]
    assert plan.moves[0].unit is None  # a lone file, as before


def test_a_set_is_renamed_together_on_a_clash() -> None:
    root = Path("/r")
    folder = root / "similar/IMG_1"
    # The picture's name is free at (2), but its Live video's (2) is taken: both go to (3).
    existing = {folder, folder / "IMG_1.HEIC", folder / "IMG_1 (2).MOV"}
    primary = root / "a/IMG_1.HEIC"
    sets = {
        primary: (
            ("live", root / "a/IMG_1.MOV"),
            ("json", root / "a/IMG_1.HEIC.json"),
            ("edited", root / "a/IMG_E1.HEIC"),
        )
    }
    spec = GroupSpec("similar", primary, "r", (primary,), False, folder=folder)
    plan = plan_sort(root, [spec], exists=existing.__contains__, companions=sets)
    assert [m.dst.name for m in plan.moves] == [
        "IMG_1 (3).HEIC",
        "IMG_1 (3).MOV",
        "IMG_1 (3).HEIC.json",
        "IMG_E1 (3).HEIC",
    ]
    assert {m.unit for m in plan.moves} == {primary}


def test_two_sets_of_one_name_in_one_group_keep_apart() -> None:
    root = Path("/r")
    a, b = root / "a/IMG_1.jpg", root / "b/IMG_1.jpg"
    sets = {a: (("raw", root / "a/IMG_1.DNG"),), b: (("raw", root / "b/IMG_1.DNG"),)}
    spec = GroupSpec("similar", a, "r", (a, b), False)
    plan = plan_sort(root, [spec], exists=lambda p: False, companions=sets)
    assert [m.dst.name for m in plan.moves] == [
        "IMG_1.jpg", "IMG_1.DNG", "IMG_1 (2).jpg", "IMG_1 (2).DNG",
    ]  # fmt: skip
    assert [m.unit for m in plan.moves] == [a, a, b, b]


def test_no_member_of_a_set_takes_the_manifests_name() -> None:
    taken: set[str] = set()
    names = free_set_names("remedia-group.jpg", ["remedia-group.json"], taken.__contains__)
    assert names == ("remedia-group.jpg", "remedia-group.json")
    names = free_set_names(
        "g.jpg", ["g.json"], lambda n: n in {"g.json", "g (2).jpg"} or n == MANIFEST_NAME
    )
    assert names == ("g (3).jpg", "g (3).json")


def test_each_group_knows_its_members_companions_kept_copy_included() -> None:
    root = Path("/r")
    kept, copy = root / "IMG_1.HEIC", root / "b/IMG_1.HEIC"
    sets = {
        kept: (("live", root / "IMG_1.MOV"), ("edited", root / "IMG_E1.JPG")),
        copy: (("live", root / "b/IMG_1.MOV"),),
        root / "elsewhere.jpg": (("xmp", root / "elsewhere.jpg.xmp"),),  # in no group
    }
    (group,) = plan_sort(root, [_dup_spec(root, "IMG_1.HEIC", "b/IMG_1.HEIC")],
                         exists=lambda p: False, companions=sets).groups  # fmt: skip
    # Named where the scan found them; the moves say where they went.
    assert group.companions == ((kept, sets[kept]), (copy, sets[copy]))
    assert group.companions_of(kept) == sets[kept] and group.companions_of(root / "x") == ()
    assert (root / "b/IMG_1.MOV", root / "duplicates/IMG_1/IMG_1.MOV") in {
        (m.src, m.dst) for m in group.moves
    }


def test_a_file_two_specs_would_move_is_planned_once() -> None:
    # A new pick in its duplicates folder (keeper_to) that a series also takes: one move.
    root = Path("/r")
    pick, old = root / "duplicates/x/new.jpg", root / "similar/y/old.jpg"
    dup = GroupSpec("duplicates", pick, "r", (pick, old), True, keeper_to=root / "Camera")
    sharp = root / "Camera/sharp.jpg"
    series = GroupSpec("similar", sharp, "r", (sharp, pick), True, folder=root / "similar/y")
    plan = plan_sort(root, [dup, series], exists=lambda p: False)
    sources = [m.src for m in plan.moves]
    assert len(sources) == len(set(sources)) and pick in sources
    assert [m.dst for m in plan.moves if m.src == pick] == [root / "Camera/new.jpg"]
    assert [m.src for m in plan.groups[1].moves] == []  # the series leaves it
