"""The phone-backup folder of benchmarks/phone_folder.py, built with its ground truth.

Everything comes from ../shared/data (real photos) and tests/textpics.py (generated text
pictures), and every choice from `random.Random` seeded with strings (SHA-512 of the string,
independent of PYTHONHASHSEED), so one seed and scale give the same bytes and mtimes on one
machine. The layout is what a phone backup looks like:

    DCIM/Camera/                      camera originals (JPEG + EXIF) and same-scene series
    WhatsApp/Media/WhatsApp Images/   WhatsApp copies (received; Sent/ for sent ones)
    Backup/Phone 2024/                byte copies of originals (a sync of the phone)
    Backup/old-phone/                 older damaged copies (flipped bytes) of some originals
    Google Photos/                    re-saves (PNG, WebP, HEIC, EXIF stripped) + .json sidecars
    Download/                         2x upscales, smaller web re-saves, half-size screenshots
    Pictures/Screenshots/             generated screenshots (PNG originals)
    Pictures/Instagram/               generated captioned photos (JPEG originals)

Every file gets an `Entry`: its `source` (files with one source are true duplicates), its
`kind`, how it was made (`variant`), its `scene` (same-scene pictures are similar, not
duplicates) and whether it is the ideal copy to keep of its source.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import shared

#: What each kind of file is. A source has one ideal keeper: its camera original (camera,
#: series) or its generated original (screenshot); copies and damaged files never are.
KINDS = {
    "camera": "camera original of a photo (JPEG with EXIF)",
    "series": "camera original of a same-scene series shot (Holidays, UKBench)",
    "whatsapp": "WhatsApp copy of a photo (long side <= 1600, q70-75, no EXIF)",
    "backup": "byte copy of a camera original",
    "resave": "re-save of a camera original (PNG, WebP, HEIC with EXIF; JPEG EXIF stripped)",
    "upscale": "2x upscale of a camera original (LANCZOS or BICUBIC, no metadata)",
    "web": "smaller web re-save of a camera original (q80, no metadata)",
    "screenshot": "generated text picture: screenshot (PNG) or captioned photo (JPEG)",
    "screenshot-copy": "copy of a text picture (WhatsApp, JPEG re-save, half size, backup)",
    "damaged": "older copy with flipped bytes (JPEG scan data: 2, PNG image data: 1)",
    "noise": "not an image (.mp4, .txt, Google Photos .json sidecars)",
}
#: Kinds whose files are not pictures to group: damaged ones should be skipped, noise is noise.
NOT_GROUPED = frozenset({"damaged", "noise"})

CAMERA_DIR = "DCIM/Camera"
WHATSAPP_DIR = "WhatsApp/Media/WhatsApp Images"
BACKUP_DIR = "Backup/Phone 2024"
OLD_BACKUP_DIR = "Backup/old-phone"
GOOGLE_DIR = "Google Photos/Photos from 2024"
DOWNLOAD_DIR = "Download"
SCREENSHOT_DIR = "Pictures/Screenshots"
INSTAGRAM_DIR = "Pictures/Instagram"

#: The camera's long side (a 12 MP phone); larger sources are scaled down to it.
CAMERA_SIDE = 4032
CAMERA_QUALITY = 92
CAMERA = ("Google", "Pixel 7")
#: x265's fastest preset: 3 s instead of 25 s for a 12 MP HEIC here, and still deterministic.
#: At quality 50 a HEIC is 0.2-0.6 of the camera JPEG's bytes, as phone exports are (at 80 it
#: would be 1.4 times larger, which no phone does).
HEIC_OPTIONS = {"quality": 50, "enc_params": {"preset": "ultrafast"}}
START = datetime(2024, 1, 6, 9, 12, 0, tzinfo=timezone.utc)

#: Share of the photo sources that get each copy (exact counts, chosen by the seed).
PHOTO_COPIES = {
    "rotated": 0.10,  # the original is stored rotated with an EXIF Orientation tag
    "whatsapp": 0.60,
    "forwarded": 0.15,  # a second-generation WhatsApp copy (the received copy, sent on)
    "backup": 0.30,
    "png": 0.15,
    "webp": 0.15,
    "heic": 0.15,
    "stripped": 0.15,  # the camera JPEG with its EXIF cut out (same pixels; never rotated)
    "upscale": 0.20,
    "web": 0.20,
    "damaged": 0.15,
}
#: Upscales are made of originals up to this long side (people upscale small pictures).
UPSCALE_MAX_SIDE = 2600
SERIES_WHATSAPP = 0.10
SCREEN_COPIES = {
    "whatsapp": 0.40,
    "jpeg85": 0.20,  # a full-size JPEG re-save (a photo app's export)
    "half": 0.10,
    "backup": 0.20,
    "damaged": 0.10,
}
#: Holidays groups whose files are byte-identical to files of other groups (label noise).
HOLIDAYS_NOISY = frozenset({"1031", "1039"})
#: The camera original of the Elephants wallpaper (its 1920 px version is a real web copy).
ELEPHANTS = "mate__Elephants_3840x2160"

HOLIDAYS_GROUPS = 50
UKBENCH_GROUPS = 12
SCREENS_PER_LAYOUT = 6
LAYOUTS = (("sans", 0), ("serif", 1))  # per family: two layouts, other words per picture


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the folder, with "/"
    source: str  # files with the same source are true duplicates of each other
    kind: str  # one of KINDS
    variant: str  # how it was made
    scene: str  # files with the same scene are similar pictures (a series, one layout)
    keeper: bool  # the ideal copy to keep of its source


@dataclass(frozen=True)
class PhoneFolder:
    root: Path
    entries: tuple[Entry, ...]
    seconds: float

    def by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.entries}

    def kind_counts(self) -> dict[str, int]:
        counts = Counter(e.kind for e in self.entries)
        return {kind: counts[kind] for kind in KINDS if counts[kind]}

    def digest(self) -> str:
        """SHA-256 over every file's path, bytes and mtime: equal digests, equal folders."""
        h = hashlib.sha256()
        for e in sorted(self.entries, key=lambda e: e.path):
            path = self.root / e.path
            h.update(e.path.encode() + b"\0" + path.read_bytes())
            h.update(str(path.stat().st_mtime_ns).encode())
        return h.hexdigest()


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _pick(rng: random.Random, items: Sequence[str], share: float) -> set[str]:
    return set(rng.sample(list(items), round(share * len(items))))


