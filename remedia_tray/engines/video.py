"""Video engine: true duplicate videos from frames sampled at fixed timestamps.

A video's signature is its length and a small grey thumbnail of the frame shown at each of a
fixed list of times from its start (`SCHEDULE`: every second at first, then two per octave, so
an hour costs about twenty frames). The times are absolute, not a share of the length: a copy
and its re-encode (other size, bitrate, keyframes, codec; a rotation tag baked in) show the
same picture at the same second, while a trimmed clip, another clip with the same intro or a
slideshow of other photos does not. Two videos are duplicates when their lengths agree (within
0.5 s or 2 %) and every shared sample is close: the distance is the worst one.

Black and blank frames (a fade, a black intro) say nothing and are skipped; a blank frame
against a picture at the same time is a difference. Frames are read by the pipeline
(pipeline/video_read.py); this module only describes and compares them, with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..core.search.pairs import Neighbours, finish, no_pairs
from .base import MediaKind, SimilarityEngine

if TYPE_CHECKING:
    from PIL import Image

#: Seconds from the start of a video at which a frame is sampled. Whole seconds first (a phone
#: writes a keyframe every second, so each is a seek and one decoded frame), then two per
#: octave: a video of n seconds costs about 5 + 2 log2(n / 4) frames.
SCHEDULE: tuple[float, ...] = (
    0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
    1536, 2048, 3072, 4096, 6144, 8192, 12288,
)  # fmt: skip
#: Side of a frame's grey thumbnail.
THUMB = 16
#: The side the reader delivers frames at (grey): THUMB cells of 4 x 4 pixels each.
FRAME_SIDE = 64
#: Below this contrast (RMS grey levels of the thumbnail) a frame is blank: black, a fade, a
#: flat colour. Above twice as much, it surely holds a picture.
BLANK = 4.0
#: Durations agree within this many seconds, or this share of the longer one.
SECONDS_APART, SHARE_APART = 0.5, 0.02
#: Samples both videos must show a picture at (fewer where the shorter one has fewer).
MIN_SHARED = 2
#: The distance of a pair that cannot be duplicates (lengths apart, too little to compare).
FAR = 2.0

# Strictness -> worst distance (1 - correlation of two thumbnails) still called a duplicate.
# Calibrated on clips made from tests/data (tests/test_video_engine.py): re-encodes (640 px,
# CRF 30, HEVC -> H.264, rotation baked in) stay within 0.03; the same scene half a second of
# a slow pan apart sits at 0.1-0.3, and different photos above 0.4.
VIDEO_THRESHOLDS: dict[int, float] = {0: 0.25, 25: 0.15, 50: 0.08, 75: 0.04, 100: 0.0}

_N = len(SCHEDULE)
#: Header: length, frame rate, display width and height (float32 each).
_HEAD = 16
_CELLS = THUMB * THUMB
#: Pairs compared per numpy step (bounds memory: about 30 KB per pair).
_PAIRS_STEP = 512


@dataclass(frozen=True)
class Signature:
    """One video's signature, unpacked."""

    duration: float
    fps: float
    width: int
    height: int
    #: Per sample: the thumbnail's contrast (0: no frame there; below BLANK: blank).
    contrast: np.ndarray
    #: Per sample: the grey thumbnail (THUMB x THUMB), zeros where there is no frame.
    thumbs: np.ndarray


def describe(grey: np.ndarray) -> tuple[np.ndarray, float]:
    """(THUMB x THUMB uint8 thumbnail, contrast) of a grey frame of FRAME_SIDE x FRAME_SIDE
    pixels (shown upright, squeezed to a square)."""
    side = grey.shape[0]
    k = side // THUMB
    cells = grey[: k * THUMB, : k * THUMB].reshape(THUMB, k, THUMB, k).mean(axis=(1, 3))
    thumb = np.clip(np.rint(cells), 0, 255).astype(np.uint8)
    return thumb, float(cells.std())


