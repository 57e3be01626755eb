"""Pure: new photos join the groups an earlier sort made, by complete linkage.

A photo joins an existing group only if it is within the threshold of every member (the
rule that formed the group), choosing the group it is closest to. Members that join count
for the photos that come after them, so a group stays complete-linkage whatever joins it.
No I/O: indices and distances in, assignments out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


def attach(
    groups: Sequence[Sequence[int]],
    free: Sequence[int],
    i: np.ndarray,
    j: np.ndarray,
    distance: np.ndarray,
    threshold: float,
) -> dict[int, int]:
    """Free item -> index of the existing group it joins (free items that join none are absent).

    `i, j, distance` are the candidate pairs (any order, either direction); a missing pair
    means "too far". Candidates are tried closest first (linkage distance, then item, then
    group), and each is checked again against the members that joined before it.
    """
    limit = threshold + 1e-9
    near: dict[int, dict[int, float]] = defaultdict(dict)
    rows = zip(np.asarray(i).tolist(), np.asarray(j).tolist(), np.asarray(distance).tolist())
    for a, b, d in rows:
        if a == b or d > limit:
            continue
        if d < near[a].get(b, np.inf):
            near[a][b] = d
            near[b][a] = d
    group_of: dict[int, int] = {}
    for g, members in enumerate(groups):
        for m in members:
            group_of[m] = g
    candidates: list[tuple[float, int, int]] = []
    for x in free:
        row = near.get(x, {})
        for g in sorted({group_of[y] for y in row if y in group_of}):
            members = groups[g]
            if members and all(m in row for m in members):
                candidates.append((max(row[m] for m in members), x, g))
    candidates.sort()
    current = [list(m) for m in groups]
    joined: dict[int, int] = {}
    for _, x, g in candidates:
        if x in joined:
            continue
        row = near.get(x, {})
        if all(m in row for m in current[g]):
            joined[x] = g
            current[g].append(x)
    return joined
