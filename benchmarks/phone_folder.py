"""A phone backup, sorted as a user would: duplicate pairs, the copy kept, damaged files.

The folder (benchmarks/phone_folder_build.py; about 500 files at --scale 1, built the same
byte for byte from one seed) holds camera originals from shared/data/photos with their
WhatsApp copies, backups, re-saves (PNG, WebP, HEIC, EXIF stripped), 2x upscales and web
re-saves; same-scene series from Holidays and UKBench (similar, not duplicates); generated
screenshots and captioned photos (tests/textpics.py: look-alikes sharing one layout) with
their copies; older damaged copies (two flipped bytes in a JPEG's scan data, one in a PNG's
image data); and a video, a note and Google Takeout's .json sidecars. `truth.csv` beside the
folder gives every file's source (same source = true duplicates), kind, and the ideal keeper
of each source: the camera original, or the generated original for text pictures.

Each strictness level is one dry run of the installed CLI on the same folder:
`remedia sort FOLDER --engine hash --strictness LEVEL --dry-run --json --no-cache` (cold, so
the seconds of every level compare), and `--engine both` as well with `--engine both`.
Reported from the JSON report, per level:

- pairwise precision / recall of the duplicate groups. Damaged files are expected to be
  skipped: they belong to no true pair, so a damaged file in a group adds false pairs (listed
  as "damaged ~ ..."); the row "precision, damaged left out" leaves them out;
- false pairs and missed pairs by kind of the two files (e.g. screenshot ~ screenshot);
- the copy kept: in how many groups holding an ideal keeper it was kept, the kind kept
  instead there, and every group (with or without its ideal keeper) that kept an upscale or
  a damaged file;
- damaged files: reported skipped (with a reason), grouped, left alone;
- files leaving their folder (every move the sort plans, into duplicates/ and similar/), of
  the images: a series' best shot stays in place since issue 25 (`--series move-all`, or
  `--commit` of a revision before it, moves whole series);
- seconds (the report's, and the CLI's wall clock).

The column "working tree" is this checkout as it is, uncommitted edits included. `--commit
REV` (repeatable) measures REV too, side by side: a temporary `git worktree` at REV, its CLI
run by this venv's python with the worktree first on sys.path, then removed.

    python benchmarks/phone_folder.py [--levels balanced] [--commit HEAD~1] [--engine both]
    python benchmarks/phone_folder.py --engine both --levels balanced --series move-all \
        --series keep-best   # files leaving their folder, series moved whole or not
    python benchmarks/phone_folder.py --out /tmp/phone --keep   # keep the folder and truth.csv
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import pr_from_counts, shared
from benchmarks.phone_folder_build import KINDS, NOT_GROUPED, Entry, PhoneFolder, rebuild

ROOT = Path(__file__).resolve().parents[1]
LEVELS = ("exact", "strict", "balanced", "loose")
ENGINES = ("hash", "both")
#: The CLI of a worktree, whatever its revision has for `python -m`.
CLI_SHIM = "import sys; from remedia_tray.cli import main; sys.exit(main())"


# ---- the code under test ---------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """One revision's CLI: how to start it, from where."""

    label: str
    about: str
    command: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]
    series: str | None = None  # the CLI's --series, when asked for


def _venv_bin() -> Path:
    venv = ROOT / ".venv" / "bin"
    return venv if (venv / "python").exists() else Path(sys.executable).parent


def working_tree() -> Code:
    """This checkout, through the installed `remedia` script (uncommitted edits included)."""
    script = str(_venv_bin() / "remedia")
    return Code("working tree", "this checkout, uncommitted edits included", (script,), ROOT,
                dict(os.environ))  # fmt: skip


@contextlib.contextmanager
def at_commit(rev: str, work: Path) -> Iterator[Code]:
    """The CLI of revision `rev`, from a temporary worktree removed afterwards."""
    git = ["git", "-C", str(ROOT)]
    found = subprocess.run([*git, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                           capture_output=True, text=True)  # fmt: skip
    if found.returncode:
        raise SystemExit(f"--commit {rev}: not a commit of {ROOT}")
    sha = found.stdout.strip()
    tree = work / f"tree-{sha[:12]}"
    subprocess.run([*git, "worktree", "add", "--detach", "--quiet", str(tree), sha], check=True)
    try:
        python = str(_venv_bin() / "python")
        env = {**os.environ, "PYTHONPATH": str(tree)}
        where = subprocess.run([python, "-c", "import remedia_tray; print(remedia_tray.__file__)"],
                               cwd=tree, env=env, capture_output=True, text=True)  # fmt: skip
        module = Path(where.stdout.strip() or "?").resolve()
        if tree.resolve() not in module.parents:
            raise SystemExit(f"{rev}: python imports {module}, not the worktree at {tree}")
        yield Code(sha[:9], f"revision {rev}", (python, "-c", CLI_SHIM), tree, env)
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)
        subprocess.run([*git, "worktree", "prune"], check=False)


