"""Videos of static scenes made at test time with PyAV: what a 16 px thumbnail per sample
cannot tell apart (issue 24). A screen recording of a chat (one layout, other words) and a
tripod shot with or without someone walking across it.

    screen_recording(tmp / "RPReplay_0001.mp4", index=0)   # chat 0 of tests/textpics.py
    tripod(photo("peaks"), tmp / "VID_0002.mp4", walker=True)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from . import textpics
from .videofiles import _still, encode

#: A phone screen recorded at half its size (1080 x 2400 -> 540 x 1200).
SCREEN_SIZE = (540, 1200)
#: A landscape scene filmed from a tripod.
SCENE_SIZE = (960, 540)


def screen_recording(
    dst: Path, *, index: int, seconds: float = 5.0, fps: float = 30, seed: int = 1
) -> Path:
    """A screen recording of chat `index` (textpics' "chat" family, one layout per `seed`):
    the screen stands still, as while someone reads it; a keyframe every second."""
    im = textpics.draw("chat", index, seed=seed, style="sans").convert("RGB")
    w = SCREEN_SIZE[0]
    h = round(im.height * w / im.width / 2) * 2  # the 1170 x 2532 screens keep their shape
    pixels = np.asarray(im.resize((w, h), Image.Resampling.LANCZOS))
    frames = (pixels for _ in range(round(seconds * fps)))
    return encode(frames, dst, fps=fps, gop=round(fps), metadata=None)


def tripod(src: Path, dst: Path, *, walker: bool, seconds: float = 5.0, fps: float = 30) -> Path:
    """A still scene of photo `src` filmed from a tripod; with `walker`, a dark figure (about
    2.5 % of the frame, a person far off) walks across it from left to right."""
    w, h = SCENE_SIZE
    scene = np.ascontiguousarray(_still(src, w, h)[:h, :w])
    n = round(seconds * fps)

    def frames() -> Iterator[np.ndarray]:
        fw, top, bottom = w // 24, h // 3, h * 9 // 10
        for k in range(n):
            if not walker:
                yield scene
                continue
            f = scene.copy()
            x = round(w * 0.05 + k * (w * 0.9 - fw) / n)
            f[top:bottom, x : x + fw] = (30, 30, 40)
            yield f

    return encode(frames(), dst, fps=fps, gop=round(fps), metadata=None)
