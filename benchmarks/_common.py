"""Shared helpers for the benchmarks: real data location and pairwise precision/recall."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from itertools import combinations
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        print(f"skipped: shared data not found at {path}", file=sys.stderr)
        raise SystemExit(0)
    return path


def pairs_of(groups: Iterable[Iterable[str]]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for g in groups:
        out.update(combinations(sorted(g), 2))
    return out


def pairwise_pr(predicted: Iterable[Iterable[str]], truth: Mapping[str, str]) -> dict[str, float]:
    """Pairwise precision/recall of predicted groups against item -> true group labels."""
    by_label: dict[str, list[str]] = {}
    for item, label in truth.items():
        by_label.setdefault(label, []).append(item)
    true_pairs = pairs_of(by_label.values())
    pred_pairs = pairs_of(predicted)
    hit = len(true_pairs & pred_pairs)
    precision = hit / len(pred_pairs) if pred_pairs else 1.0
    recall = hit / len(true_pairs) if true_pairs else 1.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "predicted_pairs": len(pred_pairs),
        "true_pairs": len(true_pairs),
    }
