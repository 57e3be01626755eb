"""Best shot on real series: INRIA Holidays dev, each scene group a series.

There is no ground truth for "best" here: the report says how often the best by the whole
score is also the sharpest member by sharpness alone, how often another measure decided
(and which), and names a few series with the reason given. Only the dev split is read;
nothing is calibrated on the test split. The photos are 400 px wide, so each is judged at
its own size.

    python benchmarks/series_holidays.py [--examples 8]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import shared
from remedia_tray.core.bestshot import best_shot
from remedia_tray.pipeline.shot_quality import shot_qualities


def dev_series(root: Path) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    with open(root / "ground_truth.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["split"] == "dev":
                groups.setdefault(row["group_id"], []).append(row["image"])
    return {g: sorted(members) for g, members in groups.items() if len(members) >= 2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--workers", type=int, default=0, help="0: every core")
    args = parser.parse_args()
    root = shared("holidays")
    series = dev_series(root)
    names = [name for members in series.values() for name in members]
    paths = [root / "images" / n for n in names]
    found = dict(zip(names, shot_qualities(paths, workers=args.workers)))
    agree = 0
    decided_by: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    unreadable = [n for n, q in found.items() if q is None]
    for group, members in sorted(series.items()):
        pairs = [(n, found[n]) for n in members if found[n] is not None]
        if len(pairs) < 2:
            continue
        qualities = [q for _, q in pairs if q is not None]
        best = best_shot(qualities)
        sharpest = max(range(len(qualities)), key=lambda i: qualities[i].sharpness)
        agree += best.index == sharpest
        decided_by[best.reason.split(" (")[0].split(" of ")[0]] += 1
        # Half the examples where the sharpest won, half where another measure decided.
        kind = "sharpest" if best.index == sharpest else "other"
        if sum(e["kind"] == kind for e in examples) < args.examples // 2 and len(pairs) >= 3:
            examples.append(
                {
                    "kind": kind,
                    "group": group,
                    "members": [n for n, _ in pairs],
                    "best": pairs[best.index][0],
                    "reason": best.reason,
                    "sharpest": pairs[sharpest][0],
                }
            )
    n = sum(1 for members in series.values() if sum(found[m] is not None for m in members) >= 2)
    print(
        json.dumps(
            {
                "series": n,
                "photos": len(names),
                "unreadable": unreadable,
                "best_is_sharpest": agree,
                "best_is_sharpest_pct": round(100 * agree / n, 1) if n else None,
                "reasons": dict(decided_by),
                "examples": examples,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
