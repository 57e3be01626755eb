"""The tray's per-folder note of when it last sorted (`.remedia/tray-state.json`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from remedia_tray.desktop import folder_state
from remedia_tray.layout import reports_dir, tray_state_path


def test_the_sort_time_round_trips(tmp_path: Path) -> None:
    assert folder_state.last_sorted(tmp_path) is None  # never sorted
    folder_state.record_sorted(tmp_path, 1_700_000_000.25)
    assert folder_state.last_sorted(tmp_path) == 1_700_000_000.25
    state = json.loads(tray_state_path(tmp_path).read_text(encoding="utf-8"))
    assert state == {"last_sorted": 1_700_000_000.25}  # the format older versions read


def test_a_folder_sorted_by_the_command_line_starts_from_its_newest_report(
    tmp_path: Path,
) -> None:
    reports = reports_dir(tmp_path)
    reports.mkdir(parents=True)
    for name, seconds, mtime in [
        ("sort-20250101-100000.json", 1.0, 1_000.0),
        ("sort-20250102-100000.json", 2.5, 2_000.0),
    ]:
        report = {"folder": str(tmp_path), "seconds": seconds}
        (reports / name).write_text(json.dumps(report), encoding="utf-8")
        os.utime(reports / name, (mtime, mtime))
    # The newest report was written when its sort ended: it began `seconds` before.
    expected = 2_000.0 - 2.5 - folder_state.FILE_TIME_LAG
    assert folder_state.last_sorted(tmp_path) == expected
    assert folder_state.newest_sort_started(tmp_path) == expected


def test_a_broken_note_or_report_means_never_sorted(tmp_path: Path) -> None:
    tray_state_path(tmp_path).parent.mkdir(parents=True)
    tray_state_path(tmp_path).write_text("not json", encoding="utf-8")
    assert folder_state.last_sorted(tmp_path) is None
    reports_dir(tmp_path).mkdir()
    (reports_dir(tmp_path) / "sort-20250101-100000.json").write_text("{", encoding="utf-8")
    assert folder_state.last_sorted(tmp_path) is None


def test_a_note_that_cannot_be_written_is_only_logged(tmp_path: Path) -> None:
    (tmp_path / ".remedia").write_text("a file where the data folder goes", encoding="utf-8")
    folder_state.record_sorted(tmp_path, 1.0)  # no exception
    assert folder_state.last_sorted(tmp_path) is None


def test_oldest_change_looks_at_files_that_still_exist(tmp_path: Path) -> None:
    old = tmp_path / "old.jpg"
    old.write_bytes(b"x")
    os.utime(old, (500.0, 500.0))
    gone = tmp_path / "gone.jpg"
    # mtime 500 (ctime is now); a missing file is skipped; the default caps the result.
    assert folder_state.oldest_change([old, gone], 10_000.0) == 500.0
    assert folder_state.oldest_change([old], 100.0) == 100.0
    assert folder_state.oldest_change([], 42.0) == 42.0
