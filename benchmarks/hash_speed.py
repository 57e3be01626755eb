"""First-scan speed of the hash engine on 12 MP JPEGs, end to end, side by side with peers,
plus the cost of verification and the cached rescan of 10,000 images.

Every tool runs as a fresh process on the same files in the same run, start-up included:
`remedia sort FOLDER --engine hash --dry-run --no-cache` (the CLI a user runs), imagededup
PHash.encode_images with all cores, and the czkawka Python bindings (ImageSimilarity:
hashing plus grouping, Rust, its own threads). Also: the import time of the CLI, and the
share of a scan spent verifying candidate pairs, on a folder where every other photo has a
WhatsApp-like copy (so verification has real work).

Also: the full-size check (pairs read again where text or graphics need it) on those photos
and on generated screenshots, and with `--parent REV` the CLI of another revision timed in
the same run, interleaved.

    python benchmarks/hash_speed.py [--n 96] [--rescan 10000] [--parent HEAD~1]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@contextlib.contextmanager
def parent_tree(rev: str | None) -> Iterator[Path | None]:
    """A temporary git worktree at `rev` (None: no tree), removed afterwards."""
    if rev is None:
        yield None
        return
    root = Path(__file__).resolve().parents[1]
    tree = Path(tempfile.mkdtemp(prefix="remedia-parent-")) / "tree"
    subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(tree), rev],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)],
                       check=False, capture_output=True)  # fmt: skip


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def drop_caches_hint(folder: Path) -> None:
    # Read every file once so all tools start with the same (warm) page cache.
    for p in folder.iterdir():
        p.read_bytes()


def with_copies(folder: Path, work: Path) -> Path:
    """The photos, every other one with a WhatsApp-like copy (so verification has work)."""
    dup = work / "with-copies"
    dup.mkdir()
    for k, path in enumerate(sorted(folder.iterdir())):
        shutil.copy(path, dup / path.name)
        if k % 2 == 0:
            with Image.open(path) as im:
                im.draft("RGB", (1600, 1600))
                copy = im.convert("RGB")
                copy.thumbnail((1600, 1600))
                copy.save(dup / f"{path.stem}-WA.jpg", quality=75)
    return dup


def screenshots(work: Path, per_family: int) -> Path | None:
    """Generated screenshots, pages, slides and captioned photos with their copies
    (tests/textpics.py): every look-alike of one layout is a candidate pair."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.textpics import font_path, make_set

    if font_path("sans") is None:
        return None
    out = work / "screenshots"
    make_set(out, seed=7, style="sans", per_family=per_family)
    return out


def fullsize_share(folder: Path, cores: int) -> dict[str, object]:
    """The full-size check's share of a scan of `folder`: its seconds, the candidate pairs
    it was given, and how many it read at full size (the rest: byte-identical or scaled
    copies of photos, which the 64 px check decides)."""
    from remedia_tray.pipeline import fullsize_check

    seen = {"pairs": 0, "read": 0}
    confirm, read = fullsize_check.PairCheck.confirm, fullsize_check.PairCheck._read

    def counted_confirm(self: Any, pairs: Any) -> Any:
        seen["pairs"] += len(pairs.i)
        return confirm(self, pairs)

    def counted_read(self: Any, todo: Any) -> Any:
        seen["read"] += len(todo)
        return read(self, todo)

    fullsize_check.PairCheck.confirm = counted_confirm  # type: ignore[method-assign]
    fullsize_check.PairCheck._read = counted_read  # type: ignore[method-assign]
    try:
        opts = SortOptions(engine="hash", dry_run=True, use_cache=False, workers=cores)
        sort_folder(folder, opts)  # warm-up
        seen.update(pairs=0, read=0)
        t0 = time.perf_counter()
        report = sort_folder(folder, opts)
        total = time.perf_counter() - t0
    finally:
        fullsize_check.PairCheck.confirm = confirm  # type: ignore[method-assign]
        fullsize_check.PairCheck._read = read  # type: ignore[method-assign]
    spent = report.stages.get("full-size check", 0.0)
    return {
        "images": report.images,
        "scan_s": round(total, 2),
        "candidate_pairs": seen["pairs"],
        "pairs_read_at_full_size": seen["read"],
        "share_of_pairs_read": round(seen["read"] / max(1, seen["pairs"]), 3),
        "fullsize_check_s": round(spent, 3),
        "fullsize_share_of_scan": round(spent / total, 4),
        "duplicate_groups": len(report.duplicate_groups),
    }