def sort_dry(
    code: Code, folder: Path, *, engine: str, level: str, series: str | None = None
) -> tuple[dict[str, Any], float]:
    """The CLI's JSON report of a dry run, and its wall-clock seconds."""
    argv = [*code.command, "sort", str(folder), "--engine", engine, "--strictness", level,
            "--dry-run", "--json", "--no-cache"]  # fmt: skip
    if series is not None:
        argv += ["--series", series]
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=code.cwd, env=dict(code.env), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode or not lines:
        raise SystemExit(f"{code.label}: remedia sort failed ({done.returncode}):\n{done.stderr}")
    return json.loads(lines[-1]), wall


# ---- scoring ---------------------------------------------------------------------------------


def _kinds(truth: Mapping[str, Entry], a: str, b: str) -> str:
    return " ~ ".join(sorted((truth[a].kind, truth[b].kind)))


def true_pairs(truth: Mapping[str, Entry]) -> set[tuple[str, str]]:
    """Pairs of pictures with one source; damaged files and noise belong to none."""
    by_source: dict[str, list[str]] = {}
    for path, e in truth.items():
        if e.kind not in NOT_GROUPED:
            by_source.setdefault(e.source, []).append(path)
    return {pair for paths in by_source.values() for pair in combinations(sorted(paths), 2)}


def score(report: Mapping[str, Any], folder: PhoneFolder, wall: float) -> dict[str, Any]:
    """What one sort did to the phone folder, against its truth."""
    truth = folder.by_path()
    root = Path(report["folder"])

    def rel(path: str) -> str:
        return Path(path).relative_to(root).as_posix()

    groups = [g for g in report["groups"] if g["kind"] == "duplicates"]
    members = [sorted(rel(p) for p in g["members"]) for g in groups]
    predicted = {pair for m in members for pair in combinations(m, 2)}
    expected = true_pairs(truth)
    false = predicted - expected
    intact = {(a, b) for a, b in predicted if "damaged" not in (truth[a].kind, truth[b].kind)}
    intact_precision = round(len(intact & expected) / len(intact), 4) if intact else 1.0

    kept_ideal = with_ideal = 0
    kept_instead: Counter[str] = Counter()
    bad_keeps = []
    for g, m in zip(groups, members):
        kept = rel(g["kept"]) if g.get("kept") else None
        ideal = [p for p in m if truth[p].keeper]
        if ideal:
            with_ideal += 1
            if kept in ideal:
                kept_ideal += 1
            elif kept is not None:
                kept_instead[truth[kept].kind] += 1
        if kept is not None and truth[kept].kind in ("upscale", "damaged"):
            bad_keeps.append({"kept": kept, "kind": truth[kept].kind, "variant":
                              truth[kept].variant, "members": len(m), "ideal": ideal})  # fmt: skip

    skipped = {rel(s["path"]): s["reason"] for s in report["skipped"]}
    grouped = {p for m in members for p in m}
    damaged = [p for p, e in truth.items() if e.kind == "damaged"]
    images = [p for p, e in truth.items() if e.kind != "noise"]
    similar = [g for g in report["groups"] if g["kind"] == "similar"]
    return {
        **pr_from_counts(len(predicted & expected), len(predicted), len(expected)),
        "pairs_found": len(predicted & expected),
        "precision_without_damaged": intact_precision,
        "groups": len(groups),
        "mixed_groups": sum(len({truth[p].source for p in m}) > 1 for m in members),
        "false_pairs": len(false),
        "false_pairs_by_kind": dict(Counter(_kinds(truth, *p) for p in false).most_common()),
        "missed_pairs_by_kind": dict(
            Counter(_kinds(truth, *p) for p in expected - predicted).most_common()
        ),
        "kept_ideal": kept_ideal,
        "groups_with_ideal": with_ideal,
        "kept_instead": dict(kept_instead.most_common()),
        "kept_upscale_or_damaged": bad_keeps,
        "damaged": len(damaged),
        "damaged_skipped": sum(bool(skipped.get(p)) for p in damaged),
        "damaged_kept": sum(b["kind"] == "damaged" for b in bad_keeps),
        "damaged_grouped": sum(p in grouped for p in damaged),
        "damaged_reasons": dict(
            Counter(skipped[p].split(" (")[0] for p in damaged if p in skipped).most_common()
        ),
        "false_pair_list": sorted(f"{a} | {b}" for a, b in false),
        "missed_pair_list": sorted(f"{a} | {b}" for a, b in expected - predicted),
        "images_skipped": sorted(p for p in images if p in skipped and p not in damaged),
        "similar_groups": len(similar),
        "similar_moved": sum(len(g["moves"]) for g in similar),
        # Files leaving their folder (issue 25: 417 of 465 images before the best shot stayed).
        "files_moved": sum(len(g["moves"]) for g in report["groups"]),
        "images": report["images"],
        "seconds": report["seconds"],
        "wall_seconds": round(wall, 1),
    }


