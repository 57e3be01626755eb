"""A video's poster frame: the picture the review page shows for a video, decoded with PyAV.

It seeks to about 1 s in (10 % into a shorter clip, past a fade-in), decodes forward to the
first frame that is not blank (the reader's rule: video_read.shows_picture), and turns it
upright by the video's rotation tag (video_read.picture). No decode can hang: reads time out
and the whole poster has a time limit. PyAV is imported only when a poster is made:
`import remedia_tray` never loads it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UnreadableImage

if TYPE_CHECKING:
    from av.video.frame import VideoFrame
    from PIL import Image

#: Where the poster is taken: 1 s in, or 10 % into a clip shorter than 10 s.
POSTER_SECONDS = 1.0
POSTER_SHARE = 0.1
#: The longest one poster may take, and the most frames decoded for it: a damaged or hostile
#: file costs its tile, never the page.
TIME_LIMIT = 10.0
MAX_FRAMES = 900


def poster_time(duration: float | None) -> float:
    """Where in a video of `duration` seconds (None: unknown) its poster is taken."""
    if duration is None or duration <= 0:
        return POSTER_SECONDS
    return min(POSTER_SECONDS, duration * POSTER_SHARE)


def _decode_poster(path: Path, time_limit: float) -> Image.Image:
    import av

    from .video_read import picture, rotation_of, shows_picture

    deadline = time.monotonic() + time_limit
    # The timeout ends any read that waits longer (FFmpeg's interrupt callback).
    with av.open(str(path), timeout=(time_limit, time_limit)) as container:
        if not container.streams.video:
            raise UnreadableImage("a video without a picture track")
        stream = container.streams.video[0]
        length = container.duration / av.time_base if container.duration else None
        at = poster_time(length)
        if stream.time_base:
            # To the keyframe before `at`; decoding goes forward from there.
            container.seek(int(at / stream.time_base), stream=stream, backward=True)
        blank: VideoFrame | None = None  # the first black frame from `at` on
        last: VideoFrame | None = None  # a clip that ends before `at`: its last frame
        for count, frame in enumerate(container.decode(stream)):
            if count >= MAX_FRAMES or time.monotonic() > deadline:
                break
            last = frame
            if frame.time is not None and frame.time < at - 1e-3:
                continue
            if shows_picture(frame):
                return picture(frame, rotation_of(frame))
            if blank is None:
                blank = frame
        fallback = blank if blank is not None else last
        if fallback is None and time.monotonic() > deadline:
            raise UnreadableImage(f"no poster frame within {time_limit:g} s")
        if fallback is None:
            raise UnreadableImage("a video without a frame that decodes")
        return picture(fallback, rotation_of(fallback))  # a black video's poster is black


def poster_frame(path: Path, *, time_limit: float = TIME_LIMIT) -> Image.Image:
    """The poster of the video at `path`, upright, RGB. Raises UnreadableImage with the reason
    (an unreadable or empty video, no picture track, no PyAV)."""
    try:
        import av
    except ImportError as exc:
        raise UnreadableImage("a video, and PyAV (pip install av) is not installed") from exc
    try:
        return _decode_poster(path, time_limit)
    except av.ExitError as exc:  # a read timed out
        raise UnreadableImage(f"no poster frame within {time_limit:g} s") from exc
    except av.FFmpegError as exc:
        raise UnreadableImage(f"unreadable video ({exc.strerror or exc})") from exc
    except OSError as exc:
        raise UnreadableImage(f"cannot read video: {exc.strerror or exc}") from exc
