"""What a reference folder costs (issue 25): read once, then from the feature cache.

A reference of `--n` photos (default 500: crops of the shared photos, 480-800 px, each its
own picture) outside FOLDER, and two folders of `--n // 10` photos, a tenth of them
WhatsApp-style re-saves of reference photos. Timed, hash engine, one fresh feature cache:

- folder A without the reference (the baseline);
- folder A with it, cold: the reference's photos are decoded once;
- folder B with it: a second folder naming the same reference reads it from the cache;
- folder A again: nothing new to read.

It also checks that nothing in the reference moved (tree hashes before and after).

    python benchmarks/reference_cost.py [--n 500] [--workers 2]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from benchmarks._common import shared
from remedia_tray.sorter import SortOptions, sort_folder


def _picture(src: Path, rng: random.Random) -> Image.Image:
    with Image.open(src) as im:
        im = im.convert("RGB")
    w, h = im.size
    cw, ch = int(w * rng.uniform(0.4, 0.9)), int(h * rng.uniform(0.4, 0.9))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    crop = im.crop((x, y, x + cw, y + ch)).rotate(rng.choice((0, 90, 180, 270)), expand=True)
    crop.thumbnail((rng.randint(480, 800),) * 2)
    return crop


def _build(base: Path, n: int, rng: random.Random) -> tuple[Path, Path, Path]:
    sources = sorted(shared("photos", "images").iterdir())
    ref = base / "Library"
    for k in range(n):
        dst = ref / f"{k // 100:02d}" / f"IMG_{k:05d}.jpg"
        dst.parent.mkdir(parents=True, exist_ok=True)
        _picture(sources[k % len(sources)], rng).save(dst, "JPEG", quality=90)
    library = sorted(ref.rglob("*.jpg"))
    folders = []
    for name in ("a", "b"):
        folder = base / name
        folder.mkdir()
        for k in range(n // 10):
            dst = folder / f"{name}_{k:04d}.jpg"
            if k % 10 == 0:  # a messenger copy of a reference photo
                with Image.open(rng.choice(library)) as im:
                    im.convert("RGB").resize((im.width // 2, im.height // 2)).save(
                        dst, "JPEG", quality=60
                    )
            else:
                _picture(rng.choice(sources), rng).save(dst, "JPEG", quality=85)
        folders.append(folder)
    return ref, folders[0], folders[1]


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="remedia-ref-"))
    try:
        ref, a, b = _build(base, args.n, random.Random(25))
        before = _tree(ref)
        cache = base / "cache"

        def run(label: str, folder: Path, *refs: Path, dry_run: bool = False) -> None:
            opts = SortOptions(
                engine="hash", workers=args.workers, cache_dir=cache, references=refs,
                dry_run=dry_run,
            )  # fmt: skip
            t = time.perf_counter()
            r = sort_folder(folder, opts)
            print(
                f"{label:34} {time.perf_counter() - t:7.2f} s  images {r.images:5}  "
                f"decoded {r.decoded:5}  from cache {r.from_cache:5}  "
                f"moved {r.duplicates_moved:3}"
            )

        planted = len(range(0, args.n // 10, 10))
        print(
            f"reference: {args.n} photos; folders: {args.n // 10} photos each, "
            f"{planted} of them copies of reference photos"
        )
        run("A without the reference (dry run)", a, dry_run=True)
        run("A with the reference, cold", a, ref)
        run("B with the same reference", b, ref)
        run("A again", a, ref)
        print(f"reference unchanged: {_tree(ref) == before}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
