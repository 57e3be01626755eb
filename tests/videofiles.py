"""Videos made at test time with PyAV from real photos: a slow pan and zoom over a photo, the
way a phone films a scene, and what copying, messaging and editing make of such a clip.

    clip = pan_clip(photo("cat"), tmp / "VID_0001.mp4", seconds=3.0)
    whatsapp(clip, tmp / "VID-20230601-WA0001.mp4")   # 640 px, low bitrate, no metadata

PyAV is a test dependency here only in the sense that these clips need an encoder; the
program reads videos with the same library.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

#: What a phone writes into its videos (QuickTime keys; an Android phone writes its version).
APPLE = {
    "com.apple.quicktime.make": "Apple",
    "com.apple.quicktime.model": "iPhone 13",
    "com.apple.quicktime.software": "16.5",
    "com.apple.quicktime.creationdate": "2023-06-01T10:00:00+0200",
    "com.apple.quicktime.location.ISO6709": "+46.5000+007.9000+000.000/",
    "creation_time": "2023-06-01T08:00:00Z",
}
ANDROID = {"com.android.version": "13", "creation_time": "2023-06-01T08:00:00Z"}


def _still(src: Path, width: int, height: int) -> np.ndarray:
    """`src` in RGB, scaled to cover at least `width` x `height`."""
    with Image.open(src) as im:
        im = im.convert("RGB")
        scale = max(width / im.width, height / im.height)
        size = (max(width, round(im.width * scale)), max(height, round(im.height * scale)))
        return np.asarray(im.resize(size, Image.Resampling.LANCZOS))


def pan_frames(
    src: Path, *, width: int, height: int, seconds: float, fps: float, zoom: float = 1.15
) -> Iterator[np.ndarray]:
    """RGB frames of a slow pan with a slow zoom over the photo `src`."""
    margin = 1.3  # room to pan in
    pixels = _still(src, round(width * zoom * margin), round(height * zoom * margin))
    ph, pw = pixels.shape[:2]
    frames = max(2, round(seconds * fps))
    for k in range(frames):
        t = k / (frames - 1)
        scale = zoom - (zoom - 1.0) * t  # zooms in: the window shrinks
        w, h = round(width * scale), round(height * scale)
        x, y = round((pw - w) * (0.2 + 0.6 * t)), round((ph - h) * (0.3 + 0.4 * t))
        window = Image.fromarray(np.ascontiguousarray(pixels[y : y + h, x : x + w]))
        yield np.asarray(window.resize((width, height), Image.Resampling.BILINEAR))


def stills(
    src: Path, *, width: int, height: int, seconds: float, fps: float
) -> Iterator[np.ndarray]:
    """RGB frames of the photo `src` held still (a tripod, a title card)."""
    pixels = np.ascontiguousarray(_still(src, width, height)[:height, :width])
    for _ in range(round(seconds * fps)):
        yield pixels


def black_frames(*, width: int, height: int, seconds: float, fps: float) -> Iterator[np.ndarray]:
    for _ in range(round(seconds * fps)):
        yield np.zeros((height, width, 3), np.uint8)


def encode(
    frames: Iterable[np.ndarray],
    dst: Path,
    *,
    fps: float = 30,
    codec: str = "libx264",
    crf: int | None = 20,
    bitrate: int | None = None,
    gop: int | None = None,
    metadata: Mapping[str, str] | None = None,
    rotation: int = 0,
    preset: str = "veryfast",
    faststart: bool = False,
) -> Path:
    """Encode RGB `frames` to `dst` (container by suffix). `gop`: a keyframe every `gop`
    frames exactly (a phone's fixed GOP); None leaves the encoder's default (scene cuts and
    at most 250 frames apart). `rotation`: the display matrix, counter-clockwise degrees.
    `faststart`: the movie header before the media data (as phones and web servers write it)."""
    import av

    dst.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, str] = {"preset": preset} if codec in ("libx264", "libx265") else {}
    if crf is not None and bitrate is None:
        options["crf"] = str(crf)
    if gop is not None:
        if codec == "libx265":
            options["x265-params"] = f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error"
        else:
            options.update(g=str(gop), keyint_min=str(gop), sc_threshold="0")
    elif codec == "libx265":
        options["x265-params"] = "log-level=error"
    flags = ["use_metadata_tags"] if metadata else []
    flags += ["faststart"] if faststart else []
    container_options = {"movflags": "+".join(flags)} if flags else {}
    it = iter(frames)
    first = next(it)
    with av.open(str(dst), "w", options=container_options) as out:
        for key, value in (metadata or {}).items():
            out.metadata[key] = value
        stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001), options=options)
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv420p"
        if bitrate is not None:
            stream.bit_rate = bitrate
        if rotation:
            stream.set_display_rotation(rotation)
        for pixels in (first, *it):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def pan_clip(
    src: Path,
    dst: Path,
    *,
    seconds: float = 3.0,
    size: tuple[int, int] = (960, 540),
    fps: float = 30,
    metadata: Mapping[str, str] | None = APPLE,
    **options: object,
) -> Path:
    """A phone-like clip of `src`: a slow pan and zoom, a keyframe every second, the phone's
    metadata."""
    frames = pan_frames(src, width=size[0], height=size[1], seconds=seconds, fps=fps)
    options.setdefault("gop", round(fps))
    return encode(frames, dst, fps=fps, metadata=metadata, **options)  # type: ignore[arg-type]


def portrait_clip(
    src: Path,
    dst: Path,
    *,
    seconds: float = 3.0,
    size: tuple[int, int] = (360, 640),
    fps: float = 30,
    rotation: int = -90,
) -> Path:
    """A portrait clip as a phone films it: the sensor's landscape frames with a rotation
    tag (-90: shown turned a quarter clockwise, an iPhone held upright)."""
    shown = pan_frames(src, width=size[0], height=size[1], seconds=seconds, fps=fps)
    coded = (np.ascontiguousarray(np.rot90(f, k=-(rotation // 90))) for f in shown)
    return encode(coded, dst, fps=fps, gop=round(fps), metadata=APPLE, rotation=rotation)


def decoded(src: Path, *, start: float = 0.0, end: float | None = None) -> Iterator[np.ndarray]:
    """The frames of `src` as displayed (rotation applied), from `start` to `end` seconds."""
    import av

    with av.open(str(src)) as f:
        for frame in f.decode(video=0):
            t = float(frame.time or 0.0)
            if t < start - 1e-6:
                continue
            if end is not None and t >= end - 1e-6:
                break
            pixels = frame.to_ndarray(format="rgb24")
            yield np.ascontiguousarray(np.rot90(pixels, k=round(frame.rotation / 90)))


def _fps(src: Path) -> float:
    import av

    with av.open(str(src)) as f:
        rate = f.streams.video[0].average_rate
        return float(rate) if rate else 30.0


def resized(frames: Iterable[np.ndarray], long_side: int) -> Iterator[np.ndarray]:
    for pixels in frames:
        h, w = pixels.shape[:2]
        scale = long_side / max(h, w)
        size = (round(w * scale / 2) * 2, round(h * scale / 2) * 2)
        yield np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))


def upscale(
    src: Path,
    dst: Path,
    *,
    size: tuple[int, int] = (1920, 1080),
    resample: Image.Resampling = Image.Resampling.LANCZOS,
    crf: int = 20,
) -> Path:
    """What an editor's "export at 1080p" makes of a smaller clip: every frame enlarged to
    `size` (LANCZOS or BICUBIC, as editors offer), encoded again, no metadata."""
    frames = (np.asarray(Image.fromarray(f).resize(size, resample)) for f in decoded(src))
    return encode(frames, dst, fps=_fps(src), crf=crf, metadata=None)


def whatsapp(src: Path, dst: Path, *, side: int = 640, fps: float | None = None) -> Path:
    """What a messenger makes of a clip: 640 px on the long side, a low bitrate, its own GOP
    (the encoder's default), the rotation baked into the pixels, no metadata."""
    frames = resized(decoded(src), side)
    return encode(frames, dst, fps=fps or _fps(src), crf=30, gop=None, metadata=None)


def reencode(src: Path, dst: Path, **options: object) -> Path:
    """Every frame of `src` as displayed, encoded again (rotation baked in, no metadata)."""
    options.setdefault("metadata", None)
    return encode(decoded(src), dst, fps=_fps(src), **options)  # type: ignore[arg-type]


def trimmed(src: Path, dst: Path, *, start: float, end: float) -> Path:
    """The part of `src` from `start` to `end` seconds, as an editor exports it."""
    return encode(decoded(src, start=start, end=end), dst, fps=_fps(src), metadata=None)


def joined(parts: Sequence[Iterable[np.ndarray]], dst: Path, **options: object) -> Path:
    """One clip of several runs of frames (an intro, then the rest)."""

    def frames() -> Iterator[np.ndarray]:
        for part in parts:
            yield from part

    return encode(frames(), dst, **options)  # type: ignore[arg-type]


def slideshow(
    photos: Sequence[Path],
    dst: Path,
    *,
    seconds_each: float = 1.0,
    size: tuple[int, int] = (640, 360),
    fps: float = 30,
) -> Path:
    """A slideshow: each photo panned for `seconds_each` seconds."""
    w, h = size
    parts = [pan_frames(p, width=w, height=h, seconds=seconds_each, fps=fps) for p in photos]
    return joined(parts, dst, fps=fps, gop=round(fps), metadata=None)


def truncated(src: Path, dst: Path, *, keep: float = 0.5) -> Path:
    """The first `keep` of `src`'s bytes: a copy that stopped half way."""
    data = src.read_bytes()
    dst.write_bytes(data[: round(len(data) * keep)])
    return dst


#: Sets of the same video in `video_backup` (paths under its root), the original first.
SAME_VIDEO = (
    ("DCIM/VID_0001.mov", "Backup/VID_0001.mov", "WhatsApp/VID-20230601-WA0001.mp4"),
    ("DCIM/VID_0005.mp4", "WhatsApp/VID-20230601-WA0005.mp4"),
    ("DCIM/VID_0007.mov", "Shared/VID_0007.mp4"),
    ("DCIM/VID_0008.mp4", "Shared/VID_0008.mp4"),
)
#: Damaged copies in `video_backup`, and the start of the reason each is skipped with.
DAMAGED = {
    "DCIM/VID_0009.mp4": "damaged or not a video",
    "DCIM/VID_0010.mp4": "damaged: truncated",
    "DCIM/VID_0011.mp4": "empty file",
}


def video_backup(root: Path, photos: Sequence[Path]) -> Path:
    """A phone backup with videos (at least 8 real photos): what `SAME_VIDEO` lists, plus
    clips that only look alike and must stay apart, damaged copies (`DAMAGED`) and a photo.

    - VID_0001.mov: a phone's clip (metadata, a keyframe every second), its byte copy in
      Backup/, and its WhatsApp copy (640 px, CRF 30, the encoder's GOP, no metadata);
    - VID_0002.mp4 and Edits/VID_0002_trim.mp4, the part from 0.5 s to 2.5 s of it;
    - VID_0003.mp4 and VID_0004.mp4: two clips sharing their first 2 s;
    - VID_0005.mp4 and VID_0006.mp4: a black second, then two different scenes; and the
      WhatsApp copy of VID_0005;
    - VID_0007.mov: a portrait clip with a rotation tag; Shared/ holds its re-encode with
      the rotation baked into the pixels;
    - VID_0008.mp4: an HEVC original; Shared/ holds its H.264 re-encode;
    - Shows/show_a.mp4 and show_b.mp4: one slideshow, other photos in its middle;
    - VID_0009.mp4: the first half of VID_0002 (its movie header was at the end);
      VID_0010.mp4: the first half of a copy with the header first; VID_0011.mp4: empty;
    - IMG_0001.jpg: a photo.
    """
    p = list(photos)
    dcim = root / "DCIM"
    size, seconds = (1280, 720), 3.0

    def pan(src: Path, secs: float, wh: tuple[int, int] = size) -> Iterator[np.ndarray]:
        return pan_frames(src, width=wh[0], height=wh[1], seconds=secs, fps=30)

    first = pan_clip(p[0], dcim / "VID_0001.mov", seconds=seconds, size=size)
    (root / "Backup").mkdir(parents=True)
    (root / "Backup" / "VID_0001.mov").write_bytes(first.read_bytes())
    whatsapp(first, root / "WhatsApp" / "VID-20230601-WA0001.mp4")
    second = pan_clip(p[1], dcim / "VID_0002.mp4", seconds=seconds, size=size, metadata=ANDROID)
    trimmed(second, root / "Edits" / "VID_0002_trim.mp4", start=0.5, end=2.5)
    intro = list(pan(p[2], 2.0))
    joined([intro, pan(p[3], 2.0)], dcim / "VID_0003.mp4", gop=30, metadata=ANDROID)
    joined([intro, pan(p[4], 2.0)], dcim / "VID_0004.mp4", gop=30, metadata=ANDROID)
    black = list(black_frames(width=size[0], height=size[1], seconds=1.0, fps=30))
    fifth = joined([black, pan(p[5], 2.0)], dcim / "VID_0005.mp4", gop=30, metadata=ANDROID)
    joined([black, pan(p[6], 2.0)], dcim / "VID_0006.mp4", gop=30, metadata=ANDROID)
    whatsapp(fifth, root / "WhatsApp" / "VID-20230601-WA0005.mp4")
    portrait = portrait_clip(p[7], dcim / "VID_0007.mov", seconds=seconds)
    reencode(portrait, root / "Shared" / "VID_0007.mp4", crf=26)
    hevc = encode(pan(p[6], seconds, (960, 540)), dcim / "VID_0008.mp4", codec="libx265",
                  crf=28, gop=30, metadata=ANDROID)  # fmt: skip
    reencode(hevc, root / "Shared" / "VID_0008.mp4", crf=23)
    slideshow([p[0], p[2], p[3]], root / "Shows" / "show_a.mp4")
    slideshow([p[0], p[4], p[3]], root / "Shows" / "show_b.mp4")
    truncated(second, dcim / "VID_0009.mp4")
    whole = pan_clip(p[3], root / "whole.mp4", seconds=seconds, size=(640, 360), faststart=True)
    truncated(whole, dcim / "VID_0010.mp4")
    whole.unlink()
    (dcim / "VID_0011.mp4").write_bytes(b"")
    (dcim / "IMG_0001.jpg").write_bytes(p[0].read_bytes())
    return root
