"""Duplicate accuracy per strictness level: true copies, hard negatives, and the copy kept.

Sources: each of the 46 photos in shared/data/photos, plus two smooth, low-texture versions of
it (heavily blurred; its least textured region, like sky or sea), where 64-bit hashes are
weakest. The "original" of a source is its central 80 % window saved as a camera would (JPEG
q92 with make, model and date taken). Ground truth per source:
- positives (the original's group): WhatsApp-like (1600 px, q75, EXIF stripped), small (800 px,
  q60), PNG, WebP, HEIC, EXIF-rotated (pixels rotated, Orientation tag set), border crops of
  1.5 % and 2 %, and a lossless full-size PNG re-save (more bytes, no EXIF);
- hard negatives (each a different picture): the window shifted by 3, 5, 8 and 12 % (burst
  neighbours) and re-framed crops of 10 % (centred and one-sided).
The Elephants wallpaper at three resolutions is one group; the stereo motorcycle pair are two
different photos. Reports pairwise precision / recall, how often the kept copy is the camera
original, and the duplicate groups formed on Holidays (same-scene series, not duplicates).

Each family (the photos, the blurred ones, the least-textured regions) is sorted in a folder of
its own: a photo and its heavily blurred edit are neither clearly copies nor clearly different
(their pairs are not scored), and in one folder they merge into one complete-linkage group
that then splits on that unscored relation. `one_folder` reports all families sorted together.

    python benchmarks/hash_accuracy.py [--limit N] [--no-smooth]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import pair_counts, pairwise_pr, pr_from_counts, shared
from remedia_tray.core.strictness import LEVELS
from remedia_tray.sorter import SortOptions, sort_folder

COPIES = (
    "whatsapp", "small", "png", "webp", "heic", "exif_rotated", "crop1.5", "crop2", "lossless",
)  # fmt: skip
NEGATIVES = ("shift3", "shift5", "shift8", "shift12", "reframe10", "reframe10_side")
WINDOW = 0.8  # the original is the central 80 % of the source: room for shifted neighbours


def camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 80D"
    exif.get_ifd(0x8769)[0x9003] = "2023:06:01 10:00:00"
    return exif


def window(im: Image.Image, dx: float = 0.0, dy: float = 0.0) -> Image.Image:
    """The central window moved by (dx, dy), as fractions of the window's own size."""
    w, h = im.size
    cw, ch = round(w * WINDOW), round(h * WINDOW)
    x0 = round((w - cw) / 2 + dx * cw)
    y0 = round((h - ch) / 2 + dy * ch)
    out = im.crop((x0, y0, x0 + cw, y0 + ch))
    out.info = {}  # no metadata from the source file: only the camera original carries EXIF
    return out


