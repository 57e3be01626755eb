"""Reading images by content, with clear reasons for everything that cannot be read."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from remedia_tray.errors import UnreadableImage
from remedia_tray.pipeline.imaging import load_image

from .conftest import photo


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares a huge size: opening it must not try to allocate it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 10))
    )
    return path


@pytest.mark.parametrize(
    "fmt,ext", [("PNG", "png"), ("WEBP", "webp"), ("BMP", "bmp"), ("TIFF", "tif")]
)
def test_common_formats_decode(tmp_path: Path, fmt: str, ext: str) -> None:
    with Image.open(photo("coffee")) as im:
        im.convert("RGB").save(tmp_path / f"x.{ext}", fmt)
    loaded = load_image(tmp_path / f"x.{ext}", min_side=64)
    assert loaded.image.mode == "RGB"
    assert loaded.info.format == fmt
    assert loaded.info.pixels == 480 * 320


def test_heic_decodes(tmp_path: Path) -> None:
    from remedia_tray.pipeline.imaging import heif_supported

    assert heif_supported()
    with Image.open(photo("cat")) as im:
        im.convert("RGB").save(tmp_path / "cat.heic", "HEIF")
    loaded = load_image(tmp_path / "cat.heic", min_side=64)
    assert loaded.info.format == "HEIF"


def test_gif_uses_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue")]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    loaded = load_image(tmp_path / "a.gif", min_side=16)
    r, _g, b = loaded.image.getpixel((5, 5))  # type: ignore[misc]
    assert r > 200 and b < 50


def test_content_not_extension(tmp_path: Path) -> None:
    (tmp_path / "really_a_png.jpg").write_bytes(b"")
    with Image.open(photo("coffee")) as im:
        im.save(tmp_path / "really_a_png.jpg", "PNG")
    assert load_image(tmp_path / "really_a_png.jpg", min_side=32).info.format == "PNG"


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    with Image.open(photo("sunset")) as im:
        rotated = im.transpose(Image.Transpose.ROTATE_90)  # pixels stored sideways
        exif = Image.Exif()
        exif[0x0112] = 6  # viewer rotates 90 degrees clockwise to display
        rotated.save(tmp_path / "r.jpg", exif=exif)
        upright_size = im.size
    loaded = load_image(tmp_path / "r.jpg", min_side=64)
    assert (loaded.info.width, loaded.info.height) == upright_size
    assert loaded.image.width > loaded.image.height


def test_alpha_is_flattened_on_white(tmp_path: Path) -> None:
    im = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    im.save(tmp_path / "clear.png")
    loaded = load_image(tmp_path / "clear.png", min_side=8)
    assert loaded.image.getpixel((3, 3)) == (255, 255, 255)


@pytest.mark.parametrize(
    "content,reason",
    [
        (b"", "empty file"),
        (b"hello, not a picture", "not an image"),
    ],
)
def test_bad_files_have_reasons(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "bad.jpg").write_bytes(content)
    with pytest.raises(UnreadableImage, match=reason):
        load_image(tmp_path / "bad.jpg", min_side=32)


def test_truncated_jpeg_is_reported(tmp_path: Path) -> None:
    data = photo("peaks").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(UnreadableImage, match=r"truncated|corrupt"):
        load_image(tmp_path / "cut.jpg", min_side=32)


def test_decompression_bomb_is_skipped(tmp_path: Path) -> None:
    _png_header_only(tmp_path / "bomb.png", 40_000, 40_000)
    with pytest.raises(UnreadableImage, match="decompression bomb"):
        load_image(tmp_path / "bomb.png", min_side=32)


def test_sixteen_bit_grey(tmp_path: Path) -> None:
    import numpy as np

    arr = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    Image.fromarray(arr).save(tmp_path / "deep.png")
    loaded = load_image(tmp_path / "deep.png", min_side=16)
    values = loaded.image.convert("L").getextrema()
    assert values[1] - values[0] > 200  # scaled, not clipped to white


# --- JPEG: the strict decoder gives what Pillow's reduced decode gave -------------------------


def _pillow_reduced(path: Path, min_side: int) -> Image.Image:
    """The reference: Pillow's DCT-scaled decode with EXIF orientation applied."""
    from PIL import ImageOps

    with Image.open(path) as im:
        im.draft("RGB", (min_side * 2, min_side * 2))
        im.load()
        return ImageOps.exif_transpose(im).convert("RGB")