# ---- rendering -------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def render(results: Mapping[str, Mapping[str, Mapping[str, dict[str, Any]]]]) -> str:
    """Tables per engine: one row per figure, one column per (level, revision)."""
    lines = []
    for engine in next(iter(results.values())):
        columns = [(level, code) for level in LEVELS for code in results
                   if level in results[code][engine]]  # fmt: skip
        cells = [results[code][engine][level] for level, code in columns]
        labels = [[level for level, _ in columns], [code for _, code in columns]]

        def row(title: str, values: Sequence[Any]) -> list[str]:
            return [title, *(_cell(v) for v in values)]

        rows = [
            row("duplicate groups", [c["groups"] for c in cells]),
            row("  groups mixing pictures", [c["mixed_groups"] for c in cells]),
            row(
                "pairs right / predicted",
                [f"{c['pairs_found']}/{c['predicted_pairs']}" for c in cells],
            ),
            row("true pairs", [c["true_pairs"] for c in cells]),
            row("precision", [c["precision"] for c in cells]),
            row("  damaged left out", [c["precision_without_damaged"] for c in cells]),
            row("recall", [c["recall"] for c in cells]),
            row("false pairs", [c["false_pairs"] for c in cells]),
        ]
        for key, title in (("false_pairs_by_kind", "false"), ("missed_pairs_by_kind", "missed")):
            kinds = sorted({k for c in cells for k in c[key]},
                           key=lambda k: -max(c[key].get(k, 0) for c in cells))  # fmt: skip
            rows += [row(f"  {title}: {k}", [c[key].get(k, 0) for c in cells]) for k in kinds]
        rows.append(row("kept the ideal copy", [f"{c['kept_ideal']}/{c['groups_with_ideal']}"
                                                for c in cells]))  # fmt: skip
        instead = sorted({k for c in cells for k in c["kept_instead"]})
        rows += [row(f"  kept instead: {k}", [c["kept_instead"].get(k, 0) for c in cells])
                 for k in instead]  # fmt: skip
        rows += [
            row("damaged: skipped", [f"{c['damaged_skipped']}/{c['damaged']}" for c in cells]),
            row("damaged: in a group", [c["damaged_grouped"] for c in cells]),
            row("damaged: kept", [c["damaged_kept"] for c in cells]),
            row("other images skipped", [len(c["images_skipped"]) for c in cells]),
        ]
        if engine != "hash":
            rows += [row("similar groups", [c["similar_groups"] for c in cells]),
                     row("  photos moved there", [c["similar_moved"] for c in cells])]  # fmt: skip
        rows.append(row("files leaving their folder",
                        [f"{c['files_moved']}/{c['images']}" for c in cells]))  # fmt: skip
        rows += [row("seconds (report)", [f"{c['seconds']:.1f}" for c in cells]),
                 row("seconds (wall)", [f"{c['wall_seconds']:.1f}" for c in cells])]  # fmt: skip

        head = [["", *labels[0]], ["", *labels[1]]]
        if len(results) == 1:
            head = head[:1]
        widths = [max(len(r[i]) for r in head + rows) for i in range(len(rows[0]))]
        lines.append(f"\nengine {engine} (dry runs of the CLI, no feature cache)")
        for r in head + rows:
            lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                   for i, (cell, w) in enumerate(zip(r, widths))))  # fmt: skip
        for (level, code), c in zip(columns, cells):
            for b in c["kept_upscale_or_damaged"]:
                ideal = ", ".join(b["ideal"]) or "none in the group"
                lines.append(f"  [{level}, {code}] kept {b['kind']} {b['kept']} ({b['variant']}; "
                             f"group of {b['members']}; ideal: {ideal})")  # fmt: skip
            for p in c["images_skipped"]:
                lines.append(f"  [{level}, {code}] skipped an intact image: {p}")
            if c["damaged_reasons"]:
                reasons = "; ".join(f"{n}x {r}" for r, n in c["damaged_reasons"].items())
                lines.append(f"  [{level}, {code}] damaged skipped as: {reasons}")
    return "\n".join(lines)


