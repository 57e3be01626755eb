"""Never an upscale (issue 24): where neither copy of a video carries a camera's metadata, the
one with more pixels stays only if they hold more picture (pipeline/video_check.py).

Clips made at test time from real photos of 2,500 px and more (../shared/data/photos; the
tests skip without them): 720p originals without metadata and their 1080p exports enlarged
with LANCZOS or BICUBIC (an editor's choices), a 1080p original without metadata and its
640 px WhatsApp copy. Measured detail ratios (the larger copy's detail beyond the smaller
one's resolution over the smaller one's, enlarged): upscales 0.92-1.11, originals against a
640 px copy 1.5-6.0 (fullsize_check.UPSCALE_DETAIL_RATIO is 1.3).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from remedia_tray.core.media import MediaFile
from remedia_tray.engines.registry import get_engine
from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.pipeline.features import ScanResult
from remedia_tray.pipeline.fullsize_check import UPSCALE_DETAIL_RATIO
from remedia_tray.pipeline.video_check import VideoCheck, shared_seconds
from remedia_tray.pipeline.video_scan import scan_videos
from remedia_tray.sorter import SortOptions, sort_folder

from . import videofiles as vf
from .conftest import photo, read_tree, shared_data

pytest.importorskip("av")

HASH = SortOptions(engine="hash", workers=2)
#: Sharp photos to film (4352 x 2448, 2560 x 1600, 3088 x 2056).
BRIDGE = "lomiri1604__Bridge_by_Sander_Klootwijk.jpg"
GARDEN = "mate__Garden.jpg"
LIFE = "lomiri1604__life_by_Aitzol_Berasategi.jpg"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Clips/ holds the originals (none with metadata), Export/ and WhatsApp/ their copies."""
    images = shared_data("photos", "images")
    root = tmp_path_factory.mktemp("upscales") / "videos"
    clips = root / "Clips"
    bridge = vf.pan_clip(images / BRIDGE, clips / "bridge.mp4", size=(1280, 720), metadata=None)
    vf.upscale(bridge, root / "Export" / "bridge_1080p.mp4")  # LANCZOS
    garden = vf.pan_clip(images / GARDEN, clips / "garden.mp4", size=(1280, 720), metadata=None)
    vf.upscale(garden, root / "Export" / "garden_1080p.mp4", resample=Image.Resampling.BICUBIC)
    life = vf.pan_clip(images / LIFE, clips / "life.mp4", size=(1920, 1080), metadata=None)
    vf.whatsapp(life, root / "WhatsApp" / "life-WA.mp4")
    return root


@pytest.fixture
def videos(built: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "videos"))


def test_an_upscale_loses_to_its_original_and_a_larger_original_stays(videos: Path) -> None:
    before = read_tree(videos)
    report = sort_folder(videos, HASH)
    groups = {g.keeper.name: g for g in report.groups if g.keeper is not None}
    assert set(groups) == {"bridge.mp4", "garden.mp4", "life.mp4"}, groups
    for name in ("bridge", "garden"):
        g = groups[f"{name}.mp4"]
        assert g.keeper == videos / "Clips" / f"{name}.mp4"
        assert g.reason == "the original of an upscale (1280x720; 1920x1080 holds no more detail)"
        assert [m.src for m in g.moves] == [videos / "Export" / f"{name}_1080p.mp4"]
    life = groups["life.mp4"]  # more pixels, and more picture in them: no false upscale
    assert life.keeper == videos / "Clips" / "life.mp4"
    assert life.reason == "most pixels (1920x1080)"
    assert [m.src for m in life.moves] == [videos / "WhatsApp" / "life-WA.mp4"]
    undo_last_sort(videos)
    assert read_tree(videos) == before


def _scan(paths: list[Path]) -> ScanResult:
    files = [MediaFile.from_stat(p, os.stat(p)) for p in paths]
    return scan_videos(files, get_engine("video"))


def test_the_check_compares_the_detail_of_frames_both_videos_show(built: Path) -> None:
    paths = [
        built / "Export" / "bridge_1080p.mp4",
        built / "Clips" / "bridge.mp4",
        built / "Export" / "garden_1080p.mp4",
        built / "Clips" / "garden.mp4",
        built / "Clips" / "life.mp4",
        built / "WhatsApp" / "life-WA.mp4",
    ]
    scan = _scan(paths)
    check = VideoCheck(scan, "video")
    assert check.upscaled(0, 1) and check.upscaled(2, 3)
    assert not check.upscaled(4, 5)
    assert shared_seconds(scan.features["video"][0], scan.features["video"][1]) == (1.0, 1.25)
    ratios = check.ratios
    assert all(r <= 1.2 for pair in ((0, 1), (2, 3)) for r in ratios[pair]), ratios
    assert all(r >= 2 * UPSCALE_DETAIL_RATIO for r in ratios[(4, 5)]), ratios
    assert all(len(r) == 2 for r in ratios.values()) and check.seconds > 0
    pairs = get_engine("video").neighbours(scan.features["video"])
    assert not check.graphic(0)
    assert check.verification([0, 1]) is None  # not compared at full size yet
    assert len(check.confirm(pairs).i) == len(pairs.i)  # upscales are the same frames
    assert check.verification([0, 1]) == "full-size"


def test_where_the_check_cannot_tell_the_pixel_count_stands(built: Path, tmp_path: Path) -> None:
    upscale = shutil.copy2(built / "Export" / "bridge_1080p.mp4", tmp_path / "up.mp4")
    original = shutil.copy2(built / "Clips" / "bridge.mp4", tmp_path / "bridge.mp4")
    twin = shutil.copy2(original, tmp_path / "bridge copy.mp4")
    scan = _scan([Path(upscale), Path(original), Path(twin)])
    assert VideoCheck(scan, "video").verification([1, 2]) == "byte-identical"
    assert not VideoCheck(scan, "video", time_limit=0.0).upscaled(0, 1)  # out of time
    with open(upscale, "ab") as f:  # rewritten since the scan read it
        f.write(b"\0")
    late = VideoCheck(scan, "video")
    assert not late.upscaled(0, 1) and late.ratios[(0, 1)] == ()


def test_frames_are_compared_where_both_videos_show_a_picture(tmp_path: Path) -> None:
    """A black intro says nothing about detail: the first seconds with a picture are used."""
    size = (320, 180)
    black = list(vf.black_frames(width=size[0], height=size[1], seconds=2.0, fps=30))
    pan = list(vf.pan_frames(photo("ridge"), width=size[0], height=size[1], seconds=2.0, fps=30))
    clip = vf.joined([black, pan], tmp_path / "intro.mp4", gop=30, metadata=None)
    copy = vf.whatsapp(clip, tmp_path / "intro-WA.mp4", side=240)
    scan = _scan([clip, copy])
    assert shared_seconds(scan.features["video"][0], scan.features["video"][1]) == (2.0, 2.25)