def least_textured(im: Image.Image) -> Image.Image:
    """The source's least textured 50 % x 50 % region (sky, sea, a wall), at the source's size."""
    grey = np.asarray(im.convert("L").resize((64, 64)), dtype=np.float32)
    best, where = None, (0, 0)
    for y in range(0, 33, 4):
        for x in range(0, 33, 4):
            block = grey[y : y + 32, x : x + 32]
            score = float(
                np.abs(np.diff(block, axis=0)).mean() + np.abs(np.diff(block, axis=1)).mean()
            )
            if best is None or score < best:
                best, where = score, (x, y)
    w, h = im.size
    x, y = where[0] * w // 64, where[1] * h // 64
    return im.crop((x, y, x + w // 2, y + h // 2)).resize((w, h), Image.Resampling.BICUBIC)


def make_set(im: Image.Image, out: Path, stem: str) -> tuple[Path, list[Path], list[Path]]:
    """The camera original, its true copies, and its hard negatives."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    frame = window(im)

    def fit(side: int) -> Image.Image:
        c = frame.copy()
        c.thumbnail((side, side), Image.Resampling.LANCZOS)
        return c

    original = out / f"{stem}.jpg"
    frame.save(original, quality=92, exif=camera_exif())
    ext = {"png": "png", "webp": "webp", "heic": "heic", "lossless": "png"}
    copies = {name: out / f"{stem}-{name}.{ext.get(name, 'jpg')}" for name in COPIES}
    fit(1600).save(copies["whatsapp"], quality=75)
    fit(800).save(copies["small"], quality=60)
    fit(2000).save(copies["png"])
    fit(2000).save(copies["webp"], quality=80)
    fit(2000).save(copies["heic"], quality=80)
    exif = Image.Exif()
    exif[0x0112] = 6
    fit(2000).transpose(Image.Transpose.ROTATE_90).save(
        copies["exif_rotated"], quality=90, exif=exif
    )
    w, h = frame.size
    for name, part in (("crop1.5", 0.015), ("crop2", 0.02)):
        dx, dy = round(w * part), round(h * part)
        frame.crop((dx, dy, w - dx, h - dy)).save(copies[name], quality=90)
    with Image.open(original) as saved:
        saved.save(copies["lossless"])  # same pixels, more bytes, no EXIF

    negatives = []
    for name, (dx, dy) in {
        "shift3": (0.03, 0.0),
        "shift5": (0.0, 0.05),
        "shift8": (0.08, 0.08),
        "shift12": (0.12, 0.0),
    }.items():
        path = out / f"{stem}-{name}.jpg"
        window(im, dx, dy).save(path, quality=92, exif=camera_exif())
        negatives.append(path)
    for name, box in {
        "reframe10": (0.05, 0.05, 0.95, 0.95), "reframe10_side": (0.10, 0.10, 1.0, 1.0),
    }.items():  # fmt: skip
        path = out / f"{stem}-{name}.jpg"
        left, top, right, bottom = box
        cut = (round(w * left), round(h * top), round(w * right), round(h * bottom))
        frame.crop(cut).save(path, quality=92)
        negatives.append(path)
    return original, list(copies.values()), negatives


def scored(
    groups: list[list[str]], truth: dict[str, str], family: dict[str, str]
) -> dict[str, float]:
    """Pairwise precision / recall within each source family.

    A photo and its own blurred version are the same frame with an edit, neither clearly a
    duplicate nor clearly a different picture, so pairs across families are not scored.
    """
    totals = [0, 0, 0]
    for kind in sorted(set(family.values())):
        members = {name for name, k in family.items() if k == kind}
        counts = pair_counts(
            ([n for n in g if n in members] for g in groups), {n: truth[n] for n in members}
        )
        totals = [t + c for t, c in zip(totals, counts)]
    return pr_from_counts(*totals)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0, help="use only the first N photos")
    parser.add_argument("--no-smooth", action="store_true", help="photos only, no smooth sources")
    args = parser.parse_args()
    photos = shared("photos")
    rows = list(csv.DictReader(open(photos / "manifest.csv", newline="")))
    if args.limit:
        rows = rows[: args.limit]
    work = Path(tempfile.mkdtemp(prefix="remedia-hashacc-"))
    folder = work / "set"
    truth: dict[str, str] = {}
    family: dict[str, str] = {}  # file -> source family (the photo, or one of its smooth versions)
    originals: dict[str, set[str]] = {}  # label -> the camera originals' file names
    t0 = time.perf_counter()
    for row in rows:
        label = row["natural_group"]
        if label == "skimage_motorcycle_stereo":
            label = row["image"]  # two viewpoints: similar, not duplicates
        with Image.open(photos / "images" / row["image"]) as im0:
            im = ImageOps.exif_transpose(im0).convert("RGB")
        stem = Path(row["image"]).stem
        variants = {"": im}
        if not args.no_smooth:
            radius = max(4.0, im.width / 80)
            variants["blur"] = im.filter(ImageFilter.GaussianBlur(radius))
            variants["flat"] = least_textured(im)
        for kind, source in variants.items():
            name = f"{stem}_{kind}" if kind else stem
            group = f"{label}/{kind}" if kind else label
            (folder / (kind or "photos")).mkdir(parents=True, exist_ok=True)
            original, copies, negatives = make_set(source, folder / (kind or "photos"), name)
            for path in (original, *copies, *negatives):
                family[path.name] = kind
            truth[original.name] = group
            originals.setdefault(group, set()).add(original.name)
            for path in copies:
                truth[path.name] = group
            for path in negatives:
                # A different picture; the same shift of another resolution of one photo
                # (the Elephants wallpaper) is the same picture, so the label keeps the shift.
                truth[path.name] = f"{group}/{path.stem.rsplit('-', 1)[1]}"
    build_s = time.perf_counter() - t0

    results = {}
    one_folder = {}
    cache = work / "cache"
    for level, value in sorted(LEVELS.items(), key=lambda kv: -kv[1]):
        options = SortOptions(engine="hash", strictness=value, dry_run=True, cache_dir=cache)
        reports = [sort_folder(sub, options) for sub in sorted(folder.iterdir())]
        groups = [[p.name for p in g.members] for r in reports for g in r.duplicate_groups]
        together = sort_folder(folder, options)
        one_folder[level] = scored(
            [[p.name for p in g.members] for g in together.duplicate_groups], truth, family
        )
        kept = {truth[g[0]]: g[0] for g in groups if truth[g[0]] in originals}
        per_family = {
            kind or "photos": scored(
                [[n for n in g if family[n] == kind] for g in groups],
                {n: t for n, t in truth.items() if family[n] == kind},
                {n: kind for n in truth if family[n] == kind},
            )
            for kind in sorted(set(family.values()))
        }
        results[level] = scored(groups, truth, family) | {
            "by_source_kind": per_family,
            "groups": len(groups),
            "kept_original": sum(name in originals[label] for label, name in kept.items()),
            "groups_with_an_original": len(kept),
            "seconds": round(sum(r.seconds for r in reports), 1),
        }

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
                "copies_per_source": list(COPIES),
                "hard_negatives_per_source": list(NEGATIVES),
                "sources": len(originals),
                "build_s": round(build_s, 1),
                "duplicates": results,
                "one_folder": one_folder,
                "holidays_duplicate_groups": hol,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
