"""A file written over 60 s into a watched folder is sorted once, after it stopped growing.

The real service (watchdog, settler, sort_folder, D-Bus notification) runs in this process;
fake_notifyd.py receives the notifications on the private session bus. Two folders are
watched at once: one with inotify, where every write is an event, and one polled like a
network share, where the file grows between polls without any event (the case the settler's
old retry cap handed on after about 10 s) and the next poll reports the last growth again.
"""

from __future__ import annotations

import functools
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers beside this file

from tray_support import NotifyServer, photo, requires_bus, wait_until, whatsapp_copy

from remedia_tray.desktop.service import BatchResult, TrayService
from remedia_tray.desktop.settings import Settings, save
from remedia_tray.desktop.watcher import FolderWatcher
from remedia_tray.filing.report import SortReport
from remedia_tray.sorter import SortOptions, sort_folder

pytestmark = [
    pytest.mark.desktop,
    pytest.mark.slow,
    requires_bus,
    # watchdog warns when a folder is created while its parent is being added (it re-adds it).
    pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning"),
]

SETTLE = 2.0  # the default
WRITE_FOR = 60.0
PAUSE = 0.5  # between chunks: well under the settle time, so the file never looks finished
POLL = 15.0  # the polled folder's interval: longer than the old cap's 10 s


def _slow_write(path: Path, data: bytes, ended: dict[Path, float]) -> None:
    """Append `data` in equal chunks over WRITE_FOR seconds, then close the file."""
    chunks = int(WRITE_FOR / PAUSE)
    step = -(-len(data) // chunks)
    with open(path, "wb") as fh:
        for k in range(chunks):
            fh.write(data[k * step : (k + 1) * step])
            fh.flush()
            time.sleep(PAUSE)
    ended[path] = time.monotonic()


def _timeline(batches: list[tuple[float, BatchResult]], ended: dict[Path, float]) -> str:
    """The batches, timed from the end of the writes, for a failure message."""
    end = max(ended.values())
    return "; ".join(
        f"{at - end:+.1f} s {r.folder.name}: {sorted(p.name for p in r.paths)}" for at, r in batches
    )


def test_files_written_over_a_minute_are_sorted_once_after_they_stop_growing(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    camera, nas = tmp_path / "camera", tmp_path / "nas"
    for folder, name in ((camera, "peaks"), (nas, "life")):
        folder.mkdir()
        shutil.copy2(photo(name), folder / f"{name}.jpg")
    time.sleep(0.3)  # copied well before the sort began
    for folder in (camera, nas):
        sort_folder(folder, SortOptions(engine="hash", workers=1))  # the library already there
    time.sleep(1.1)  # file times are compared with the last sort, at a coarse granularity
    # camera/: a WhatsApp-like re-encode of its photo. nas/: a byte copy of its photo, and a
    # photo of its own that stays (the poll after the batch sees it changed since the last).
    arriving = {
        camera / "IMG-WA0001.jpg": whatsapp_copy(photo("peaks"), tmp_path / "wa.jpg").read_bytes(),
        nas / "life (1).jpg": photo("life").read_bytes(),
        nas / "ridge.jpg": photo("ridge").read_bytes(),
    }
    settings_path = tmp_path / "config" / "settings.toml"
    save(Settings(watched=(camera, nas), engine="hash", settle_seconds=SETTLE), settings_path)
    batches: list[tuple[float, BatchResult]] = []
    seen_at_sort: dict[Path, int] = {}

    def sort(folder: Path, options: SortOptions) -> SortReport:
        # Instrumentation only: how big every arriving file was when its sort started.
        for path in arriving:
            if path.parent == folder and path.exists():
                seen_at_sort[path] = path.stat().st_size
        return sort_folder(folder, options)

    # The real watcher; only its network-folder test is told that nas/ is one (tmpfs is not).
    watcher = functools.partial(FolderWatcher, is_network=lambda p: p == nas, poll_interval=POLL)
    service = TrayService(
        settings_path=settings_path,
        sort=sort,
        on_batch=lambda result: batches.append((time.monotonic(), result)),
        watcher_factory=watcher,
    )
    ended: dict[Path, float] = {}
    service.start()
    try:
        time.sleep(1.0)
        assert batches == []  # nothing new at start
        writers = [
            threading.Thread(target=_slow_write, args=(path, data, ended))
            for path, data in arriving.items()
        ]
        for t in writers:
            t.start()
        for t in writers:
            t.join()
        end = max(ended.values())
        both = {camera, nas}
        assert wait_until(lambda: {r.folder for at, r in batches if at > end} == both, timeout=60)
        # The polled folder's next poll reports ridge.jpg's last growth; nothing may follow.
        time.sleep(POLL + 2 * SETTLE + 3.0)
        assert len(batches) == 2, _timeline(batches, ended)
        assert len(notify_server.records()) == 2
    finally:
        service.stop()

    by_folder = {result.folder: (at, result) for at, result in batches}
    assert set(by_folder) == {camera, nas}
    for folder, moved in ((camera, ["IMG-WA0001.jpg"]), (nas, ["life (1).jpg"])):
        at, result = by_folder[folder]
        files = [p for p in arriving if p.parent == folder]
        assert sorted(result.paths) == sorted(files)  # each once, in one batch
        assert at > max(ended[p] for p in files)  # after the writes stopped ...
        assert {p: seen_at_sort[p] for p in files} == {p: len(arriving[p]) for p in files}
        report = result.report  # ... and complete when the sort began
        assert result.error is None and report is not None
        assert report.skipped == () and report.failed == ()
        assert [m.src.name for g in report.groups for m in g.moves] == moved
        for name in moved:
            [copy] = (folder / "duplicates").glob(f"*/{name}")
            assert copy.read_bytes() == arriving[folder / name] and not (folder / name).exists()
    assert (nas / "ridge.jpg").read_bytes() == arriving[nas / "ridge.jpg"]
    assert sorted(notify_server.summaries()) == [
        "Sorted 1 new photo: 1 duplicate, 0 similar groups",
        "Sorted 2 new photos: 1 duplicate, 0 similar groups",
    ]
