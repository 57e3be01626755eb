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
    SCHEDULE,
    VideoEngine,
    length_pairs,
    tolerance,
    unpack,
)
from remedia_tray.pipeline.video_read import UnreadableVideo, VideoRead, read_video

from . import videofiles as vf
from .conftest import photo

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
    reads: dict[str, VideoRead],
) -> None:
    samples = sum(1 for t in SCHEDULE if t < 3.0)
    assert reads["a"].frames == samples == 3
    # The WhatsApp copy has one keyframe: it is decoded forward, B-frames skipped on the way.
    assert samples < reads["a_wa"].frames < 90


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
    assert dark.contrast[0] < BLANK <= dark.contrast[1]  # 0 s is black, 1 s shows the scene
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
