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


def pair_counts(
    predicted: Iterable[Iterable[str]], truth: Mapping[str, str]
) -> tuple[int, int, int]:
    """(true pairs found, predicted pairs, true pairs) of predicted groups against labels."""
    by_label: dict[str, list[str]] = {}
    for item, label in truth.items():
        by_label.setdefault(label, []).append(item)
    true_pairs = pairs_of(by_label.values())
    pred_pairs = pairs_of(predicted)
    return len(true_pairs & pred_pairs), len(pred_pairs), len(true_pairs)


def pr_from_counts(hit: int, predicted: int, true: int) -> dict[str, float]:
    return {
        "precision": round(hit / predicted, 4) if predicted else 1.0,
        "recall": round(hit / true, 4) if true else 1.0,
        "predicted_pairs": predicted,
        "true_pairs": true,
    }


def pairwise_pr(predicted: Iterable[Iterable[str]], truth: Mapping[str, str]) -> dict[str, float]:
    """Pairwise precision/recall of predicted groups against item -> true group labels."""
    return pr_from_counts(*pair_counts(predicted, truth))