def pack(
    duration: float,
    fps: float,
    size: tuple[int, int],
    samples: dict[int, tuple[np.ndarray, float]],
) -> np.ndarray:
    """The signature as one uint8 vector: `samples` maps a SCHEDULE position to its frame's
    `describe` result (positions without a frame are left out)."""
    head = np.array([duration, fps, size[0], size[1]], dtype=np.float32).view(np.uint8)
    contrast = np.zeros(_N, dtype=np.uint8)
    thumbs = np.zeros((_N, _CELLS), dtype=np.uint8)
    for slot, (thumb, level) in samples.items():
        contrast[slot] = max(1, min(255, round(level)))  # 0 means no frame
        thumbs[slot] = thumb.reshape(-1)
    return np.concatenate([head, contrast, thumbs.reshape(-1)])


def unpack(vector: np.ndarray) -> Signature:
    v = np.ascontiguousarray(vector, dtype=np.uint8)
    duration, fps, w, h = (float(x) for x in v[:_HEAD].view(np.float32))
    contrast = v[_HEAD : _HEAD + _N]
    thumbs = v[_HEAD + _N :].reshape(_N, THUMB, THUMB)
    return Signature(duration, fps, round(w), round(h), contrast, thumbs)


def durations(features: np.ndarray) -> np.ndarray:
    """The length in seconds of each signature (rows of `features`)."""
    heads = np.ascontiguousarray(np.asarray(features, dtype=np.uint8)[:, :_HEAD])
    return heads.view(np.float32)[:, 0].astype(np.float64)


def tolerance(seconds: np.ndarray | float) -> np.ndarray:
    """How far apart two lengths may be, for the longer of them."""
    return np.maximum(SECONDS_APART, SHARE_APART * np.asarray(seconds, dtype=np.float64))


def slots_within(seconds: np.ndarray | float) -> np.ndarray:
    """How many SCHEDULE samples lie within a video of `seconds`."""
    return np.searchsorted(np.asarray(SCHEDULE), np.asarray(seconds), side="left")


class VideoEngine(SimilarityEngine):
    """Duplicate videos: same length, and the same picture at every sampled second."""

    name: ClassVar[str] = "video"
    reads: ClassVar[MediaKind] = "videos"
    kind = "duplicates"
    metric = "cosine"
    thresholds = VIDEO_THRESHOLDS
    decode_side: ClassVar[int] = FRAME_SIDE
    feature_dtype: ClassVar[str] = "uint8"
    feature_dim = _HEAD + _N + _N * _CELLS

    @property
    def cache_key(self) -> str:
        return f"video:grey{THUMB}x{len(SCHEDULE)}:v1"

    @property
    def label(self) -> str:
        return "video frames at fixed seconds"

    @property
    def description(self) -> str:
        return (
            f"{self.label}; same length within {SECONDS_APART:g} s or {SHARE_APART:.0%}, "
            f"every frame correlated >= {1.0 - self.threshold:.2f}"
        )

    def load(self) -> None:
        """Nothing to load: frames are compared as they are."""

    def prepare(self, image: Image.Image) -> np.ndarray:
        raise TypeError("the video engine reads videos (pipeline/video_scan.py), not pictures")

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        va, vb = np.asarray(a, dtype=np.uint8)[None], np.asarray(b, dtype=np.uint8)[None]
        return float(pair_distances(va, vb)[0])

    def neighbours(self, features: np.ndarray) -> Neighbours:
        """Pairs within the threshold, compared only within a window of lengths."""
        feats = np.asarray(features, dtype=np.uint8)
        i, j = length_pairs(durations(feats))
        return self._within(feats, i, j)

    def neighbours_of(self, features: np.ndarray, query: np.ndarray) -> Neighbours:
        feats = np.asarray(features, dtype=np.uint8)
        i, j = length_pairs(durations(feats))
        asked = np.zeros(len(feats), dtype=bool)
        asked[np.asarray(query, dtype=np.int64)] = True
        keep = asked[i] | asked[j]
        return self._within(feats, i[keep], j[keep])

    def _within(self, feats: np.ndarray, i: np.ndarray, j: np.ndarray) -> Neighbours:
        if not len(i):
            return no_pairs()
        found_i, found_j, found_d = [], [], []
        for s in range(0, len(i), _PAIRS_STEP):
            ii, jj = i[s : s + _PAIRS_STEP], j[s : s + _PAIRS_STEP]
            d = pair_distances(feats[ii], feats[jj])
            keep = d <= self.threshold
            found_i.append(ii[keep])
            found_j.append(jj[keep])
            found_d.append(d[keep].astype(np.float32))
        return finish(len(feats), found_i, found_j, found_d)


