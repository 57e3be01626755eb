"""Incremental cost: a sorted library of N photos receives a batch of 100 new ones.

The library is N real files on disk whose features are synthetic rows in the feature cache
(the default engines: dHash+pHash with its thumbnail, and the bundled AI model's 2 x 1024
float16 embedding), as a first sort would have left them, with the folder's library index.
The real tray service (watchdog, settle, sort, notification) runs in this process, with
private config and cache folders:

1. warm-up: one photo lands (the AI model loads);
2. the batch: 100 photos land (90 real photos + 10 byte copies, so files move); timed from
   the last file landing to the batch being sorted. Target: settle + 5 s;
3. with --walk, "Sort now" from the menu: a walk of the whole folder, for comparison.

The report splits the sort into discovery (which files), features (decoding the new ones),
search (the library index and grouping), moves (plan, journal, index update) and the rest
(report and review page), so the shares show what grows with N.

    python benchmarks/incremental.py [--n 100000] [--settle 2] [--walk] [--also-million]

Disk: about 10 KB per library photo (file, cache rows, index). Photos: shared/data/holidays
when present, else generated.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tray_latency import _generated, batch_photos

from remedia_tray.core.media import MediaFile

BYTES_PER_PHOTO = 10_500  # file + cache rows + index rows, measured on a 20,000 run
_STEP = 20_000


def _tiny_jpeg(seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    im = Image.fromarray(rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def build_library(root: Path, cache_dir: Path, n: int, strictness: int = 50) -> dict[str, Any]:
    """N files in 100 folders, their synthetic features cached, and the library index."""
    from remedia_tray.engines.registry import select_engines
    from remedia_tray.pipeline.cache import FeatureCache
    from remedia_tray.pipeline.features import _INFO_KEY
    from remedia_tray.pipeline.library_index import save_index
    from remedia_tray.sorter import SortOptions, _index_key

    t0 = time.perf_counter()
    engines = list(select_engines("both", strictness=strictness).engines)
    rng = np.random.default_rng(7)
    bases = [_tiny_jpeg(s) for s in range(64)]
    cache = FeatureCache(cache_dir, flush_seconds=3600)
    files: list[MediaFile] = []
    keys: dict[str, list[np.ndarray]] = {e.name: [] for e in engines}
    info = json.dumps({"w": 4000, "h": 3000, "f": "JPEG", "e": 12, "c": True}).encode()
    for s in range(0, n, _STEP):
        count = min(_STEP, n - s)
        feats: dict[str, np.ndarray] = {}
        for e in engines:
            if e.metric == "bits":
                feats[e.name] = rng.integers(0, 2**64, size=(count, e.feature_dim), dtype=np.uint64)
            else:
                emb = rng.standard_normal((count, e.feature_dim), dtype=np.float32)
                half = e.feature_dim // 2
                emb[:, :half] /= np.linalg.norm(emb[:, :half], axis=1, keepdims=True)
                emb[:, half:] /= np.linalg.norm(emb[:, half:], axis=1, keepdims=True)
                feats[e.name] = emb.astype(e.feature_dtype)
        for k in range(count):
            i = s + k
            folder = root / f"{2015 + i % 10}" / f"{i % 100:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"IMG_{i:07d}.jpg"
            # Distinct bytes and (mostly) distinct sizes, as camera files have.
            path.write_bytes(bases[i % 64] + i.to_bytes(4, "big") * (1 + i % 997))
            st = path.stat()
            f = MediaFile.from_stat(path, st)
            files.append(f)
            cache.put(f, _INFO_KEY, info)
            for e in engines:
                cache.put(f, e.cache_key, feats[e.name][k].tobytes())
        cache.flush()
        for e in engines:
            keys[e.name].append(e.search_keys(feats[e.name]))
    cache.close()
    key = _index_key(engines, SortOptions(strictness=strictness))
    save_index(root, key, files, {k: np.concatenate(v) for k, v in keys.items()}, {})
    (root / ".remedia").mkdir(exist_ok=True)
    # The tray's record that everything up to now was sorted: start-up hands nothing on.
    (root / ".remedia" / "tray-state.json").write_text(json.dumps({"last_sorted": time.time()}))
    return {"n": n, "build_s": round(time.perf_counter() - t0, 1)}


def _du_mb(*paths: Path) -> float:
    total = 0
    for p in paths:
        for dirpath, _dirs, names in os.walk(p):
            for name in names:
                try:
                    total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
                except OSError:
                    pass
    return round(total / 2**20, 1)


def run(n: int, settle: float, with_walk: bool) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="remedia-incremental-"))
    try:
        for name in ("config", "cache", "run"):
            (base / name).mkdir(mode=0o700)
        os.environ.update(
            XDG_CONFIG_HOME=str(base / "config"),
            XDG_CACHE_HOME=str(base / "cache"),
            XDG_RUNTIME_DIR=str(base / "run"),
        )
        os.environ.pop("DISPLAY", None)
        from remedia_tray.layout import user_cache_dir

        root = base / "Pictures"
        root.mkdir()
        built = build_library(root, user_cache_dir(), n)
        print(f"  built a library of {n} photos in {built['build_s']} s", flush=True)
        return {**built, **_measure(base, root, settle, with_walk), "disk_mb": _du_mb(base)}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _measure(base: Path, root: Path, settle: float, with_walk: bool) -> dict[str, Any]:
    from remedia_tray.desktop.service import BatchResult, TrayService
    from remedia_tray.desktop.settings import Settings, save

    settings_path = base / "config" / "settings.toml"
    save(Settings(watched=(root,), engine="both", settle_seconds=settle), settings_path)
    batches: list[BatchResult] = []
    service = TrayService(settings_path=settings_path, on_batch=batches.append)
    service.start()
    try:
        inbox = root / "Inbox"
        inbox.mkdir()
        photos = batch_photos()
        # 1. Warm-up.
        (inbox / "warm-up.jpg").write_bytes(_generated(99_999, 640, 480))
        _wait(batches, 1, 3600)
        time.sleep(1.0)
        # 2. The batch.
        for name, data in photos:
            with open(inbox / name, "wb") as fh:
                fh.write(data)
        t_last = time.monotonic()
        _wait(batches, 2, 600)
        latency = time.monotonic() - t_last
        walk: dict[str, Any] = {}
        if with_walk:
            service.sort_now(root)
            _wait(batches, 3, 3600)
            done = batches[2].report
            assert done is not None and done.mode == "walk", batches[2]
            walk = {
                "walk_sort_s": round(done.seconds, 2),
                "walk_stages_s": {k: round(v, 2) for k, v in done.stages.items()},
            }
    finally:
        service.stop()
    result = batches[1]
    report = result.report
    if report is None:
        raise RuntimeError(f"the batch failed: {result.error}")
    stages = dict(report.stages)
    rest = report.seconds - sum(stages.values())
    stages["report+review"] = max(0.0, rest)
    sort_s = report.seconds
    return {
        "settle_s": settle,
        "batch_mode": report.mode,
        "batches": len(batches),
        "new_photos": result.new_photos,
        "decoded": report.decoded,
        "moved": report.duplicates_moved + report.similar_moved,
        "latency_s": round(latency, 2),
        "target_s": settle + 5.0,
        "ratio_to_target": round(latency / (settle + 5.0), 3),
        "sort_s": round(sort_s, 3),
        "stages_s": {k: round(v, 3) for k, v in stages.items()},
        "shares": {k: round(v / sort_s, 3) for k, v in stages.items()},
        **walk,
    }


def _wait(batches: list[Any], count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(batches) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no batch {count} within {timeout} s")
        time.sleep(0.01)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100_000])
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--walk", action="store_true", help="also time a walk of the whole folder")
    ap.add_argument("--also-million", action="store_true", help="add N = 1,000,000 if disk allows")
    args = ap.parse_args()
    sizes = list(args.n)
    if args.also_million:
        free = shutil.disk_usage(tempfile.gettempdir()).free
        need = 1_000_000 * BYTES_PER_PHOTO * 1.3
        if free > need:
            sizes.append(1_000_000)
        else:
            print(f"1,000,000: skipped, {free / 2**30:.1f} GiB free, {need / 2**30:.1f} needed")
    rows = []
    for n in sizes:
        print(f"case: {n} photos already sorted", flush=True)
        row = run(n, args.settle, args.walk and n < 1_000_000)
        print("  " + json.dumps(row), flush=True)
        rows.append(row)
    print(f"{'library':>9} {'latency s':>9} {'target s':>8} {'ratio':>6} {'sort s':>7} "
          f"{'discovery':>9} {'features':>8} {'search':>7} {'moves':>6} "
          f"{'walk sort s':>11}")  # fmt: skip
    for r in rows:
        sh = r["shares"]
        print(
            f"{r['n']:>9} {r['latency_s']:>9.2f} {r['target_s']:>8.1f} {r['ratio_to_target']:>6.2f}"
            f" {r['sort_s']:>7.2f} {sh['discovery']:>9.1%} {sh['features']:>8.1%}"
            f" {sh['search']:>7.1%} {sh['moves']:>6.1%} {r.get('walk_sort_s', float('nan')):>11.1f}"
        )
    ok = all(r["latency_s"] <= r["target_s"] for r in rows)
    print("target met (latency <= settle + 5 s)" if ok else "TARGET MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
