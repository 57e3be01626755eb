"""First-scan speed of the hash engine on 12 MP JPEGs, side by side with peers, plus the
cached rescan of 10,000 images.

Peers (same files, same run): imagededup PHash.encode_images and the czkawka Python bindings
(ImageSimilarity.find_similar: hashing plus grouping, Rust, its own threads).

    python benchmarks/hash_speed.py [--n 48] [--rescan 10000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import shared
from remedia_tray.sorter import SortOptions, sort_folder


def make_12mp(n: int, out: Path) -> list[Path]:
    photos = shared("photos")
    rows = list(csv.DictReader(open(photos / "manifest.csv", newline="")))
    rows.sort(key=lambda r: -int(r["width"]) * int(r["height"]))
    made = []
    for k in range(n):
        row = rows[k % len(rows)]
        with Image.open(photos / "images" / row["image"]) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            im = ImageOps.fit(im, (4000, 3000), Image.Resampling.BICUBIC)
            if k >= len(rows):  # more files than sources: make each one distinct
                im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            path = out / f"IMG_{k:04d}.jpg"
            im.save(path, quality=90)
            made.append(path)
    return made


def make_patches(n: int, out: Path) -> None:
    """n distinct small real-photo images: 128 px patches cut from different places."""
    photos = shared("photos")
    sources = sorted((photos / "images").iterdir())
    per = -(-n // len(sources))
    grid = int(per**0.5) + 1
    k = 0
    for src in sources:
        with Image.open(src) as im:
            im.draft("RGB", (1024, 1024))
            im = ImageOps.exif_transpose(im).convert("RGB")
        w, h = im.size
        side = max(32, min(w, h) // 4)
        for gy in range(grid):
            for gx in range(grid):
                if k >= n or (gy * grid + gx) >= per:
                    break
                x = (w - side) * gx // max(1, grid - 1)
                y = (h - side) * gy // max(1, grid - 1)
                sub = out / f"{k // 1000:02d}"
                sub.mkdir(exist_ok=True)
                im.crop((x, y, x + side, y + side)).resize((128, 128)).save(
                    sub / f"{k:05d}.jpg", quality=85
                )
                k += 1


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def drop_caches_hint(folder: Path) -> None:
    # Read every file once so all tools start with the same (warm) page cache.
    for p in folder.iterdir():
        p.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--rescan", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="remedia-speed-"))
    folder = work / "photos"
    folder.mkdir()
    make_12mp(args.n, folder)
    drop_caches_hint(folder)
    cores = os.cpu_count() or 1
    out: dict[str, object] = {"n": args.n, "image": "4000x3000 JPEG q90", "cores": cores}

    def ours(workers: int) -> None:
        sort_folder(
            folder, SortOptions(engine="hash", dry_run=True, use_cache=False, workers=workers)
        )

    ours(1)  # warm-up: imports and first-call costs are not per-image work
    t1 = timed(lambda: ours(1))
    tn = timed(lambda: ours(cores))
    out["remedia_1proc_img_s"] = round(args.n / t1, 1)
    out["remedia_all_cores_img_s"] = round(args.n / tn, 1)

    try:
        from imagededup.methods import PHash

        phash = PHash(verbose=False)
        phash.encode_images(image_dir=str(folder), num_enc_workers=1)  # warm-up
        ti1 = timed(lambda: phash.encode_images(image_dir=str(folder), num_enc_workers=1))
        tin = timed(lambda: phash.encode_images(image_dir=str(folder), num_enc_workers=cores))
        out["imagededup_phash_1proc_img_s"] = round(args.n / ti1, 1)
        out["imagededup_phash_all_cores_img_s"] = round(args.n / tin, 1)
        out["ratio_vs_imagededup_1proc"] = round(ti1 / t1, 2)
        out["ratio_vs_imagededup_all_cores"] = round(tin / tn, 2)
    except ImportError:
        out["imagededup"] = "not installed (pip install -e .[bench])"
    try:
        import czkawka

        def run_czkawka() -> None:
            finder = czkawka.ImageSimilarity()
            finder.set_directories([folder])
            finder.set_similarity(5)
            finder.find_similar()

        tc = timed(run_czkawka)
        out["czkawka_img_s"] = round(args.n / tc, 1)
        out["ratio_vs_czkawka_all_cores"] = round(tc / tn, 2)
    except ImportError:
        out["czkawka"] = "not installed (pip install -e .[bench])"

    if args.rescan:
        big = work / "many"
        big.mkdir()
        make_patches(args.rescan, big)
        cache = work / "cache"
        opts = SortOptions(engine="hash", dry_run=True, cache_dir=cache, workers=cores)
        first = timed(lambda: sort_folder(big, opts))
        rescans = [timed(lambda: sort_folder(big, opts)) for _ in range(3)]
        out["rescan_images"] = args.rescan
        out["first_scan_s"] = round(first, 2)
        out["cached_rescan_s"] = round(min(rescans), 2)
        out["cached_rescan_all_s"] = [round(r, 2) for r in rescans]
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
