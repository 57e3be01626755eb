"""Video engine: true duplicate videos from frames sampled at fixed timestamps.

A video's signature is its length and a small grey thumbnail of the frame shown at each time
of a dyadic grid from its start: every `grid_step` seconds, the power of two that gives at most
SAMPLES_PER_VIDEO (16) samples, so no part of a clip is left unlooked-at (a gap is at most an
eighth of its length). The times are absolute, not a share of the length: a copy and its
re-encode (other size, bitrate, keyframes, codec; a rotation tag baked in) show the same
picture at the same second, while a trimmed clip, another clip with the same intro or a
slideshow with one other photo does not. Two videos are duplicates when their lengths agree
(within 0.5 s or 2 %) and every sample both grids share is close (the grids nest: the
coarser one's times are samples of both), at least MIN_SHARED of them showing a picture: the
distance is the worst one.

Black and blank frames (a fade, a black intro) say nothing and are skipped; a blank frame
against a picture at the same time is a difference. Frames are read by the pipeline
(pipeline/video_read.py); this module only describes and compares them, with numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..core.search.pairs import Neighbours, finish, no_pairs
from .base import MediaKind, SimilarityEngine

if TYPE_CHECKING:
    from PIL import Image

#: Samples a video's grid holds at most: its step is the power of two (in seconds) that
#: fits at most this many in its length, so two compared samples are at most 2/16 of it apart.
SAMPLES_PER_VIDEO = 16
#: The finest step (seconds): a sub-second clip is still sampled about 16 times per second.
FINEST_STEP = 1 / 16
#: Side of a frame's grey thumbnail.
THUMB = 16
#: The side the reader delivers frames at (grey): THUMB cells of 4 x 4 pixels each.
FRAME_SIDE = 64
#: Below this contrast (RMS grey levels of the thumbnail) a frame is blank: black, a fade, a
#: flat colour. Above twice as much, it surely holds a picture.
BLANK = 4.0
#: Durations agree within this many seconds, or this share of the longer one.
SECONDS_APART, SHARE_APART = 0.5, 0.02
#: Shared samples both videos must show a picture at: never fewer (one frame is not a video).
MIN_SHARED = 2
#: The distance of a pair that cannot be duplicates (lengths apart, too little to compare).
FAR = 2.0

# Strictness -> worst distance (1 - correlation of two thumbnails) still called a duplicate.
# Calibrated on clips made from tests/data (tests/test_video_engine.py): re-encodes (640 px,
# CRF 30, HEVC -> H.264, rotation baked in) stay within 0.03; the same scene half a second of
# a slow pan apart sits at 0.1-0.3, and different photos above 0.4.
VIDEO_THRESHOLDS: dict[int, float] = {0: 0.25, 25: 0.15, 50: 0.08, 75: 0.04, 100: 0.0}

#: Sample slots of a signature: a grid holds at most 16 times (0 included, the end not).
_N = SAMPLES_PER_VIDEO + 1
#: Header: length, frame rate, display width and height, grid step (float32 each).
_HEAD = 20
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
    #: Seconds between two samples (a power of two).
    step: float
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


def grid_step(duration: float, fps: float) -> float:
    """Seconds between a video's samples: the power of two that fits at most
    SAMPLES_PER_VIDEO of them in `duration`, at least FINEST_STEP and one frame."""
    finest = max(FINEST_STEP, 1.0 / fps if fps > 0 else 0.0)
    needed = max(duration / SAMPLES_PER_VIDEO, finest)
    return float(2.0 ** math.ceil(math.log2(needed)))


def sample_times(duration: float, fps: float) -> list[float]:
    """The seconds from the start at which a video is sampled: its grid up to its last frame
    (the frame shown at an instant within half a frame of the end may be missing)."""
    step = grid_step(duration, fps)
    end = duration - 0.5 / (fps if fps > 0 else 30.0)
    return [k * step for k in range(_N) if k * step < end]


def pack(
    duration: float,
    fps: float,
    size: tuple[int, int],
    samples: dict[int, tuple[np.ndarray, float]],
) -> np.ndarray:
    """The signature as one uint8 vector: `samples` maps a position in `sample_times` to its
    frame's `describe` result (positions without a frame are left out)."""
    step = grid_step(duration, fps)
    head = np.array([duration, fps, size[0], size[1], step], dtype=np.float32).view(np.uint8)
    contrast = np.zeros(_N, dtype=np.uint8)
    thumbs = np.zeros((_N, _CELLS), dtype=np.uint8)
    for slot, (thumb, level) in samples.items():
        contrast[slot] = max(1, min(255, round(level)))  # 0 means no frame
        thumbs[slot] = thumb.reshape(-1)
    return np.concatenate([head, contrast, thumbs.reshape(-1)])


