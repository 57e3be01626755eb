"""Which files are videos (core/videos.py, the one list): every suffix on it is a container
the reader reads, and a video without a telling name is known by its first bytes, on real
clips made at test time; pictures (a JPEG, an AVIF, whose `ftyp` box looks like a video's)
are not videos under any name that says nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from remedia_tray.core.media import MediaFile
from remedia_tray.core.videos import VIDEO_SUFFIXES, is_video
from remedia_tray.pipeline.video_scan import read_head, split_videos

from . import videofiles as vf
from .conftest import photo

av = pytest.importorskip("av")

#: The codec each container is written with where H.264 is not what it holds.
_CODEC = {".webm": "libvpx-vp9", ".avi": "mpeg4", ".wmv": "wmv2", ".3gp": "h263", ".3g2": "mpeg4"}


def _clip(dst: Path) -> Path:
    size = (176, 144) if dst.suffix == ".3gp" else (160, 96)  # H.263 knows a few sizes only
    frames = vf.pan_frames(photo("cat"), width=size[0], height=size[1], seconds=2, fps=15)
    codec = _CODEC.get(dst.suffix, "libx264")
    return vf.encode(frames, dst, fps=15, codec=codec, gop=15, metadata=None)


@pytest.mark.parametrize("suffix", sorted(VIDEO_SUFFIXES))
def test_every_video_name_is_a_container_the_reader_reads(tmp_path: Path, suffix: str) -> None:
    """What the list names the reader reads, so a file named so is never skipped for its
    container; and the same clip with a name that says nothing is known by its bytes."""
    from remedia_tray.pipeline.video_read import read_video

    clip = _clip(tmp_path / f"clip{suffix}")
    assert is_video(clip)
    read = read_video(clip)
    assert read.info.duration == pytest.approx(2.0, abs=0.1), read.info
    assert read.info.width > 0
    for name in ("clip", "clip.bin", "clip.dat"):
        unnamed = shutil.copyfile(clip, tmp_path / name)
        assert not is_video(unnamed)  # the name alone says nothing
        assert is_video(unnamed, head=read_head), (suffix, unnamed.read_bytes()[:16])


def test_pictures_are_not_videos_under_any_name(tmp_path: Path) -> None:
    with Image.open(photo("cat")) as im:
        rgb = im.convert("RGB")
    jpeg, avif = tmp_path / "picture.bin", tmp_path / "still.dat"
    rgb.save(jpeg, "JPEG")
    rgb.save(avif, "AVIF")  # an ISO BMFF file with an `ftyp` box, as an MP4 has
    assert read_head(avif)[4:12] == b"ftypavif"
    for still in (jpeg, avif):
        assert not is_video(still, head=read_head)
    # A picture's or sidecar's name decides without a look at the bytes: an MP4 named .jpg
    # is not read as a video (the picture scan says it is no picture).
    clip = _clip(tmp_path / "clip.mp4")
    named = shutil.copyfile(clip, tmp_path / "clip.jpg")
    assert not is_video(named, head=read_head)
    assert not is_video(tmp_path / "gone", head=read_head)  # unreadable: no video here


def test_a_scan_splits_videos_from_pictures_by_the_one_list(tmp_path: Path) -> None:
    clip = _clip(tmp_path / "a.wmv")  # on the review page's list before, not on the scan's
    shutil.copyfile(clip, tmp_path / "b")
    shutil.copyfile(photo("cat"), tmp_path / "c.jpg")
    files = [MediaFile.from_stat(p, p.stat()) for p in sorted(tmp_path.iterdir())]
    pictures, videos = split_videos(files)
    assert [f.path.name for f in videos] == ["a.wmv", "b"]
    assert [f.path.name for f in pictures] == ["c.jpg"]