def verification_share(dup: Path, cores: int) -> dict[str, object]:
    """How much of a scan goes to verifying candidate pairs, with real duplicates present."""
    from remedia_tray.core import verify
    from remedia_tray.engines import HashEngine

    checks = {"pairs": 0, "s": 0.0, "layout_s": 0.0}
    same_frame = verify.same_frame
    with_layout = HashEngine._with_layout

    def timed_layout(self: HashEngine, *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return with_layout(self, *args)
        finally:
            checks["layout_s"] += time.perf_counter() - t0

    def timed_check(a: object, b: object, strictness: int) -> bool:
        t0 = time.perf_counter()
        try:
            return same_frame(a, b, strictness)  # type: ignore[arg-type]
        finally:
            checks["pairs"] += 1
            checks["s"] += time.perf_counter() - t0

    verify.same_frame = timed_check  # type: ignore[assignment]
    HashEngine._with_layout = timed_layout  # type: ignore[method-assign]
    try:
        opts = SortOptions(engine="hash", dry_run=True, use_cache=False, workers=cores)
        sort_folder(dup, opts)  # warm-up
        checks.update(pairs=0, s=0.0, layout_s=0.0)
        t0 = time.perf_counter()
        report = sort_folder(dup, opts)
        total = time.perf_counter() - t0
    finally:
        verify.same_frame = same_frame  # type: ignore[assignment]
        HashEngine._with_layout = with_layout  # type: ignore[method-assign]
    return {
        "verify_set_images": report.images,
        "verify_candidate_pairs": checks["pairs"],
        "verify_s": round(checks["s"], 3),
        "verify_us_per_pair": round(1e6 * checks["s"] / max(1, checks["pairs"]), 1),
        "verify_share_of_scan": round(checks["s"] / total, 4),
        # The layout channel's search (its candidates' checks are in verify_s).
        "layout_channel_s": round(checks["layout_s"], 3),
        "verify_and_layout_share_of_scan": round((checks["s"] + checks["layout_s"]) / total, 4),
        "duplicate_groups": len(report.duplicate_groups),
        "hash_engine": HashEngine().description,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=96)
    parser.add_argument(
        "--peer-python",
        default=sys.executable,
        help="interpreter that has the peers installed (pip install imagededup czkawka)",
    )
    parser.add_argument("--rescan", type=int, default=10_000)
    parser.add_argument(
        "--parent", metavar="REV", help="also time the CLI of revision REV, runs interleaved"
    )
    parser.add_argument("--screenshots", type=int, default=6, help="per family; 0: skip")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="remedia-speed-"))
    folder = work / "photos"
    folder.mkdir()
    make_12mp(args.n, folder)
    drop_caches_hint(folder)
    cores = os.cpu_count() or 1
    out: dict[str, object] = {"n": args.n, "image": "4000x3000 JPEG q90", "cores": cores}

    py = sys.executable
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def process(*argv: str, python: str = py) -> float:
        t0 = time.perf_counter()
        subprocess.run([python, *argv], check=True, capture_output=True, env=env)
        return time.perf_counter() - t0

    cli = ("-m", "remedia_tray", "sort", str(folder), "--engine", "hash", "--dry-run", "--no-cache")
    process(*cli)  # warm the page cache and the interpreter's own files
    bare = min(process("-c", "pass") for _ in range(3))
    imports = min(process("-c", "import remedia_tray.cli, remedia_tray.sorter") for _ in range(3))
    out["python_start_s"] = round(bare, 3)
    out["remedia_import_s"] = round(imports - bare, 3)
    runs: list[float] = []
    parent_runs: list[float] = []
    with parent_tree(args.parent) as parent:
        parent_env = None if parent is None else {**env, "PYTHONPATH": str(parent)}
        for _ in range(3):  # interleaved, so both see the same machine
            runs.append(process(*cli))
            if parent_env is not None:
                t0 = time.perf_counter()
                subprocess.run([py, *cli], check=True, capture_output=True, env=parent_env)
                parent_runs.append(time.perf_counter() - t0)
    tn = min(runs)
    out["remedia_cli_img_s"] = round(args.n / tn, 1)
    out["remedia_cli_s"] = [round(r, 2) for r in runs]
    if parent_runs:
        out[f"parent_{args.parent}_cli_img_s"] = round(args.n / min(parent_runs), 1)
        out[f"parent_{args.parent}_cli_s"] = [round(r, 2) for r in parent_runs]
        out["cli_rate_vs_parent"] = round(min(parent_runs) / tn, 3)

    peers = {
        "imagededup_phash": (
            "from imagededup.methods import PHash\n"
            f"PHash(verbose=False).encode_images(image_dir={str(folder)!r}, "
            f"num_enc_workers={cores})"
        ),
        "czkawka": (
            "import czkawka\n"
            "f = czkawka.ImageSimilarity()\n"
            f"f.set_directories([{str(folder)!r}])\n"
            "f.set_similarity(5)\n"
            "f.find_similar()"
        ),
    }
    for name, code in peers.items():
        try:
            times = [process("-c", code, python=args.peer_python) for _ in range(3)]
        except subprocess.CalledProcessError as exc:
            out[name] = f"not run: {exc.stderr.decode(errors='replace').strip().splitlines()[-1]}"
            continue
        out[f"{name}_img_s"] = round(args.n / min(times), 1)
        out[f"remedia_vs_{name}"] = round(min(times) / tn, 2)

    dup = with_copies(folder, work)
    out.update(verification_share(dup, cores))
    out["fullsize_check_photos"] = fullsize_share(dup, cores)
    shots = screenshots(work, args.screenshots) if args.screenshots else None
    if shots is not None:
        out["fullsize_check_screenshots"] = fullsize_share(shots, cores)

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