# ---- encoders: image -> bytes ----------------------------------------------------------------


def camera_exif(when: datetime, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = CAMERA
    exif[0x0112] = orientation
    stamp = when.strftime("%Y:%m:%d %H:%M:%S")
    exif[0x0132] = stamp
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = sub[0x9004] = stamp  # date taken, date digitised
    return exif.tobytes()


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    """The pixels a viewer shows: decoded, EXIF orientation applied, RGB, no metadata (so a
    copy carries EXIF only where it is given explicitly; pillow-heif would copy it)."""
    with Image.open(io.BytesIO(data)) as im:
        out = ImageOps.exif_transpose(im).convert("RGB")
    out.info = {}
    return out


def fit(im: Image.Image, side: int) -> Image.Image:
    out = im.copy()
    out.thumbnail((side, side), Image.Resampling.LANCZOS)
    return out


def whatsapp_bytes(im: Image.Image, quality: int) -> bytes:
    return encode(fit(im, 1600), "JPEG", quality=quality)


def strip_exif(data: bytes) -> bytes:
    """The JPEG without its EXIF (APP1) segment: the same pixels, no camera metadata."""
    out, pos = bytearray(data[:2]), 2
    while pos < len(data):
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            out += data[pos:]
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment = data[pos : pos + 2 + length]
        if not (marker == 0xE1 and segment[4:10] == b"Exif\0\0"):
            out += segment
        pos += 2 + length
    return bytes(out)


def damage_jpeg(data: bytes, rng: random.Random, flips: int = 2) -> bytes:
    """`flips` bytes of the scan data inverted, in its last tenth.

    Late damage garbles a band at the bottom and leaves the rest intact, so the copy still
    looks like its twin: the case where a sort can keep the wrong one. No flip makes or breaks
    a marker (no 0x00 or 0xFF byte, none after 0xFF, no two flips side by side).
    """
    sos = data.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    end = data.rindex(b"\xff\xd9")
    buf, chosen = bytearray(data), set[int]()
    while len(chosen) < flips:
        p = rng.randrange(start + (end - start) * 9 // 10, end - 1)
        if buf[p] in (0x00, 0xFF) or buf[p - 1] == 0xFF or chosen & {p - 1, p, p + 1}:
            continue
        chosen.add(p)
    for p in chosen:
        buf[p] ^= 0xFF
    return bytes(buf)


def damage_png(data: bytes, rng: random.Random) -> bytes:
    """One byte inverted inside the first IDAT chunk's compressed data (its CRC left as is)."""
    at = data.index(b"IDAT")
    length = int.from_bytes(data[at - 4 : at], "big")
    p = at + 4 + rng.randrange(length // 4, length * 3 // 4)
    buf = bytearray(data)
    buf[p] ^= 0xFF
    return bytes(buf)


# ---- the builder ------------------------------------------------------------------------------


class _Folder:
    """Writes files with their truth, phone-like names and deterministic mtimes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries: list[Entry] = []
        self._whatsapp_numbers: Counter[str] = Counter()

    def write(
        self, rel: str, data: bytes, when: datetime, *, source: str, kind: str, variant: str,
        scene: str, keeper: bool = False,
    ) -> str:  # fmt: skip
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        ns = int(when.timestamp()) * 10**9
        os.utime(path, ns=(ns, ns))
        self.entries.append(Entry(rel, source, kind, variant, scene, keeper))
        return rel

    def free(self, folder: str, stem: str, ext: str) -> str:
        """`folder/stem.ext`, or `stem_1.ext`, `stem_2.ext`... when taken (as phones do)."""
        rel, n = f"{folder}/{stem}{ext}", 0
        while (self.root / rel).exists():
            n += 1
            rel = f"{folder}/{stem}_{n}{ext}"
        return rel

    def whatsapp_name(self, when: datetime, *, sent: bool) -> str:
        day = when.strftime("%Y%m%d")
        number = self._whatsapp_numbers[day]
        self._whatsapp_numbers[day] += 1
        folder = f"{WHATSAPP_DIR}/Sent" if sent else WHATSAPP_DIR
        return f"{folder}/IMG-{day}-WA{number:04d}.jpg"


class _Clock:
    """The phone's timeline: shots hours or days apart, series seconds apart."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = START

    def next(self, *, burst: bool = False) -> datetime:
        gap = self.rng.randint(2, 25) if burst else self.rng.randint(2 * 3600, 3 * 86400)
        self.now += timedelta(seconds=gap)
        return self.now


def _later(rng: random.Random, when: datetime, low_days: int, high_days: int) -> datetime:
    return when + timedelta(seconds=rng.randint(low_days * 86400, high_days * 86400))


@dataclass(frozen=True)
class _Photo:
    source: str
    scene: str
    load: Callable[[], Image.Image]  # the picture as the camera saw it (RGB, upright)


def _photo_sources(scale: float) -> tuple[list[_Photo], Path | None]:
    """Photo sources from shared/data/photos (scaled: further sources are other crops of the
    same photos, mirrored every other time), and the real 1920 px Elephants wallpaper."""
    photos = shared("photos")
    with open(photos / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # The Elephants wallpaper ships at three sizes: the 3840 px one is the camera original, the
    # 1920 px one a real web copy of it, the 5640 px one is left out (too large for a phone).
    rows = [r for r in rows if r["image"] not in ("mate__Elephants.jpg",
                                                   "mate__Elephants_5640x3172.jpg")]  # fmt: skip
    elephants_web = photos / "images" / "mate__Elephants.jpg"
    out = []
    for k in range(round(len(rows) * scale)):
        row, edition = rows[k % len(rows)], k // len(rows)
        path = photos / "images" / row["image"]
        stem = Path(row["image"]).stem
        source = stem if edition == 0 else f"{stem}~{edition}"
        out.append(_Photo(source, row["natural_group"], lambda p=path, e=edition: _load(p, e)))
    return out, elephants_web if elephants_web.exists() else None


def _load(path: Path, edition: int) -> Image.Image:
    with Image.open(path) as im:
        pic = ImageOps.exif_transpose(im).convert("RGB")
    if edition:
        # Another picture of the same scene: a 70 % window (re-framed, never a copy).
        w, h = pic.size
        x, y = (0.3 * ((edition * 0.37) % 1), 0.3 * ((edition * 0.61) % 1))
        pic = pic.crop((round(x * w), round(y * h), round((x + 0.7) * w), round((y + 0.7) * h)))
        if edition % 2:
            pic = ImageOps.mirror(pic)
    return fit(pic, CAMERA_SIDE)


def _add_photos(folder: _Folder, clock: _Clock, seed: int, scale: float) -> None:
    photos, elephants_web = _photo_sources(scale)
    rng = _rng(seed, "photos")
    names = [p.source for p in photos]
    picks = {copy: _pick(rng, names, share) for copy, share in PHOTO_COPIES.items()}
    # Without its Orientation tag a rotated original shows sideways: another picture.
    upright = [n for n in names if n not in picks["rotated"]]
    picks["stripped"] = _pick(rng, upright, PHOTO_COPIES["stripped"] * len(names) / len(upright))
    small = []  # originals an upscale may be made of, known once their size is
    for photo in photos:
        when = clock.next()
        r = _rng(seed, "photo", photo.source)
        pic = photo.load()
        rotated = photo.source in picks["rotated"]
        stored = pic.transpose(Image.Transpose.ROTATE_90) if rotated else pic
        data = encode(stored, "JPEG", quality=CAMERA_QUALITY,
                      exif=camera_exif(when, orientation=6 if rotated else 1))  # fmt: skip
        stem = when.strftime("IMG_%Y%m%d_%H%M%S")
        original = folder.free(CAMERA_DIR, stem, ".jpg")
        stem = Path(original).stem
        keep = {"source": photo.source, "scene": photo.scene}
        folder.write(original, data, when, kind="camera", variant="rotated" if rotated else "",
                     keeper=True, **keep)  # fmt: skip
        shown = decode(data)  # every copy starts from what the camera file shows
        if photo.source in picks["whatsapp"]:
            got = _later(r, when, 0, 20)
            wa = whatsapp_bytes(shown, r.randint(70, 75))
            folder.write(folder.whatsapp_name(got, sent=r.random() < 0.5), wa, got,
                         kind="whatsapp", variant="whatsapp", **keep)  # fmt: skip
            if photo.source in picks["forwarded"]:
                again = _later(r, got, 1, 60)
                folder.write(folder.whatsapp_name(again, sent=False),
                             whatsapp_bytes(decode(wa), 70), again, kind="whatsapp",
                             variant="forwarded", **keep)  # fmt: skip
        if photo.source in picks["backup"]:
            # rsync -a keeps the mtime; a plain copy gets the time of the copy.
            copied = when if r.random() < 0.5 else _later(r, when, 1, 90)
            folder.write(f"{BACKUP_DIR}/{original}", data, copied, kind="backup",
                         variant="byte copy", **keep)  # fmt: skip
        resaves = {
            "png": (".png", lambda: encode(shown, "PNG", compress_level=1)),
            "webp": (".webp", lambda: encode(shown, "WEBP", quality=80)),
            # A phone's HEIC export keeps the camera's EXIF (upright pixels: orientation 1).
            "heic": (
                ".heic",
                lambda: encode(shown, "HEIF", exif=camera_exif(when), **HEIC_OPTIONS),
            ),
            "stripped": (".jpg", lambda: strip_exif(data)),
        }
        for variant, (ext, make) in resaves.items():
            if photo.source in picks[variant]:
                folder.write(folder.free(GOOGLE_DIR, stem, ext), make(), _later(r, when, 30, 120),
                             kind="resave", variant=variant, **keep)  # fmt: skip
        if photo.source in picks["web"]:
            w, h = shown.size
            ratio = r.uniform(0.5, 0.75)
            web = shown.resize((round(w * ratio), round(h * ratio)), Image.Resampling.LANCZOS)
            name = f"{DOWNLOAD_DIR}/{int(when.timestamp() * 1000) + r.randint(10**6, 10**8)}.jpg"
            folder.write(name, encode(web, "JPEG", quality=80), _later(r, when, 5, 200),
                         kind="web", variant=f"{ratio:.2f}x q80", **keep)  # fmt: skip
        if photo.source in picks["damaged"]:
            older = when - timedelta(days=r.randint(200, 600))
            folder.write(f"{OLD_BACKUP_DIR}/{original}", damage_jpeg(data, r), older,
                         kind="damaged", variant="jpeg: 2 bytes flipped", **keep)  # fmt: skip
        if max(shown.size) <= UPSCALE_MAX_SIDE:
            small.append((photo, stem, when, data))
        if photo.source == ELEPHANTS and elephants_web is not None:
            got = _later(r, when, 10, 40)
            folder.write(f"{DOWNLOAD_DIR}/Elephants-1920x1080.jpg", elephants_web.read_bytes(),
                         got, kind="web", variant="the 1920 px wallpaper", **keep)  # fmt: skip
    # The upscale quota, taken from the small originals in the order the seed chose.
    count = round(PHOTO_COPIES["upscale"] * len(photos))
    chosen = [s for s in small if s[0].source in picks["upscale"]]
    chosen += [s for s in small if s[0].source not in picks["upscale"]]
    for n, (photo, stem, when, data) in enumerate(chosen[:count]):
        r = _rng(seed, "upscale", photo.source)
        shown = decode(data)
        method, resample = (("lanczos", Image.Resampling.LANCZOS),
                            ("bicubic", Image.Resampling.BICUBIC))[n % 2]  # fmt: skip
        big = shown.resize((shown.width * 2, shown.height * 2), resample)
        if n % 3 == 2:
            name, data = f"{stem}_upscayl_2x.png", encode(big, "PNG", compress_level=1)
        else:
            name, data = f"{stem}-2x.jpg", encode(big, "JPEG", quality=92)
        folder.write(f"{DOWNLOAD_DIR}/{name}", data, _later(r, when, 1, 100), kind="upscale",
                     variant=f"2x {method}", source=photo.source, scene=photo.scene)  # fmt: skip


def _series_groups(seed: int, scale: float) -> list[tuple[str, list[Path]]]:
    """Same-scene series: Holidays groups (2-10 shots) and UKBench objects (4 views)."""
    holidays = shared("holidays")
    with open(holidays / "ground_truth.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_group: dict[str, list[Path]] = {}
    for row in sorted(rows, key=lambda r: r["image"]):
        if row["group_id"] not in HOLIDAYS_NOISY:
            by_group.setdefault(row["group_id"], []).append(holidays / "images" / row["image"])
    eligible = sorted(g for g, files in by_group.items() if len(files) >= 2)
    count = min(len(eligible), round(HOLIDAYS_GROUPS * scale))
    chosen = sorted(_rng(seed, "holidays").sample(eligible, count))
    groups = [(f"holidays/{g}", by_group[g]) for g in chosen]

    ukbench = shared("ukbench")
    with open(ukbench / "ground_truth.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_object: dict[str, list[Path]] = {}
    for row in sorted(rows, key=lambda r: r["image"]):
        by_object.setdefault(row["group_id"], []).append(ukbench / "images" / row["image"])
    objects = sorted((g for g, files in by_object.items() if len(files) == 4), key=int)
    count = min(len(objects), round(UKBENCH_GROUPS * scale))
    groups += [(f"ukbench/{g}", by_object[g]) for g in objects[:count]]
    _rng(seed, "series order").shuffle(groups)
    return groups


def _add_series(folder: _Folder, clock: _Clock, seed: int, scale: float) -> None:
    seen: set[bytes] = set()  # a byte-identical file elsewhere in the data would be a duplicate
    for scene, files in _series_groups(seed, scale):
        clock.next()
        for path in files:
            raw = path.read_bytes()
            digest = hashlib.sha256(raw).digest()
            if digest in seen:
                continue
            seen.add(digest)
            when = clock.next(burst=True)
            shown = decode(raw)
            data = encode(shown, "JPEG", quality=CAMERA_QUALITY, exif=camera_exif(when))
            source = f"{scene}/{path.stem}"
            original = folder.free(CAMERA_DIR, when.strftime("IMG_%Y%m%d_%H%M%S"), ".jpg")
            folder.write(original, data, when, source=source, kind="series", variant=scene,
                         scene=scene, keeper=True)  # fmt: skip
            r = _rng(seed, "series", source)
            if r.random() < SERIES_WHATSAPP:
                got = _later(r, when, 0, 10)
                folder.write(folder.whatsapp_name(got, sent=True), whatsapp_bytes(shown, 72), got,
                             source=source, kind="whatsapp", variant="whatsapp",
                             scene=scene)  # fmt: skip


def _add_screens(folder: _Folder, clock: _Clock, seed: int, scale: float) -> None:
    from tests.textpics import FAMILIES, draw, half_size, whatsapp_copy

    per_layout = max(1, round(SCREENS_PER_LAYOUT * scale))
    plan = [(family, style, layout, index)
            for family in FAMILIES for style, layout in LAYOUTS
            for index in range(per_layout)]  # fmt: skip
    _rng(seed, "screens order").shuffle(plan)
    names = [f"{family}/{layout}/{index}" for family, _, layout, index in plan]
    rng = _rng(seed, "screens")
    picks = {copy: _pick(rng, names, share) for copy, share in SCREEN_COPIES.items()}
    for (family, style, layout, index), source in zip(plan, names):
        when = clock.next()
        r = _rng(seed, "screen", source)
        im = draw(family, index, seed=seed * 100 + layout, style=style)
        keep = {"source": source, "scene": f"{family}/{layout}"}
        if family == "caption":  # a captioned photo saved from an app: a JPEG original
            ext, data = ".jpg", encode(im, "JPEG", quality=92)
            stem = when.strftime("IMG_%Y%m%d_%H%M%S_") + f"{r.randrange(1000):03d}"
            original = folder.free(INSTAGRAM_DIR, stem, ext)
        else:
            ext, data = ".png", encode(im, "PNG")
            original = folder.free(SCREENSHOT_DIR, when.strftime("Screenshot_%Y%m%d-%H%M%S"), ext)
        folder.write(original, data, when, kind="screenshot", variant=family, keeper=True,
                     **keep)  # fmt: skip
        shown = decode(data)
        stem = Path(original).stem
        if source in picks["whatsapp"]:
            got = _later(r, when, 0, 5)
            folder.write(folder.whatsapp_name(got, sent=r.random() < 0.7),
                         encode(whatsapp_copy(shown), "JPEG", quality=75), got,
                         kind="screenshot-copy", variant="whatsapp", **keep)  # fmt: skip
        if source in picks["jpeg85"]:
            folder.write(f"{GOOGLE_DIR}/{stem}.jpg", encode(shown, "JPEG", quality=85),
                         _later(r, when, 30, 120), kind="screenshot-copy",
                         variant="jpeg q85", **keep)  # fmt: skip
        if source in picks["half"]:
            folder.write(f"{DOWNLOAD_DIR}/{stem} (1){ext}",
                         encode(half_size(shown), "PNG" if ext == ".png" else "JPEG"),
                         _later(r, when, 1, 30), kind="screenshot-copy", variant="half size",
                         **keep)  # fmt: skip
        if source in picks["backup"]:
            copied = when if r.random() < 0.5 else _later(r, when, 1, 90)
            folder.write(f"{BACKUP_DIR}/{original}", data, copied, kind="screenshot-copy",
                         variant="byte copy", **keep)  # fmt: skip
        if source in picks["damaged"]:
            broken = damage_png(data, r) if ext == ".png" else damage_jpeg(data, r)
            how = "png: 1 byte flipped" if ext == ".png" else "jpeg: 2 bytes flipped"
            folder.write(f"{OLD_BACKUP_DIR}/{original}", broken,
                         when - timedelta(days=r.randint(200, 600)), kind="damaged",
                         variant=how, **keep)  # fmt: skip


def _add_noise(folder: _Folder, seed: int) -> None:
    """Files a phone backup holds besides pictures: a video, a note, Takeout's JSON sidecars."""
    r = _rng(seed, "noise")
    video = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41" + r.randbytes(200_000)
    notes = b"Passport numbers are in the other folder.\nWifi: see the fridge.\n"
    made = START + timedelta(days=30)
    for rel, data in ((f"{CAMERA_DIR}/VID_20240205_181502.mp4", video),
                      (f"{DOWNLOAD_DIR}/notes.txt", notes)):  # fmt: skip
        folder.write(rel, data, made, source=rel, kind="noise", variant=Path(rel).suffix,
                     scene=rel)  # fmt: skip
    for e in [e for e in folder.entries if e.path.startswith(GOOGLE_DIR + "/")]:
        rel = f"{e.path}.json"
        sidecar = f'{{"title": "{Path(e.path).name}", "photoTakenTime": {{}}}}\n'.encode()
        folder.write(rel, sidecar, made, source=rel, kind="noise", variant=".json", scene=rel)


def build(out: Path, *, seed: int = 1, scale: float = 1.0) -> PhoneFolder:
    """Write the phone folder to `out` (which must not exist yet)."""
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    import pillow_heif

    pillow_heif.register_heif_opener()
    t0 = time.perf_counter()
    root = Path(out)
    root.mkdir(parents=True)
    folder = _Folder(root)
    clock = _Clock(_rng(seed, "clock"))
    _add_photos(folder, clock, seed, scale)
    _add_series(folder, clock, seed, scale)
    _add_screens(folder, clock, seed, scale)
    _add_noise(folder, seed)
    entries = tuple(sorted(folder.entries, key=lambda e: e.path))
    return PhoneFolder(root, entries, time.perf_counter() - t0)


def write_truth(folder: PhoneFolder, path: Path) -> None:
    names = [f.name for f in fields(Entry)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for e in folder.entries:
            writer.writerow([getattr(e, n) for n in names])


def rebuild(out: Path, *, seed: int, scale: float) -> PhoneFolder:
    """`out/phone` built afresh (an earlier build there is replaced), truth in `out/truth.csv`."""
    out = Path(out)
    target, truth = out / "phone", out / "truth.csv"
    if target.exists():
        if not truth.exists():
            raise SystemExit(f"{target} exists and is not a phone folder built here; not touched")
        shutil.rmtree(target)
    out.mkdir(parents=True, exist_ok=True)
    folder = build(target, seed=seed, scale=scale)
    write_truth(folder, truth)
    return folder
