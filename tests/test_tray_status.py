"""What the tray says: the status line, the last batch, and which batches notify."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from remedia_tray.desktop.status import Notice, batch_notice, last_batch_line, status_line

CAMERA = Path("/photos/Camera")


def line(**changes: object) -> tuple[str, str]:
    state: dict = dict(working=None, paused=False, waiting=0, arriving=0, watched=1, last_batch="")
    state.update(changes)
    return tuple(status_line(**state))  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ("idle", "Watching 1 folder")),
        ({"watched": 3}, ("idle", "Watching 3 folders")),
        ({"watched": 0}, ("idle", "Not watching any folder")),
        (
            {"last_batch": "Last: Camera, 2 new, 0 duplicates (10:00)"},
            ("idle", "Last: Camera, 2 new, 0 duplicates (10:00)"),
        ),
        ({"arriving": 1, "last_batch": "Last: x"}, ("idle", "1 photo arriving…")),
        ({"arriving": 12, "watched": 0}, ("idle", "12 photos arriving…")),
        ({"paused": True}, ("paused", "Paused")),
        ({"paused": True, "waiting": 1, "arriving": 5}, ("paused", "Paused: 1 new photo waiting")),
        ({"paused": True, "waiting": 7}, ("paused", "Paused: 7 new photos waiting")),
        ({"working": CAMERA, "paused": True, "arriving": 3}, ("working", "Sorting Camera…")),
    ],
)
def test_status_line(changes: dict, expected: tuple[str, str]) -> None:
    assert line(**changes) == expected


def test_last_batch_line_counts_new_photos_or_every_photo_of_a_forced_sort() -> None:
    when = 1_700_000_000.0
    at = time.strftime("%H:%M", time.localtime(when))
    batch = last_batch_line(CAMERA, new=3, forced=False, images=50, duplicates=1, when=when)
    assert batch == f"Last: Camera, 3 new, 1 duplicate ({at})"
    forced = last_batch_line(CAMERA, new=0, forced=True, images=50, duplicates=4, when=when)
    assert forced == f"Last: Camera, 50 photos, 4 duplicates ({at})"


def test_a_quiet_batch_does_not_notify() -> None:
    assert batch_notice(forced=False, handed_on=True, new=0, moved=False) is None


def test_a_batch_with_new_photos_or_moves_notifies_with_its_count() -> None:
    assert batch_notice(forced=False, handed_on=True, new=4, moved=False) == Notice(4)
    assert batch_notice(forced=False, handed_on=True, new=0, moved=True) == Notice(0)


def test_a_sort_someone_asked_for_always_notifies() -> None:
    # "Sort now" or a hand-off without files: worded as a sort of the whole folder.
    assert batch_notice(forced=True, handed_on=False, new=0, moved=False) == Notice(None)
    # Forced while files were waiting: their count is shown.
    assert batch_notice(forced=True, handed_on=True, new=2, moved=False) == Notice(2)
