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


# --- bounded decoding: a stated pixel bound per format ----------------------------------------


def _jpeg_claiming(path: Path, width: int, height: int, *, progressive: bool = False) -> Path:
    """A small real JPEG whose frame header claims another size."""
    import io

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "grey").save(buf, "JPEG", progressive=progressive)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc2" if progressive else b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def test_each_format_has_a_stated_pixel_bound() -> None:
    from remedia_tray.pipeline.imaging import FULL_DECODE_PIXELS, MAX_PIXELS, pixel_bound

    assert (FULL_DECODE_PIXELS, MAX_PIXELS) == (50_000_000, 250_000_000)
    assert pixel_bound("JPEG") == MAX_PIXELS  # decoded at 1/2 to 1/8 size
    for fmt in ("PNG", "TIFF", "WEBP", "GIF", "BMP", "HEIF", "AVIF", "MPO"):
        assert pixel_bound(fmt) == FULL_DECODE_PIXELS
    assert pixel_bound("JPEG", progressive=True) == FULL_DECODE_PIXELS  # holds every coefficient


@pytest.mark.parametrize(
    "make,reason",
    [
        (
            lambda p: _png_header_only(p, 13000, 13000),
            "image too large to read in full (13000x13000 px, 169 MP; the limit for PNG is 50 MP)",
        ),
        (
            lambda p: _png_header_only(p, 7072, 7072),
            "image too large to read in full (7072x7072 px, 50.0 MP; the limit for PNG is 50 MP)",
        ),
        (
            lambda p: _jpeg_claiming(p, 9000, 6000, progressive=True),  # 54 MP
            "image too large to read in full (9000x6000 px, 54 MP; the limit for progressive "
            "JPEG is 50 MP)",
        ),
        (
            lambda p: _jpeg_claiming(p, 65000, 1300),
            "image too large to read (65000x1300 px, still 84.5 MP at the smallest size this "
            "JPEG decodes at; the limit is 50 MP)",
        ),
        (
            lambda p: _png_header_only(p, 16000, 16000),
            "image too large (16000x16000 px, over 250 MP), skipped as a possible decompression "
            "bomb",
        ),
    ],
)
def test_a_file_over_its_bound_is_skipped_naming_it(
    tmp_path: Path, make: object, reason: str
) -> None:
    path = make(tmp_path / "large")  # type: ignore[operator]
    with pytest.raises(UnreadableImage) as info:
        load_image(path, min_side=600)  # the full-size check's sizes: no JPEG reduction here
    assert str(info.value) == reason


def test_a_baseline_jpeg_over_pillows_own_limit_is_read(tmp_path: Path) -> None:
    """16000 x 12000 (192 MP) is under MAX_PIXELS: it is decoded (here: found damaged, as the
    file only claims the size), not refused before anyone looked (Pillow's limit is 179 MP)."""
    path = _jpeg_claiming(tmp_path / "claims.jpg", 16000, 12000)
    with pytest.raises(UnreadableImage, match=r"^damaged"):
        load_image(path, min_side=64)


@pytest.mark.parametrize("mode", ["RGBA", "P", "I;16", "RGB"])
def test_large_pictures_decoded_in_full_are_reduced_as_jpegs_are(tmp_path: Path, mode: str) -> None:
    """Over 4 MP, a picture decoded in full is reduced right away (band by band, so it is never
    converted at full size), to the size Pillow's draft gives a JPEG; the pixels are those of
    converting first and reducing after."""
    rng = np.random.default_rng(5)
    small = Image.fromarray(rng.integers(0, 255, (40, 60, 4), dtype=np.uint8), "RGBA")
    big = small.resize((2600, 1700), Image.Resampling.BILINEAR)
    if mode == "P":
        big = big.convert("RGB").convert("P")
        big.info["transparency"] = 3
    elif mode == "I;16":
        grey = np.asarray(big.convert("L"), dtype=np.uint16) * 257
        big = Image.fromarray(grey)
    elif mode == "RGB":
        big = big.convert("RGB")
    big.save(tmp_path / "big.png", transparency=3) if mode == "P" else big.save(
        tmp_path / "big.png"
    )
    loaded = load_image(tmp_path / "big.png", min_side=128)
    with Image.open(tmp_path / "big.png") as im:
        im.load()
        full = _flattened(im)
    assert loaded.image.size == (650, 425)  # 1/4, as a 2600 x 1700 JPEG's draft for 256 px
    assert loaded.info.width == 2600 and loaded.info.height == 1700
    assert _same_pixels(loaded.image, full.reduce(4))


def _flattened(im: Image.Image) -> Image.Image:
    """The picture in RGB as a viewer shows it (alpha on white, 16 bits scaled to 8)."""
    if im.mode in ("RGBA", "P"):
        rgba = im.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", im.size, "white"), rgba).convert("RGB")
    if im.mode.startswith("I"):
        return im.point(lambda v: v / 256).convert("L").convert("RGB")
    return im.convert("RGB")
