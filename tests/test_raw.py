"""Camera RAW files are read: real DNGs made at test time, damaged ones skipped with a reason."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from remedia_tray.errors import UnreadableImage
from remedia_tray.pipeline.imaging import load_image
from remedia_tray.pipeline.raw import raw_kind

from .conftest import run_remedia, shared_data
from .rawfiles import photo_rgb, write_dng

#: The scan's decode side (the hash engine's).
SIDE = 128
#: A RAW and a JPEG of the same photo hash this close (of 64 bits; copies stay within 3.5).
SAME_PICTURE = 4.0


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    source = shared_data("photos", "images", "lomiri1604__sunset_by_Aitzol_Berasategi.jpg")
    return photo_rgb(source, size=(1200, 800))


def _hash(path: Path) -> np.ndarray:
    from remedia_tray.engines.hash import HashEngine

    return HashEngine().prepare(load_image(path, min_side=SIDE).image)


def _reason(path: Path) -> str:
    with pytest.raises(UnreadableImage) as caught:
        load_image(path, min_side=SIDE)
    return str(caught.value)


def test_rawpy_reads_both_kinds_and_finds_the_preview(tmp_path: Path, rgb: np.ndarray) -> None:
    import rawpy

    plain = write_dng(tmp_path / "plain.dng", rgb, bits=12)
    with_preview = write_dng(tmp_path / "preview.dng", rgb, bits=16, preview=1024)
    for path in (plain, with_preview):
        with rawpy.imread(str(path)) as raw:
            assert (raw.sizes.width, raw.sizes.height) == (1200, 800)
            assert raw.raw_pattern is not None
            assert raw.postprocess(half_size=True).shape == (400, 600, 3)
    with rawpy.imread(str(plain)) as raw, pytest.raises(rawpy.LibRawNoThumbnailError):
        raw.extract_thumb()
    with rawpy.imread(str(with_preview)) as raw:
        thumb = raw.extract_thumb()
    assert thumb.format == rawpy.ThumbFormat.JPEG and thumb.data[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(
    ("preview", "bits", "orientation"),
    [(None, 12, 1), (1024, 16, 1), (None, 16, 6), (800, 12, 8)],
    ids=["developed", "preview", "developed-turned", "preview-turned"],
)
def test_a_lone_dng_is_read_at_its_sensor_size(
    tmp_path: Path, rgb: np.ndarray, preview: int | None, bits: int, orientation: int
) -> None:
    from PIL import Image

    from remedia_tray.engines.hash import HashEngine

    dng = write_dng(tmp_path / "IMG_0001.DNG", rgb, bits=bits, orientation=orientation,
                    preview=preview)  # fmt: skip
    jpeg = tmp_path / "IMG_0001.jpg"
    Image.fromarray(rgb).save(jpeg, quality=90)
    loaded = load_image(dng, min_side=SIDE)
    height, width = rgb.shape[:2]
    # The sensor's picture as displayed, not the preview's size.
    assert (loaded.info.width, loaded.info.height) == (width, height)
    assert loaded.info.format == "DNG"
    assert loaded.info.camera == "ReMedia Mosaic DNG, 2024:05:01 10:00:00"
    assert loaded.info.exif_fields > 0
    assert min(loaded.image.size) >= SIDE and loaded.image.mode == "RGB"
    # Upright: its aspect is the photo's.
    assert (loaded.image.width > loaded.image.height) == (width > height)
    assert HashEngine().distance(_hash(dng), _hash(jpeg)) <= SAME_PICTURE


def test_a_preview_too_small_for_the_size_asked_is_developed(
    tmp_path: Path, rgb: np.ndarray
) -> None:
    # The full-size check asks for more pixels than a small preview holds.
    dng = write_dng(tmp_path / "a.dng", rgb, preview=320)
    small = load_image(dng, min_side=SIDE)
    assert max(small.image.size) == 320  # the scan: the preview
    large = load_image(dng, min_side=400)
    assert large.image.size == (600, 400)  # LibRaw at half size
    assert (large.info.width, large.info.height) == (1200, 800)


def test_the_full_size_check_reads_a_raw(tmp_path: Path, rgb: np.ndarray) -> None:
    from remedia_tray.core.media import MediaFile
    from remedia_tray.pipeline.fullsize_check import _Photo

    dng = write_dng(tmp_path / "a.dng", rgb, preview=512)
    info = load_image(dng, min_side=SIDE).info
    photo = _Photo(MediaFile.from_stat(dng, dng.stat()), info, np.zeros((64, 64), np.uint8))
    assert photo.load(400).size == (600, 400)
    assert photo.load(100).size == (512, 341)


def test_damaged_raws_are_skipped_with_a_reason(tmp_path: Path, rgb: np.ndarray) -> None:
    data = write_dng(tmp_path / "whole.dng", rgb, preview=512).read_bytes()
    cut = tmp_path / "cut.dng"
    cut.write_bytes(data[: len(data) // 2])
    assert _reason(cut) == "damaged: corrupt or truncated image data (the file ends too early)"
    header_only = tmp_path / "header.dng"
    header_only.write_bytes(data[:300])
    assert _reason(header_only).startswith(
        "damaged: corrupt or truncated image data (LibRaw: input/output error"
    )
    rng = np.random.default_rng(0)
    for name, head in [("x.dng", b""), ("x.CR3", b"\0\0\0\x18ftypcrx "), ("x.NEF", b"MM\0*")]:
        garbage = tmp_path / name
        garbage.write_bytes(head + rng.bytes(5000))
        kind = name.split(".")[1].upper()
        reason = _reason(garbage)
        assert reason == (
            f"damaged: not a readable {kind} file (LibRaw: unsupported file format or not raw file)"
        )
        assert "TIFF" not in reason


def test_header_sniffing(tmp_path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    def named(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    dng = write_dng(tmp_path / "real.dng", rgb[:64, :96]).read_bytes()
    # A DNG is told by its DNGVersion tag, whatever its name.
    assert raw_kind(named("real.dng", dng)) == "DNG"
    assert raw_kind(named("renamed.tif", dng)) == "DNG"
    # The headers the formats define (CR2's "CR" and version, CR3's ISO-BMFF brand, ...).
    headers = {
        "CR2": b"II*\x00\x10\x00\x00\x00CR\x02\x00\x00\x00\x00\x00",
        "CR3": b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom",
        "RAF": b"FUJIFILMCCD-RAW 0201FF383501",
        "ORF": b"IIRO\x08\x00\x00\x00",
        "RW2": b"IIU\x00\x18\x00\x00\x00",
    }
    for kind, head in headers.items():
        assert raw_kind(named("unnamed.bin", head + bytes(64))) == kind
    assert raw_kind(named("P1.orf", b"MMOR\x00\x00\x00\x08" + bytes(64))) == "ORF"
    assert raw_kind(named("P2.orf", b"IIRS\x08\x00\x00\x00" + bytes(64))) == "ORF"
    # A TIFF-based RAW without a header of its own is told by its suffix.
    tiff = tmp_path / "t.tif"
    Image.fromarray(rgb[:32, :32]).save(tiff)
    assert raw_kind(tiff) is None  # a TIFF stays a TIFF
    assert raw_kind(named("DSC_0001.NEF", tiff.read_bytes())) == "NEF"
    assert raw_kind(named("DSC_0001.arw", tiff.read_bytes())) == "ARW"
    # A picture of another kind named like a RAW is read as what it is.
    jpeg = tmp_path / "j.jpg"
    Image.fromarray(rgb[:32, :32]).save(jpeg)
    assert raw_kind(named("IMG_0001.DNG", jpeg.read_bytes())) is None
    assert load_image(tmp_path / "IMG_0001.DNG", min_side=16).info.format == "JPEG"
    # A TIFF header cut short is no RAW and no crash (found by the fault suite's random bytes).
    for cut in (b"II*\x00", b"MM\x00*\x00\x00", b"II*\x00\x08\x00\x00\x00"):
        assert raw_kind(named("cut.bin", cut)) is None
        assert raw_kind(named("cut.dng", cut)) == "DNG"  # by its name; reading it says why


def test_sort_reads_a_lone_dng_and_keeps_it_over_its_jpeg(tmp_path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    write_dng(folder / "IMG_0001.dng", rgb, preview=1024)
    Image.fromarray(rgb).save(folder / "holiday.jpg", quality=85)
    result = run_remedia("sort", str(folder), "--engine", "hash")
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "TIFF" not in out and "damaged" not in out
    assert "0 files skipped" in out
    assert (folder / "IMG_0001.dng").exists()
    moved = [p.relative_to(folder).as_posix() for p in folder.glob("duplicates/*/*.jpg")]
    assert moved == ["duplicates/IMG_0001/holiday.jpg"]
    assert "camera RAW (DNG" in out
    assert os.listdir(folder / "duplicates" / "IMG_0001")
