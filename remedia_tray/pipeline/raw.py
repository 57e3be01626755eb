"""Camera RAW files: recognised by header and suffix, read with LibRaw (rawpy).

A RAW is read through the preview its camera embedded where that preview is large enough (a
JPEG, decoded like any JPEG at a reduced size by `imaging`), else developed by LibRaw at half
size. Its reported size is the sensor's picture, not the preview's. TIFF-based RAWs (DNG, CR2,
NEF, ARW, ...) look like TIFF files and are never handed to Pillow's TIFF reader.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..core.mediasets import RAW_SUFFIXES
from ..errors import UnreadableImage

if TYPE_CHECKING:
    import numpy as np
    from rawpy import RawPy

log = logging.getLogger(__name__)

#: First bytes -> RAW kind, for the formats with a header of their own.
_HEADERS = (
    (0, b"FUJIFILMCCD-RAW", "RAF"),
    (0, b"IIRO", "ORF"),
    (0, b"IIRS", "ORF"),
    (0, b"MMOR", "ORF"),
    (0, b"IIU\x00", "RW2"),
    (4, b"ftypcrx ", "CR3"),
)
_TIFF = (b"II*\x00", b"MM\x00*")
#: Headers of the pictures Pillow reads: a file named .dng that holds one of these is that.
_NOT_RAW = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM")

_DNG_VERSION = 50706
_SUB_IFDS = 330
_EXIF_IFD = 34665
_MAKE, _MODEL, _ORIENTATION, _DATETIME, _TAKEN = 271, 272, 274, 306, 36867
#: (offsets, byte counts) tags of strips and tiles: where the picture data lies.
_DATA_TAGS = ((273, 279), (324, 325), (513, 514))
#: TIFF field types -> bytes per value.
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
#: LibRaw's `flip` -> the EXIF orientation that shows the picture upright.
_FLIP_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}


def raw_kind(path: Path) -> str | None:
    """The RAW kind ("DNG", "CR2", "CR3", "NEF", ...) of `path`, by its header first, then
    by its suffix; None for any other file (a JPEG named .dng is a JPEG)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
            tiff = _read_tiff(fh, head) if head[:4] in _TIFF else None
    except OSError:
        return None
    for offset, magic, kind in _HEADERS:
        if head[offset : offset + len(magic)] == magic:
            return kind
    if head[:4] in _TIFF and head[8:10] == b"CR":
        return "CR2"
    if tiff is not None and tiff.dng:
        return "DNG"
    suffix = path.suffix.lower()
    if suffix in RAW_SUFFIXES and not head.startswith(_NOT_RAW) and head[4:8] != b"ftyp":
        return suffix[1:].upper()
    return None


@dataclass(frozen=True)
class RawRead:
    """What LibRaw gave for one RAW file."""

    kind: str
    #: The sensor's picture as displayed (LibRaw's visible area, turned by the orientation).
    width: int
    height: int
    #: EXIF orientation of `preview` (LibRaw develops upright; its previews are not turned).
    orientation: int
    camera: str
    exif_fields: int
    #: The embedded preview: JPEG bytes or an RGB array; None when developed.
    preview: bytes | np.ndarray | None = None
    #: The picture LibRaw developed at half size (RGB, upright); None when the preview serves.
    developed: np.ndarray | None = None


