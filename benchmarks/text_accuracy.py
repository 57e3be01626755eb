"""Duplicate accuracy on text pictures: look-alikes with one layout, and their true copies.

A 64 x 64 thumbnail turns a line of text into a grey smear, so two chat screenshots with the
same layout and other words look alike there. tests/textpics.py draws five families of such
look-alikes at real sizes (phone chats, a settings screen whose pictures differ in one value,
A4 pages, slides, one photo with other captions), each original with three true copies
(WhatsApp-like JPEG q70 at most 1600 px, a PNG re-save, a half-size resize). Two sets:

- tuning: seeds 1, 2, 3 in DejaVu Sans (for choosing thresholds);
- report: seeds 101 and 102 in DejaVu Serif (never tuned on; tests/test_text_duplicates.py
  asserts on seed 101).

Each seed is its own folder (one layout per family), sorted with the hash engine in dry-run at
every strictness level. Reported per set and level: pairwise precision / recall of the
duplicate groups (pairs of one source are the true pairs), the number of groups, and per
family the groups that hold more than one source (wrong groups).

`--commit REV` measures another revision of ReMedia on the same generated files, side by side:
a temporary `git worktree` at REV, sorted by this venv's python with PYTHONPATH pointing at the
worktree (the generator is always this checkout's), the worktree removed afterwards.

    python benchmarks/text_accuracy.py [--per-family N] [--commit REV] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
#: set name -> (seeds, font style)
SETS: dict[str, tuple[tuple[int, ...], Literal["sans", "serif"]]] = {
    "tuning": ((1, 2, 3), "sans"),
    "report": ((101, 102), "serif"),
}
LEVEL_ORDER = ("exact", "strict", "balanced", "loose")


def sort_groups(folders: Sequence[str], cache: str, workers: int = 0) -> dict[str, Any]:
    """Dry-run hash sorts of each folder at each level: {level: {folder: [[relative path]]}}.

    Imports whichever remedia_tray comes first on sys.path: this checkout in-process, the
    worktree in the `--commit` child.
    """
    import remedia_tray
    from remedia_tray.core.strictness import LEVELS
    from remedia_tray.sorter import SortOptions, sort_folder

    groups: dict[str, dict[str, list[list[str]]]] = {}
    seconds = 0.0
    for level in LEVEL_ORDER:
        options = SortOptions(
            engine="hash", strictness=LEVELS[level], dry_run=True, workers=workers,
            cache_dir=Path(cache),
        )  # fmt: skip
        groups[level] = {}
        for folder in folders:
            report = sort_folder(folder, options)
            seconds += report.seconds
            groups[level][folder] = [
                sorted(str(p.relative_to(report.folder)) for p in g.members)
                for g in report.duplicate_groups
            ]
    return {"module": remedia_tray.__file__, "groups": groups, "sort_s": round(seconds, 1)}


def _child_main() -> None:
    """The `--commit` side: read the request on stdin, answer in JSON on stdout."""
    request = json.load(sys.stdin)
    result = sort_groups(request["folders"], request["cache"], request["workers"])
    tree = Path(request["tree"]).resolve()
    if tree not in Path(result["module"]).resolve().parents:
        raise SystemExit(f"measured {result['module']}, not the worktree at {tree}")
    json.dump(result, sys.stdout)


def sort_at_revision(
    rev: str, folders: Sequence[str], *, work: Path, workers: int
) -> tuple[str, dict[str, Any]]:
    """Measure revision `rev` in a temporary worktree; returns (short commit, result)."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    tree = work / f"tree-{sha[:12]}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), sha],
        check=True,
    )  # fmt: skip
    try:
        request = {
            "folders": list(folders), "cache": str(work / f"cache-{sha[:12]}"),
            "workers": workers, "tree": str(tree),
        }  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(tree)}
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--sort-only"],
            input=json.dumps(request), capture_output=True, text=True, env=env, cwd=tree,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"measuring {rev} ({sha[:12]}) failed:\n{done.stderr}")
        return sha[:9], json.loads(done.stdout)
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
        )
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)


def _generate(
    folder: str, seed: int, style: Literal["sans", "serif"], per_family: int
) -> list[tuple[str, str, str]]:
    """One seed's folder; (relative path, source, family) of every file."""
    from tests.textpics import make_set

    pics = make_set(Path(folder), seed=seed, style=style, per_family=per_family)
    return [(str(p.path.relative_to(folder)), p.source, p.family) for p in pics]


