"""The video engine and reader on clips made at test time from real photos: what is read
(length, size as shown, rotation, camera), how few frames are decoded, and which clips
are the same video (tests/videofiles.py)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from remedia_tray.engines.registry import get_engine, select_engines
from remedia_tray.engines.video import (
    BLANK,
    FAR,
    FRAME_SIDE,
    VideoEngine,
    describe,
    grid_step,
    length_pairs,
    pack,
    sample_times,
    tolerance,
    unpack,
)
from remedia_tray.pipeline.video_read import UnreadableVideo, VideoRead, read_video

from . import videofiles as vf
from .conftest import PHOTOS, photo

pytest.importorskip("av")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    size = (640, 360)
    a = vf.pan_clip(photo("cat"), d / "a.mov", seconds=3.0, size=size)
    black = list(vf.black_frames(width=640, height=360, seconds=1.0, fps=30))
    dark = vf.joined(
        [black, vf.pan_frames(photo("ridge"), width=640, height=360, seconds=2.0, fps=30)],
        d / "dark.mp4", gop=30,
    )  # fmt: skip
    portrait = vf.portrait_clip(photo("peaks"), d / "portrait.mov", seconds=2.0)
    return {
        "a": a,
        "a_wa": vf.whatsapp(a, d / "a_wa.mp4", side=480),
        "a_h265": vf.reencode(a, d / "a_h265.mp4", codec="libx265", crf=30),
        "a_trim": vf.trimmed(a, d / "a_trim.mp4", start=0.0, end=2.2),
        "b": vf.pan_clip(photo("life"), d / "b.mp4", seconds=3.0, size=size, metadata=vf.ANDROID),
        "dark": dark,
        "dark_wa": vf.whatsapp(dark, d / "dark_wa.mp4", side=480),
        "portrait": portrait,
        "portrait_baked": vf.reencode(portrait, d / "portrait_baked.mp4"),
    }


@pytest.fixture(scope="module")
def reads(clips: dict[str, Path]) -> dict[str, VideoRead]:
    return {name: read_video(path) for name, path in clips.items()}


def _distance(reads: dict[str, VideoRead], a: str, b: str) -> float:
    return VideoEngine().distance(reads[a].signature, reads[b].signature)


def test_the_facts_of_a_phone_clip(reads: dict[str, VideoRead]) -> None:
    a = reads["a"]
    assert (a.info.width, a.info.height, a.info.format, a.info.duration) == (640, 360, "MOV", 3.0)
    assert a.info.camera == "Apple iPhone 13" and a.info.exif_fields == len(vf.APPLE)
    assert reads["b"].info.camera == "Android 13" and reads["b"].info.format == "MP4"
    wa = reads["a_wa"].info
    assert (wa.width, wa.height, wa.camera, wa.exif_fields) == (480, 270, "", 0)
    assert reads["a_h265"].codec == "hevc"


def test_a_portrait_clip_is_shown_upright(reads: dict[str, VideoRead]) -> None:
    tagged, baked = reads["portrait"], reads["portrait_baked"]
    assert tagged.rotation == 270 and baked.rotation == 0  # -90: a quarter turn clockwise
    assert (tagged.info.width, tagged.info.height) == (360, 640)
    assert (baked.info.width, baked.info.height) == (360, 640)


def test_a_clip_with_a_keyframe_every_second_costs_one_frame_per_sample(
    reads: dict[str, VideoRead], gaps: dict[str, VideoRead]
) -> None:
    # 16 s and longer: whole seconds or coarser, each a keyframe of a phone's clip.
    assert gaps["phone"].frames == len(sample_times(16.0, 30.0)) == 16
    # 3 s: every quarter second, decoded forward from each keyframe, never the whole stream.
    assert len(sample_times(3.0, 30.0)) == 12 < reads["a"].frames < 90
    # The WhatsApp copy has one keyframe: it is decoded forward, B-frames skipped on the way.
    assert 12 < reads["a_wa"].frames < 90


def test_copies_are_the_same_video_and_look_alikes_are_not(reads: dict[str, VideoRead]) -> None:
    engine = VideoEngine(strictness=50)
    same = {("a", "a_wa"), ("a", "a_h265"), ("a_wa", "a_h265"), ("dark", "dark_wa"),
            ("portrait", "portrait_baked")}  # fmt: skip
    for x, y in itertools.combinations(reads, 2):
        d = _distance(reads, x, y)
        assert (d <= engine.threshold) == ((x, y) in same or (y, x) in same), (x, y, d)
    # A trim is another length; the same picture at each second is not enough.
    assert _distance(reads, "a", "a_trim") == FAR


def test_black_frames_are_skipped_not_matched(reads: dict[str, VideoRead]) -> None:
    dark, lit = unpack(reads["dark"].signature), unpack(reads["a"].signature)
    assert dark.step == 0.25 and dark.contrast[3] < BLANK <= dark.contrast[4]  # black to 1 s
    assert _distance(reads, "dark", "dark_wa") <= VideoEngine().threshold
    # Black where the other clip surely shows a picture: a difference, whatever follows.
    assert lit.contrast[0] >= 2 * BLANK and _distance(reads, "dark", "a") >= 1.0


def test_neighbours_are_the_pairs_within_the_threshold(reads: dict[str, VideoRead]) -> None:
    engine = VideoEngine(strictness=50)
    names = sorted(reads)
    feats = np.stack([reads[n].signature for n in names])
    found = engine.neighbours(feats)
    expected = [
        (i, j)
        for i, j in itertools.combinations(range(len(names)), 2)
        if engine.distance(feats[i], feats[j]) <= engine.threshold
    ]
    assert list(zip(found.i.tolist(), found.j.tolist())) == expected and len(expected) == 5
    query = np.array([names.index("dark_wa")])
    some = engine.neighbours_of(feats, query)
    assert [(names[i], names[j]) for i, j in zip(some.i, some.j)] == [("dark", "dark_wa")]


def test_length_pairs_are_every_pair_within_the_tolerance() -> None:
    rng = np.random.default_rng(3)
    seconds = np.concatenate([rng.uniform(0.5, 30, 300), rng.uniform(1000, 1100, 100)])
    seconds[:20] = 10.0  # many of one length
    i, j = length_pairs(seconds)
    expected = {
        (a, b)
        for a, b in itertools.combinations(range(len(seconds)), 2)
        if abs(seconds[a] - seconds[b]) <= tolerance(max(seconds[a], seconds[b])) + 1e-9
    }
    assert set(zip(i.tolist(), j.tolist())) == expected and len(i) == len(expected)


def test_damaged_and_empty_files_say_why(tmp_path: Path, clips: dict[str, Path]) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    half = vf.truncated(clips["a"], tmp_path / "half.mov")
    for path, reason in ((empty, "empty file"), (text, "damaged or not a video"),
                         (half, "damaged")):  # fmt: skip
        with pytest.raises(UnreadableVideo, match=reason):
            read_video(path)


def test_the_video_engine_runs_wherever_the_hash_engine_does() -> None:
    assert get_engine("video").reads == "videos"
    chosen = select_engines("hash")
    assert [e.name for e in chosen.engines] == ["hash"]
    assert [e.name for e in chosen.videos] == ["video"]
    engine = VideoEngine()
    assert engine.load() is None and engine.kind == "duplicates"
    # Stricter is never looser.
    levels = [VideoEngine(strictness=s).threshold for s in (0, 25, 50, 75, 100)]
    assert levels == sorted(levels, reverse=True)


@pytest.fixture(scope="module")
def gaps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, VideoRead]:
    """Clips that differ only where a sparse schedule would not look (issue 24's review)."""
    d = tmp_path_factory.mktemp("gaps")
    shown = [photo(n) for n in PHOTOS]
    small = {"size": (160, 90), "fps": 10, "seconds_each": 3.0}
    # Nine photos of 3 s each; the other show has another photo from 9 s to 12 s only.
    show = [*shown, shown[0]]
    other = [*show[:3], shown[6], *show[4:]]
    size = (320, 180)
    still = list(vf.stills(photo("sunset"), width=size[0], height=size[1], seconds=0.3, fps=30))

    def short(scene: str, name: str) -> Path:  # 0.3 s of one still, then 0.5 s of `scene`
        pan = vf.pan_frames(photo(scene), width=size[0], height=size[1], seconds=0.5, fps=30)
        return vf.joined([still, pan], d / name, gop=30)

    made = {
        "phone": vf.pan_clip(photo("umang"), d / "phone.mp4", seconds=16.0, size=(160, 90)),
        "show": vf.slideshow(show, d / "show.mp4", **small),  # type: ignore[arg-type]
        "show_other": vf.slideshow(other, d / "show_other.mp4", **small),  # type: ignore[arg-type]
        "short": short("coffee", "short.mp4"),
        "short_other": short("peaks", "short_other.mp4"),
    }
    made["short_wa"] = vf.whatsapp(made["short"], d / "short_wa.mp4", side=240)
    return {name: read_video(path) for name, path in made.items()}


def test_a_slideshow_with_one_other_photo_is_another_video(gaps: dict[str, VideoRead]) -> None:
    show, other = gaps["show"], gaps["show_other"]
    assert show.info.duration == other.info.duration == 27.0
    # 27 s on a grid of 2 s (the sample at 10 s sees the other photo); once 0-8 s and 12-24 s.
    assert _distance(gaps, "show", "show_other") >= 0.4


def test_a_sub_second_clip_is_compared_on_many_frames(gaps: dict[str, VideoRead]) -> None:
    engine = VideoEngine(strictness=0)  # the loosest: still not a duplicate
    assert gaps["short"].info.duration == 0.8  # once one frame; now one every 1/16 s
    assert _distance(gaps, "short", "short_other") > engine.threshold
    assert _distance(gaps, "short", "short_wa") <= VideoEngine(strictness=50).threshold


def test_grids_of_other_steps_are_compared_where_they_meet(gaps: dict[str, VideoRead]) -> None:
    assert unpack(gaps["show"].signature).step == 2.0
    assert sample_times(27.0, 10.0) == [float(t) for t in range(0, 27, 2)]
    assert len(sample_times(0.8, 30.0)) == 13  # every 1/16 s
    assert len(sample_times(3600.0, 30.0)) == 15  # every 256 s: at most 16 samples
    # 16 s and 16.2 s agree in length; their grids are 1 s and 2 s: compared every 2 s.
    assert grid_step(16.0, 30.0) == 1.0 and grid_step(16.2, 30.0) == 2.0
    assert grid_step(0.2, 30.0) == 1 / 16 and grid_step(0.2, 10.0) == 1 / 8  # one frame
    rng = np.random.default_rng(5)
    frames = [rng.integers(0, 255, (FRAME_SIDE, FRAME_SIDE)).astype(np.float32) for _ in range(17)]
    fine = pack(16.0, 30.0, (64, 64), {k: describe(frames[k]) for k in range(16)})
    coarse = pack(16.2, 30.0, (64, 64), {k: describe(frames[2 * k]) for k in range(9)})
    assert VideoEngine().distance(fine, coarse) == pytest.approx(0.0, abs=1e-6)
    # Another picture at an odd second of the fine grid is not compared; at an even one it is.
    odd = pack(16.0, 30.0, (64, 64), {k: describe(frames[k if k != 5 else 16]) for k in range(16)})
    even = pack(16.0, 30.0, (64, 64), {k: describe(frames[k if k != 6 else 16]) for k in range(16)})
    assert VideoEngine().distance(odd, coarse) == pytest.approx(0.0, abs=1e-6)
    assert VideoEngine().distance(even, coarse) > 0.5
    assert VideoEngine().distance(odd, fine) > 0.5
