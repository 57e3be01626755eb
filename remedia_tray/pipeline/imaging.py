"""Opening images by content: fast reduced decode, EXIF orientation, clear skip reasons."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from ..core.media import ImageInfo
from ..errors import UnreadableImage

log = logging.getLogger(__name__)

# Beyond this many pixels a file is treated as a decompression bomb and skipped.
MAX_PIXELS = 250_000_000

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
    image: Image.Image  # RGB, EXIF orientation applied, reduced for speed
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


def _formats() -> list[str]:
    Image.init()
    return [f for f in Image.ID if f not in _NOT_OPENED]


def load_image(path: Path, *, min_side: int) -> LoadedImage:
    """Decode `path` at no less than about `min_side` pixels on its short side.

    Raises UnreadableImage with a reason a user can act on.
    """
    heif_supported()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableImage(f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise UnreadableImage("empty file (0 bytes)")
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
        if kind is not None:
            raise UnreadableImage(f"damaged {kind} file (its header cannot be read)") from None
        raise UnreadableImage("not an image (unrecognised content)") from None
    except Image.DecompressionBombError as exc:
        raise UnreadableImage(f"image too large, possible decompression bomb ({exc})") from None
    except PermissionError:
        raise UnreadableImage("permission denied") from None
    except OSError as exc:
        if exc.errno is None:  # raised by the image decoder, not by the operating system
            raise UnreadableImage(f"corrupt or truncated image data ({exc})") from None
        raise UnreadableImage(f"cannot open: {exc.strerror or exc}") from None
    try:
        return _decode(im, min_side)
    finally:
        im.close()


def _decode(im: Image.Image, min_side: int) -> LoadedImage:
    width, height = im.size
    fmt = im.format or "unknown"
    if width * height > MAX_PIXELS:
        raise UnreadableImage(
            f"image too large ({width}x{height} px, over {MAX_PIXELS // 1_000_000} MP), "
            "skipped as a possible decompression bomb"
        )
    if width < 1 or height < 1:
        raise UnreadableImage("image has no pixels")
    try:
        exif = im.getexif()
        sub_ifd = exif.get_ifd(0x8769)
        exif_fields = len(exif) + len(sub_ifd)
        orientation = int(exif.get(0x0112, 1))
        camera = _camera(exif, sub_ifd)
    except Exception:  # malformed EXIF must not cost the photo
        exif_fields, orientation, camera = 0, 1, ""
    if orientation in (5, 6, 7, 8):
        # Report displayed dimensions so a rotated copy compares equal to its original.
        width, height = height, width
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fmt == "JPEG":
                # DCT scaling: decode at 1/2..1/8 size, the main speed-up for large photos.
                im.draft("RGB", (min_side * 2, min_side * 2))
            im.seek(0)  # first frame of animations
            im.load()
            work = ImageOps.exif_transpose(im)
            work = _to_rgb(work)
    except Image.DecompressionBombError as exc:
        raise UnreadableImage(f"image too large, possible decompression bomb ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise UnreadableImage(f"corrupt or truncated image data ({exc})") from None
    except MemoryError:
        raise UnreadableImage("not enough memory to decode this image") from None
    return LoadedImage(work, ImageInfo(width, height, fmt, exif_fields, camera))


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
