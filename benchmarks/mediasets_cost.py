"""What finding media sets costs next to the scan it feeds (issue 23: at most 3 % of a scan
of 10,000 files).

A phone backup of `--n` files (default 10,000) in folders of about 500: real photos made
distinct (a shifted crop, a tint, 320-640 px JPEGs), where about one picture in five is a
Live Photo (picture + a 3 s MOV + AAE; one Live picture in four is a HEIC, copied from a
pool of 24 because encoding HEIC costs ~0.4 s each), one in ten has an XMP sidecar, one in
seven a Takeout JSON, and one in a hundred a 10 s MOV of its own beside it. Small pictures
make the scan fast, so the share measured is an upper bound of a phone's 12 MP photos'.
Timed in the same run, warm page cache for both:

- set finding: `find_media_sets` on the walked files, the movie-header reads included;
- the scan: `remedia sort FOLDER --engine hash --dry-run --no-cache` as a fresh process (the
  CLI a user runs; its own set finding included), best of `--runs`.

    python benchmarks/mediasets_cost.py [--n 10000] [--runs 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import shared

FOLDER_FILES = 500


HEIC_POOL = 24


def _source(job: tuple[Path, Path]) -> None:
    from PIL import Image, ImageOps

    src, dst = job
    with Image.open(src) as im:
        im.draft("RGB", (800, 800))  # JPEG: decode at a fraction of the size
        im = ImageOps.exif_transpose(im).convert("RGB")
        im.thumbnail((800, 800))
        im.save(dst, "PNG")


def _picture(job: tuple[Path, Path, int, str]) -> None:
    """One distinct picture from a real photo: a shifted crop, a tint, 320-640 px."""
    from PIL import Image

    src, dst, k, fmt = job
    with Image.open(src) as im:
        im = im.convert("RGB")
    w, h = im.size
    dx, dy = (k * 7) % max(1, w // 8), (k * 13) % max(1, h // 8)
    im = im.crop((dx, dy, w - w // 8 + dx, h - h // 8 + dy))
    side = 320 + (k * 37) % 321
    im.thumbnail((side, side))
    tint = Image.new("RGB", im.size, ((k * 31) % 256, (k * 17) % 256, (k * 11) % 256))
    im = Image.blend(im, tint, 0.04 + (k % 5) / 100)
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
        im.save(dst, "HEIF", quality=60)
    else:
        im.save(dst, "JPEG", quality=85)


def build(root: Path, n: int, workers: int) -> dict[str, int]:
    """The backup: about `n` files; returns how many of each kind."""
    from tests.mediafiles import aae, takeout_json, video, xmp

    clips = root.parent / "clips"
    clips.mkdir(parents=True)
    originals = sorted(shared("photos", "images").iterdir())
    photos = [clips / f"{k:02d}.png" for k in range(len(originals))]
    heics = [clips / f"pool{k:02d}.heic" for k in range(HEIC_POOL)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_source, zip(originals, photos)))
        jobs = [(photos[k % len(photos)], heics[k], k, "HEIF") for k in range(HEIC_POOL)]
        list(pool.map(_picture, jobs))
    live = video(photos[0], clips / "live.mov", seconds=3.0, fps=15, side=480)
    long = video(photos[1], clips / "long.mov", seconds=10.0, fps=5, side=320)
    jobs = []
    counts = {"pictures": 0, "heic": 0, "live": 0, "xmp": 0, "json": 0, "long_video": 0, "files": 0}
    k = 0
    while counts["files"] < n:
        folder = root / f"{100 + counts['files'] // FOLDER_FILES}APPLE"
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"IMG_{k:05d}"
        src = photos[k % len(photos)]
        made = 1
        if k % 5 == 0:  # a Live Photo: picture + its motion + Apple's edit sidecar
            if k % 20 == 0:
                shutil.copyfile(heics[(k // 20) % HEIC_POOL], folder / f"{stem}.HEIC")
                counts["heic"] += 1
            else:
                jobs.append((src, folder / f"{stem}.JPG", k, "JPEG"))
            shutil.copyfile(live, folder / f"{stem}.MOV")
            aae(folder / f"{stem}.AAE")
            counts["live"] += 1
            made += 2
        else:
            name = f"{stem}.JPG"
            jobs.append((src, folder / name, k, "JPEG"))
            if k % 10 == 1:
                xmp(folder / f"{name}.xmp")
                counts["xmp"] += 1
                made += 1
            if k % 7 == 2:
                takeout_json(folder / f"{name}.json", title=name)
                counts["json"] += 1
                made += 1
            if k % 100 == 3:  # a real video that shares the picture's name
                shutil.copyfile(long, folder / f"{stem}.MOV")
                counts["long_video"] += 1
                made += 1
        counts["pictures"] += 1
        counts["files"] += made
        k += 1
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_picture, jobs, chunksize=64))
    return counts


def time_sets(root: Path) -> tuple[float, float, int, int]:
    """(walk seconds, set-finding seconds, files, primaries)."""
    from remedia_tray.pipeline.discovery import iter_files
    from remedia_tray.pipeline.mediasets import find_media_sets

    t0 = time.perf_counter()
    files = list(iter_files(root))
    t1 = time.perf_counter()
    found = find_media_sets(files)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, len(files), len(found.primaries)


def time_scan(root: Path, workers: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cli = [sys.executable, "-m", "remedia_tray", "sort", str(root), "--engine", "hash",
           "--dry-run", "--no-cache", "--workers", str(workers)]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cli, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="remedia-sets-"))
    try:
        t0 = time.perf_counter()
        counts = build(work / "backup", args.n, args.workers)
        built = time.perf_counter() - t0
        scan = min(time_scan(work / "backup", args.workers) for _ in range(args.runs))
        timed = [time_sets(work / "backup") for _ in range(3)]
        walk, sets, files, primaries = min(timed, key=lambda t: t[1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = {
        **counts,
        "walked_files": files,
        "primaries_read": primaries,
        "build_s": round(built, 1),
        "walk_s": round(walk, 3),
        "set_finding_s": round(sets, 3),
        "hash_scan_cli_s": round(scan, 2),
        "set_share_of_scan": round(sets / scan, 4),
        "within_3_percent": sets / scan <= 0.03,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
