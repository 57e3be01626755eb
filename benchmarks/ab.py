"""Before/after benchmark runner: two revisions, the same benchmarks, in one run, interleaved.

    python benchmarks/ab.py --base REV [--head REV|WORKTREE] [--only NAME ...] [--rounds N]
                            [--args NAME="MORE ARGS"] [--keep DIR]

The base revision is checked out in a temporary git worktree; the head is this tree (with its
uncommitted changes), another worktree's path, or a revision (then a temporary worktree too).
Each side runs its OWN copy of each benchmark script with PYTHONPATH and cwd set to its own
tree (module paths may move between revisions), interleaved base, head, base, head ... for
--rounds rounds.

Each run goes through a small shim (this file, --shim) that records, in the benchmark's process:
- every sort's groups (`sort_folder`, the CLI's and the tray's entry point, hooked on
  `remedia_tray.sorter`): kind, members and kept copy, paths relative to the sorted folder;
- every `complete_linkage` call made by the benchmark script itself (found from the script's
  own imports, so each side hooks its own module path): its input pairs and its groups.
Then, per benchmark, what must be identical is compared exactly: those records and the
benchmark's own printed result with its timing fields dropped (precision, recall, counts,
`exact_match`, ...). Every round of each side must agree, and base must equal head.
Timings: the median wall time per side and a few of the benchmark's own timings, ratio
head / base, flagged beyond 5 %. A difference in results exits 1; timings only warn.

Default arguments: see DEFAULT_ARGS (about 20 minutes for 3 rounds on 2 idle cores).
Add arguments per benchmark with --args NAME="..." (after the defaults; the last one wins).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import hashlib
import importlib
import inspect
import json
import math
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"  # as benchmarks/_common.py finds it
TOLERANCE = 0.05  # timing ratio beyond which a row is flagged
DISTANCE_ATOL = 1e-5  # float32 distances: BLAS kernels may round differently

# name -> (script, default arguments, shared data it needs). Chosen so that 6 benchmarks x 2
# sides x 3 rounds take about 20 minutes on 2 otherwise idle cores (an estimate from runs of
# the parts at smaller settings, about 3.5 minutes a round), while each still sorts, groups
# and times what it is there for. Six other programs on the machine make it 3-4 times longer.
DEFAULT_ARGS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # 4 of the 46 photos (x3 families x16 files = 192 images) at every level, plus Holidays
    # (811 photos, 4 levels): about 45 s; the Holidays part costs the same at any --limit.
    "hash_accuracy": ("hash_accuracy.py", ("--limit", "4"), ("photos", "holidays")),
    # The dev split (389 photos), the bundled model, one worker: the real figure.
    "holidays": ("holidays.py", ("--json",), ("holidays",)),
    # The issue's --n 20000 (hashes, embeddings, exact brute-force check, ANN recall); no
    # 1,000,000 child runs; 8 (not 160) 12 MP images for the extraction timing.
    "scale": (
        "scale.py",
        ("--n", "20000", "--no-million", "--no-embed-million", "--images", "8"),
        (),
    ),
    # A library of 2,000 (not 100,000) photos receiving the 100-photo batch, settle 2 s: the
    # model load and the batch's own photos dominate at this size.
    "incremental": ("incremental.py", ("--n", "2000"), ()),
    # 200 groups (600 photos) instead of 1,000, with the real first sort.
    "review_page": ("review_page.py", ("--groups", "200"), ("photos", "holidays")),
    # 8 12 MP photos (not 96), 500 patches for the cached rescan (not 10,000), 1 screenshot
    # per family (not 6).
    "hash_speed": (
        "hash_speed.py",
        ("--n", "8", "--rescan", "500", "--screenshots", "1"),
        ("photos",),
    ),
}

# Keys of a benchmark's printed result that are timings or machine facts, not results.
VOLATILE = re.compile(
    r"(_s|_s \(.*\)|_ms_each|_ms_per_img|_us_per_pair|_mb|seconds|ratio.*|.*_vs_.*|vs_target"
    r"|.*share.*|.*pressure.*|loadavg.*|^machine|^cores|^workers|^hash_engine"
    r"|^imagededup.*|^czkawka.*|^remedia_vs_.*|^parent_.*)$"
)
# Timings of interest inside a benchmark's printed result (besides the run's wall time).
KEY_TIMINGS: dict[str, tuple[str, ...]] = {
    "hash_accuracy": ("duplicates.*.seconds",),
    "holidays": ("features_s",),
    "scale": ("hash_group_s", "embed_group_s", "extraction.single_img_s^-1"),
    "incremental": ("latency_s", "sort_s"),
    "review_page": ("page_total_warm_s", "page_total_cold_s", "real_sort_s"),
    "hash_speed": ("remedia_cli_s.min", "cached_rescan_s", "first_scan_s"),
}
HOOKED_FROM_SCRIPT = ("complete_linkage",)


# ----------------------------------------------------------------------------- the shim


def _rel(path: str | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return os.path.relpath(path, root)


def describe_report(data: dict[str, Any]) -> dict[str, Any]:
    """A sort report's groups (the report JSON's form), paths relative to the sorted folder,
    in an order that does not depend on how the sort listed them."""
    root = Path(data["folder"])
    groups = sorted(
        (
            [
                g["kind"],
                sorted(_rel(m, root) or "" for m in g["members"]),
                _rel(g.get("kept"), root),
            ]
            for g in data.get("groups", ())
        ),
        key=json.dumps,
    )
    return {"folder": root.name, "dry_run": data.get("dry_run"), "groups": groups}


def describe_linkage(
    n: int, i: Sequence[int], j: Sequence[int], distance: Sequence[float], threshold: float,
    groups: Sequence[Sequence[int]], pairs: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """One complete-linkage call: its input pairs (kept once in `pairs`) and its groups."""
    ii = [int(x) for x in i]
    jj = [int(x) for x in j]
    key = hashlib.sha256(json.dumps([ii, jj]).encode()).hexdigest()[:16]
    if key not in pairs:
        pairs[key] = {"count": len(ii), "distances": [float(d) for d in distance]}
    return {
        "n": int(n),
        "threshold": round(float(threshold), 9),
        "pairs": key,
        "groups": sorted(sorted(int(x) for x in g) for g in groups),
    }


def _imports_of(script: Path, names: Sequence[str]) -> list[tuple[str, str]]:
    """(module, name) of every `from module import name` in the script, for the given names."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.module, a.name) for a in node.names if a.name in names]
    return found