def read_raw(path: Path, kind: str, *, min_side: int, preview: bool = True) -> RawRead:
    """Read `path` through its embedded preview when that has at least `min_side` pixels on
    its short side (and `preview` is True), else develop it with LibRaw at half size.

    Raises UnreadableImage "damaged: ..." with LibRaw's error in words.
    """
    import rawpy

    facts = _tiff_facts(path)
    if facts.truncated:  # LibRaw would read the missing part as black
        raise UnreadableImage(_ENDS_EARLY)
    try:
        with rawpy.imread(str(path)) as raw:
            sizes = raw.sizes
            width, height = sizes.width, sizes.height
            if sizes.crop_width and sizes.crop_height:  # the DNG's default crop
                width, height = min(width, sizes.crop_width), min(height, sizes.crop_height)
            orientation = _FLIP_ORIENTATION.get(sizes.flip, 1)
            if orientation >= 5:
                width, height = height, width
            if width < 1 or height < 1:
                raise UnreadableImage(f"damaged: the {kind} file holds no picture")
            camera, fields = facts.camera(None), facts.fields
            thumb = _thumb(raw, min_side) if preview else None
            if isinstance(thumb, bytes) and not fields:
                camera, fields = _preview_exif(thumb, camera)
            developed = None
            if thumb is None:
                developed = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
                # LibRaw's date (read once the data is unpacked: too slow for the preview).
                camera = camera if facts.taken else facts.camera(raw.other.timestamp)
    except rawpy.LibRawError as exc:
        raise UnreadableImage(_reason(exc, kind)) from None
    except MemoryError:
        raise UnreadableImage("not enough memory to decode this image") from None
    return RawRead(kind, width, height, orientation, camera, fields, thumb, developed)


_ENDS_EARLY = "damaged: corrupt or truncated image data (the file ends too early)"


def _reason(exc: Exception, kind: str) -> str:
    """LibRaw's error in words, as a skip reason."""
    import rawpy

    message = exc.args[0] if exc.args else ""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    text = text.strip().rstrip(".") or type(exc).__name__
    if isinstance(exc, rawpy.LibRawFileUnsupportedError):
        return f"damaged: not a readable {kind} file (LibRaw: {text.lower()})"
    if isinstance(exc, rawpy.LibRawIOError):
        return (
            f"damaged: corrupt or truncated image data (LibRaw: {text.lower()}; the file ends "
            "too early or cannot be read)"
        )
    if isinstance(exc, rawpy.LibRawUnsufficientMemoryError | rawpy.LibRawTooBigError):
        return f"image too large to read ({kind}; LibRaw: {text.lower()})"
    return f"damaged: {kind} data cannot be read (LibRaw: {text.lower()})"


def _thumb(raw: RawPy, min_side: int) -> bytes | np.ndarray | None:
    """The embedded preview when it is large enough, else None."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    except rawpy.LibRawError as exc:  # a broken preview: the RAW data may still be good
        log.debug("preview not read: %s", exc)
        return None
    data = thumb.data
    if isinstance(data, bytes):
        size = _jpeg_size(data)
        return data if size is not None and min(size) >= min_side else None
    return data if data.ndim == 3 and min(data.shape[:2]) >= min_side else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
            width, height = im.size
            return width, height
    except Exception:  # not a JPEG Pillow can read: LibRaw develops instead
        return None


def _preview_exif(jpeg: bytes, camera: str) -> tuple[str, int]:
    """Camera and EXIF field count from the preview's own EXIF (RAF, CR3 previews carry it)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as im:
            exif = im.getexif()
            sub = exif.get_ifd(_EXIF_IFD)
            make = str(exif.get(_MAKE, "")).strip("\x00 ")
            model = str(exif.get(_MODEL, "")).strip("\x00 ")
            taken = str(sub.get(_TAKEN, "")).strip("\x00 ")
            return _camera(make, model, taken) or camera, len(exif) + len(sub)
    except Exception:  # malformed EXIF costs the metadata only
        return camera, 0


def _camera(make: str, model: str, taken: str) -> str:
    if model.lower().startswith(make.lower()):
        make = ""  # "Canon" + "Canon EOS 80D"
    return ", ".join(x for x in (f"{make} {model}".strip(), taken) if x)


@dataclass(frozen=True)
class _TiffFacts:
    dng: bool = False
    fields: int = 0
    make: str = ""
    model: str = ""
    taken: str = ""
    #: Some picture data lies past the end of the file (told for DNG only, whose writers
    #: follow the TIFF rules; other makers' byte counts are not always exact).
    truncated: bool = False

    def camera(self, timestamp: dt.datetime | None) -> str:
        taken = self.taken
        if not taken and timestamp is not None and timestamp.year > 1970:
            taken = timestamp.strftime("%Y:%m:%d %H:%M:%S")
        return _camera(self.make, self.model, taken)


