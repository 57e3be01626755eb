"""Generated bursts made from real photos: one pristine frame and four degraded ones.

Every burst comes from one real photo (shared/data: photos, ukbench, holidays). Each frame is
the photo seen through a window shifted by up to SHIFT px (a hand that moved between shots);
four of the five frames are also degraded by one of DEGRADATIONS, at a level drawn uniformly
from RANGES (fixed, documented, mild levels included):

- noise: Gaussian sensor noise, sigma in grey levels (0-255) per channel, saved at JPEG
  quality NOISY_QUALITY (the others at QUALITY), so the noisy frame is the largest file, as in
  a real burst where noise adds bytes;
- motion: a straight motion blur, length in px of the frame, at an angle drawn from [0, 180);
- dark: under-exposure, in stops (linear light times 2**-stops);
- defocus: a disk blur (the lens out of focus), radius in px of the frame.

Blurs and exposure work in linear light. Photos over MAX_SIDE px are first reduced to it,
so a burst of 100+ photos is made in about a minute. The split into halves is fixed by photo:
Holidays keeps its own dev/test split (dev = tune, so nothing of its test groups tunes the
score), every other photo goes by a CRC of its name.
"""

from __future__ import annotations

import csv
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps

Half = Literal["tune", "test"]
DEGRADATIONS = ("noise", "motion", "dark", "defocus")
RANGES: dict[str, tuple[float, float]] = {
    "noise": (3.0, 10.0),  # sigma, grey levels
    "motion": (3.0, 12.0),  # length, px
    "dark": (0.5, 1.5),  # stops
    "defocus": (1.25, 4.0),  # disk radius, px
}
UNITS = {"noise": "sigma", "motion": "px", "dark": "stops", "defocus": "px radius"}
SHIFT = 6
MAX_SIDE = 2000
QUALITY = 90
NOISY_QUALITY = 97


@dataclass(frozen=True)
class Source:
    id: str  # "photos/mate__Aqua.jpg", "holidays/100000.jpg"
    path: Path
    half: Half


@dataclass(frozen=True)
class Frame:
    path: Path
    degradation: str  # "pristine" or one of DEGRADATIONS
    level: float  # in the unit of UNITS[degradation]; 0 for the pristine frame


@dataclass(frozen=True)
class Burst:
    source: str
    half: Half
    frames: tuple[Frame, ...]  # in a shuffled order: the pristine frame is anywhere

    @property
    def pristine(self) -> int:
        return next(i for i, f in enumerate(self.frames) if f.degradation == "pristine")


def _crc_half(name: str) -> Half:
    return "tune" if zlib.crc32(name.encode()) % 2 == 0 else "test"


#: Each data set: its table, the column naming a scene, and its half for a row.
_SETS = (
    ("photos", "manifest.csv", "natural_group"),
    ("ukbench", "ground_truth.csv", "group_id"),
    ("holidays", "ground_truth.csv", "group_id"),
)


def _half_of(dataset: str, row: dict[str, str]) -> Half:
    if dataset == "holidays":
        return "tune" if row["split"] == "dev" else "test"
    return _crc_half(row["image"])


def sources(shared: Path) -> list[Source]:
    """One photo per scene: each shared/data/photos natural group, each UKBench object and
    each Holidays scene (its first image), in a fixed order."""
    out: list[Source] = []
    for dataset, table, scene in _SETS:
        seen: set[str] = set()
        with open(shared / dataset / table, newline="") as fh:
            for row in csv.DictReader(fh):
                if row[scene] not in seen:
                    seen.add(row[scene])
                    path = shared / dataset / "images" / row["image"]
                    out.append(Source(f"{dataset}/{row['image']}", path, _half_of(dataset, row)))
    return out


def _to_linear(srgb: np.ndarray) -> np.ndarray:
    return (srgb / 255.0) ** 2.2


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    return 255.0 * np.clip(linear, 0.0, 1.0) ** (1 / 2.2)


def _convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """`image` (H, W, C) convolved with `kernel` (odd square), edges mirrored."""
    r = kernel.shape[0] // 2
    padded = np.pad(image, ((r, r), (r, r), (0, 0)), mode="reflect")
    h, w = padded.shape[:2]
    spectrum = np.fft.rfft2(kernel, s=(h, w))
    out = np.fft.irfft2(
        np.fft.rfft2(padded, axes=(0, 1)) * spectrum[..., None], s=(h, w), axes=(0, 1)
    )
    # The kernel's centre is at (r, r): the result is shifted by r, the padding by r.
    return out[2 * r : 2 * r + image.shape[0], 2 * r : 2 * r + image.shape[1]]