def shim(record_file: Path, script: Path, argv: Sequence[str]) -> int:
    """Run `script` as __main__ with hooks that record its sorts' and linkages' groups."""
    import runpy

    script = script.resolve()
    sys.path[0] = str(script.parent)  # as `python script` would have it
    sys.argv = [str(script), *argv]
    records: dict[str, Any] = {"sorts": [], "linkage": [], "pairs": {}, "hooks": []}
    import remedia_tray

    records["remedia_tray"] = remedia_tray.__file__
    try:
        sorter = importlib.import_module("remedia_tray.sorter")
        real_sort = sorter.sort_folder

        @functools.wraps(real_sort)
        def sort_folder(*args: Any, **kwargs: Any) -> Any:
            report = real_sort(*args, **kwargs)
            try:
                records["sorts"].append(describe_report(report.to_dict()))
            except Exception as exc:
                records["sorts"].append({"error": repr(exc)})
            return report

        setattr(sorter, "sort_folder", sort_folder)  # noqa: B010 - a module from a string
        records["hooks"].append("remedia_tray.sorter.sort_folder")
    except (ImportError, AttributeError) as exc:
        records["hooks"].append(f"remedia_tray.sorter.sort_folder: {exc!r}")

    for module_name, name in _imports_of(script, HOOKED_FROM_SCRIPT):
        module = importlib.import_module(module_name)
        real = getattr(module, name)

        def hooked(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            out = _real(*args, **kwargs)
            if sys._getframe(1).f_code.co_filename == str(script):
                bound = inspect.signature(_real).bind(*args, **kwargs)
                n, i, j, distance, threshold = list(bound.arguments.values())[:5]
                records["linkage"].append(
                    describe_linkage(n, i, j, distance, threshold, out, records["pairs"])
                )
            return out

        setattr(module, name, functools.wraps(real)(hooked))
        records["hooks"].append(f"{module_name}.{name}")

    code: int | str | None = 0
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stdout.flush()
        record_file.write_text(json.dumps(records))
    return code if isinstance(code, int) else (0 if code is None else 1)


# ----------------------------------------------------------------------------- comparison


def strip_volatile(obj: Any) -> Any:
    """The result without its timing and machine fields (keys matching VOLATILE)."""
    if isinstance(obj, dict):
        return {k: strip_volatile(v) for k, v in obj.items() if not VOLATILE.search(str(k))}
    if isinstance(obj, list):
        return [strip_volatile(v) for v in obj]
    return obj


def parse_output(name: str, stdout: str) -> Any:
    """A benchmark's printed result: its JSON, or (holidays) its text with the timing masked."""
    if name == "holidays":
        lines = [ln for ln in stdout.splitlines() if not ln.startswith("{")]
        js = [json.loads(ln) for ln in stdout.splitlines() if ln.startswith("{")]
        text = [re.sub(r"features in [0-9.]+ s", "features in - s", ln) for ln in lines]
        return {"text": text, "json": js}
    if name == "incremental":  # one JSON row per library size; the rest is the same, timed
        return [json.loads(ln) for ln in stdout.splitlines() if ln.startswith("  {")]
    start = stdout.find("\n{") + 1 if not stdout.startswith("{") else 0
    return json.loads(stdout[start:])


def outcome(name: str, stdout: str, records: dict[str, Any]) -> dict[str, Any]:
    """What must be identical between runs and revisions."""
    return {
        "result": strip_volatile(parse_output(name, stdout)),
        "sorts": records.get("sorts", []),
        "linkage": records.get("linkage", []),
        "pairs": records.get("pairs", {}),
    }


def differences(a: Any, b: Any, path: str = "", limit: int = 8) -> list[str]:
    """Where a and b differ (exactly; `distances` lists within DISTANCE_ATOL), at most `limit`."""
    out: list[str] = []

    def walk(x: Any, y: Any, where: str, distances: bool) -> None:
        if len(out) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y), key=str):
                if k not in x or k not in y:
                    out.append(f"{where}.{k}: only in {'head' if k in y else 'base'}")
                else:
                    walk(x[k], y[k], f"{where}.{k}", k == "distances")
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                out.append(f"{where}: {len(x)} items vs {len(y)}")
                return
            for k, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{where}[{k}]", distances)
        elif distances and isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=0, abs_tol=DISTANCE_ATOL):
                out.append(f"{where}: {x!r} vs {y!r}")
        elif x != y or type(x) is not type(y):
            out.append(f"{where}: {_short(x)} vs {_short(y)}")

    walk(a, b, path, False)
    return out


