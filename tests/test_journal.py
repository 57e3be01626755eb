"""Journal names: undo takes the newest by name, whatever the clock does."""

from __future__ import annotations

from pathlib import Path

import pytest

from remedia_tray.filing import journal as journal_mod
from remedia_tray.filing.journal import (
    Journal,
    active_journals,
    read_journal,
    resumable,
    run_of,
    undone,
)


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


def test_runs_resumption_and_undone_marks_read_from_the_records(tmp_path: Path) -> None:
    """A journal's run is its own unless its "begin" names another; an interrupted sort the
    next sort tidied is resumable until a later record closes it; undo marks are indexes."""
    old = tmp_path / "sort-20240101-000000-000000001.jsonl"
    assert run_of(old, [{"op": "begin", "root": "/x", "version": 1}]) == old.name[:-6]
    resumed = [{"op": "begin", "run": "sort-A"}, {"op": "move", "src": "a", "dst": "b"}]
    assert run_of(old, resumed) == "sort-A"
    recovered = [*resumed, {"op": "end", "recovered": True}]
    assert resumable(recovered)
    assert not resumable([*resumed, {"op": "end"}])  # finished on its own
    assert not resumable([*recovered, {"op": "run-end"}])  # a later sort had nothing to move
    assert not resumable([*recovered, {"op": "undone", "n": 1}])  # an undo began on it
    assert not resumable([])
    assert undone([*recovered, {"op": "undone", "n": 1}, {"op": "undone", "n": "x"}]) == {1}


def test_marks_appended_after_a_torn_line_keep_their_indexes(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path)
    journal.write({"op": "begin"})
    journal.write({"op": "move", "src": "a", "dst": "b"})
    journal.close()
    with open(journal.path, "ab") as fh:
        fh.write(b'{"op": "mo')  # a power cut mid-record
    before = read_journal(journal.path)
    again = Journal(journal.path)
    again.write({"op": "undone", "n": 1}, sync=False)
    again.sync()
    again.close()
    after = read_journal(journal.path)
    assert after[: len(before)] == before and after[1]["op"] == "move"
    assert undone(after) == {1}
