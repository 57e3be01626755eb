"""Real phone and camera files made at test time: HEIC, JPEG with camera EXIF, Live Photo
videos (MOV and MP4, encoded with PyAV from a real photo with a slow pan), a long video, and
the sidecars (Apple AAE, XMP with a rating, Google Takeout JSON).

    folder = phone_backup(tmp / "DCIM", [photo("cat"), photo("peaks"), photo("ridge")])

PyAV and pillow-heif are test dependencies; nothing here is used by the program.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from PIL import Image

# EXIF tags: Make, Model, DateTime in IFD0; DateTimeOriginal in the Exif IFD.
_MAKE, _MODEL, _DATETIME, _EXIF_IFD, _TAKEN = 0x010F, 0x0110, 0x0132, 0x8769, 0x9003


def _rgb(src: Path, side: int) -> Image.Image:
    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((side, side))
        return im


def camera_exif(
    *, make: str = "Apple", model: str = "iPhone 13", taken: str = "2023:06:01 10:00:00"
) -> Image.Exif:
    exif = Image.Exif()
    exif[_MAKE], exif[_MODEL], exif[_DATETIME] = make, model, taken
    exif.get_ifd(_EXIF_IFD)[_TAKEN] = taken
    return exif


def jpeg(src: Path, dst: Path, *, side: int = 1024, quality: int = 90, **camera: str) -> Path:
    """A JPEG of `src` with a camera's EXIF (make, model, date taken)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    _rgb(src, side).save(dst, "JPEG", quality=quality, exif=camera_exif(**camera))
    return dst


def heic(src: Path, dst: Path, *, side: int = 1024, quality: int = 80, **camera: str) -> Path:
    """A HEIC of `src` (pillow-heif), with a camera's EXIF."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    dst.parent.mkdir(parents=True, exist_ok=True)
    _rgb(src, side).save(dst, "HEIF", quality=quality, exif=camera_exif(**camera).tobytes())
    return dst


def video(src: Path, dst: Path, *, seconds: float = 2.5, fps: int = 15, side: int = 480) -> Path:
    """A short video of `src` with a slow pan (H.264; MPEG-4 Part 2 where the PyAV wheel
    lacks libx264), in a QuickTime container for `.mov` and MP4 for `.mp4`."""
    import av
    import numpy as np

    still = _rgb(src, side * 2)
    w, h = min(side, still.width) // 2 * 2, min(side * 3 // 4, still.height) // 2 * 2
    frames = max(2, round(seconds * fps))
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    dst.parent.mkdir(parents=True, exist_ok=True)
    fmt = "mov" if dst.suffix.lower() == ".mov" else "mp4"
    with av.open(str(dst), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        pixels = np.asarray(still)
        span_x, span_y = still.width - w, still.height - h
        for k in range(frames):
            t = k / (frames - 1)
            x, y = round(span_x * t), round(span_y * t / 2)
            crop = np.ascontiguousarray(pixels[y : y + h, x : x + w])
            for packet in stream.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def video_seconds(path: Path) -> float:
    """The length PyAV reports for a video."""
    import av

    with av.open(str(path)) as f:
        assert f.duration is not None
        return float(f.duration / av.time_base)


def aae(dst: Path) -> Path:
    """Apple's edit sidecar: a property list of adjustments."""
    dst.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
        '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
        '<plist version="1.0">\n<dict>\n'
        "\t<key>adjustmentBaseVersion</key>\n\t<integer>0</integer>\n"
        "\t<key>adjustmentData</key>\n\t<data>ZmFrZSBhZGp1c3RtZW50cw==</data>\n"
        "\t<key>adjustmentEditorBundleID</key>\n\t<string>com.apple.mobileslideshow</string>\n"
        "\t<key>adjustmentFormatIdentifier</key>\n\t<string>com.apple.photo</string>\n"
        "\t<key>adjustmentFormatVersion</key>\n\t<string>1.5</string>\n"
        "</dict>\n</plist>\n"
    )
    return dst


def xmp(dst: Path, *, rating: int = 4) -> Path:
    """An XMP sidecar as darktable or Lightroom writes it, with a star rating."""
    dst.write_text(
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        f'   xmp:Rating="{rating}"/>\n'
        " </rdf:RDF>\n</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n',
        encoding="utf-8",
    )
    return dst


