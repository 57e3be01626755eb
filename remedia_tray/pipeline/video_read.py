"""Reading one video with PyAV: its facts (length, size as shown, frame rate, rotation, the
camera's metadata) and the frames its signature is made of (engines/video.py).

Never the whole stream: for each sampled time the reader seeks to the keyframe before it
(the container's index says where keyframes are) and decodes forward to the frame shown at
that second, skipping the frames nothing refers to on the way. Frames are turned upright
before they are described, so a portrait clip with a rotation tag and its re-encode with the
rotation baked in look the same. The frame helpers here (rotation, upright, blank, picture)
are the poster's (video_poster.py) and the upscale check's (video_check.py) too. PyAV is
imported only where a video is read, never by `import remedia_tray`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.media import ImageInfo
from ..engines.video import BLANK, FRAME_SIDE, describe, pack, sample_times
from .previews import THUMB_SIDE, preview_from_scan

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

#: Container tags a muxer writes by itself: they say nothing about where a video came from.
_STRUCTURAL = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder"})
#: Tags naming the camera or phone that filmed a video (QuickTime keys, Android, Matroska).
_MAKE = ("com.apple.quicktime.make", "make", "com.android.manufacturer", "manufacturer")
_MODEL = ("com.apple.quicktime.model", "model", "com.android.model")
_ANDROID = "com.android.version"
#: Container -> the format named in reports; ISO files are told apart by their brand.
_FORMATS = {
    "matroska": "MKV", "webm": "WEBM", "avi": "AVI", "mpegts": "MTS", "3gp": "3GP", "asf": "WMV",
}  # fmt: skip
#: A stream that ends this much (seconds, or share of its length) before its stated length
#: was cut off: the file is truncated.
_CUT_SECONDS, _CUT_SHARE = 1.0, 0.05
#: Further than this before a sample, the decoder skips every B-frame.
_BIDIR_SECONDS = 0.25
#: The longest side of a video's poster picture (twice the preview's, for sharpness).
POSTER_SIDE = 2 * THUMB_SIDE


class UnreadableVideo(Exception):
    """A video that cannot be used; the message is the reason shown to the user."""


@dataclass(frozen=True)
class VideoRead:
    info: ImageInfo
    signature: np.ndarray
    codec: str
    rotation: int
    #: Frames decoded to make the signature (the seeks' way to each sample included).
    frames: int


def read_video(path: Path, *, previews: Path | None = None) -> VideoRead:
    """The facts and signature of the video at `path`; its review-page preview goes to
    `previews` (from a sampled frame with a picture). Raises UnreadableVideo with a reason."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UnreadableVideo(f"cannot read file: {exc.strerror or exc}") from None
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        raise UnreadableVideo("empty file (0 bytes)")
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except PermissionError:
        raise UnreadableVideo("permission denied") from None
    except OSError as exc:  # the system's errors (av's own ones of them included)
        raise UnreadableVideo(f"cannot open: {_why(exc)}") from None
    except av.error.FFmpegError as exc:
        raise UnreadableVideo(f"damaged or not a video ({_why(exc)})") from None
    with container:
        try:
            return _read(container, path, previews)
        except av.error.FFmpegError as exc:
            raise UnreadableVideo(f"damaged: the video does not decode ({_why(exc)})") from None


def info_blob(info: ImageInfo) -> bytes:
    """A video's facts as the cache and the reading processes hold them (JSON)."""
    return json.dumps(dataclasses.asdict(info)).encode()


def read_info(blob: bytes) -> tuple[ImageInfo | None, str | None]:
    """(facts, None) or (None, why the video was skipped), as the cache holds them."""
    data = json.loads(blob)
    if "skip" in data:
        return None, str(data["skip"])
    return ImageInfo(**data), None


def _why(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc)
    return text.split(": '", 1)[0]  # PyAV appends the file name


