"""RAW reading speed: DNGs of a realistic size, with and without an embedded preview.

Makes N DNGs (a 4000 x 3000 RGGB mosaic, 12 bits, of the shared photos; each file its own
picture: mirrored, turned upside down or cropped once the photos run out; the scan groups
only the shared photos' one photo at two sizes, Elephants) with a 1024 px JPEG preview as
cameras embed it, and fewer without a preview (LibRaw develops those). Times, for each folder:
- the scan through the CLI a user runs, start-up included:
  `remedia sort FOLDER --engine hash --dry-run --no-cache --workers 2`;
- the per-file decode in this process (`load_image` at the scan's size), one core.
Prints RAW/s and the ratio with / without a preview. The goal: at least 20 RAW/s on 2 cores
for DNGs with a preview.

    python benchmarks/raw_speed.py [--n 60] [--n-plain 12] [--keep DIR]
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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import shared
from remedia_tray.pipeline.imaging import load_image
from tests.rawfiles import photo_rgb, write_dng

SIZE = (4000, 3000)
PREVIEW = 1024
#: The hash engine's decode side: what a scan asks for.
SIDE = 128


def variant(rgb: np.ndarray, v: int) -> np.ndarray:
    """Picture `v` of a photo, each its own picture (a scan groups none of them): the photo
    (0), mirrored (1), upside down (2), both (3); from 4 on, a crop window of it (60 % of
    each side, its own position) brought back to the mosaic's size."""
    if v >= 4:
        from PIL import Image

        h, w = rgb.shape[:2]
        ch, cw = h * 3 // 5, w * 3 // 5
        spots = ((0, 0), (1, 1), (0, 1), (1, 0), (0.5, 0.5))
        fy, fx = spots[(v - 4) % len(spots)]
        y, x = round((h - ch) * fy), round((w - cw) * fx)
        crop = Image.fromarray(rgb[y : y + ch, x : x + cw])
        rgb = np.asarray(crop.resize((w, h), Image.Resampling.BICUBIC))
        v = (v - 4) // len(spots)
    if v & 1:
        rgb = rgb[:, ::-1]
    if v & 2:
        rgb = rgb[::-1]
    return np.ascontiguousarray(rgb)


def make_dngs(folder: Path, n: int, *, preview: int | None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted(p for p in shared("photos", "images").iterdir() if p.suffix == ".jpg")
    made, cache = [], {}
    for k in range(n):
        path = folder / f"IMG_{k:04d}.DNG"
        if path.exists():  # made by an earlier run with --keep
            made.append(path)
            continue
        src = sources[k % len(sources)]
        if src not in cache:
            cache[src] = photo_rgb(src, size=SIZE)
        made.append(write_dng(path, variant(cache[src], k // len(sources)), preview=preview))
    return made


def cli_rate(folder: Path, n: int) -> tuple[float, float]:
    """(seconds, RAW/s) of a dry-run hash scan through the CLI, start-up included."""
    env = {**os.environ, "XDG_CACHE_HOME": str(folder.parent / "cache")}
    cmd = [sys.executable, "-m", "remedia_tray", "sort", str(folder), "--engine", "hash"]
    cmd += ["--dry-run", "--no-cache", "--workers", "2", "--json"]
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    report = json.loads(result.stdout) if result.returncode == 0 else {}
    if report.get("decoded") != n or report.get("skipped"):
        print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
    else:
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in report["stages"].items())
        print(
            f"  {folder.name}: {len(report['groups'])} groups; scan {report['seconds']:.2f} s "
            f"of {seconds:.2f} s ({stages})"
        )
    return seconds, n / seconds


def decode_rate(paths: list[Path]) -> tuple[float, float]:
    """(seconds, RAW/s) of load_image on each file, in this process."""
    load_image(paths[0], min_side=SIDE)  # imports and LibRaw's first open
    started = time.perf_counter()
    for path in paths:
        load_image(path, min_side=SIDE)
    seconds = time.perf_counter() - started
    return seconds, len(paths) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60, help="DNGs with a preview")
    parser.add_argument("--n-plain", type=int, default=12, help="DNGs without a preview")
    parser.add_argument("--keep", type=Path, help="make (or reuse) the files here, and keep them")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="remedia-raw-"))
    try:
        started = time.perf_counter()
        with_preview = make_dngs(base / "preview", args.n, preview=PREVIEW)
        plain = make_dngs(base / "plain", args.n_plain, preview=None)
        mb = with_preview[0].stat().st_size / 1e6
        print(
            f"made {args.n} + {args.n_plain} DNGs ({SIZE[0]}x{SIZE[1]} mosaic, 12 bits, "
            f"{mb:.0f} MB each) in {time.perf_counter() - started:.0f} s; {os.cpu_count()} cores"
        )
        rates = {}
        for name, paths in (("with preview", with_preview), ("without preview", plain)):
            cli_s, cli = cli_rate(paths[0].parent, len(paths))
            one_s, one = decode_rate(paths)
            rates[name] = (cli, one)
            print(
                f"{name:>16}: CLI scan (2 workers, start-up included) {cli:6.1f} RAW/s "
                f"({len(paths)} in {cli_s:.1f} s); decode in-process (1 core) {one:6.1f} RAW/s "
                f"({1000 * one_s / len(paths):.0f} ms each)"
            )
        (cli_p, one_p), (cli_r, one_r) = rates["with preview"], rates["without preview"]
        print(
            f"ratio with / without preview: CLI {cli_p / cli_r:.1f}x, decode {one_p / one_r:.1f}x; "
            f"goal >= 20 RAW/s with a preview on 2 cores: {'met' if cli_p >= 20 else 'NOT met'}"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
