"""Opening images by content: fast reduced decode, EXIF orientation, clear skip reasons."""

from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..core.media import ImageInfo
from ..errors import UnreadableImage
from .raw import RawRead, raw_kind, read_raw

log = logging.getLogger(__name__)

#: The most pixels a decode may hold at full size: about 200 MB at Pillow's 4 bytes a pixel,
#: so two decoding workers and the main process stay under 700 MB. Formats that cannot decode
#: at a reduced size (PNG, TIFF, WebP, GIF, BMP, HEIC/HEIF, AVIF, progressive JPEG, ...) are
#: read up to this many pixels; larger files are skipped with a reason.
FULL_DECODE_PIXELS = 50_000_000
#: Baseline JPEGs decode at 1/2 to 1/8 of their size (DCT scaling): one may have this many
#: pixels, as long as its reduced decode stays within FULL_DECODE_PIXELS. Any file over it is
#: skipped as a possible decompression bomb (Pillow's own guard refuses twice as many).
MAX_PIXELS = 250_000_000
#: A picture over this many pixels that was decoded in full is reduced at once, band by band,
#: to the size a JPEG's reduced decode would have: converting it never holds a second copy.
_REDUCE_ABOVE = 4_000_000

_heif_state: bool | None = None


def heif_supported() -> bool:
    """Register pillow-heif once; False when it is not installed."""
    global _heif_state
    if _heif_state is None:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_state = True
        except Exception as exc:  # a broken optional plugin must not break JPEG sorting
            log.info("HEIC/HEIF support unavailable: %s", exc)
            _heif_state = False
    return _heif_state


@dataclass(frozen=True)
class LoadedImage:
    image: Image.Image  # RGB (load_grey: L), EXIF orientation applied, reduced for speed
    info: ImageInfo


# Pillow's EPS reader runs Ghostscript, an external interpreter, on the file: never on a
# user's folder of downloads. Every other format Pillow reads is decoded in-process.
_NOT_OPENED = frozenset({"EPS"})

_SIGNATURES = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (8, b"WEBP", "WebP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"BM", "BMP"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis", b"hevc", b"hevx")