def _same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_rotated_jpeg_is_decoded_as_pillow_does(tmp_path: Path, orientation: int) -> None:
    with Image.open(photo("sunset")) as im:
        stored = im.convert("RGB").resize((1600, 1000))  # scaled by 1/4 at min_side=128
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(tmp_path / "r.jpg", quality=90, exif=exif)
    loaded = load_image(tmp_path / "r.jpg", min_side=128)
    reference = _pillow_reduced(tmp_path / "r.jpg", 128)
    assert loaded.image.size == reference.size
    assert _same_pixels(loaded.image, reference)
    upright = (1000, 1600) if orientation >= 5 else (1600, 1000)
    assert (loaded.info.width, loaded.info.height) == upright


@pytest.mark.parametrize(
    "size,min_side",
    [
        ((4000, 3000), 128),
        ((1999, 1333), 128),
        ((257, 129), 32),
        ((300, 200), 128),
        ((7, 5), 1),
        ((1, 1), 64),
        ((3000, 12), 64),
    ],
)
def test_reduced_jpeg_size_is_pillows(tmp_path: Path, size: tuple[int, int], min_side: int) -> None:
    with Image.open(photo("peaks")) as im:
        im.convert("RGB").resize(size).save(tmp_path / "p.jpg", quality=90)
    loaded = load_image(tmp_path / "p.jpg", min_side=min_side)
    assert _same_pixels(loaded.image, _pillow_reduced(tmp_path / "p.jpg", min_side))


@pytest.mark.parametrize("mode", ["CMYK", "L"])
def test_cmyk_and_grey_jpegs_are_decoded_as_pillow_does(tmp_path: Path, mode: str) -> None:
    with Image.open(photo("life")) as im:
        im.convert(mode).save(tmp_path / "c.jpg", quality=90)
    loaded = load_image(tmp_path / "c.jpg", min_side=64)
    assert loaded.image.mode == "RGB"
    assert _same_pixels(loaded.image, _pillow_reduced(tmp_path / "c.jpg", 64))


# 24x16, chroma sampled 2x2/1x2/1x1: a valid layout libjpeg decodes but TurboJPEG (simplejpeg)
# refuses. Made with `cjpeg -sample 2x2,1x2,1x1 -quality 75 -optimize` from coffee.jpg, as Pillow
# cannot write such a file.
_ODD_SAMPLING_JPEG = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIs"
    "IxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIy"
    "MjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAAQABgDASIAAhIBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAA"
    "BgAH/8QAJxAAAQQABgEDBQAAAAAAAAAAAQIDBBEABRITIUExBlFhMkNScZH/xAAYAQACAwAAAAAAAAAAAAAAAAAB"
    "BAMFBv/EABwRAAIDAAMBAAAAAAAAAAAAAAECAAMREiEx4f/aAAwDAQACEQMRAD8AM5RlUDI5kVMpKjrWnedUKUEX"
    "zQ6Hn5xokYq06ZuWQ0ZafuIIG2j8goCvm7/uA3rqHNhMsSVEoivI0B+jSF34Uegej7g4EQpboefXIC0RlNnaG7SW"
    "18Urk89/vFE9pLciN2NUqAuzQM1YUBB8ms5bMjqfD7LpEeyU6vqq+8WCeWOrfipdSFBi7TfGoe+LCi+QMMOSWxFZ"
    "tU9T/9k="
)


def test_jpeg_the_strict_decoder_cannot_read_is_read_by_pillow(tmp_path: Path) -> None:
    import base64

    import simplejpeg

    data = base64.b64decode(_ODD_SAMPLING_JPEG)
    with pytest.raises(ValueError, match="subsampling"):
        simplejpeg.decode_jpeg(data, strict=True)
    (tmp_path / "odd.jpg").write_bytes(data)
    loaded = load_image(tmp_path / "odd.jpg", min_side=8)
    assert loaded.info.format == "JPEG"
    assert _same_pixels(loaded.image, _pillow_reduced(tmp_path / "odd.jpg", 8))


def test_nothing_decodes_truncated_images_leniently() -> None:
    """The keeper must never come from a decode that papered over missing data."""
    from PIL import ImageFile

    import remedia_tray
    from remedia_tray import sorter  # noqa: F401  (imports the whole scan pipeline)

    package = Path(remedia_tray.__file__).parent
    assert not [p for p in package.rglob("*.py") if "LOAD_TRUNCATED_IMAGES" in p.read_text()]
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