def length_pairs(seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i < j) whose lengths agree, found by sorting the lengths (no loop over
    pairs: each video is paired with the run of longer ones within its tolerance)."""
    n = len(seconds)
    if n < 2:
        empty = np.zeros(0, np.int64)
        return empty, empty
    order = np.argsort(seconds, kind="stable")
    ordered = seconds[order]
    # The tolerance of the longer length bounds the window: x + tol(x) overshoots a little
    # for long videos, and the exact test below removes what it lets in.
    ends = np.searchsorted(ordered, ordered + tolerance(ordered * (1 + SHARE_APART)), "right")
    counts = ends - np.arange(n) - 1
    first = np.repeat(np.arange(n), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    second = first + 1 + offsets
    a, b = order[first], order[second]
    longer = np.maximum(seconds[a], seconds[b])
    keep = np.abs(seconds[a] - seconds[b]) <= tolerance(longer) + 1e-9
    a, b = a[keep], b[keep]
    return np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)


def pair_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each row pair (a[k], b[k]) of signatures: FAR unless their lengths agree
    and they show a picture at enough of the same samples; else the worst sample's
    1 - correlation of the two thumbnails (1 or more where one is blank and the other not)."""
    da, db = durations(a), durations(b)
    # Samples past the longest video hold nothing: most videos are short.
    n = max(1, int(slots_within(max(da.max(initial=0.0), db.max(initial=0.0)))))
    ca = a[:, _HEAD : _HEAD + n].astype(np.float32)
    cb = b[:, _HEAD : _HEAD + n].astype(np.float32)
    both = (ca > 0) & (cb > 0)
    blank_a, blank_b = both & (ca < BLANK), both & (cb < BLANK)
    shared = both & ~blank_a & ~blank_b
    # A blank frame where the other video surely shows a picture: not the same video.
    mismatch = (blank_a & (cb >= 2 * BLANK)) | (blank_b & (ca >= 2 * BLANK))
    ta = a[:, _HEAD + _N : _HEAD + _N + n * _CELLS].reshape(len(a), n, _CELLS).astype(np.float32)
    tb = b[:, _HEAD + _N : _HEAD + _N + n * _CELLS].reshape(len(b), n, _CELLS).astype(np.float32)
    ta -= ta.mean(axis=2, keepdims=True)
    tb -= tb.mean(axis=2, keepdims=True)
    norm = np.sqrt((ta * ta).sum(axis=2) * (tb * tb).sum(axis=2))
    corr = (ta * tb).sum(axis=2) / np.maximum(norm, 1e-6)
    frame_d = np.where(shared, 1.0 - corr, 0.0)
    worst = frame_d.max(axis=1)
    worst = np.where(mismatch.any(axis=1), np.maximum(worst, 1.0), worst)
    need = np.minimum(MIN_SHARED, np.minimum(slots_within(da), slots_within(db)))
    enough = (shared.sum(axis=1) >= need) & (shared.sum(axis=1) > 0)
    agree = np.abs(da - db) <= tolerance(np.maximum(da, db)) + 1e-9
    return np.where(agree & enough, worst, FAR)
