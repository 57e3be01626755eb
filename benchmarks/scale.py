"""Scale: grouping 100,000 to 1,000,000 items, peak memory, and parallel first-scan throughput.

Synthetic features with planted near-duplicate groups (sizes 2-6):
- hashes: random 64-bit dHash + pHash pairs; group members are copies of one hash with 0-3 bits
  flipped in each, so every planted group is within the default threshold (8);
- embeddings: random 512-d unit vectors; members are base + noise (cosine about 0.92 to each
  other), grouped at max distance 0.15.
Grouping = exact neighbour search + exact complete linkage. Where brute force is affordable the
pairs and groups are compared with it (`exact_match`: the same pairs and groups, distances
within 1e-5, since BLAS kernels round differently on different CPUs). The 1,000,000-hash and
1,000,000-embedding cases run in child processes so their peak RSS is their own; from 200,000
rows embeddings use the approximate search (core.search.ann), so at --n the approximate method
is also run and compared with brute force (`embed_ann_recall`: pairs found / brute-force pairs,
`embed_ann_lost_pairs`, `embed_ann_same_groups`). Extraction: the hash engine's first scan
(no feature cache, files in the OS page cache) of 12 MP JPEGs made from shared/data/photos, one
process vs every core.

    python benchmarks/scale.py --n 100000            # full run, about 5-10 minutes on 2 cores
    python benchmarks/scale.py --n 20000 --no-million --images 48

Prints one JSON object. Times are wall-clock seconds; `*_cpu_s` is this process's CPU time,
which other programs on the machine do not inflate (compare with `machine.loadavg`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import SHARED
from remedia_tray.core.grouping import complete_linkage
from remedia_tray.core.search.cosine import cosine_neighbours
from remedia_tray.core.search.hash import hash_neighbours
from remedia_tray.core.search.hash_plan import plan_hash_index
from remedia_tray.core.search.pairs import Neighbours

HASH_THRESHOLD = 8.0  # the hash engine at the default strictness (balanced)
DHASH_WEIGHT = 0.5
EMBED_MAX_DISTANCE = 0.15


def peak_rss_mb() -> float:
    """This process's peak resident set size (getrusage; Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def high_water_mb() -> float | None:
    """The same from /proc (VmHWM), which, unlike ru_maxrss, does not carry over from a parent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def planted(n: int, rng: np.random.Generator, share: float = 0.1) -> list[list[int]]:
    """Disjoint groups of 2-6 random items covering about `share` of all items."""
    order = rng.permutation(n)
    groups, pos = [], 0
    while pos < int(n * share):
        size = int(rng.integers(2, 7))
        groups.append(sorted(order[pos : pos + size].tolist()))
        pos += size
    return groups


def synth_hashes(n: int, seed: int) -> tuple[np.ndarray, list[list[int]]]:
    rng = np.random.default_rng(seed)
    feats = rng.integers(0, 2**64, size=(n, 2), dtype=np.uint64)
    groups = planted(n, rng)
    bits = np.uint64(1) << np.arange(64, dtype=np.uint64)
    for g in groups:
        base = feats[g[0]].copy()
        for m in g:
            for col in range(2):
                flips = rng.choice(64, size=int(rng.integers(0, 4)), replace=False)
                feats[m, col] = base[col] ^ np.bitwise_or.reduce(bits[flips], initial=0)
    return feats, groups


def synth_embeddings(n: int, dim: int, seed: int) -> tuple[np.ndarray, list[list[int]]]:
    rng = np.random.default_rng(seed)
    emb = rng.standard_normal((n, dim), dtype=np.float32)
    groups = planted(n, rng)
    for g in groups:
        base = emb[g[0]] / np.linalg.norm(emb[g[0]])
        noise = rng.standard_normal((len(g), dim), dtype=np.float32) * (0.3 / np.sqrt(dim))
        emb[g] = base + noise
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb, groups


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def same(a: Neighbours, b: Neighbours) -> bool:
    """Same pairs exactly; distances within float32 rounding (BLAS kernels differ by CPU)."""
    return (
        np.array_equal(a.i, b.i)
        and np.array_equal(a.j, b.j)
        and bool(np.allclose(a.distance, b.distance, rtol=0, atol=1e-5))
    )


def recovered(groups: list[list[int]], truth: list[list[int]]) -> float:
    found = {tuple(g) for g in groups}
    return round(sum(tuple(g) in found for g in truth) / max(1, len(truth)), 4)


def hash_case(n: int, brute_max: int) -> dict[str, Any]:
    feats, truth = synth_hashes(n, seed=1)
    plan = plan_hash_index(n, HASH_THRESHOLD, DHASH_WEIGHT)
    pairs, search_s, search_cpu = timed(
        lambda: hash_neighbours(feats, HASH_THRESHOLD, DHASH_WEIGHT)
    )
    groups, link_s, link_cpu = timed(
        lambda: complete_linkage(n, pairs.i, pairs.j, pairs.distance, HASH_THRESHOLD)
    )
    out: dict[str, Any] = {
        "n": n,
        "threshold": HASH_THRESHOLD,
        "dhash_weight": DHASH_WEIGHT,
        "method": "brute" if plan is None else "multi-index",
        # "d21/2": 21 bits of the dHash, probed within 2 bit flips.
        "chunks": None
        if plan is None
        else [f"{'dp'[c.column]}{c.bits}/{c.flips}" for c in plan.chunks],
        "search_s": round(search_s, 2),
        "linkage_s": round(link_s, 2),
        "hash_group_s": round(search_s + link_s, 2),
        "hash_group_cpu_s": round(search_cpu + link_cpu, 2),
        "pairs": len(pairs.i),
        "groups": len(groups),
        "planted_groups": len(truth),
        "planted_recovered": recovered(groups, truth),
        "exact_match": None,
    }
    if n <= brute_max:
        brute, brute_s, brute_cpu = timed(
            lambda: hash_neighbours(feats, HASH_THRESHOLD, DHASH_WEIGHT, method="brute")
        )
        brute_groups = complete_linkage(n, brute.i, brute.j, brute.distance, HASH_THRESHOLD)
        out["brute_search_s"] = round(brute_s, 2)
        out["brute_search_cpu_s"] = round(brute_cpu, 2)
        out["exact_match"] = same(pairs, brute) and groups == brute_groups
    return out


def planted_pairs(emb: np.ndarray, truth: list[list[int]], found: Neighbours) -> dict[str, int]:
    """Planted pairs within the threshold (computed exactly; random 512-d pairs sit about 19
    standard deviations below it, so these are all the pairs there are) and how many were
    found: at 1,000,000 rows, where brute force is out of reach, this is the recall check."""
    min_sim = np.float32(1.0 - EMBED_MAX_DISTANCE - 1e-6)
    within: set[int] = set()
    n = len(emb)
    for g in truth:
        sims = emb[g] @ emb[g].T
        for a in range(len(g)):
            for b in range(a + 1, len(g)):
                if sims[a, b] >= min_sim:
                    within.add(min(g[a], g[b]) * n + max(g[a], g[b]))
    got = set((found.i.astype(np.int64) * n + found.j).tolist())
    return {"planted_pairs_within": len(within), "planted_pairs_lost": len(within - got)}


def embed_case(n: int, dim: int, brute_max: int) -> dict[str, Any]:
    emb, truth = synth_embeddings(n, dim, seed=2)
    pairs, search_s, search_cpu = timed(lambda: cosine_neighbours(emb, EMBED_MAX_DISTANCE))
    groups, link_s, link_cpu = timed(
        lambda: complete_linkage(n, pairs.i, pairs.j, pairs.distance, EMBED_MAX_DISTANCE)
    )
    out: dict[str, Any] = {
        "n": n,
        "dim": dim,
        "max_distance": EMBED_MAX_DISTANCE,
        "search_s": round(search_s, 2),
        "linkage_s": round(link_s, 2),
        "embed_group_s": round(search_s + link_s, 2),
        "embed_group_cpu_s": round(search_cpu + link_cpu, 2),
        "pairs": len(pairs.i),
        "groups": len(groups),
        "planted_groups": len(truth),
        "planted_recovered": recovered(groups, truth),
        **planted_pairs(emb, truth, pairs),
        "exact_match": None,
    }
    if n <= brute_max:
        brute, brute_s, brute_cpu = timed(
            lambda: cosine_neighbours(emb, EMBED_MAX_DISTANCE, method="brute")
        )
        brute_groups = complete_linkage(n, brute.i, brute.j, brute.distance, EMBED_MAX_DISTANCE)
        out["brute_search_s"] = round(brute_s, 2)
        out["brute_search_cpu_s"] = round(brute_cpu, 2)
        out["exact_match"] = same(pairs, brute) and groups == brute_groups
    return out


def ann_recall(n: int, dim: int) -> dict[str, Any]:
    """The approximate search against brute force at n rows (the default threshold)."""
    emb, _ = synth_embeddings(n, dim, seed=2)
    approx, approx_s, _ = timed(
        lambda: cosine_neighbours(emb, EMBED_MAX_DISTANCE, method="approximate")
    )
    brute, brute_s, _ = timed(lambda: cosine_neighbours(emb, EMBED_MAX_DISTANCE, method="brute"))
    key_a = set((approx.i * n + approx.j).tolist())
    key_b = set((brute.i * n + brute.j).tolist())
    groups_a = complete_linkage(n, approx.i, approx.j, approx.distance, EMBED_MAX_DISTANCE)
    groups_b = complete_linkage(n, brute.i, brute.j, brute.distance, EMBED_MAX_DISTANCE)
    return {
        "n": n,
        "approximate_search_s": round(approx_s, 2),
        "brute_search_s": round(brute_s, 2),
        "brute_pairs": len(key_b),
        "recall": round(len(key_a & key_b) / max(1, len(key_b)), 6),
        "lost_pairs": len(key_b - key_a),
        "extra_pairs": len(key_a - key_b),
        "same_groups": groups_a == groups_b,
    }


def million_case(n: int, flag: str = "--child-hash") -> dict[str, Any]:
    """A big case in a fresh interpreter, so its peak RSS is not ours."""
    proc = subprocess.run(
        [sys.executable, __file__, flag, str(n)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {"n": n, "error": proc.stderr.strip()[-2000:]}
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def make_12mp(count: int, out: Path) -> list[Path]:
    """Distinct 4000x3000 JPEGs (q90, with sensor-like grain) made from the shared photos."""
    from PIL import Image, ImageOps

    sources = sorted((SHARED / "photos" / "images").glob("*.jpg"))
    if not sources:
        return []
    rng = np.random.default_rng(0)
    grain = rng.integers(-5, 6, size=(3000, 4000, 3), dtype=np.int16)

    def one(k: int) -> Path:
        with Image.open(sources[k % len(sources)]) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            # A different crop per copy: every file is a distinct photo to the scanner.
            cx, cy = 0.3 + 0.4 * ((k * 0.37) % 1), 0.3 + 0.4 * ((k * 0.61) % 1)
            im = ImageOps.fit(im, (4000, 3000), Image.Resampling.BILINEAR, centering=(cx, cy))
        arr = np.asarray(im, dtype=np.int16) + np.roll(grain, 97 * k, axis=1)
        path = out / f"IMG_{k:05d}.jpg"
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=90)
        return path

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(one, range(count)))


class _Clock:
    """Progress sink that records when each file was finished."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, desc: str, total: int) -> _Clock:
        return self

    def update(self, n: int = 1) -> None:
        self.times.extend([time.perf_counter()] * n)

    def close(self) -> None:
        pass


