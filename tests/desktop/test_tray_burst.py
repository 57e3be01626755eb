"""A phone-backup burst into a watched folder: one batch, complete files, one notification.

The real service (watchdog, settle, sort_folder, D-Bus notification) runs in this process;
fake_notifyd.py receives the notification on the private session bus.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers beside this file

from tray_support import (
    NotifyServer,
    recompress,
    requires_bus,
    small_photo,
    wait_until,
)

from remedia_tray.desktop.service import BatchResult, TrayService
from remedia_tray.desktop.settings import Settings, save
from remedia_tray.sorter import SortOptions, sort_folder

pytestmark = [
    pytest.mark.desktop,
    requires_bus,
    # watchdog warns when a folder is created while its parent is being added (it re-adds it).
    pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning"),
]


SETTLE = 1.0
UNIQUE = 450
BYTE_COPIES = 25  # exact copies of photos 0..24
RECOMPRESSED = 25  # re-encoded copies of photos 25..49


def _burst_files() -> dict[str, bytes]:
    files = {f"IMG_{i:04d}.jpg": small_photo(i) for i in range(UNIQUE)}
    for i in range(BYTE_COPIES):
        files[f"IMG_{i:04d}(1).jpg"] = files[f"IMG_{i:04d}.jpg"]
    for i in range(BYTE_COPIES, BYTE_COPIES + RECOMPRESSED):
        files[f"IMG-WA{i:04d}.jpg"] = recompress(files[f"IMG_{i:04d}.jpg"])
    return files


def _slow_copy(folder: Path, items: list[tuple[str, bytes]], via_temp_name: bool) -> None:
    """Three chunks per file with pauses: other threads see partial files all along."""
    for name, data in items:
        target = folder / (f".{name}.part" if via_temp_name else name)
        third = len(data) // 3 + 1
        with open(target, "wb") as fh:
            for k in range(3):
                fh.write(data[k * third : (k + 1) * third])
                fh.flush()
                time.sleep(0.004)
        if via_temp_name:  # rsync / Syncthing style: renamed into place when complete
            os.rename(target, folder / name)


@pytest.mark.slow
def test_burst_of_500_partial_copies_is_one_batch_and_one_notification(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    files = _burst_files()
    assert len(files) == 500
    # The unique photos really are unique for the engine (so the counts below are exact).
    check = tmp_path / "check"
    check.mkdir()
    for i in range(UNIQUE):
        (check / f"{i}.jpg").write_bytes(files[f"IMG_{i:04d}.jpg"])
    assert sort_folder(check, SortOptions(engine="hash", dry_run=True)).groups == ()

    settings_path = tmp_path / "config" / "settings.toml"
    save(Settings(watched=(inbox,), engine="hash", settle_seconds=SETTLE), settings_path)
    batches: list[BatchResult] = []
    seen_at_sort: dict[str, int] = {}

    def sort(folder: Path, options: SortOptions):  # type: ignore[no-untyped-def]
        # Instrumentation only: what every file looked like when the sort started.
        for p in folder.iterdir():
            if p.is_file():
                seen_at_sort[p.name] = p.stat().st_size
        return sort_folder(folder, options)

    service = TrayService(settings_path=settings_path, sort=sort, on_batch=batches.append)
    service.start()
    try:
        items = sorted(files.items())
        writers = [
            threading.Thread(target=_slow_copy, args=(inbox, items[k::4], k == 3)) for k in range(4)
        ]
        for t in writers:
            t.start()
        for t in writers:
            t.join()
        assert wait_until(lambda: len(batches) == 1, timeout=90)
        time.sleep(SETTLE * 3)  # nothing else may follow
        assert len(batches) == 1 and len(notify_server.records()) == 1
    finally:
        service.stop()

    batch = batches[0]
    assert batch.error is None and batch.report is not None
    # Each photo exactly once, under its final name (never a .part name) ...
    assert sorted(p.name for p in batch.paths) == sorted(files)
    # ... and only when complete: every file had its full size when the sort began.
    assert {n: seen_at_sort.get(n) for n in files} == {n: len(d) for n, d in files.items()}
    report = batch.report
    assert report.skipped == () and report.failed == ()
    assert report.decoded == UNIQUE + RECOMPRESSED  # byte copies are read, not decoded
    assert batch.new_photos == 500
    assert report.duplicates_moved == BYTE_COPIES + RECOMPRESSED
    assert notify_server.summaries() == ["Sorted 500 new photos: 50 duplicates, 0 similar groups"]
    record = notify_server.records()[0]
    assert record["app_name"] == "ReMedia" and str(inbox) in record["body"]
    left = sorted(p.name for p in inbox.iterdir() if p.is_file())
    assert len(left) == UNIQUE


def test_user_move_back_out_of_duplicates_stays_put(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings_path = tmp_path / "config" / "settings.toml"
    save(Settings(watched=(inbox,), engine="hash", settle_seconds=0.5), settings_path)
    batches: list[BatchResult] = []
    service = TrayService(settings_path=settings_path, on_batch=batches.append)
    service.start()
    try:
        original = small_photo(7, 320, 240)
        (inbox / "IMG_0007.jpg").write_bytes(original)
        (inbox / "IMG-WA0007.jpg").write_bytes(recompress(original))
        assert wait_until(lambda: len(batches) == 1)
        copy = inbox / "duplicates" / "IMG_0007" / "IMG-WA0007.jpg"
        assert copy.exists()

        # The user disagrees and moves it back: the service sees it arrive ...
        os.rename(copy, inbox / "IMG-WA0007.jpg")
        assert wait_until(lambda: len(batches) == 2)
        # ... and leaves it there, now and on later sorts (no fight, no loop).
        assert (inbox / "IMG-WA0007.jpg").exists()
        assert batches[1].report is not None and batches[1].report.duplicates_moved == 0
        assert batches[1].new_photos == 0
        service.sort_now()
        assert wait_until(lambda: len(batches) == 3)
        time.sleep(1.5)
        assert len(batches) == 3 and (inbox / "IMG-WA0007.jpg").exists()
        assert not list((inbox / "duplicates").glob("*/IMG-WA0007*.jpg"))
        # One notification for the first batch, one for "Sort now"; none for the user's move.
        assert len(notify_server.records()) == 2
    finally:
        service.stop()


def test_photos_that_arrived_while_off_are_sorted_at_start(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings_path = tmp_path / "config" / "settings.toml"
    save(Settings(watched=(inbox,), engine="hash", settle_seconds=0.5), settings_path)
    for i in range(5):
        (inbox / f"old_{i}.jpg").write_bytes(small_photo(100 + i))
    batches: list[BatchResult] = []
    first = TrayService(settings_path=settings_path, on_batch=batches.append)
    first.start()
    try:  # a folder never sorted before: everything in it is new
        assert wait_until(lambda: len(batches) == 1)
    finally:
        first.stop()
    assert batches[0].new_photos == 5
    time.sleep(1.1)  # file times are compared with the last sort, at a coarse granularity

    # While the service is off, a photo and its copy arrive.
    late = small_photo(200)
    (inbox / "late.jpg").write_bytes(late)
    (inbox / "late (1).jpg").write_bytes(late)
    second = TrayService(settings_path=settings_path, on_batch=batches.append)
    second.start()
    try:
        assert wait_until(lambda: len(batches) == 2)
        time.sleep(1.5)
        assert len(batches) == 2
    finally:
        second.stop()
    assert sorted(p.name for p in batches[1].paths) == ["late (1).jpg", "late.jpg"]
    assert batches[1].new_photos == 2
    assert notify_server.summaries()[-1] == "Sorted 2 new photos: 1 duplicate, 0 similar groups"


def test_invalid_settings_file_gives_a_notification_and_defaults(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    settings_path = tmp_path / "config" / "settings.toml"
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text('strictness = "very"\n')
    service = TrayService(settings_path=settings_path)
    service.start()
    service.stop()
    assert service.settings == Settings()
    [record] = notify_server.records()
    assert record["summary"] == "ReMedia settings were reset"
    assert "'strictness'" in record["body"] and str(settings_path) in record["body"]
    [kept] = settings_path.parent.glob("settings.toml.invalid-*")
    assert kept.read_text() == 'strictness = "very"\n'


def test_photos_waiting_while_paused_are_sorted_after_a_restart(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "first.jpg").write_bytes(small_photo(300))
    settings_path = tmp_path / "config" / "settings.toml"
    save(Settings(watched=(inbox,), engine="hash", settle_seconds=0.5), settings_path)
    batches: list[BatchResult] = []
    service = TrayService(settings_path=settings_path, on_batch=batches.append)
    service.start()
    try:
        assert wait_until(lambda: len(batches) == 1)
        service.pause()
        photo_bytes = small_photo(301)
        (inbox / "a.jpg").write_bytes(photo_bytes)
        (inbox / "a (1).jpg").write_bytes(photo_bytes)
        assert wait_until(lambda: service.state().waiting == 2)
    finally:
        service.stop()  # quit while paused, with two photos waiting
    assert len(batches) == 1

    again = TrayService(settings_path=settings_path, on_batch=batches.append)
    again.start()
    try:
        assert again.settings.paused  # the pause survives the restart ...
        time.sleep(1.0)
        assert len(batches) == 1 and again.state().waiting == 2  # ... and so do the photos
        again.resume()
        assert wait_until(lambda: len(batches) == 2)
    finally:
        again.stop()
    assert sorted(p.name for p in batches[1].paths) == ["a (1).jpg", "a.jpg"]
    assert batches[1].report is not None and batches[1].report.duplicates_moved == 1


def test_folder_sorted_from_the_command_line_is_not_new_to_the_tray(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(4):
        (inbox / f"old_{i}.jpg").write_bytes(small_photo(400 + i))
    time.sleep(0.2)
    sort_folder(inbox, SortOptions(engine="hash", workers=1))  # `remedia sort`, no tray
    time.sleep(1.1)
    settings_path = tmp_path / "config" / "settings.toml"
    save(Settings(watched=(inbox,), engine="hash", settle_seconds=0.5), settings_path)
    batches: list[BatchResult] = []
    service = TrayService(settings_path=settings_path, on_batch=batches.append)
    service.start()
    try:
        time.sleep(1.5)
        assert batches == []  # nothing arrived since that sort
        (inbox / "new.jpg").write_bytes(small_photo(404))
        assert wait_until(lambda: len(batches) == 1)
    finally:
        service.stop()
    assert batches[0].new_photos == 1
    assert notify_server.summaries() == ["Sorted 1 new photo: 0 duplicates, 0 similar groups"]