def _signature(path: Path) -> str | None:
    """The image format the first bytes announce (whatever follows them), or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    if head[4:8] == b"ftyp":
        if head[8:12] in _HEIF_BRANDS:
            return "HEIF"
        if head[8:12] in (b"avif", b"avis"):
            return "AVIF"
    for offset, magic, name in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


def pixel_bound(fmt: str, *, progressive: bool = False) -> int:
    """The most pixels a file of format `fmt` (Pillow's name) may have to be read."""
    return MAX_PIXELS if fmt == "JPEG" and not progressive else FULL_DECODE_PIXELS


def _formats() -> list[str]:
    Image.init()
    return [f for f in Image.ID if f not in _NOT_OPENED]


def load_image(path: Path, *, min_side: int) -> LoadedImage:
    """Decode `path` at no less than about `min_side` pixels on its short side.

    Raises UnreadableImage with a reason a user can act on. Pixels that do not decode cleanly
    give a reason starting "damaged: "; malformed metadata only costs the metadata.
    """
    heif_supported()
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # else Pillow refuses JPEGs over 179 MP before we look
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableImage(f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise UnreadableImage("empty file (0 bytes)")
    kind = raw_kind(path)
    if kind is not None:  # TIFF-based RAWs must never reach Pillow's TIFF reader
        return _load_raw(path, kind, min_side)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path, formats=_formats())
    except (UnidentifiedImageError, SyntaxError):
        kind = _signature(path)
        if kind == "HEIF" and not heif_supported():
            raise UnreadableImage(
                "HEIC/HEIF image but HEIF support (pillow-heif) is missing"
            ) from None
        if kind == "PNG":
            damage = _png_damage(path)  # a checksum error in the header chunk, say which
            if damage is not None:
                raise UnreadableImage(damage) from None
        if kind is not None:
            raise UnreadableImage(f"damaged {kind} file (its header cannot be read)") from None
        raise UnreadableImage("not an image (unrecognised content)") from None
    except Image.DecompressionBombError:
        raise UnreadableImage(_bomb()) from None
    except PermissionError:
        raise UnreadableImage("permission denied") from None
    except OSError as exc:
        if exc.errno is None:  # raised by the image decoder, not by the operating system
            raise UnreadableImage(f"{_BAD_DATA} ({_detail(exc)})") from None
        raise UnreadableImage(f"cannot open: {exc.strerror or exc}") from None
    try:
        return _decode(im, path, min_side)
    finally:
        im.close()


def load_grey(path: Path, *, min_side: int) -> LoadedImage:
    """The grey levels ("L") of `path`, upright, at no less than about `min_side` px on the
    short side. A JPEG decodes without its colour (no chroma upsampling or conversion) at the
    smallest of libjpeg-turbo's n/8 scales that keeps `min_side`: 3/8 of a 12 MP photo for
    1,000 px, where load_image's draft rule takes 1/2. Other files, and JPEGs this does not
    read, go through load_image (and its reason when they cannot be read).
    """
    grey = _grey_jpeg(path, min_side)
    if grey is not None:
        return grey
    loaded = load_image(path, min_side=-(-min_side // 2))
    return LoadedImage(loaded.image.convert("L"), loaded.info)


def _grey_jpeg(path: Path, min_side: int) -> LoadedImage | None:
    """A JPEG's luma decoded strictly by libjpeg-turbo; None to leave it to load_image."""
    import simplejpeg

    if _signature(path) != "JPEG" or raw_kind(path) is not None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below
            with Image.open(path, formats=["JPEG"]) as im:  # reads the header only
                width, height = im.size
                if im.mode == "CMYK":
                    return None
                progressive = bool(im.info.get("progressive"))
                _check_size(width, height, "JPEG", progressive, -(-min_side // 2))
                exif_fields, orientation, camera = _metadata(im)
                fmt = im.format or "JPEG"
        array = simplejpeg.decode_jpeg(
            path.read_bytes(),
            colorspace="GRAY",
            min_width=min(min_side, width),
            min_height=min(min_side, height),
            strict=True,
        )
    except (OSError, SyntaxError, ValueError, UnreadableImage, Image.DecompressionBombError):
        return None  # damaged, unusual or too large: load_image decodes it or says why not
    pixels = Image.fromarray(array.reshape(array.shape[:2]))
    method = _UPRIGHT.get(orientation)
    if method is not None:
        pixels = pixels.transpose(method)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return LoadedImage(pixels, ImageInfo(width, height, fmt, exif_fields, camera))


#: The reason for pixel data that stops early or does not decode.
_BAD_DATA = "damaged: corrupt or truncated image data"

#: Orientation tag -> the transpose that displays the picture upright (ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _decode(im: Image.Image, path: Path, min_side: int) -> LoadedImage:
    width, height = im.size
    fmt = im.format or "unknown"
    if width < 1 or height < 1:
        raise UnreadableImage("image has no pixels")
    _check_size(width, height, fmt, bool(im.info.get("progressive")), min_side)
    # Pixels first, metadata second: reading a PNG's EXIF can decode the whole image, and a
    # decode error there must not pass for malformed EXIF.
    pixels = _pixels(im, path, fmt, min_side)
    exif_fields, orientation, camera = _metadata(im)
    if orientation in (5, 6, 7, 8):
        # Report displayed dimensions so a rotated copy compares equal to its original.
        width, height = height, width
    try:
        method = _UPRIGHT.get(orientation)
        if method is not None:
            pixels = pixels.transpose(method)
        elif pixels is im:
            pixels = im.copy()  # `im` is closed when this returns
        work = _to_rgb(pixels)
    except MemoryError:
        raise UnreadableImage("not enough memory to decode this image") from None
    return LoadedImage(work, ImageInfo(width, height, fmt, exif_fields, camera))


def _check_size(width: int, height: int, fmt: str, progressive: bool, min_side: int) -> None:
    """UnreadableImage, naming the bound, for a file too large to decode safely."""
    pixels = width * height
    if pixels > MAX_PIXELS:
        raise UnreadableImage(_bomb(f"{width}x{height} px, "))
    bound = pixel_bound(fmt, progressive=progressive)
    if pixels > bound:
        kind = "progressive JPEG" if fmt == "JPEG" else fmt
        raise UnreadableImage(
            f"image too large to read in full ({width}x{height} px, {_megapixels(pixels)}; "
            f"the limit for {kind} is {_megapixels(bound)})"
        )
    if fmt == "JPEG":
        reduced_width, reduced_height = _reduced_size(
            width, height, _scale(width, height, min_side)
        )
        decoded = reduced_width * reduced_height
        if decoded > FULL_DECODE_PIXELS:
            raise UnreadableImage(
                f"image too large to read ({width}x{height} px, still {_megapixels(decoded)} at "
                f"the smallest size this JPEG decodes at; the limit is "
                f"{_megapixels(FULL_DECODE_PIXELS)})"
            )


def _bomb(size: str = "") -> str:
    return (
        f"image too large ({size}over {_megapixels(MAX_PIXELS)}), "
        "skipped as a possible decompression bomb"
    )


def _megapixels(pixels: int) -> str:
    mp = pixels / 1_000_000
    return f"{mp:.0f} MP" if mp >= 100 or mp == int(mp) else f"{mp:.1f} MP"


def _scale(width: int, height: int, min_side: int) -> int:
    """Pillow's draft rule: the largest of 1/8, 1/4, 1/2 keeping both sides at the draft size."""
    fit = min(width // _draft_side(min_side), height // _draft_side(min_side))
    return next((s for s in (8, 4, 2) if fit >= s), 1)


def _reduced_size(width: int, height: int, scale: int) -> tuple[int, int]:
    """A picture's size decoded at 1/`scale` (sides rounded up, as libjpeg does)."""
    return -(-width // scale), -(-height // scale)


def _reduced(im: Image.Image, min_side: int) -> Image.Image:
    """A large picture decoded in full, in RGB at the size a JPEG's reduced decode would have
    (`im` itself when small); converted band by band, so no second full-size copy is made."""
    width, height = im.size
    scale = _scale(width, height, min_side)
    if scale == 1 or width * height <= _REDUCE_ABOVE:
        return im
    out = Image.new("RGB", _reduced_size(width, height, scale))
    # Bands of about a megapixel, a multiple of the scale high: the same pixels as reducing
    # the whole picture.
    rows = max(1, 1_000_000 // (width * scale)) * scale
    for top in range(0, height, rows):
        band = im.crop((0, top, width, min(height, top + rows)))
        out.paste(_to_rgb(band).reduce(scale), (0, top // scale))
    return out


def _pixels(im: Image.Image, path: Path, fmt: str, min_side: int) -> Image.Image:
    """The decoded pixels (reduced for JPEG, and for other large pictures once decoded), or
    UnreadableImage "damaged: ..." when they do not decode cleanly."""
    if fmt == "PNG":
        damage = _png_damage(path)
        if damage is not None:
            raise UnreadableImage(damage)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fmt == "JPEG":
                strict = _jpeg_pixels(im, path, min_side)
                if strict is not None:
                    return strict
                # DCT scaling: decode at 1/2..1/8 size, the main speed-up for large photos.
                im.draft("RGB", (_draft_side(min_side),) * 2)
            im.seek(0)  # first frame of animations
            im.load()
            return im if fmt == "JPEG" else _reduced(im, min_side)
    except Image.DecompressionBombError:
        raise UnreadableImage(_bomb()) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise UnreadableImage(f"{_BAD_DATA} ({_detail(exc)})") from None
    except MemoryError:
        raise UnreadableImage("not enough memory to decode this image") from None


def _metadata(im: Image.Image) -> tuple[int, int, str]:
    """EXIF field count, orientation and camera; nothing when the EXIF is malformed."""
    try:
        exif = im.getexif()
        sub_ifd = exif.get_ifd(0x8769)
        return len(exif) + len(sub_ifd), int(exif.get(0x0112, 1)), _camera(exif, sub_ifd)
    except Exception:  # malformed EXIF must not cost the photo
        return 0, 1, ""


def _draft_side(min_side: int) -> int:
    return max(1, min_side * 2)


#: What libjpeg says about JPEGs it cannot decode by design, not by damage: only these are
#: handed to Pillow (its decoder is not strict, so it must never see damaged data instead).
_JPEG_UNSUPPORTED = (
    "Could not determine subsampling level",  # unusual chroma layouts
    "Unsupported JPEG process",
    "Unsupported JPEG data precision",
    "Unsupported color conversion request",
    "arithmetic code support was not compiled in",
)


def _jpeg_pixels(im: Image.Image, path: Path, min_side: int) -> Image.Image | None:
    """A JPEG decoded by libjpeg-turbo in strict mode, at Pillow's draft size; None for the
    kinds it cannot decode (Pillow decodes those).

    Pillow's decoder hides libjpeg's "Corrupt JPEG data" warnings and returns the garbage;
    strict mode turns them into errors.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableImage(f"cannot read file: {exc.strerror or exc}") from exc
    return _strict_jpeg(data, im.size, min_side, cmyk=im.mode == "CMYK", name=path)


def _strict_jpeg(
    data: bytes, size: tuple[int, int], min_side: int, *, cmyk: bool, name: Path
) -> Image.Image | None:
    """JPEG bytes of `size` decoded strictly at Pillow's draft size (see _jpeg_pixels)."""
    import simplejpeg

    width, height = size
    scale = _scale(width, height, min_side)
    min_width, min_height = _reduced_size(width, height, scale)
    try:
        # simplejpeg takes the smallest libjpeg factor (n/8) that keeps both minimum sides:
        # for Pillow's size exactly, that is 1/scale or one giving the same size. A minimum
        # factor over 8 forbids any reduction.
        array = simplejpeg.decode_jpeg(
            data,
            colorspace="CMYK" if cmyk else "RGB",
            min_width=min_width,
            min_height=min_height,
            min_factor=scale if scale > 1 else 9,
            strict=True,
        )
    except ValueError as exc:
        message = str(exc).split("): ", 1)[-1]  # without "tjDecompress2(): "
        if any(phrase in message for phrase in _JPEG_UNSUPPORTED):
            log.debug("%s: decoded by Pillow (%s)", name, message)
            return None
        raise UnreadableImage(_jpeg_reason(message)) from None
    except MemoryError:
        raise UnreadableImage("not enough memory to decode this image") from None
    if cmyk:
        # Pillow reads every CMYK JPEG as Adobe's inverted CMYK; the same here.
        shape = (array.shape[1], array.shape[0])
        return Image.frombytes("CMYK", shape, array.tobytes(), "raw", "CMYK;I")
    return Image.fromarray(array)


def _load_raw(path: Path, kind: str, min_side: int) -> LoadedImage:
    """A camera RAW through its embedded preview, or developed by LibRaw when it has none
    large enough (or a damaged one); its size is the sensor's, its format the RAW kind."""
    read = read_raw(path, kind, min_side=min_side)
    if read.width * read.height > MAX_PIXELS:
        raise UnreadableImage(_bomb(f"{read.width}x{read.height} px, "))
    pixels = _raw_preview(read, path, min_side) if read.preview is not None else None
    if pixels is None:
        if read.developed is None:
            read = read_raw(path, kind, min_side=min_side, preview=False)
        if read.developed is None:
            raise UnreadableImage(f"damaged: LibRaw did not develop this {kind} file")
        pixels = Image.fromarray(read.developed)
    try:
        work = _to_rgb(_reduced(pixels, min_side))
    except MemoryError:
        raise UnreadableImage("not enough memory to decode this image") from None
    return LoadedImage(
        work, ImageInfo(read.width, read.height, kind, read.exif_fields, read.camera)
    )


def _raw_preview(read: RawRead, path: Path, min_side: int) -> Image.Image | None:
    """The RAW's embedded preview, upright; None when it does not decode (LibRaw develops)."""
    preview = read.preview
    try:
        if isinstance(preview, bytes):
            with Image.open(io.BytesIO(preview), formats=["JPEG"]) as im:
                size, cmyk = im.size, im.mode == "CMYK"
            pixels = _strict_jpeg(preview, size, min_side, cmyk=cmyk, name=path)
        else:
            pixels = Image.fromarray(preview) if preview is not None else None
    except (UnreadableImage, OSError, SyntaxError, ValueError) as exc:
        log.info("%s: preview not used (%s); developing the RAW", path, exc)
        return None
    method = _UPRIGHT.get(read.orientation)
    return pixels.transpose(method) if pixels is not None and method is not None else pixels


def _jpeg_reason(message: str) -> str:
    if "Premature end of JPEG file" in message:
        return f"{_BAD_DATA} (the file ends too early)"
    detail = message.removeprefix("Corrupt JPEG data: ")
    return f"damaged: corrupt JPEG data ({_shorten(detail)})"


def _png_damage(path: Path) -> str | None:
    """Why the PNG's chunks are damaged (a CRC32 that does not match, a chunk cut short), or
    None. Pillow skips the checksum of image data (IDAT), so a flipped byte there can decode
    into garbage without an error."""
    try:
        with open(path, "rb") as fh:
            fh.seek(8)
            while True:
                head = fh.read(8)
                if not head:
                    return None  # no IEND, but no chunk cut short: the decoder decides
                if len(head) < 8:
                    return f"{_BAD_DATA} (the file ends too early)"
                length, kind = struct.unpack(">I4s", head)
                crc = zlib.crc32(kind)
                left = length
                while left:
                    block = fh.read(min(left, 1 << 20))
                    if not block:
                        return f"{_BAD_DATA} (the file ends too early)"
                    crc = zlib.crc32(block, crc)
                    left -= len(block)
                stored = fh.read(4)
                if len(stored) < 4:
                    return f"{_BAD_DATA} (the file ends too early)"
                if int.from_bytes(stored, "big") != crc:
                    name = kind.decode("latin-1") if kind.isalpha() else "a"
                    return f"damaged: PNG checksum error in {name} chunk"
                if kind == b"IEND":
                    return None
    except OSError as exc:
        raise UnreadableImage(f"cannot read file: {exc.strerror or exc}") from exc


def _detail(exc: BaseException) -> str:
    text = str(exc).strip()
    return _shorten(text.splitlines()[0] if text else type(exc).__name__)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _camera(exif: Image.Exif, sub_ifd: dict[int, object]) -> str:
    """ "Make Model, date taken" from a camera's EXIF; "" when there is none."""
    make = str(exif.get(0x010F, "")).strip("\x00 ")
    model = str(exif.get(0x0110, "")).strip("\x00 ")
    taken = str(sub_ifd.get(0x9003, "")).strip("\x00 ")
    if model.lower().startswith(make.lower()):
        make = ""  # "Canon" + "Canon EOS 80D"
    return ", ".join(x for x in (f"{make} {model}".strip(), taken) if x)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Flatten on white: the picture a viewer shows, not the hidden colour under alpha.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits instead of clipping.
        arr = im.point(lambda v: v / 256)
        return arr.convert("L").convert("RGB")
    if im.mode != "RGB":
        return im.convert("RGB")
    return im