def _tiff_facts(path: Path) -> _TiffFacts:
    """What the TIFF structure of a TIFF-based RAW tells; nothing for other RAWs."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
            if head[:2] not in (b"II", b"MM") or head.startswith(b"FUJIFILM"):
                return _TiffFacts()
            return _read_tiff(fh, head) or _TiffFacts()
    except OSError:
        return _TiffFacts()


#: Bounds on a header walk: a damaged file must not send it round in circles.
_MAX_IFDS = 32
_MAX_ENTRIES = 4096


def _read_tiff(fh: BinaryIO, head: bytes) -> _TiffFacts | None:
    """Walk IFD0, its chain, its SubIFDs and the EXIF IFD; None when they cannot be read."""
    order = "<" if head[:2] == b"II" else ">"
    size = fh.seek(0, 2)
    if len(head) < 8:
        return None  # a TIFF header cut short: no IFD to read
    (first,) = struct.unpack(order + "I", head[4:8])
    todo, seen, counted = [first], set[int](), {first}  # IFD0 and the EXIF IFD hold the EXIF
    found: dict[int, str] = {}
    dng, fields, data_end = False, 0, 0
    try:
        while todo and len(seen) < _MAX_IFDS:
            offset = todo.pop(0)
            if offset in seen or not 8 <= offset < size:
                continue
            seen.add(offset)
            entries, link = _ifd(fh, order, offset)
            fields += len(entries) if offset in counted else 0
            dng = dng or _DNG_VERSION in entries
            for tag in (_MAKE, _MODEL, _DATETIME, _TAKEN):
                if tag in entries and tag not in found:
                    found[tag] = _ascii(fh, order, entries[tag])
            if _EXIF_IFD in entries:
                exif = _values(fh, order, entries[_EXIF_IFD])
                counted.update(exif)
                todo.extend(exif)
            if _SUB_IFDS in entries:
                todo.extend(_values(fh, order, entries[_SUB_IFDS]))
            for offsets, counts in _DATA_TAGS:
                if offsets in entries and counts in entries:
                    starts = _values(fh, order, entries[offsets])
                    lengths = _values(fh, order, entries[counts])
                    data_end = max([data_end, *(s + n for s, n in zip(starts, lengths))])
            todo.append(link)
    except (OSError, struct.error, ValueError):
        return None
    taken = found.get(_TAKEN) or found.get(_DATETIME, "")
    return _TiffFacts(
        dng, fields, found.get(_MAKE, ""), found.get(_MODEL, ""), taken, dng and data_end > size
    )


_Entry = tuple[int, int, bytes]  # type, count, the value field (4 bytes)


def _ifd(fh: BinaryIO, order: str, offset: int) -> tuple[dict[int, _Entry], int]:
    fh.seek(offset)
    (count,) = struct.unpack(order + "H", fh.read(2))
    if count > _MAX_ENTRIES:
        raise ValueError("not an IFD")
    block = fh.read(12 * count + 4)
    entries: dict[int, _Entry] = {}
    for k in range(count):
        tag, kind, n = struct.unpack_from(order + "HHI", block, 12 * k)
        entries[tag] = (kind, n, block[12 * k + 8 : 12 * k + 12])
    (link,) = struct.unpack_from(order + "I", block, 12 * count)
    return entries, link


def _raw_value(fh: BinaryIO, order: str, entry: _Entry, limit: int) -> bytes:
    kind, n, field = entry
    length = _TYPE_SIZE.get(kind, 1) * n
    if length <= 4:
        return field[:length]
    if length > limit:
        raise ValueError("value too long")
    fh.seek(struct.unpack(order + "I", field)[0])
    return fh.read(length)


def _values(fh: BinaryIO, order: str, entry: _Entry) -> list[int]:
    kind = entry[0]
    code = {3: "H", 4: "I", 13: "I"}.get(kind)
    if code is None:
        return []
    data = _raw_value(fh, order, entry, 1 << 20)
    return list(struct.unpack(f"{order}{len(data) // struct.calcsize(code)}{code}", data))


def _ascii(fh: BinaryIO, order: str, entry: _Entry) -> str:
    if entry[0] != 2:
        return ""
    data = _raw_value(fh, order, entry, 256)
    return data.split(b"\x00", 1)[0].decode("latin-1").strip()