def describe(folder: PhoneFolder, seed: int, scale: float) -> str:
    counts = folder.kind_counts()
    images = sum(n for k, n in counts.items() if k != "noise")
    sources = {e.source for e in folder.entries if e.kind not in NOT_GROUPED}
    copied = Counter(e.source for e in folder.entries if e.kind not in NOT_GROUPED)
    lines = [
        f"phone folder: {len(folder.entries)} files ({images} images), seed {seed}, scale "
        f"{scale:g}, built in {folder.seconds:.0f} s at {folder.root}",
        f"  {len(sources)} sources, {sum(n > 1 for n in copied.values())} with copies; "
        f"{len(true_pairs(folder.by_path()))} true duplicate pairs; digest "
        f"{folder.digest()[:16]}",
    ]
    lines += [f"  {counts[k]:4d} {k:<16} {KINDS[k]}" for k in counts]
    return "\n".join(lines)


# ---- main ------------------------------------------------------------------------------------


def _save_report(folder: Path, report: Mapping[str, Any], code: Code, engine: str, level: str
                 ) -> None:  # fmt: skip
    name = "".join(c if c.isalnum() or c in "-." else "_" for c in code.label)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}-{engine}-{level}.json").write_text(json.dumps(report, indent=1))


def _levels(text: str) -> list[str]:
    levels = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in levels if t not in LEVELS]
    if unknown or not levels:
        raise argparse.ArgumentTypeError(f"levels are {', '.join(LEVELS)}; got {text!r}")
    return levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, help="build into OUT/phone, truth in OUT/truth.csv")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (--out: always kept)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the folder's size")
    parser.add_argument("--levels", type=_levels, default=list(LEVELS),
                        help="comma-separated strictness levels (default: all four)")  # fmt: skip
    parser.add_argument("--engine", action="append", choices=ENGINES,
                        help="engine to run (repeatable; default: hash; both = the default "
                             "engine, hash then AI, also run)")  # fmt: skip
    parser.add_argument("--commit", action="append", default=[], metavar="REV",
                        help="also measure revision REV (repeatable), side by side")  # fmt: skip
    parser.add_argument("--series", action="append", choices=("keep-best", "move-all"),
                        help="run the CLI with --series MODE (repeatable: one column each; "
                             "default: the CLI's own default)")  # fmt: skip
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the figures as JSON")
    parser.add_argument("--build-only", action="store_true", help="build the folder, no sort")
    parser.add_argument("--reports", type=Path, metavar="DIR",
                        help="save each sort's JSON report in DIR")  # fmt: skip
    args = parser.parse_args()
    engines = ["hash"] if not args.engine else list(dict.fromkeys(["hash", *args.engine]))

    for name in ("photos", "holidays", "ukbench"):
        shared(name)  # exits 0 with a message when the shared data is absent
    from tests.textpics import font_path

    if font_path("sans") is None or font_path("serif") is None:
        print("skipped: the DejaVu fonts tests/textpics.py draws with are not installed",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(0)

    work = Path(tempfile.mkdtemp(prefix="remedia-phone-"))
    out = args.out or work
    try:
        folder = rebuild(out, seed=args.seed, scale=args.scale)
        print(describe(folder, args.seed, args.scale), flush=True)
        if args.build_only:
            return
        results: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        with contextlib.ExitStack() as stack:
            codes = [working_tree(), *(stack.enter_context(at_commit(rev, work))
                                       for rev in args.commit)]  # fmt: skip
            if args.series:  # one column per series mode, of each revision
                codes = [dataclasses.replace(c, label=f"{c.label}, {mode}", series=mode)
                         for c in codes for mode in args.series]  # fmt: skip
            for code in codes:
                for engine in engines:
                    for level in args.levels:
                        report, wall = sort_dry(code, folder.root, engine=engine, level=level,
                                                series=code.series)  # fmt: skip
                        got = score(report, folder, wall)
                        if args.reports:
                            _save_report(args.reports, report, code, engine, level)
                        results.setdefault(code.label, {}).setdefault(engine, {})[level] = got
                        print(f"  {code.label}, {engine}, {level}: precision "
                              f"{got['precision']:.3f} recall {got['recall']:.3f}, "
                              f"{wall:.0f} s", file=sys.stderr, flush=True)  # fmt: skip
        print("\n".join(f"{c.label}: {c.about}" for c in codes))
        print(render(results))
        if args.json:
            args.json.write_text(json.dumps({
                "seed": args.seed, "scale": args.scale, "files": len(folder.entries),
                "kinds": folder.kind_counts(), "digest": folder.digest(),
                "build_s": round(folder.seconds, 1), "folder": str(folder.root),
                "results": results,
            }, indent=1))  # fmt: skip
    finally:
        if args.keep or args.out:
            print(f"folder kept: {out}")
        if args.out or not args.keep:
            shutil.rmtree(work, ignore_errors=True)  # the worktrees, or everything


if __name__ == "__main__":
    main()