def _read(container: Any, path: Path, previews: Path | None) -> VideoRead:
    streams = [s for s in container.streams.video if not _is_cover(s)]
    if not streams:
        raise UnreadableVideo("no video stream (sound only, or not a video)")
    stream = streams[0]
    duration = _duration(container, stream)
    _check_size(stream, path)
    fps = float(stream.average_rate or stream.guessed_rate or 0) or 30.0
    walker = _Walker(container, stream, fps)
    samples: dict[int, tuple[np.ndarray, float]] = {}
    poster: tuple[float, Any] | None = None
    rotation = 0
    times = sample_times(duration, fps)
    for slot, t in enumerate(times):
        frame = walker.frame_at(t, then=times[slot + 1] if slot + 1 < len(times) else None)
        if frame is None:
            _check_complete(walker.reached, t, duration)
            break
        rotation = rotation_of(frame)
        thumb, level = describe(upright(_grey(frame), rotation))
        samples[slot] = (thumb, level)
        if level >= BLANK and (poster is None or (poster[0] < 1.0 <= t)):
            poster = (t, picture(frame, rotation))
    if not samples:
        raise UnreadableVideo("damaged: no frame decodes")
    width, height = stream.codec_context.width, stream.codec_context.height
    if rotation % 180:
        width, height = height, width
    info = _info(container, path, width, height, duration)
    if previews is not None and poster is not None:
        try:
            preview_from_scan(poster[1], path, previews)
        except Exception as exc:  # a preview is a courtesy; the page makes it later
            log.info("no preview of %s from the scan: %s", path, exc)
    signature = pack(duration, fps, (width, height), samples)
    return VideoRead(info, signature, stream.codec_context.name, rotation, walker.decoded)


def _is_cover(stream: Any) -> bool:
    """A still picture attached as cover art (a music file's), not a video."""
    return bool(stream.disposition & 0x400)  # AV_DISPOSITION_ATTACHED_PIC


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        seconds = container.duration / 1_000_000
    else:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise UnreadableVideo("damaged: its length cannot be read")
    return seconds


def _check_size(stream: Any, path: Path) -> None:
    """The container's index places frames past the end of the file: a copy that stopped
    half way (the header, written first, lists every frame)."""
    try:
        end = max((e.pos + e.size for e in stream.index_entries if e.pos >= 0), default=0)
        size = os.path.getsize(path)
    except Exception:  # no index to tell: the decode finds out
        return
    if end > size > 0:
        raise UnreadableVideo(
            f"damaged: truncated (the file holds {size / end:.0%} of its video data)"
        )


def _check_complete(reached: float | None, t: float, duration: float) -> None:
    """A stream that stops well before its stated length was cut off (a copy that stopped
    half way); one that stops just short of it only lacks its last sample."""
    got = -1.0 if reached is None else reached
    if duration - max(got, 0.0) > max(_CUT_SECONDS, _CUT_SHARE * duration):
        where = "before its first frame" if got < 0 else f"at {got:.1f} s"
        raise UnreadableVideo(f"damaged: truncated (the video stops {where} of {duration:.1f} s)")


def upright_turn(rotation: float) -> int:
    """The counterclockwise quarter turns (0-3) that show a frame whose display matrix rotates
    it `rotation` degrees counterclockwise (PyAV's `VideoFrame.rotation`; a phone's portrait
    clip says -90)."""
    return round(rotation / 90) % 4


def rotation_of(frame: Any) -> int:
    """The display rotation in counter-clockwise degrees: 0, 90, 180 or 270."""
    try:
        degrees = float(getattr(frame, "rotation", 0) or 0)  # PyAV < 13 has no display matrix
    except Exception:  # a malformed display matrix only costs the rotation
        return 0
    return 90 * upright_turn(degrees)


def _grey(frame: Any) -> np.ndarray:
    small = frame.reformat(width=FRAME_SIDE, height=FRAME_SIDE, format="gray", interpolation="AREA")
    return np.asarray(small.to_ndarray(), dtype=np.float32)