def score(
    groups: Mapping[str, list[list[str]]],
    truth: Mapping[str, Mapping[str, tuple[str, str]]],
    families: Sequence[str],
) -> dict[str, Any]:
    """Pairwise precision / recall over several folders, groups, and wrong groups per family.

    `truth`: folder -> relative path -> (source, family).
    """
    from benchmarks._common import pair_counts, pr_from_counts

    totals = [0, 0, 0]
    per_family: dict[str, list[int]] = {f: [0, 0, 0] for f in families}
    wrong = dict.fromkeys(families, 0)
    count = 0
    for folder, labels in truth.items():
        found = groups.get(folder, [])
        count += len(found)
        for g in found:
            if len({labels[n][0] for n in g}) > 1:
                for family in {labels[n][1] for n in g}:
                    wrong[family] += 1
        counts = pair_counts(found, {n: s for n, (s, _) in labels.items()})
        totals = [t + c for t, c in zip(totals, counts)]
        for family in families:
            members = {n: s for n, (s, f) in labels.items() if f == family}
            sub = pair_counts(([n for n in g if n in members] for g in found), members)
            per_family[family] = [t + c for t, c in zip(per_family[family], sub)]
    return pr_from_counts(*totals) | {
        "groups": count,
        "wrong_groups": wrong,
        "by_family": {f: pr_from_counts(*c) for f, c in per_family.items()},
    }


def _table(results: Mapping[str, Mapping[str, Any]], families: Sequence[str]) -> str:
    """One line per set, level and revision; revisions of one level next to each other."""
    revs = list(results)
    names = list(next(iter(results.values()))["sets"])
    head = f"{'set':<8}{'level':<10}{'revision':<18}{'precision':>10}{'recall':>8}{'groups':>8}"
    head += "  wrong groups: " + " ".join(f"{f:>8}" for f in families)
    lines = [head]
    for name in names:
        for level in LEVEL_ORDER:
            for rev in revs:
                r = results[rev]["sets"][name][level]
                wrong = " ".join(f"{r['wrong_groups'][f]:>8}" for f in families)
                lines.append(
                    f"{name:<8}{level:<10}{rev:<18}{r['precision']:>10.4f}{r['recall']:>8.4f}"
                    f"{r['groups']:>8}{'':15}{wrong}"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=15, help="originals per family")
    parser.add_argument(
        "--sets", default=",".join(SETS), help="which sets, comma-separated (tuning, report)"
    )
    parser.add_argument("--commit", metavar="REV", help="also measure this git revision")
    parser.add_argument("--workers", type=int, default=0, help="decoding processes (0: all)")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--sort-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    chosen = {name: SETS[name] for name in args.sets.split(",")}
    if args.sort_only:
        _child_main()
        return

    sys.path.insert(0, str(ROOT))
    from tests.textpics import FAMILIES, font_path

    if font_path("sans") is None or font_path("serif") is None:
        print("skipped: the DejaVu fonts are not installed", file=sys.stderr)
        raise SystemExit(0)
    with tempfile.TemporaryDirectory(prefix="remedia-textacc-") as tmp:
        work = Path(tmp)
        jobs = {
            str(work / name / f"seed{seed}"): (name, seed, style)
            for name, (seeds, style) in chosen.items()
            for seed in seeds
        }
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.workers or None) as pool:
            made = {
                folder: pool.submit(_generate, folder, seed, style, args.per_family)
                for folder, (_, seed, style) in jobs.items()
            }
            truth = {
                folder: {n: (src, fam) for n, src, fam in job.result()}
                for folder, job in made.items()
            }
        build_s = time.perf_counter() - t0

        folders = list(jobs)
        runs = {"this tree": sort_groups(folders, str(work / "cache-tree"), args.workers)}
        if args.commit:
            short, result = sort_at_revision(args.commit, folders, work=work, workers=args.workers)
            runs[f"{args.commit} {short}" if args.commit != short else short] = result

    results: dict[str, dict[str, Any]] = {}
    for rev, run in runs.items():
        per_set: dict[str, dict[str, Any]] = {}
        for name in chosen:
            mine = {f: t for f, t in truth.items() if jobs[f][0] == name}
            per_set[name] = {
                level: score(run["groups"][level], mine, FAMILIES) for level in LEVEL_ORDER
            }
        results[rev] = {"sort_s": run["sort_s"], "sets": per_set}
    summary = {
        "sets": {name: {"seeds": list(s), "style": style} for name, (s, style) in chosen.items()},
        "files": sum(len(t) for t in truth.values()),
        "per_family": args.per_family,
        "build_s": round(build_s, 1),
        "results": results,
    }
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    sets = ", ".join(
        f"{n} = seeds {', '.join(map(str, s))} ({st})" for n, (s, st) in chosen.items()
    )
    print(f"text pictures: {summary['files']} files ({sets}), generated in {build_s:.1f} s")
    print(", ".join(f"{rev}: sorts took {r['sort_s']} s" for rev, r in results.items()))
    print(_table(results, FAMILIES))


if __name__ == "__main__":
    main()