def _short(x: Any) -> str:
    text = json.dumps(x) if not isinstance(x, str) else repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def timings(name: str, stdout: str, wall: float) -> dict[str, float]:
    """The run's wall time and the benchmark's own key timings (seconds; rates inverted)."""
    out = {"wall": wall}
    try:
        data = parse_output(name, stdout)
    except (ValueError, IndexError):
        return out
    if name == "holidays":
        m = re.search(r"features in ([0-9.]+) s", stdout)
        if m:
            out["features_s"] = float(m.group(1))
        return out
    if name == "incremental":
        data = data[0] if data else {}
    for key in KEY_TIMINGS.get(name, ()):
        value = _lookup(data, key)
        if value is not None:
            out[key] = value
    return out


def _lookup(data: Any, key: str) -> float | None:
    """'a.b' (nested), 'a.*.b' (summed over a's values), 'x.min' (of a list), 'x^-1' (1/x)."""
    invert = key.endswith("^-1")
    parts = key.removesuffix("^-1").split(".")
    values = [data]
    for part in parts:
        nxt = []
        for v in values:
            if part == "*" and isinstance(v, dict):
                nxt += list(v.values())
            elif part == "min" and isinstance(v, list) and v:
                nxt.append(min(v))
            elif isinstance(v, dict) and part in v:
                nxt.append(v[part])
        values = nxt
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not nums:
        return None
    total = sum(nums)
    return (1 / total if total else None) if invert else total


@dataclass
class Run:
    rc: int
    wall: float
    stdout: str
    stderr: str
    records: dict[str, Any]

    @property
    def skipped(self) -> bool:
        return self.rc == 0 and "skipped: shared data not found" in self.stderr


@dataclass
class Verdict:
    name: str
    status: str  # identical | DIFFERENT | UNSTABLE | FAILED | skipped
    details: list[str] = field(default_factory=list)
    base: dict[str, list[float]] = field(default_factory=dict)
    head: dict[str, list[float]] = field(default_factory=dict)


