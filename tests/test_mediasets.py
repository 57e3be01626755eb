"""Media sets by name (core.mediasets): which files are one picture to the user."""

from __future__ import annotations

from remedia_tray.core.mediasets import BADGES, RULES, find_sets, renamed

PHONE = [
    "IMG_0001.HEIC", "IMG_0001.MOV", "IMG_0001.AAE", "IMG_O0001.AAE", "IMG_E0001.HEIC",
    "IMG_0002.jpg", "IMG_0002.jpg.xmp", "IMG_0002.jpg.json", "IMG_0002(1).jpg",
    "IMG_0002.jpg(1).json", "IMG_0003.JPG", "img_0003.cr2", "IMG_0003.xmp", "DSC_9.NEF",
    "DSC_9.NEF.xmp", "clip.mp4", "IMG_0004.jpg", "IMG_0004.jpg.supplemental-metad.json",
    "MVI_1.THM", "MVI_1.jpg", "notes.txt", "IMG_0005.jpg", "IMG_0005.MOV",
]  # fmt: skip


def _sets() -> dict[str, set[tuple[str, str]]]:
    found = find_sets(PHONE, live_ok=lambda name: name != "IMG_0005.MOV")
    return {s.primary: set(s.companions) for s in found}


def test_every_name_is_in_exactly_one_set() -> None:
    found = find_sets(PHONE)
    names = [n for s in found for n in s.names]
    assert sorted(names) == sorted(PHONE)


def test_companions_go_with_their_picture_ignoring_case() -> None:
    sets = _sets()
    assert sets["IMG_0001.HEIC"] == {
        ("live", "IMG_0001.MOV"), ("aae", "IMG_0001.AAE"), ("aae", "IMG_O0001.AAE"),
        ("edited", "IMG_E0001.HEIC"),
    }  # fmt: skip
    assert sets["IMG_0002.jpg"] == {("xmp", "IMG_0002.jpg.xmp"), ("json", "IMG_0002.jpg.json")}
    assert sets["IMG_0002(1).jpg"] == {("json", "IMG_0002.jpg(1).json")}
    assert sets["IMG_0003.JPG"] == {("raw", "img_0003.cr2"), ("xmp", "IMG_0003.xmp")}
    assert sets["IMG_0004.jpg"] == {("json", "IMG_0004.jpg.supplemental-metad.json")}
    assert sets["MVI_1.jpg"] == {("thm", "MVI_1.THM")}
    assert sets["DSC_9.NEF"] == {("xmp", "DSC_9.NEF.xmp")}  # a lone RAW keeps its sidecar


def test_a_long_video_and_unrelated_files_are_their_own() -> None:
    sets = _sets()
    for alone in ("IMG_0005.jpg", "IMG_0005.MOV", "clip.mp4", "notes.txt"):
        assert sets[alone] == set()


def test_renamed_companions_keep_sharing_the_pictures_stem() -> None:
    new = "IMG_0001 (2).HEIC"
    assert renamed("IMG_0001.MOV", "IMG_0001.HEIC", new) == "IMG_0001 (2).MOV"
    assert renamed("IMG_E0001.HEIC", "IMG_0001.HEIC", new) == "IMG_E0001 (2).HEIC"
    assert renamed("IMG_O0001.AAE", "IMG_0001.HEIC", new) == "IMG_O0001 (2).AAE"
    assert renamed("IMG_0002.jpg.xmp", "IMG_0002.jpg", "IMG_0002 (2).jpg") == "IMG_0002 (2).jpg.xmp"
    assert renamed("IMG_0001.MOV", "IMG_0001.HEIC", "IMG_0001.HEIC") == "IMG_0001.MOV"
    # Takeout's numbered-copy quirk, said plainly once the copy is renamed.
    json = renamed("IMG_0002.jpg(1).json", "IMG_0002(1).jpg", "IMG_0002(1) (2).jpg")
    assert json == "IMG_0002(1) (2).jpg.json"
    assert find_sets(["IMG_0002(1) (2).jpg", json])[0].companions == (("json", json),)


def test_the_table_names_a_badge_for_every_role() -> None:
    assert set(BADGES) == {"live", "aae", "edited", "xmp", "json", "thm", "raw"}
    assert len(RULES) == len(BADGES)
