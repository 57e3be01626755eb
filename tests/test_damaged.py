"""Damaged files are never kept: pixels that do not decode cleanly make a file skipped with a
"damaged: " reason, so it stays where it is and can never be the kept copy of a group.

Every damaged file here is one Pillow alone decodes without an error (checked first), or one
the previous reader let through: the tests show the defect, then that it is caught.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from remedia_tray.engines.hash import HashEngine
from remedia_tray.errors import UnreadableImage
from remedia_tray.layout import reports_dir
from remedia_tray.pipeline.imaging import load_image
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import photo, read_tree

# --- real files, damaged on purpose -----------------------------------------------------------


def _camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 80D"
    exif[0x0132] = "2021:06:01 10:00:00"
    return exif


def _coffee(width: int = 2000) -> Image.Image:
    with Image.open(photo("coffee")) as im:
        rgb: Image.Image = im.convert("RGB")
    return rgb.resize((width, width * rgb.height // rgb.width))


def _jpeg(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def _scan(data: bytes) -> tuple[int, int]:
    """Start and end of a baseline JPEG's entropy-coded scan data."""
    sos = data.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    assert data.endswith(b"\xff\xd9")
    return start, len(data) - 2


def _flip(data: bytes, *offsets: int) -> bytes:
    out = bytearray(data)
    for k in offsets:
        out[k] ^= 0xFF
    return bytes(out)