def judge(name: str, base: Sequence[Run], head: Sequence[Run]) -> Verdict:
    """Every round of each side the same, and base the same as head."""
    skipped = {
        side for side, runs in (("base", base), ("head", head)) if any(r.skipped for r in runs)
    }
    if skipped == {"base", "head"}:
        return Verdict(name, "skipped", ["shared data not found"])
    if skipped:
        return Verdict(name, "FAILED", [f"only {skipped.pop()} found no shared data"])
    failed = [(side, r) for side, runs in (("base", base), ("head", head)) for r in runs if r.rc]
    if failed:
        side, r = failed[0]
        tail = (r.stderr.strip().splitlines() or ["(no stderr)"])[-3:]
        return Verdict(name, "FAILED", [f"{side} exited {r.rc}: " + " | ".join(tail)])
    verdict = Verdict(name, "identical")
    outcomes = {}
    for side, runs in (("base", base), ("head", head)):
        got = []
        for r in runs:
            try:
                got.append(outcome(name, r.stdout, r.records))
            except (ValueError, KeyError, IndexError) as exc:
                return Verdict(name, "FAILED", [f"{side}: cannot read its result: {exc!r}"])
        outcomes[side] = got
        for t in (timings(name, r.stdout, r.wall) for r in runs):
            for key, value in t.items():
                getattr(verdict, side).setdefault(key, []).append(value)
        for k, other in enumerate(got[1:], 2):
            diff = differences(got[0], other, f"{side}#1 vs #{k}")
            if diff:
                verdict.status = "UNSTABLE"
                verdict.details += diff
    diff = [  # a few from each part: the printed figures, the sorts, the linkages, the pairs
        line
        for part in outcomes["base"][0]
        for line in differences(
            outcomes["base"][0][part], outcomes["head"][0][part], f"base vs head: {part}", 4
        )
    ]
    if diff:
        verdict.status = "DIFFERENT"
        verdict.details = diff + verdict.details
    return verdict


def table(verdicts: Sequence[Verdict]) -> list[str]:
    rows = [
        f"{'benchmark':<40} {'identical':<10} {'base med s':>10} {'head med s':>10} "
        f"{'ratio':>6}  runs"
    ]
    for v in verdicts:
        ident = {"identical": "yes", "DIFFERENT": "NO"}.get(v.status, v.status)
        keys = list(v.base) if v.base else ["wall"]
        for row, key in enumerate(keys):
            label = f"{v.name}" if key == "wall" else f"  {v.name}: {key}"
            b, h = v.base.get(key, []), v.head.get(key, [])
            if not b or not h:
                rows.append(f"{label:<40} {ident if row == 0 else '':<10} {'-':>10} {'-':>10}")
                continue
            mb, mh = statistics.median(b), statistics.median(h)
            ratio = mh / mb if mb else float("nan")
            flag = "  > 5 %" if abs(ratio - 1) > TOLERANCE else ""
            rows.append(
                f"{label:<40} {ident if row == 0 else '':<10} {mb:>10.3f} {mh:>10.3f} "
                f"{ratio:>6.3f}  {len(b)}+{len(h)}{flag}"
            )
    return rows


# ----------------------------------------------------------------------------- the runner


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@contextlib.contextmanager
def trees(base: str, head: str | None) -> Iterator[tuple[Path, Path]]:
    """(base tree, head tree): temporary worktrees for revisions, beside a link to the data."""
    tmp = Path(tempfile.mkdtemp(prefix="remedia-ab-"))
    made: list[Path] = []
    try:
        # _common.py finds the data at <tree>/../shared/data: give the temporary trees one.
        if SHARED.exists():
            (tmp / "shared").symlink_to(SHARED.parent.resolve())

        def worktree(rev: str, label: str) -> Path:
            path = tmp / label
            git("worktree", "add", "--detach", str(path), rev)
            made.append(path)
            return path

        base_tree = worktree(base, "base")
        if head is None:
            head_tree = ROOT
        elif Path(head).is_dir():
            head_tree = Path(head).resolve()
        else:
            head_tree = worktree(head, "head")
        for tree in (base_tree, head_tree):
            if SHARED.exists() and not (tree.parent / "shared" / "data").exists():
                print(f"warning: {tree.parent / 'shared' / 'data'} is missing: benchmarks in "
                      f"{tree} that read shared data will skip (link it to {SHARED})")  # fmt: skip
        yield base_tree, head_tree
    finally:
        for path in made:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                           check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)


def side_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tree)
    return env


def describe_tree(tree: Path) -> str:
    rev = git("rev-parse", "--short", "HEAD", cwd=tree)
    dirty = " + uncommitted changes" if git("status", "--porcelain", cwd=tree) else ""
    imported = subprocess.run(
        [sys.executable, "-c", "import remedia_tray; print(remedia_tray.__file__)"],
        cwd=tree, env=side_env(tree), capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not Path(imported).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"{tree} imports remedia_tray from {imported}, not from its own tree")
    return f"{tree} at {rev}{dirty}; remedia_tray from {imported}"


