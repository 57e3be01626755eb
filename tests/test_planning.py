from __future__ import annotations

from pathlib import Path

from remedia_tray.core.planning import GroupSpec, free_name, group_folder_name, plan_sort


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
