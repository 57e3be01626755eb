"""Journal names: undo takes the newest by name, whatever the clock does."""

from __future__ import annotations

from pathlib import Path

import pytest

from remedia_tray.safety import journal as journal_mod
from remedia_tray.safety.journal import Journal, active_journals


@pytest.mark.parametrize(
    "clock",
    [
        [5 * 10**18] * 3,  # three sorts in one clock tick
        [5 * 10**18 + 999_999_999, 5 * 10**18 + 10**9 + 1, 5 * 10**18],  # set back
    ],
)
def test_journals_sort_in_the_order_they_were_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: list[int]
) -> None:
    readings = iter(clock)
    monkeypatch.setattr(journal_mod.time, "time_ns", lambda: next(readings))
    made = []
    for _ in clock:
        j = Journal.create(tmp_path)
        j.close()
        made.append(j.path)
    assert active_journals(tmp_path) == made
