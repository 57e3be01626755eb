"""Small JPEG previews for the review page, named by file identity, made from a decoded image.

The scan makes them from the image it has already decoded (so the review page costs no second
decode); the review page makes the ones still missing. One home for the name and the look.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomicfile import replacing

if TYPE_CHECKING:
    from PIL import Image

#: Longest side of a preview in pixels: sharp on a 2x screen at the page's ~170 px tiles.
THUMB_SIDE = 320
QUALITY = 80
# Part of every name: bump it when the look of a preview changes, so old ones are not reused.
VERSION = "t1"


def thumb_name(st: os.stat_result, *, side: int = THUMB_SIDE) -> str:
    """The preview's file name, from what identifies the file's content on disk.

    Size, modification time and inode survive a rename or a move within one filesystem, so a
    photo moved into duplicates/ keeps its preview; any edit changes size or mtime.
    """
    ident = f"{VERSION}|{side}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
    return hashlib.sha1(ident.encode()).hexdigest()[:24] + ".jpg"


def save_preview(image: Image.Image, dst: Path, *, side: int = THUMB_SIDE) -> None:
    """Write a preview of a decoded (oriented, RGB) image to `dst` atomically.

    Shrinks `image` in place: call it last.
    """
    from PIL import Image as PILImage

    # Bilinear after Pillow's box pre-reduction: a third cheaper than bicubic, same look at
    # this size (resizing is the largest cost for small photos).
    image.thumbnail((side, side), PILImage.Resampling.BILINEAR)
    with replacing(dst, private=False) as tmp:
        image.convert("RGB").save(tmp, "JPEG", quality=QUALITY)


def preview_from_scan(image: Image.Image, photo: Path, folder: Path) -> None:
    """The preview of `photo` in `folder`, from the scan's decoded image, unless it exists.

    Shrinks `image` in place: call it after every engine has prepared its features.
    """
    dst = folder / thumb_name(os.stat(photo))
    if not dst.exists():
        folder.mkdir(parents=True, exist_ok=True)
        save_preview(image, dst)


def share_preview(decoded: Path, twin: Path, folder: Path) -> None:
    """Give `twin` (the same bytes as `decoded`) the preview the scan made of `decoded`."""
    try:
        src = folder / thumb_name(os.stat(decoded))
        dst = folder / thumb_name(os.stat(twin))
        if src.exists() and not dst.exists():
            os.link(src, dst)  # same folder, same filesystem: no second copy on disk
    except OSError:
        pass  # the review page makes it from the file instead