def _pillow_rgb(data: bytes, draft: int | None = None) -> np.ndarray:
    """What Pillow alone makes of the file: raises if it notices the damage."""
    with Image.open(io.BytesIO(data)) as im:
        if draft is not None:
            im.draft("RGB", (draft, draft))
        im.load()
        return np.asarray(im.convert("RGB"))


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        out.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG from chunks, every CRC correct."""
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in chunks
    )


def _png_parts(im: Image.Image) -> tuple[bytes, bytes]:
    """IHDR and the whole zlib stream of a PNG Pillow writes."""
    buf = io.BytesIO()
    im.save(buf, "PNG")
    chunks = _chunks(buf.getvalue())
    return chunks[0][1], b"".join(body for kind, body in chunks if kind == b"IDAT")


def _png_with_exif_after_idat(ihdr: bytes, idat: bytes, exif: Image.Exif) -> bytes:
    # Allowed by the PNG spec; Pillow's getexif() then decodes the whole image to find it.
    return _png([(b"IHDR", ihdr), (b"IDAT", idat), (b"eXIf", exif.tobytes()), (b"IEND", b"")])


def _load_error(path: Path) -> str:
    with pytest.raises(UnreadableImage) as caught:
        load_image(path, min_side=128)
    return str(caught.value)


# --- PNG --------------------------------------------------------------------------------------


@pytest.mark.parametrize("exif_after_idat", [False, True])
def test_png_with_a_flipped_byte_in_its_image_data(tmp_path: Path, exif_after_idat: bool) -> None:
    ihdr, idat = _png_parts(_coffee(480))
    chunks = [(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")]
    if exif_after_idat:
        chunks.insert(2, (b"eXIf", _camera_exif().tobytes()))
    data = bytearray(_png(chunks))
    data[data.index(b"IDAT") + 4 + len(idat) * 3 // 4] ^= 0x10  # flipped after it was written
    (tmp_path / "flipped.png").write_bytes(bytes(data))
    assert _load_error(tmp_path / "flipped.png") == "damaged: PNG checksum error in IDAT chunk"


def test_png_whose_damage_only_shows_in_a_chunk_checksum(tmp_path: Path) -> None:
    buf = io.BytesIO()
    _coffee(480).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    last_idat_crc = data.rindex(b"IEND") - 8  # the 4 CRC bytes end where IEND's length starts
    data[last_idat_crc] ^= 0x01
    # Pillow skips the checksums of image data: it decodes this without a word.
    assert _pillow_rgb(bytes(data)).shape == (320, 480, 3)
    (tmp_path / "crc.png").write_bytes(bytes(data))
    assert _load_error(tmp_path / "crc.png") == "damaged: PNG checksum error in IDAT chunk"


def test_png_decode_error_is_not_taken_for_malformed_exif(tmp_path: Path) -> None:
    """Broken image data behind intact checksums (damaged before it was written), with the
    EXIF after the image data: reading the EXIF decodes the pixels, and that decode error was
    once swallowed as "malformed EXIF", letting the file through."""
    ihdr, idat = _png_parts(_coffee(480))
    broken = bytearray(idat)
    broken[len(broken) // 2] ^= 0xFF
    data = _png_with_exif_after_idat(ihdr, bytes(broken), _camera_exif())
    with pytest.raises(OSError):
        _pillow_rgb(data)
    (tmp_path / "broken.png").write_bytes(data)
    reason = _load_error(tmp_path / "broken.png")
    assert reason.startswith("damaged: corrupt or truncated image data"), reason


def test_png_exif_after_image_data_is_read(tmp_path: Path) -> None:
    ihdr, idat = _png_parts(_coffee(480))
    (tmp_path / "late-exif.png").write_bytes(_png_with_exif_after_idat(ihdr, idat, _camera_exif()))
    loaded = load_image(tmp_path / "late-exif.png", min_side=64)
    assert loaded.info.camera == "Canon EOS 80D"
    assert loaded.info.exif_fields == 3


@pytest.mark.parametrize("fmt", ["PNG", "HEIF"])
def test_png_and_heic_cut_short(tmp_path: Path, fmt: str) -> None:
    from remedia_tray.pipeline.imaging import heif_supported

    assert heif_supported()
    buf = io.BytesIO()
    _coffee(480).save(buf, fmt)
    data = buf.getvalue()
    (tmp_path / "cut").write_bytes(data[: len(data) * 2 // 3])
    reason = _load_error(tmp_path / "cut")
    assert reason.startswith("damaged: corrupt or truncated image data"), reason
    assert "\n" not in reason and len(reason) < 140


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_malformed_exif_costs_only_the_metadata(tmp_path: Path, fmt: str) -> None:
    # One field: the orientation, written as text ("x") where a number belongs.
    entry = struct.pack(">HHI", 0x0112, 2, 2) + b"x\x00\x00\x00"
    exif = b"Exif\x00\x00MM\x00*" + struct.pack(">IH", 8, 1) + entry + bytes(4)
    path = tmp_path / f"odd-exif.{fmt.lower()}"
    _coffee(480).save(path, fmt, exif=exif)
    loaded = load_image(path, min_side=64)
    assert (loaded.info.exif_fields, loaded.info.camera) == (0, "")
    assert (loaded.info.width, loaded.info.height) == (480, 320)


# --- JPEG -------------------------------------------------------------------------------------


def test_jpeg_with_two_flipped_bytes_in_its_scan_data(tmp_path: Path) -> None:
    data = _jpeg(_coffee(2000))
    start, end = _scan(data)
    at = start + (end - start) // 2 + 512  # the middle of the scan data
    damaged = _flip(data, at, at + 1)
    # Pillow decodes it without an error, and half the picture is garbage.
    intact_px = _pillow_rgb(data).astype(int)
    damaged_px = _pillow_rgb(damaged).astype(int)
    garbage_rows = np.abs(damaged_px - intact_px).mean(axis=(1, 2)) > 8
    assert 0.2 < garbage_rows.mean() < 0.8
    (tmp_path / "flipped.jpg").write_bytes(damaged)
    reason = _load_error(tmp_path / "flipped.jpg")
    assert reason.startswith("damaged: corrupt JPEG data ("), reason
    assert len(reason) < 100


def test_jpeg_cut_short(tmp_path: Path) -> None:
    data = _jpeg(_coffee(2000))
    start, end = _scan(data)
    (tmp_path / "cut.jpg").write_bytes(data[: (start + end) // 2])
    reason = _load_error(tmp_path / "cut.jpg")
    assert reason.startswith("damaged: ")
    assert "corrupt or truncated image data" in reason


# --- a damaged twin is never the kept copy ------------------------------------------------------


def _twins(case: str) -> tuple[bytes, bytes, str]:
    """(intact, damaged, extension): the same picture; the damaged copy would rank first."""
    if case == "png, flipped byte in a checksum":
        buf = io.BytesIO()
        _coffee(480).save(buf, "PNG", exif=_camera_exif())
        intact = buf.getvalue()
        flipped = bytearray(intact)
        flipped[flipped.rindex(b"IEND") - 8] ^= 0x01
        # Pillow decodes it to the very same pixels: a decoder alone would keep it.
        assert np.array_equal(_pillow_rgb(bytes(flipped)), _pillow_rgb(intact))
        return intact, bytes(flipped), "png"
    if case == "png, flipped byte in its image data":
        ihdr, idat = _png_parts(_coffee(480))
        intact = _png([(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")])
        # The damaged copy carries the EXIF (after the image data: the swallowed-error path)
        # and is larger, so it ranks first; the flip is near the end, so it looks the same.
        flipped = bytearray(_png_with_exif_after_idat(ihdr, idat, _camera_exif()))
        flipped[flipped.index(b"IDAT") + 4 + len(idat) - 200] ^= 0x10
        return intact, bytes(flipped), "png"
    if case == "jpeg, two flipped bytes in its scan data":
        intact = _jpeg(_coffee(2000), exif=_camera_exif())
        start, end = _scan(intact)
        at = start + (end - start) * 97 // 100
        damaged = _flip(intact, at, at + 1)
        # Pillow decodes it without an error, and the hash engine takes it for the same photo.
        engine = HashEngine()
        a, b = (
            engine.prepare(Image.fromarray(_pillow_rgb(d, draft=256))) for d in (intact, damaged)
        )
        assert engine.are_similar(a, b)
        return intact, damaged, "jpg"
    raise ValueError(f"Unknown case {case}")


@pytest.mark.parametrize(
    "case",
    [
        "png, flipped byte in a checksum",
        "png, flipped byte in its image data",
        "jpeg, two flipped bytes in its scan data",
    ],
)
def test_a_damaged_twin_is_never_kept(tmp_path: Path, case: str) -> None:
    intact_bytes, damaged_bytes, ext = _twins(case)
    root = tmp_path / "photos"
    root.mkdir()
    # Every tie-break favours the damaged copy: older, shorter name, at least as large.
    damaged = root / f"IMG_1.{ext}"
    intact = root / f"IMG_1 copy.{ext}"
    damaged.write_bytes(damaged_bytes)
    intact.write_bytes(intact_bytes)
    os.utime(damaged, (1_500_000_000, 1_500_000_000))
    os.utime(intact, (1_700_000_000, 1_700_000_000))
    before = read_tree(root)

    report = sort_folder(root, SortOptions(engine="hash", workers=1))

    assert read_tree(root) == before  # the intact copy stays in place, nothing moved or deleted
    assert not report.groups and not report.failed
    reasons = {s.path.name: s.reason for s in report.skipped}
    assert set(reasons) == {damaged.name}
    assert reasons[damaged.name].startswith("damaged: ")
    saved = [json.loads(p.read_text()) for p in reports_dir(root).glob("sort-*.json")]
    assert len(saved) == 1
    assert saved[0]["skipped"] == [{"path": str(damaged), "reason": reasons[damaged.name]}]
