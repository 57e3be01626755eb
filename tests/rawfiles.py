"""Real DNG files, made at test time from a Bayer mosaic of a real photo (pidng).

pidng writes the raw image (one CFA IFD, RGGB, 12 or 16 bits) but has no way to embed a
preview. A camera's DNG carries one as a further IFD holding a baseline JPEG (NewSubfileType 1,
Compression 7, YCbCr), so `write_dng` appends exactly that: the JPEG and an IFD for it, chained
after pidng's IFD0 (TIFF's next-IFD link). LibRaw finds it as the file's preview.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np

#: XYZ (D65) -> linear sRGB: the mosaic's "camera" is an sRGB sensor, so LibRaw's colour
#: conversion gives the photo's own colours back.
_XYZ_TO_SRGB = (
    (3.2406, -1.5372, -0.4986),
    (-0.9689, 1.8758, 0.0415),
    (0.0557, -0.2040, 1.0570),
)
#: Orientation tag -> the turns (np.rot90, counter-clockwise) that store an upright picture as
#: the sensor saw it; the reader turns it back.
_STORED_TURNS = {1: 0, 3: 2, 6: 1, 8: 3}


def mosaic(rgb: np.ndarray, *, bits: int = 12) -> np.ndarray:
    """An RGGB Bayer mosaic (uint16, `bits` deep, linear light) of an 8-bit sRGB picture."""
    height, width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    linear = (rgb[:height, :width].astype(np.float32) / 255.0) ** 2.2
    top = (1 << bits) - 1
    planes = np.round(linear * top).astype(np.uint16)
    out = np.empty((height, width), dtype=np.uint16)
    out[0::2, 0::2] = planes[0::2, 0::2, 0]  # R
    out[0::2, 1::2] = planes[0::2, 1::2, 1]  # G
    out[1::2, 0::2] = planes[1::2, 0::2, 1]  # G
    out[1::2, 1::2] = planes[1::2, 1::2, 2]  # B
    return out


def _rational(value: float) -> list[int]:
    return [round(value * 10_000), 10_000]


def write_dng(
    path: Path,
    rgb: np.ndarray,
    *,
    bits: int = 12,
    orientation: int = 1,
    preview: int | None = None,
    make: str = "ReMedia",
    model: str = "Mosaic DNG",
    taken: str = "2024:05:01 10:00:00",
) -> Path:
    """Write `rgb` (8-bit, upright, H x W x 3) as a DNG of its Bayer mosaic.

    The mosaic is stored as a sensor would, turned by `orientation` (1, 3, 6 or 8), which the
    DNG's Orientation tag undoes. `preview`: the long side of an embedded JPEG preview (stored
    like the mosaic), or None for none.
    """
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import CalibrationIlluminant, CFAPattern, PhotometricInterpretation

    stored = np.ascontiguousarray(np.rot90(rgb, _STORED_TURNS[orientation]))
    raw = mosaic(stored, bits=bits)
    height, width = raw.shape
    tags = DNGTags()
    tags.set(Tag.ImageWidth, width)
    tags.set(Tag.ImageLength, height)
    tags.set(Tag.TileWidth, width)
    tags.set(Tag.TileLength, height)
    tags.set(Tag.Orientation, orientation)
    tags.set(Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array)
    tags.set(Tag.SamplesPerPixel, 1)
    tags.set(Tag.BitsPerSample, bits)
    tags.set(Tag.CFARepeatPatternDim, [2, 2])
    tags.set(Tag.CFAPattern, CFAPattern.RGGB)
    tags.set(Tag.BlackLevel, 0)
    tags.set(Tag.WhiteLevel, (1 << bits) - 1)
    tags.set(Tag.ColorMatrix1, [_rational(v) for row in _XYZ_TO_SRGB for v in row])
    tags.set(Tag.CalibrationIlluminant1, CalibrationIlluminant.D65)
    tags.set(Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]])
    tags.set(Tag.Make, make)
    tags.set(Tag.Model, model)
    tags.set(Tag.UniqueCameraModel, f"{make} {model}")
    tags.set(Tag.DateTimeOriginal, taken)
    writer = RAW2DNG()
    writer.options(tags, path="", compress=False)
    data = bytes(writer.convert(raw))
    if preview is not None:
        data = _with_preview(data, _preview_jpeg(stored, preview))
    path.write_bytes(data)
    return path


def _preview_jpeg(stored: np.ndarray, long_side: int) -> bytes:
    from PIL import Image

    im = Image.fromarray(stored)
    im.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)  # baseline, 4:2:0, no EXIF: as cameras embed it
    return out.getvalue()


def _with_preview(dng: bytes, jpeg: bytes) -> bytes:
    """`dng` (little-endian TIFF, one IFD at offset 8) with a JPEG preview IFD chained after it."""
    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as im:
        width, height = im.size
    assert dng[:4] == b"II*\x00"
    (ifd0,) = struct.unpack_from("<I", dng, 4)
    (count,) = struct.unpack_from("<H", dng, ifd0)
    next_link = ifd0 + 2 + 12 * count
    out = bytearray(dng)
    out += b"\x00" * (-len(out) % 4)
    jpeg_at = len(out)
    out += jpeg
    out += b"\x00" * (-len(out) % 4)
    bps_at = len(out)
    out += struct.pack("<HHH", 8, 8, 8) + b"\x00\x00"
    ifd_at = len(out)
    short, long_ = 3, 4
    entries = [
        (254, long_, 1, 1),  # NewSubfileType: a reduced-resolution preview
        (256, long_, 1, width),
        (257, long_, 1, height),
        (258, short, 3, bps_at),
        (259, short, 1, 7),  # JPEG
        (262, short, 1, 6),  # YCbCr
        (273, long_, 1, jpeg_at),
        (277, short, 1, 3),
        (278, long_, 1, height),
        (279, long_, 1, len(jpeg)),
    ]
    out += struct.pack("<H", len(entries))
    for tag, kind, n, value in entries:
        packed = struct.pack("<H", value) + b"\x00\x00" if kind == short and n == 1 else None
        out += struct.pack("<HHI", tag, kind, n) + (packed or struct.pack("<I", value))
    out += struct.pack("<I", 0)
    struct.pack_into("<I", out, next_link, ifd_at)
    return bytes(out)


def photo_rgb(path: Path, *, size: tuple[int, int] | None = None) -> np.ndarray:
    """A photo as 8-bit RGB, optionally resized to `size` (width, height), even sides."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if size is not None:
            im = im.resize(size, Image.Resampling.LANCZOS)
        w, h = im.size
        return np.asarray(im.crop((0, 0, w // 2 * 2, h // 2 * 2)))