def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A straight line of `length` px at `angle_deg`, anti-aliased, summing to 1."""
    r = int(np.ceil(length / 2)) + 1
    kernel = np.zeros((2 * r + 1, 2 * r + 1))
    t = np.linspace(-length / 2, length / 2, max(2, int(length * 8)))
    x = r + t * np.cos(np.radians(angle_deg))
    y = r - t * np.sin(np.radians(angle_deg))
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dx, dy, wt in (
        (0, 0, (1 - fx) * (1 - fy)),
        (1, 0, fx * (1 - fy)),
        (0, 1, (1 - fx) * fy),
        (1, 1, fx * fy),
    ):
        np.add.at(kernel, (y0 + dy, x0 + dx), wt)
    return kernel / kernel.sum()


def disk_kernel(radius: float) -> np.ndarray:
    """A uniform disk of `radius` px (edge anti-aliased by 8x8 supersampling), summing to 1."""
    r = int(np.ceil(radius)) + 1
    fine = (np.arange((2 * r + 1) * 8) + 0.5) / 8 - (r + 0.5)
    inside = (fine[:, None] ** 2 + fine[None, :] ** 2 <= radius**2).astype(float)
    kernel = inside.reshape(2 * r + 1, 8, 2 * r + 1, 8).mean(axis=(1, 3))
    return kernel / kernel.sum()


def degrade(
    window: np.ndarray, degradation: str, level: float, rng: np.random.Generator
) -> np.ndarray:
    """One frame (float sRGB 0-255, H x W x 3) with `degradation` at `level`."""
    if degradation == "noise":
        return window + rng.normal(0.0, level, window.shape)
    linear = _to_linear(window)
    if degradation == "dark":
        return _to_srgb(linear * 2.0 ** (-level))
    if degradation == "motion":
        kernel = motion_kernel(level, float(rng.uniform(0.0, 180.0)))
    elif degradation == "defocus":
        kernel = disk_kernel(level)
    else:
        raise ValueError(f"unknown degradation {degradation!r}")
    return _to_srgb(_convolve(linear, kernel))


def _prepared(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        if max(im.size) > MAX_SIDE:
            scale = MAX_SIDE / max(im.size)
            size = (round(im.width * scale), round(im.height * scale))
            im = im.resize(size, Image.Resampling.LANCZOS)
        return np.asarray(im, dtype=np.float64)


def make_burst(source: Source, out: Path) -> Burst:
    """Write the five frames of `source`'s burst under `out` (made if missing)."""
    rng = np.random.default_rng(zlib.crc32(source.id.encode()))
    photo = _prepared(source.path)
    h, w = photo.shape[0] - 2 * SHIFT, photo.shape[1] - 2 * SHIFT
    kinds = ["pristine", *DEGRADATIONS]
    order = rng.permutation(len(kinds))
    stem = source.id.replace("/", "__").rsplit(".", 1)[0]
    out.mkdir(parents=True, exist_ok=True)
    frames: list[Frame] = []
    for position, k in enumerate(order):
        kind = kinds[k]
        dy, dx = rng.integers(0, 2 * SHIFT + 1, size=2)
        window = photo[dy : dy + h, dx : dx + w]
        level = 0.0
        if kind != "pristine":
            low, high = RANGES[kind]
            level = round(float(rng.uniform(low, high)), 2)
            window = degrade(window, kind, level, rng)
        path = out / f"{stem}_{position}.jpg"
        pixels = np.clip(np.round(window), 0, 255).astype(np.uint8)
        quality = NOISY_QUALITY if kind == "noise" else QUALITY
        Image.fromarray(pixels).save(path, quality=quality)
        frames.append(Frame(path, kind, level))
    return Burst(source.id, source.half, tuple(frames))


def write_manifest(bursts: Iterable[Burst], path: Path) -> None:
    rows = [
        {
            "source": b.source,
            "half": b.half,
            "frames": [[f.path.name, f.degradation, f.level] for f in b.frames],
        }
        for b in bursts
    ]
    path.write_text(json.dumps(rows, indent=1))


def read_manifest(path: Path) -> list[Burst]:
    folder = path.parent
    return [
        Burst(
            row["source"],
            row["half"],
            tuple(Frame(folder / name, kind, level) for name, kind, level in row["frames"]),
        )
        for row in json.loads(path.read_text())
    ]