def unpack(vector: np.ndarray) -> Signature:
    v = np.ascontiguousarray(vector, dtype=np.uint8)
    duration, fps, w, h, step = (float(x) for x in v[:_HEAD].view(np.float32))
    contrast = v[_HEAD : _HEAD + _N]
    thumbs = v[_HEAD + _N :].reshape(_N, THUMB, THUMB)
    return Signature(duration, fps, round(w), round(h), step, contrast, thumbs)


def shared_pictures(a: np.ndarray, b: np.ndarray, level: float) -> list[float]:
    """The seconds both signatures sample (their coarser grid) where both frames have at
    least `level` contrast."""
    sa, sb = unpack(a), unpack(b)
    step = max(sa.step, sb.step)
    out = []
    for k in range(_N):
        ka, kb = round(k * step / sa.step), round(k * step / sb.step)
        if ka >= _N or kb >= _N:
            break
        if sa.contrast[ka] >= level and sb.contrast[kb] >= level:
            out.append(k * step)
    return out


def _heads(features: np.ndarray) -> np.ndarray:
    heads = np.ascontiguousarray(np.asarray(features, dtype=np.uint8)[:, :_HEAD])
    return heads.view(np.float32).astype(np.float64)


def durations(features: np.ndarray) -> np.ndarray:
    """The length in seconds of each signature (rows of `features`)."""
    return _heads(features)[:, 0]


def tolerance(seconds: np.ndarray | float) -> np.ndarray:
    """How far apart two lengths may be, for the longer of them."""
    return np.maximum(SECONDS_APART, SHARE_APART * np.asarray(seconds, dtype=np.float64))


class VideoEngine(SimilarityEngine):
    """Duplicate videos: same length, and the same picture at every sampled time."""

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
        return f"video:grey{THUMB}x{_N}:grid{SAMPLES_PER_VIDEO}:v2"

    @property
    def label(self) -> str:
        return "video frames on a grid of fixed times"

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
    and they show a picture at MIN_SHARED or more of the times both grids sample (the
    multiples of the coarser step); else the worst of those samples' 1 - correlation of the
    two thumbnails (1 or more where one is blank and the other not)."""
    ha, hb = _heads(a), _heads(b)
    da, db = ha[:, 0], hb[:, 0]
    step = np.maximum(ha[:, 4], hb[:, 4])
    # Grid k of the coarser step is sample k * ratio of each video (powers of two nest).
    k = np.arange(_N)
    ia = k[None, :] * np.rint(step / np.maximum(ha[:, 4], 1e-9)).astype(np.int64)[:, None]
    ib = k[None, :] * np.rint(step / np.maximum(hb[:, 4], 1e-9)).astype(np.int64)[:, None]
    inside = (ia < _N) & (ib < _N)
    ia, ib = np.where(inside, ia, 0), np.where(inside, ib, 0)
    rows = np.arange(len(a))[:, None]
    ca = np.where(inside, a[:, _HEAD : _HEAD + _N][rows, ia], 0).astype(np.float32)
    cb = np.where(inside, b[:, _HEAD : _HEAD + _N][rows, ib], 0).astype(np.float32)
    both = (ca > 0) & (cb > 0)
    blank_a, blank_b = both & (ca < BLANK), both & (cb < BLANK)
    shared = both & ~blank_a & ~blank_b
    # A blank frame where the other video surely shows a picture: not the same video.
    mismatch = (blank_a & (cb >= 2 * BLANK)) | (blank_b & (ca >= 2 * BLANK))
    ta = a[:, _HEAD + _N :].reshape(len(a), _N, _CELLS)[rows, ia].astype(np.float32)
    tb = b[:, _HEAD + _N :].reshape(len(b), _N, _CELLS)[rows, ib].astype(np.float32)
    ta -= ta.mean(axis=2, keepdims=True)
    tb -= tb.mean(axis=2, keepdims=True)
    norm = np.sqrt((ta * ta).sum(axis=2) * (tb * tb).sum(axis=2))
    corr = (ta * tb).sum(axis=2) / np.maximum(norm, 1e-6)
    frame_d = np.where(shared, 1.0 - corr, 0.0)
    worst = frame_d.max(axis=1)
    worst = np.where(mismatch.any(axis=1), np.maximum(worst, 1.0), worst)
    enough = shared.sum(axis=1) >= MIN_SHARED
    agree = np.abs(da - db) <= tolerance(np.maximum(da, db)) + 1e-9
    return np.where(agree & enough, worst, FAR)