def extraction_case(count: int, keep: Path | None = None) -> dict[str, Any]:
    from remedia_tray.engines import HashEngine
    from remedia_tray.pipeline.features import extract_features, media_from_paths, usable_cores

    if not (SHARED / "photos" / "images").exists():
        return {"skipped": f"shared data not found at {SHARED / 'photos'}"}
    workers = usable_cores()
    with tempfile.TemporaryDirectory(prefix="remedia-scale-") as tmp:
        folder = keep if keep is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = sorted(folder.glob("IMG_*.jpg"))[:count]
        make_s = 0.0
        if len(paths) < count:
            paths, make_s, _ = timed(lambda: make_12mp(count, folder))
        files, _ = media_from_paths(sorted(paths))
        for p in paths:  # same starting point for both runs: every file in the page cache
            p.read_bytes()
        rates: dict[str, float] = {}
        steady: dict[str, float | None] = {}
        cpu_ms: dict[str, float] = {}
        for label, w in (("single", 1), ("parallel", workers)):
            clock = _Clock()
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            result, wall, cpu = timed(
                lambda w=w, clock=clock: extract_features(  # type: ignore[misc]
                    files, [HashEngine()], workers=w, progress=clock
                )
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert result.decoded == len(files) and not result.skipped
            rates[label] = len(files) / wall
            # CPU time per image, workers included: what the other programs cannot inflate.
            spent = (
                cpu + (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
            )
            cpu_ms[label] = 1000 * spent / len(files)
            # After the first tenth of the results: leaves out starting the worker processes.
            t = clock.times
            k = max(1, len(t) // 10)
            steady[label] = (len(t) - k) / (t[-1] - t[k - 1]) if t[-1] > t[k - 1] else None
        sizes = [p.stat().st_size for p in paths]
    return {
        "images": count,
        "megapixels": 12.0,
        "mean_file_mb": round(sum(sizes) / len(sizes) / 2**20, 2),
        "make_s": round(make_s, 1),
        "workers": workers,
        "single_img_s": round(rates["single"], 1),
        "parallel_img_s": round(rates["parallel"], 1),
        "ratio": round(rates["parallel"] / rates["single"], 2),
        "single_cpu_ms_per_img": round(cpu_ms["single"], 1),
        "parallel_cpu_ms_per_img": round(cpu_ms["parallel"], 1),
        "cpu_pressure": _cpu_pressure(),
        "single_steady_img_s": None if steady["single"] is None else round(steady["single"], 1),
        "parallel_steady_img_s": (
            None if steady["parallel"] is None else round(steady["parallel"], 1)
        ),
    }


def _cpu_pressure() -> str | None:
    """Linux PSI: the share of time runnable tasks waited for a CPU (other programs too)."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "cpu_pressure_start": _cpu_pressure(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="items for the hash and embedding runs")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--million", type=int, default=1_000_000, help="size of the big hash run")
    ap.add_argument("--no-million", action="store_true", help="skip the big hash run")
    ap.add_argument("--images", type=int, default=160, help="12 MP JPEGs for extraction")
    ap.add_argument(
        "--images-dir", type=Path, help="keep the 12 MP JPEGs here and reuse them next time"
    )
    ap.add_argument("--hash-brute-max", type=int, default=100_000)
    ap.add_argument("--embed-brute-max", type=int, default=100_000)
    ap.add_argument(
        "--embed-million", type=int, default=1_000_000, help="size of the big embedding run"
    )
    ap.add_argument("--no-embed-million", action="store_true", help="skip the big embedding run")
    ap.add_argument("--no-ann-recall", action="store_true", help="skip approximate vs brute")
    ap.add_argument("--child-hash", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--child-embed", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child_embed:
        out = embed_case(args.child_embed, args.dim, brute_max=0)
        out["peak_rss_mb"] = peak_rss_mb()
        out["vm_hwm_mb"] = high_water_mb()
        print(json.dumps(out))
        return

    if args.child_hash:
        out = hash_case(args.child_hash, brute_max=0)
        out["peak_rss_mb"] = peak_rss_mb()
        out["vm_hwm_mb"] = high_water_mb()
        print(json.dumps(out))
        return

    info = machine()
    # The big case first, while this process is still small: Linux carries a parent's
    # ru_maxrss over into a child, so a large parent would mask the child's own peak.
    big = None if args.no_million else million_case(args.million)
    big_embed = None if args.no_embed_million else million_case(args.embed_million, "--child-embed")
    hashes = hash_case(args.n, args.hash_brute_max)
    embeddings = embed_case(args.n, args.dim, args.embed_brute_max)
    recall = None if args.no_ann_recall else ann_recall(args.n, args.dim)
    grouping_rss = peak_rss_mb()  # before making 12 MP test images, which needs a lot more
    extraction = extraction_case(args.images, args.images_dir) if args.images > 0 else None
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    info["cpu_pressure_end"] = _cpu_pressure()
    checks = [c["exact_match"] for c in (hashes, embeddings) if c["exact_match"] is not None]
    report = {
        "n": args.n,
        "hash_group_s": hashes["hash_group_s"],
        "embed_group_s": embeddings["embed_group_s"],
        "peak_rss_mb": grouping_rss,
        "exact_match": all(checks) if checks else None,
        "hash_1m_group_s": None if big is None else big.get("hash_group_s"),
        "hash_1m_peak_rss_mb": None if big is None else big.get("peak_rss_mb"),
        "hash_1m_vm_hwm_mb": None if big is None else big.get("vm_hwm_mb"),
        "embed_1m_group_s": None if big_embed is None else big_embed.get("embed_group_s"),
        "embed_1m_peak_rss_mb": None if big_embed is None else big_embed.get("peak_rss_mb"),
        "embed_ann_recall": None if recall is None else recall["recall"],
        "embed_ann_lost_pairs": None if recall is None else recall["lost_pairs"],
        "embed_ann_same_groups": None if recall is None else recall["same_groups"],
        "extract_single_img_s": None if extraction is None else extraction.get("single_img_s"),
        "extract_parallel_img_s": (
            None if extraction is None else extraction.get("parallel_img_s")
        ),
        "extract_ratio": None if extraction is None else extraction.get("ratio"),
        "hash": hashes,
        "embeddings": embeddings,
        "hash_1m": big,
        "embed_1m": big_embed,
        "embed_ann": recall,
        "extraction": extraction,
        "machine": info,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