def upright(pixels: np.ndarray, rotation: int) -> np.ndarray:
    """Pixels (rows first) as shown: turned by the frame's `rotation_of`."""
    return np.rot90(pixels, k=rotation // 90) if rotation else pixels


def shows_picture(frame: Any) -> bool:
    """Not a blank frame (black, a fade, a flat colour): the signature's own rule."""
    return describe(_grey(frame))[1] >= BLANK


def picture(frame: Any, rotation: int, *, side: int = POSTER_SIDE) -> Image.Image:
    """The frame as an upright RGB picture, its longest side at most `side`."""
    from PIL import Image as PILImage

    scale = min(1.0, side / max(frame.width, frame.height, 1))
    w, h = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    pixels = upright(frame.reformat(width=w, height=h, format="rgb24").to_ndarray(), rotation)
    return PILImage.fromarray(np.ascontiguousarray(pixels))


@dataclass(frozen=True)
class GreyFrame:
    pixels: np.ndarray  # whole, grey and upright (uint8)
    picture: bool  # not blank (`shows_picture`)


def grey_frames(path: Path, seconds: Sequence[float], *, time_limit: float) -> list[GreyFrame]:
    """The frames shown at `seconds` from the start, decoded exactly (every filter on);
    within `time_limit` seconds for them all. Raises UnreadableVideo with the reason (one of
    them past the end of the stream included)."""
    import av

    deadline = time.monotonic() + time_limit
    try:
        # The timeout ends any read that waits longer (FFmpeg's interrupt callback).
        with av.open(str(path), metadata_errors="ignore", timeout=(time_limit, time_limit)) as c:
            streams = [s for s in c.streams.video if not _is_cover(s)]
            if not streams:
                raise UnreadableVideo("no video stream")
            stream = streams[0]
            fps = float(stream.average_rate or stream.guessed_rate or 0) or 30.0
            walker = _Walker(c, stream, fps, exact=True, deadline=deadline)
            out = []
            for k, t in enumerate(seconds):
                frame = walker.frame_at(t, then=seconds[k + 1] if k + 1 < len(seconds) else None)
                if frame is None:
                    raise UnreadableVideo(f"no frame at {t:g} s")
                grey = np.asarray(frame.reformat(format="gray").to_ndarray(), dtype=np.uint8)
                pixels = np.ascontiguousarray(upright(grey, rotation_of(frame)))
                out.append(GreyFrame(pixels, shows_picture(frame)))
            return out
    except av.ExitError:  # a read timed out
        raise UnreadableVideo(f"took longer than {time_limit:g} s to read") from None
    except (OSError, av.FFmpegError) as exc:
        raise UnreadableVideo(f"cannot read: {_why(exc)}") from None


def _info(container: Any, path: Path, width: int, height: int, duration: float) -> ImageInfo:
    tags = {str(k).lower(): str(v) for k, v in dict(container.metadata or {}).items()}
    return ImageInfo(
        width=width,
        height=height,
        format=_format(container.format.name, tags, path),
        exif_fields=sum(1 for k in tags if k not in _STRUCTURAL),
        camera=camera_text(tags),
        duration=round(duration, 3),
    )


def camera_text(tags: Mapping[str, str]) -> str:
    """The make and model a phone or camera wrote into the video; "" when stripped."""
    make = next((tags[k].strip() for k in _MAKE if tags.get(k, "").strip()), "")
    model = next((tags[k].strip() for k in _MODEL if tags.get(k, "").strip()), "")
    if model.lower().startswith(make.lower()):
        make = ""  # "Canon" + "Canon EOS R6": say it once
    text = " ".join(x for x in (make, model) if x)
    if not text and tags.get(_ANDROID, "").strip():
        text = f"Android {tags[_ANDROID].strip()}"
    return text


def _format(container: str, tags: Mapping[str, str], path: Path) -> str:
    names = container.split(",")
    if "mov" in names or "mp4" in names:
        brand = tags.get("major_brand", "").strip().lower()
        if brand.startswith("qt"):
            return "MOV"
        if brand.startswith("3g2"):
            return "3G2"
        if brand.startswith("3gp"):
            return "3GP"
        return "M4V" if path.suffix.lower() == ".m4v" else "MP4"
    if names[0] == "matroska":
        return "WEBM" if path.suffix.lower() == ".webm" else "MKV"
    return _FORMATS.get(names[0], names[0].upper())


class _Walker:
    """Frames at given seconds, each found by a seek to the keyframe before it (when that is
    nearer than going on from where the decoder stands) and decoding forward."""

    def __init__(
        self,
        container: Any,
        stream: Any,
        fps: float,
        *,
        exact: bool = False,
        deadline: float | None = None,
    ) -> None:
        """`exact`: every frame decoded with every filter (whole frames are looked at), not
        the thumbnails' shortcuts. `deadline`: the time.monotonic() by which to be done."""
        self.container, self.stream = container, stream
        tb = stream.time_base
        self.seconds_per_tick = float(tb) if tb else 1e-6
        start = stream.start_time
        self.start = 0 if start is None else int(start)
        self.half_frame = 0.5 / (fps * self.seconds_per_tick)
        self.keys = _keyframes(stream)
        cc = stream.codec_context
        self.skips_b_frames = cc.name == "h264" and not exact
        self.deadline = deadline
        cc.thread_count = 1  # one process per core reads; threads would only add latency
        if not exact:
            # The thumbnails are 16 x 16: the deblocking filter and exact rounding buy nothing.
            cc.options = {"skip_loop_filter": "all", "flags2": "+fast"}
        self.position: int | None = None  # pts of the last frame decoded
        self.reached: float | None = None  # seconds of the last frame decoded
        self.decoded = 0
        self._packets: Iterator[Any] | None = None
        self._frames: list[Any] = []
        self._drained = False

    def frame_at(self, seconds: float, *, then: float | None) -> Any | None:
        """The frame shown at `seconds` from the start (within half a frame), or None when
        the stream ends before it. `then`: the next seconds to be asked for (None: none)."""
        target = self._ticks(seconds)
        if self._should_seek(target):
            self._seek(target)
        # The decoder holds frames back to reorder them: when the next sample is reached
        # by a seek anyway, drain it once the frame at `target` is in, rather than decoding
        # the frames after it only to push it out.
        drain = then is None or self._key_between(target, self._ticks(then))
        for frame in self._decoded(target, drain=drain):
            pts = frame.pts
            if pts is None or pts >= target - self.half_frame:
                return frame
        return None

    def _ticks(self, seconds: float) -> float:
        return self.start + seconds / self.seconds_per_tick

    def _key_between(self, after: float, target: float) -> bool:
        """A keyframe lies after `after` and at or before `target` (the index says so)."""
        before = _last_at_or_before(self.keys, target)
        return before is not None and before > after

    def _should_seek(self, target: float) -> bool:
        if self.position is None or self._drained or target <= self.position:
            return True
        if self.keys:
            return self._key_between(self.position, target)
        # No index: seek when the target is far ahead (a keyframe is probably nearer).
        return (target - self.position) * self.seconds_per_tick > 2.0

    def _seek(self, target: float) -> None:
        self.container.seek(int(target), backward=True, any_frame=False, stream=self.stream)
        self.stream.codec_context.flush_buffers()
        self._packets = self.container.demux(self.stream)
        self._frames = []
        self._drained = False

    def _decoded(self, target: float, *, drain: bool) -> Iterator[Any]:
        """Frames from where the decoder stands on. Frames nothing refers to are skipped
        while they are surely before `target`; with `drain`, the decoder is emptied once
        every frame up to `target` is in."""
        cc = self.stream.codec_context
        if self._packets is None:
            self._packets = self.container.demux(self.stream)
        while True:
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise UnreadableVideo("took longer than its time limit to read")
            while self._frames:
                frame = self._frames.pop(0)
                self._note(frame)
                yield frame
            packet = None if self._drained else next(self._packets, None)
            if packet is None:
                return
            if packet.size == 0:  # the end of the stream: what the decoder holds comes out
                self._frames, self._drained = list(cc.decode(packet)), True
                continue
            cc.skip_frame = self._skipping(packet, target)
            self._frames = list(cc.decode(packet))
            if drain and self._covers(packet, target):
                self._frames += cc.decode(None)
                self._drained = True

    def _skipping(self, packet: Any, target: float) -> str:
        """What the decoder may leave out on its way to `target`: far before it, every
        B-frame of H.264 (a B-frame that others refer to only blurs the few frames after it,
        which are not shown either: measured 0.0001 off the exact signature; HEVC's decoder
        drops the frames after a missing one); near it, the frames nothing refers to; at
        it, nothing."""
        if packet.pts is None:
            return "DEFAULT"
        ahead = target - packet.pts
        if self.skips_b_frames and ahead * self.seconds_per_tick > _BIDIR_SECONDS:
            return "BIDIR"
        return "NONREF" if ahead > 6 * self.half_frame else "DEFAULT"

    def _covers(self, packet: Any, target: float) -> bool:
        """Every frame shown up to `target` has been sent to the decoder with `packet`."""
        if packet.pts is not None and abs(packet.pts - target) <= self.half_frame:
            return True
        return packet.dts is not None and packet.dts >= target + self.half_frame

    def _note(self, frame: Any) -> None:
        self.decoded += 1
        if frame.pts is not None:
            self.position = int(frame.pts)
            self.reached = (frame.pts - self.start) * self.seconds_per_tick


def _keyframes(stream: Any) -> list[int]:
    """Timestamps of the keyframes the container's index lists (empty when it lists none)."""
    try:
        return sorted(int(e.timestamp) for e in stream.index_entries if e.is_keyframe)
    except Exception:  # an index PyAV cannot read: seek without it
        return []


def _last_at_or_before(keys: Sequence[int], target: float) -> int | None:
    import bisect

    k = bisect.bisect_right(keys, target)
    return keys[k - 1] if k else None