def takeout_json(dst: Path, *, title: str, taken: int = 1685613600) -> Path:
    """Google Takeout's metadata for one photo."""
    stamp = {"timestamp": str(taken), "formatted": "Jun 1, 2023, 10:00:00 AM UTC"}
    meta = {
        "title": title,
        "description": "",
        "imageViews": "3",
        "creationTime": stamp,
        "photoTakenTime": stamp,
        "geoData": {"latitude": 46.5, "longitude": 7.9, "altitude": 0.0},
        "url": "https://photos.google.com/photo/AF1Qip-example",
    }
    dst.write_text(json.dumps(meta, indent=2))
    return dst


def phone_backup(folder: Path, photos: Sequence[Path]) -> Path:
    """An iPhone-and-Takeout-style backup of at least three real photos:

    - IMG_0001.HEIC + IMG_0001.MOV (2.5 s Live video) + IMG_0001.AAE + IMG_E0001.JPG
      (the edited rendition) + IMG_O0001.AAE;
    - IMG_0002.jpg + IMG_0002.jpg.xmp + IMG_0002.jpg.json, and its numbered copy
      IMG_0002(1).jpg + IMG_0002.jpg(1).json;
    - IMG_0003.JPG + IMG_0003.DNG (bytes only: the RAW stands beside its JPEG by name)
      + IMG_0003.xmp;
    - IMG_0004.MP4 (2 s) beside IMG_0004.jpg, a Live Photo as Android exports it;
    - IMG_0005.MOV (10 s, a video of its own) beside IMG_0005.HEIC;
    - notes.txt.
    """
    a, b, c = photos[:3]
    folder.mkdir(parents=True, exist_ok=True)
    heic(a, folder / "IMG_0001.HEIC")
    video(a, folder / "IMG_0001.MOV", seconds=2.5)
    aae(folder / "IMG_0001.AAE")
    aae(folder / "IMG_O0001.AAE")
    jpeg(a, folder / "IMG_E0001.JPG", quality=80)
    jpeg(b, folder / "IMG_0002.jpg")
    xmp(folder / "IMG_0002.jpg.xmp")
    takeout_json(folder / "IMG_0002.jpg.json", title="IMG_0002.jpg")
    jpeg(b, folder / "IMG_0002(1).jpg", quality=70)
    takeout_json(folder / "IMG_0002.jpg(1).json", title="IMG_0002(1).jpg")
    jpeg(c, folder / "IMG_0003.JPG", make="Canon", model="Canon EOS 80D")
    (folder / "IMG_0003.DNG").write_bytes(b"II*\x00" + bytes(4092))
    xmp(folder / "IMG_0003.xmp", rating=2)
    jpeg(c, folder / "IMG_0004.jpg", make="Google", model="Pixel 7", side=800)
    video(c, folder / "IMG_0004.MP4", seconds=2.0)
    heic(b, folder / "IMG_0005.HEIC", side=800)
    video(b, folder / "IMG_0005.MOV", seconds=10.0, fps=5, side=320)
    (folder / "notes.txt").write_text("holiday notes\n")
    return folder


#: The Live Photo a second backup holds again, without its edits (`backups`).
LIVE = ("IMG_0001.HEIC", "IMG_0001.MOV", "IMG_0001.AAE")


def backups(root: Path, photos: Sequence[Path]) -> Path:
    """A phone backup (`phone_backup` in root/Phone), a second backup of its Live Photo
    byte for byte without the edits (root/Backup), and a WhatsApp copy of the Live Photo's
    picture: smaller, re-encoded, no metadata (root/WhatsApp)."""
    phone_backup(root / "Phone", photos)
    (root / "Backup").mkdir()
    for name in LIVE:
        shutil.copy2(root / "Phone" / name, root / "Backup" / name)
    with Image.open(photos[0]) as im:
        small = im.convert("RGB")
        small.thumbnail((640, 640))
        (root / "WhatsApp").mkdir()
        small.save(root / "WhatsApp" / "IMG-20230601-WA0001.jpg", quality=60)
    return root


def media_sets_in(root: Path) -> list[tuple[str, ...]]:
    """Every media set in the tree with companions, as paths under `root`, picture first
    (ReMedia's own data left out)."""
    from remedia_tray.core.mediasets import find_sets
    from remedia_tray.pipeline.mediasets import is_live_video

    out = []
    for folder in sorted({p.parent for p in root.rglob("*") if p.is_file()}):
        if ".remedia" in folder.relative_to(root).parts:
            continue
        names = [p.name for p in folder.iterdir() if p.is_file()]
        rel = folder.relative_to(root)
        found = find_sets(names, live_ok=lambda n, f=folder: is_live_video(f / n))
        out += [tuple(str(rel / n) for n in s.names) for s in found if s.companions]
    return out
