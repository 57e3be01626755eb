"""What finding media sets costs next to the scan it feeds (issue 23: at most 3 % of a scan
of 10,000 files).

A phone backup of `--n` files (default 10,000) in folders of about 500. Each picture is its
own picture, as a phone's are: a crop window of one of the shared photos (its own position,
30-90 % of each side), one of 8 orientations (90 degree turns, mirrored or not), 320-800 px,
so the hash scan groups only the 2 % planted copies (a picture re-saved at JPEG quality 70).
About one picture in five is a Live Photo (picture + a 2 s MOV + AAE; the MOV is one small
real file, copied), one in twenty a HEIC, one in ten has an XMP sidecar, one in seven a
Takeout JSON, and one in a hundred a 10 s MOV of its own beside it. Small pictures make the
scan fast, so the share measured is an upper bound of a phone's 12 MP photos'. Timed in the
same run, warm page cache for both:

- set finding: `find_media_sets` on the walked files, the movie-header reads included, best
  of 3;
- the scan: `remedia sort FOLDER --engine hash --dry-run --no-cache --workers 2` as a fresh
  process (the CLI a user runs, start-up and its own set finding included), best of `--runs`.

    python benchmarks/mediasets_cost.py [--n 10000] [--runs 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from benchmarks._common import shared

FOLDER_FILES = 500
#: One picture in this many is a HEIC (each its own picture; x265's fastest preset, as
#: encoding HEIC at the default preset costs ~1 s a picture).
HEIC_EVERY = 20
#: One picture in this many is a re-saved copy (JPEG quality 70) of the picture before it.
DUPLICATE_EVERY = 50


@lru_cache(maxsize=8)
def _decoded(src: Path) -> Image.Image:
    with Image.open(src) as im:
        im.draft("RGB", (1600, 1600))  # JPEG: decode at a fraction of the size
        out: Image.Image = im.convert("RGB")
    out.thumbnail((1600, 1600))
    return out


def _picture(job: tuple[Path, Path, int, int]) -> None:
    """Picture `k`: its own crop window of a real photo (position, 30-90 % of each side), one
    of 8 orientations (rotations by 90 degrees, mirrored or not), 320-800 px on its long side;
    a HEIC or a JPEG (at `quality`) as `dst` says."""
    src, dst, k, quality = job
    rng = random.Random(k)
    im = _decoded(src)
    w, h = im.size
    cw, ch = round(w * rng.uniform(0.3, 0.9)), round(h * rng.uniform(0.3, 0.9))
    x, y = rng.randrange(w - cw + 1), rng.randrange(h - ch + 1)
    im = im.crop((x, y, x + cw, y + ch))
    side = rng.randrange(320, 801)
    scale = side / max(im.size)
    im = im.resize((max(16, round(im.width * scale)), max(16, round(im.height * scale))))
    turn = (k // 7) % 8  # not k % 8: the source is k % len(sources)
    if turn & 4:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for _ in range(turn & 3):
        im = im.transpose(Image.Transpose.ROTATE_90)
    if dst.suffix == ".HEIC":
        import pillow_heif

        pillow_heif.register_heif_opener()
        im.save(dst, "HEIF", quality=60, enc_params={"preset": "ultrafast"})
    else:
        im.save(dst, "JPEG", quality=quality)


def build(root: Path, n: int, workers: int) -> dict[str, int]:
    """The backup: about `n` files; returns how many of each kind."""
    from tests.mediafiles import aae, takeout_json, video, xmp

    clips = root.parent / "clips"
    clips.mkdir(parents=True)
    photos = sorted(shared("photos", "images").iterdir())
    # Made once and copied: a Live Photo's motion (2 s, small) and a 10 s video of its own.
    live = video(photos[0], clips / "live.mov", seconds=2.0, fps=10, side=160)
    long = video(photos[1], clips / "long.mov", seconds=10.0, fps=2, side=160)
    jobs = []
    kinds = ("pictures", "heic", "live", "xmp", "json", "long_video", "duplicates", "files")
    counts = dict.fromkeys(kinds, 0)
    k = 0
    while counts["files"] < n:
        folder = root / f"{100 + counts['files'] // FOLDER_FILES}APPLE"
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"IMG_{k:05d}"
        src = photos[k % len(photos)]
        made = 1
        if k % HEIC_EVERY == 0:
            picture = folder / f"{stem}.HEIC"
            counts["heic"] += 1
        else:
            picture = folder / f"{stem}.JPG"
        if k % DUPLICATE_EVERY == DUPLICATE_EVERY // 2:  # a copy of the picture before it
            jobs.append((photos[(k - 1) % len(photos)], picture, k - 1, 70))
            counts["duplicates"] += 1
        else:
            jobs.append((src, picture, k, 85))
        if k % 5 == 0:  # a Live Photo: picture + its motion + Apple's edit sidecar
            shutil.copyfile(live, folder / f"{stem}.MOV")
            aae(folder / f"{stem}.AAE")
            counts["live"] += 1
            made += 2
        else:
            if k % 10 == 1:
                xmp(folder / f"{picture.name}.xmp")
                counts["xmp"] += 1
                made += 1
            if k % 7 == 2:
                takeout_json(folder / f"{picture.name}.json", title=picture.name)
                counts["json"] += 1
                made += 1
            if k % 100 == 3:  # a real video that shares the picture's name
                shutil.copyfile(long, folder / f"{stem}.MOV")
                counts["long_video"] += 1
                made += 1
        counts["pictures"] += 1
        counts["files"] += made
        k += 1
    # Grouped by source so that each worker decodes a source photo once.
    jobs.sort(key=lambda j: (j[0], j[2]))
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


def time_scan(root: Path, workers: int) -> tuple[float, dict[str, Any]]:
    """(seconds, report) of the CLI's dry-run hash scan, start-up included."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cli = [sys.executable, "-m", "remedia_tray", "sort", str(root), "--engine", "hash",
           "--dry-run", "--no-cache", "--workers", str(workers), "--json"]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cli, check=True, capture_output=True, env=env, text=True)
    return time.perf_counter() - t0, json.loads(done.stdout)


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
        scans = [time_scan(work / "backup", args.workers) for _ in range(args.runs)]
        scan, report = min(scans, key=lambda t: t[0])
        timed = [time_sets(work / "backup") for _ in range(3)]
        walk, sets, files, primaries = min(timed, key=lambda t: t[1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    grouped = sum(len(g["members"]) for g in report["groups"])
    out = {
        **counts,
        "walked_files": files,
        "primaries_read": primaries,
        "scan_groups": len(report["groups"]),
        "scan_pictures_grouped": grouped,
        "scan_stages_s": report["stages"],
        "build_s": round(built, 1),
        "walk_s": round(walk, 3),
        "set_finding_s": round(sets, 3),
        "hash_scan_cli_s": round(scan, 2),
        "set_share_of_scan": round(sets / scan, 4),
        "within_3_percent": sets / scan <= 0.03,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
