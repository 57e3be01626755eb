"""Hash-engine accuracy per strictness level on synthetic duplicate sets of real photos.

Copies of each of the 46 photos in shared/data/photos: WhatsApp-like (1600 px, q75, EXIF
stripped), small (800 px, q60), PNG, WebP, HEIC, EXIF-rotated (pixels rotated, Orientation
tag set) and a 2 % border crop. Ground truth: a photo and its copies form one group; the
Elephants wallpaper at three resolutions is one group; the stereo motorcycle pair are two
different photos. Also counts the duplicate groups formed on Holidays (same-scene series,
which are not duplicates).

    python benchmarks/hash_accuracy.py [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import pairwise_pr, shared
from remedia_tray.core.strictness import LEVELS
from remedia_tray.sorter import SortOptions, sort_folder

COPIES = ("whatsapp", "small", "png", "webp", "heic", "exif_rotated", "crop2")


def make_copies(src: Path, out: Path, stem: str) -> dict[str, Path]:
    import pillow_heif

    pillow_heif.register_heif_opener()
    made: dict[str, Path] = {}
    with Image.open(src) as im0:
        im = ImageOps.exif_transpose(im0).convert("RGB")

    def fit(side: int) -> Image.Image:
        c = im.copy()
        c.thumbnail((side, side), Image.Resampling.LANCZOS)
        return c

    made["whatsapp"] = out / f"{stem}-WA.jpg"
    fit(1600).save(made["whatsapp"], quality=75)
    made["small"] = out / f"{stem}-small.jpg"
    fit(800).save(made["small"], quality=60)
    made["png"] = out / f"{stem}.png"
    fit(2000).save(made["png"])
    made["webp"] = out / f"{stem}.webp"
    fit(2000).save(made["webp"], quality=80)
    made["heic"] = out / f"{stem}.heic"
    fit(2000).save(made["heic"], quality=80)
    made["exif_rotated"] = out / f"{stem}-rot.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    fit(2000).transpose(Image.Transpose.ROTATE_90).save(made["exif_rotated"], quality=90, exif=exif)
    w, h = im.size
    dx, dy = int(w * 0.02), int(h * 0.02)
    made["crop2"] = out / f"{stem}-crop.jpg"
    im.crop((dx, dy, w - dx, h - dy)).save(made["crop2"], quality=90)
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos")
    args = parser.parse_args()
    photos = shared("photos")
    rows = list(csv.DictReader(open(photos / "manifest.csv", newline="")))
    if args.limit:
        rows = rows[: args.limit]
    work = Path(tempfile.mkdtemp(prefix="remedia-hashacc-"))
    folder = work / "set"
    folder.mkdir()
    truth: dict[str, str] = {}
    t0 = time.perf_counter()
    for row in rows:
        label = row["natural_group"]
        if label == "skimage_motorcycle_stereo":
            label = row["image"]  # two viewpoints: similar, not duplicates
        src = photos / "images" / row["image"]
        stem = Path(row["image"]).stem
        orig = folder / row["image"]
        orig.write_bytes(src.read_bytes())
        truth[orig.name] = label
        for path in make_copies(src, folder, stem).values():
            truth[path.name] = label
    build_s = time.perf_counter() - t0

    results = {}
    cache = work / "cache"
    for level, value in sorted(LEVELS.items(), key=lambda kv: -kv[1]):
        report = sort_folder(
            folder, SortOptions(engine="hash", strictness=value, dry_run=True, cache_dir=cache)
        )
        groups = [[p.name for p in g.members] for g in report.duplicate_groups]
        results[level] = pairwise_pr(groups, truth) | {"groups": len(groups)}

    holidays = shared("holidays")
    hol_truth = {
        r["image"]: r["group_id"] for r in csv.DictReader(open(holidays / "ground_truth.csv"))
    }
    hol = {}
    for level, value in sorted(LEVELS.items(), key=lambda kv: -kv[1]):
        report = sort_folder(
            holidays / "images",
            SortOptions(engine="hash", strictness=value, dry_run=True, cache_dir=cache),
        )
        groups = [[p.name for p in g.members] for g in report.duplicate_groups]
        hol[level] = {"groups": len(groups), **pairwise_pr(groups, hol_truth)}
    print(
        json.dumps(
            {
                "photos": len(rows),
                "images": len(truth),
                "copies_per_photo": list(COPIES),
                "build_s": round(build_s, 1),
                "duplicates": results,
                "holidays_duplicate_groups": hol,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