def run_one(tree: Path, script: str, argv: Sequence[str], keep: Path | None, tag: str) -> Run:
    with tempfile.TemporaryDirectory(prefix="remedia-ab-run-") as tmp:
        record = Path(tmp) / "records.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--shim", str(record),
               str(tree / "benchmarks" / script), *argv]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tree, env=side_env(tree), capture_output=True, text=True)
        wall = time.perf_counter() - t0
        records = json.loads(record.read_text()) if record.exists() else {}
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        (keep / f"{tag}.json").write_text(
            json.dumps({"cmd": cmd, "rc": proc.returncode, "wall": wall, "stdout": proc.stdout,
                        "stderr": proc.stderr[-20000:], "records": records}, indent=1)
        )  # fmt: skip
    imported = records.get("remedia_tray")
    if imported and not Path(imported).resolve().is_relative_to(tree.resolve()):
        return Run(97, wall, proc.stdout, f"imported remedia_tray from {imported}", records)
    return Run(proc.returncode, wall, proc.stdout, proc.stderr, records)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--shim"]:
        return shim(Path(argv[1]), Path(argv[2]), argv[3:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="the revision before (a temporary worktree)")
    ap.add_argument(
        "--head", help="the revision or worktree path after (default: this tree, as it is)"
    )
    ap.add_argument("--only", nargs="+", choices=sorted(DEFAULT_ARGS), metavar="NAME")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--args",
        action="append",
        default=[],
        metavar='NAME="ARGS"',
        help="more arguments for a benchmark, after its defaults (the last one wins), "
        'e.g. scale="--n 2000 --images 0"',
    )
    ap.add_argument("--keep", type=Path, help="write every run's output and records here")
    args = ap.parse_args(argv)

    chosen = {name: DEFAULT_ARGS[name] for name in (args.only or DEFAULT_ARGS)}
    overrides = {}
    for item in args.args:
        name, _, value = item.partition("=")
        if name not in DEFAULT_ARGS:
            ap.error(f"--args: unknown benchmark {name!r}")
        overrides[name] = tuple(shlex.split(value))
    verdicts: list[Verdict] = []
    # A kill still removes the temporary worktrees (the `finally` in trees()).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with trees(args.base, args.head) as (base_tree, head_tree):
        print(f"base: {args.base} = {describe_tree(base_tree)}", flush=True)
        print(f"head: {args.head or 'this tree'} = {describe_tree(head_tree)}", flush=True)
        for name, (script, defaults, needs) in chosen.items():
            bench_args = (*defaults, *overrides.get(name, ()))
            print(f"\n{name}: {script} {shlex.join(bench_args)}", flush=True)
            missing = [s for s in needs if not (SHARED / s).exists()]
            if missing:
                verdicts.append(Verdict(name, "skipped", [f"no shared data: {missing}"]))
                print(f"  skipped: no {SHARED}/{missing[0]}", flush=True)
                continue
            absent = [t for t in (base_tree, head_tree) if not (t / "benchmarks" / script).exists()]
            if absent:
                verdicts.append(Verdict(name, "FAILED", [f"no {script} in {absent[0]}"]))
                continue
            runs: dict[str, list[Run]] = {"base": [], "head": []}
            for k in range(args.rounds):
                for side, tree in (("base", base_tree), ("head", head_tree)):
                    r = run_one(tree, script, bench_args, args.keep, f"{name}-{side}-{k + 1}")
                    runs[side].append(r)
                    sorts, links = (
                        len(r.records.get("sorts", [])),
                        len(r.records.get("linkage", [])),
                    )
                    print(f"  round {k + 1} {side}: {r.wall:7.1f} s, exit {r.rc}, "
                          f"{sorts} sorts, {links} linkages recorded", flush=True)  # fmt: skip
            verdict = judge(name, runs["base"], runs["head"])
            verdicts.append(verdict)
            for line in verdict.details:
                print(f"  {verdict.status}: {line}", flush=True)
    print()
    print("\n".join(table(verdicts)))
    bad = [v.name for v in verdicts if v.status in ("DIFFERENT", "UNSTABLE", "FAILED")]
    slow = [v.name for v in verdicts if any(ln.endswith("> 5 %") for ln in table([v])[1:])]
    if slow:
        print(f"\nwarning: timings beyond 5 % in {', '.join(slow)} (a shared machine is noisy)")
    if bad:
        print(f"\nresults NOT identical: {', '.join(bad)}")
        return 1
    print("\nresults identical: every benchmark's pairs, groups and figures, base and head")
    return 0


if __name__ == "__main__":
    sys.exit(main())
