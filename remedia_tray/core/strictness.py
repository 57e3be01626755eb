"""One strictness knob (0-100, higher = stricter), mapped onto each engine's threshold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

Level = Literal["exact", "strict", "balanced", "loose"]
#: The knob's whole range (higher = stricter); the one home of its bounds.
LOWEST, HIGHEST = 0, 100


def in_range(number: int) -> bool:
    return LOWEST <= number <= HIGHEST


LEVELS: dict[str, int] = {"exact": 100, "strict": 75, "balanced": 50, "loose": 25}
DEFAULT_LEVEL: Level = "balanced"


def parse_strictness(value: str | int) -> int:
    """Accept a level name or a number 0-100."""
    if isinstance(value, int):
        number = value
    else:
        text = value.strip().lower()
        if text in LEVELS:
            return LEVELS[text]
        try:
            number = int(text)
        except ValueError:
            names = ", ".join(get_args(Level))
            raise ValueError(f"Unknown strictness {value!r}: use {names} or 0-100") from None
    if not in_range(number):
        raise ValueError(f"Strictness must be between {LOWEST} and {HIGHEST}, got {number}")
    return number


def level_name(strictness: int) -> str:
    """The named level at or just below a number, for display."""
    for name, value in sorted(LEVELS.items(), key=lambda kv: -kv[1]):
        if strictness >= value:
            return name if strictness == value else f"{strictness} (near {name})"
    return f"{strictness} (looser than loose)"


def interpolate(strictness: int, table: Mapping[int, float]) -> float:
    """Piecewise-linear map from strictness to an engine threshold."""
    points = sorted(table.items())
    for (s0, t0), (s1, t1) in zip(points, points[1:]):
        if s0 <= strictness <= s1:
            return t0 + (t1 - t0) * (strictness - s0) / (s1 - s0)
    return points[0][1] if strictness < points[0][0] else points[-1][1]
