"""Watching: files are handed on once, complete, and ReMedia's own output is ignored."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from remedia_tray.desktop import fsinfo
from remedia_tray.desktop import watcher as wm
from remedia_tray.desktop.watcher import FolderWatcher, Settler
from remedia_tray.pipeline.discovery import is_ignored

from .conftest import photo

SETTLE = 0.4
# watchdog warns when a folder is created while its parent is being added (it re-adds it).
pytestmark = pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")


# -- pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "ignored"),
    [
        ("IMG_0001.jpg", False),
        ("Camera/2024/IMG_0001.jpg", False),
        (".IMG_0001.jpg.part", True),
        ("IMG_0001.jpg.part", True),
        ("IMG_0001.jpg.crdownload", True),
        ("~$draft.jpg", True),
        ("x.jpg.!sync", True),
        ("sub/.syncthing.x.jpg.tmp", True),
        ("duplicates/sunset/a.jpg", True),
        ("similar/g/a.jpg", True),
        (".remedia/journal/sort-1.jsonl", True),
        (".thumbnails/a.jpg", True),
        ("Trips/duplicates/a.jpg", False),  # a user's folder that happens to have the name
    ],
)
def test_ignored_names(tmp_path: Path, rel: str, ignored: bool) -> None:
    assert is_ignored(tmp_path, tmp_path / rel) is ignored


def test_output_folder_of_a_sorted_subfolder_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "Trips" / ".remedia").mkdir(parents=True)
    assert is_ignored(tmp_path, tmp_path / "Trips" / "duplicates" / "a.jpg")


def test_settler_waits_for_quiet_and_stable_files(tmp_path: Path) -> None:
    f = tmp_path / "a.jpg"
    f.write_bytes(b"x" * 10)
    s = Settler(1.0)
    s.touch(tmp_path, f, now=0.0)
    assert s.due(0.5) == []  # not quiet yet
    with open(f, "ab") as fh:  # grew without an event (missed, or polling): re-armed
        fh.write(b"y")
    assert s.due(1.0) == [] and s.is_pending(f)
    assert s.due(1.5) == []
    assert s.due(2.0) == [(tmp_path, f)]
    assert not s.is_pending(f) and s.due(10.0) == []


def test_settler_forgets_files_that_vanish(tmp_path: Path) -> None:
    f = tmp_path / "a.jpg"
    f.write_bytes(b"x")
    s = Settler(1.0)
    s.touch(tmp_path, f, now=0.0)
    f.unlink()
    assert s.due(5.0) == [] and s.pending() == 0


def test_settler_hands_on_a_file_that_stays_empty_after_retries(tmp_path: Path) -> None:
    # An empty file might still be filled; after MAX_RETRIES quiet periods it goes on
    # (the sorter reports it) so one odd file never holds back its whole batch.
    f = tmp_path / "empty.jpg"
    f.touch()
    s = Settler(1.0)
    s.touch(tmp_path, f, now=0.0)
    now = 0.0
    for _ in range(wm.MAX_RETRIES):
        now += 1.0
        assert s.due(now) == []
    assert s.due(now + 1.0) == [(tmp_path, f)]


def test_settler_retries_a_file_that_cannot_be_opened(tmp_path: Path) -> None:
    f = tmp_path / "locked.jpg"
    f.write_bytes(b"x")
    openable = {"ok": False}
    s = Settler(1.0, can_open=lambda p: openable["ok"])  # Windows sharing violation
    s.touch(tmp_path, f, now=0.0)
    assert s.due(1.0) == []
    openable["ok"] = True
    assert s.due(2.0) == [(tmp_path, f)]


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


@pytest.mark.parametrize("events", [True, False], ids=["events", "no-events"])
def test_a_file_growing_for_two_minutes_is_handed_on_once_after_it_stops(
    tmp_path: Path, events: bool
) -> None:
    # A video copied over two minutes, a chunk every 0.5 s. Without events (a network share
    # between polls, missed events) only the settler's own looks see it grow: it must keep
    # waiting however long that goes on (MAX_RETRIES once handed it on after about 10 s).
    settle, tick, grow_for = 2.0, wm.TICK, 120.0
    f = tmp_path / "clip.mp4"
    s = Settler(settle)
    s.touch(tmp_path, f, now=0.0)  # created, still empty
    handed: list[tuple[float, int]] = []
    now, size = 0.0, 0
    while now < grow_for + 10 * settle:
        now += tick
        if now <= grow_for and now % 0.5 == 0:
            _append(f, b"v" * 4096)
            size += 4096
            if events:
                s.touch(tmp_path, f, now=now)
        handed += [(now, p.stat().st_size) for _, p in s.due(now)]
    assert len(handed) == 1
    at, handed_size = handed[0]
    assert handed_size == size == 240 * 4096
    assert grow_for + settle <= at <= grow_for + 2 * settle + tick  # once quiet, not later
    assert s.pending() == 0


def test_a_long_write_stops_holding_back_its_folders_batch(tmp_path: Path) -> None:
    # A burst is one batch, so the batch waits while files arrive; but a video copied for
    # minutes must not hold back the photos beside it: after LONG_WRITE it waits alone.
    clip, photo_ = tmp_path / "clip.mp4", tmp_path / "a.jpg"
    s = Settler(2.0)
    s.touch(tmp_path, clip, now=0.0)
    now = 0.0
    while now < wm.LONG_WRITE + 10:
        now += 0.5
        _append(clip, b"v" * 1024)
        s.touch(tmp_path, clip, now=now)  # every write re-arms it
        assert s.arriving(tmp_path, now) == (now < wm.LONG_WRITE)
        assert s.is_pending(clip) and s.due(now) == []
    photo_.write_bytes(b"p" * 10)
    s.touch(tmp_path, photo_, now=now)  # a new arrival is a burst again
    assert s.arriving(tmp_path, now)
    _append(clip, b"v")
    s.touch(tmp_path, clip, now=now + 1.0)  # still growing
    assert s.due(now + 2.0) == [(tmp_path, photo_)]
    assert not s.arriving(tmp_path, now + 2.0) and s.is_pending(clip)


def test_a_file_that_shrinks_waits_a_whole_settle_time_again(tmp_path: Path) -> None:
    f = tmp_path / "clip.mp4"
    f.write_bytes(b"v" * 10_000)
    s = Settler(1.0)
    s.touch(tmp_path, f, now=0.0)
    with open(f, "r+b") as fh:  # truncated and being written again, no event seen
        fh.truncate(100)
    assert s.due(1.0) == [] and s.is_pending(f)
    _append(f, b"w" * 50)
    assert s.due(2.0) == [] and s.is_pending(f)  # changed again since the last look
    assert s.due(2.9) == []  # quiet, but not for a whole settle time yet
    assert s.due(3.0) == [(tmp_path, f)]


def test_a_file_that_vanishes_while_growing_is_dropped(tmp_path: Path) -> None:
    grows, goes = tmp_path / "a.mp4", tmp_path / "b.mp4"
    for f in (grows, goes):
        f.write_bytes(b"v" * 100)
    s = Settler(1.0)
    for f in (grows, goes):
        s.touch(tmp_path, f, now=0.0)
    for now in (1.0, 2.0, 3.0):
        _append(grows, b"v")
        _append(goes, b"v")
        assert s.due(now) == []
    goes.unlink()  # deleted mid-copy (cancelled), no event seen
    _append(grows, b"v")
    assert s.due(4.0) == [] and not s.is_pending(goes) and s.is_pending(grows)
    grows.unlink()  # this time the event says so
    s.drop(grows)
    assert s.due(10.0) == [] and s.pending() == 0


def test_many_growing_files_are_each_looked_at_once_per_settle_time(tmp_path: Path) -> None:
    # The watcher calls due() every TICK while files are pending; the work per call must not
    # grow with how long files keep growing: one stat per file per settle time, not per tick.
    settle, n, grow_for = 2.0, 200, 30.0
    files = [tmp_path / f"{i}.mov" for i in range(n)]
    stats: Counter[Path] = Counter()

    def counted_stat(path: Path) -> os.stat_result:
        stats[path] += 1
        return os.stat(path)

    s = Settler(settle, stat=counted_stat)
    for f in files:
        f.write_bytes(b"")
        s.touch(tmp_path, f, now=0.0)
    handed: list[tuple[float, Path]] = []
    now = 0.0
    while now < grow_for + 3 * settle:
        now += wm.TICK
        if now <= grow_for and now % 1.0 == 0:
            for f in files:
                _append(f, b"v" * 64)
        handed += [(now, p) for _, p in s.due(now)]
    assert sorted(p for _, p in handed) == sorted(files)  # each once
    assert all(at >= grow_for + settle for at, _ in handed)
    looks = (grow_for + 3 * settle) / settle
    assert max(stats.values()) <= looks + 2  # not one per tick (4 per second)


def test_an_event_that_changes_nothing_hands_nothing_on_again(tmp_path: Path) -> None:
    # The writer closes the file after a pause, or a network folder's next poll reports the
    # last growth the settler already saw: the file is unchanged since it was handed on.
    f = tmp_path / "clip.mp4"
    f.write_bytes(b"v" * 100)
    s = Settler(1.0)
    s.touch(tmp_path, f, now=0.0)
    assert s.due(1.0) == [(tmp_path, f)]
    s.touch(tmp_path, f, now=5.0)
    assert not s.is_pending(f) and s.due(10.0) == []
    _append(f, b"more")  # but a change is a new arrival
    s.touch(tmp_path, f, now=11.0)
    assert s.due(12.0) == [(tmp_path, f)]
    s.touch(tmp_path, f, now=80.0)  # REMEMBER (60 s) later: forgotten, looked at again
    assert s.due(81.0) == [(tmp_path, f)]


def test_a_handed_on_file_moved_back_in_is_a_new_arrival(tmp_path: Path) -> None:
    f, away = tmp_path / "a.jpg", tmp_path / "duplicates" / "a.jpg"
    away.parent.mkdir()
    f.write_bytes(b"x" * 100)
    s = Settler(1.0)
    s.touch(tmp_path, f, now=0.0)
    assert s.due(1.0) == [(tmp_path, f)]
    os.rename(f, away)
    os.rename(away, f)  # same bytes and mtime, but the rename changed its ctime
    s.touch(tmp_path, f, now=2.0)
    assert s.due(3.0) == [(tmp_path, f)]


def _files(folder: Path, *names: str) -> list[Path]:
    for name in names:
        (folder / name).write_bytes(b"x" * 10)
    return [folder / name for name in names]


def test_a_picture_waits_for_companions_arriving_after_it(tmp_path: Path) -> None:
    # The HEIC arrives, its MOV a second later: the HEIC settles at 1.0 but is held until
    # COMPANION_WAIT after the MOV's event, so both are handed on together (one batch).
    heic, mov = _files(tmp_path, "IMG_0001.HEIC", "IMG_0001.MOV")
    s = Settler(1.0, companion_wait=3.0)
    s.touch(tmp_path, heic, now=0.0)
    assert s.due(1.5) == []  # settled, but its set may still be arriving
    s.touch(tmp_path, mov, now=1.0)
    assert s.due(2.0) == [(tmp_path, mov)]  # a companion waits for nothing
    assert s.due(3.5) == [] and s.is_pending(heic)  # 2.5 s since the MOV
    assert s.due(4.0) == [(tmp_path, heic)]
    assert s.pending() == 0


def test_only_pictures_of_the_same_folder_and_stem_wait(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    jpg, png, txt = _files(tmp_path, "IMG_0002.jpg", "IMG_0003.png", "notes.txt")
    (elsewhere,) = _files(tmp_path / "other", "IMG_0003.MOV")
    s = Settler(1.0, companion_wait=3.0)
    for path in (jpg, png, txt):
        s.touch(tmp_path, path, now=0.0)
    s.touch(tmp_path, elsewhere, now=2.0)  # same stem, another folder: no companion
    # A picture waits COMPANION_WAIT from its own arrival; a text file only settles.
    assert sorted(p.name for _, p in s.due(2.0)) == ["notes.txt"]
    assert sorted(p.name for _, p in s.due(3.0)) == ["IMG_0002.jpg", "IMG_0003.MOV",
                                                     "IMG_0003.png"]  # fmt: skip


@pytest.mark.parametrize(
    "companion",
    ["img_0004.mov", "IMG_0004.AAE", "IMG_O0004.AAE", "IMG_E0004.JPG", "IMG_0004.JPG.xmp",
     "IMG_0004.JPG.supplemental-metadata.json", "IMG_0004.DNG", "IMG_0004(1).jpg"],
)  # fmt: skip
def test_any_companion_name_holds_its_picture_ignoring_case(tmp_path: Path, companion: str) -> None:
    picture, other = _files(tmp_path, "IMG_0004.JPG", companion)
    s = Settler(0.5, companion_wait=3.0)
    s.touch(tmp_path, picture, now=0.0)
    s.touch(tmp_path, other, now=2.0)
    assert picture not in [p for _, p in s.due(4.9)]
    assert picture in [p for _, p in s.due(5.0)]


def test_a_picture_found_by_a_scan_waits_only_for_companions_seen_arriving(
    tmp_path: Path,
) -> None:
    heic, mov = _files(tmp_path, "IMG_0006.HEIC", "IMG_0006.MOV")
    # remember=0: the second scan finds the HEIC anew though it did not change since.
    s = Settler(1.0, companion_wait=3.0, remember=0.0)
    s.touch(tmp_path, heic, now=0.0, arrived=False)  # the start-up scan: there already
    assert s.due(1.0) == [(tmp_path, heic)]
    s.touch(tmp_path, heic, now=2.0, arrived=False)
    s.touch(tmp_path, mov, now=2.0)  # but its MOV is being copied in now
    assert s.due(3.0) == [(tmp_path, mov)]
    assert s.due(5.0) == [(tmp_path, heic)]


def test_without_companion_wait_a_picture_goes_once_settled(tmp_path: Path) -> None:
    (heic,) = _files(tmp_path, "IMG_0005.HEIC")
    s = Settler(1.0)
    s.touch(tmp_path, heic, now=0.0)
    assert s.due(1.0) == [(tmp_path, heic)]
    assert wm.COMPANION_WAIT == 3.0  # the wait the watcher uses and the README states


def test_mount_table_parsing_picks_the_deepest_mount() -> None:
    mounts = (
        "/dev/sda1 / ext4 rw 0 0\n"
        "srv:/export /mnt/nas nfs4 rw 0 0\n"
        "//srv/photos /mnt/nas/Phone\\040Backup cifs rw 0 0\n"
        "tmpfs /mnt/nas/tmp tmpfs rw 0 0\n"
    )
    assert fsinfo.fs_type_from_mounts(Path("/home/me/Pictures"), mounts) == "ext4"
    assert fsinfo.fs_type_from_mounts(Path("/mnt/nas/a"), mounts) == "nfs4"
    assert fsinfo.fs_type_from_mounts(Path("/mnt/nas/Phone Backup/x"), mounts) == "cifs"
    assert fsinfo.fs_type_from_mounts(Path("/mnt/nas/tmp/x"), mounts) == "tmpfs"
    assert fsinfo.fs_type_from_mounts(Path("/mnt/nasty"), mounts) == "ext4"


def test_local_temp_folder_is_not_a_network_folder(tmp_path: Path) -> None:
    assert fsinfo.is_network_path(tmp_path) is False


def test_watch_roots_drop_nested_and_repeated_folders(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert wm.watch_roots([a, a / "x", b, a]) == [a, b]


# -- the real watcher -------------------------------------------------------------------------


class Collector:
    def __init__(self) -> None:
        self.ready: list[tuple[Path, Path, int]] = []  # (root, path, size when handed on)
        self.problems: list[str] = []
        self.lock = threading.Lock()

    def on_ready(self, root: Path, paths: list[Path]) -> None:
        with self.lock:
            for p in paths:
                self.ready.append((root, p, p.stat().st_size if p.exists() else -1))

    def paths(self) -> list[Path]:
        with self.lock:
            return [p for _, p, _ in self.ready]

    def wait(self, predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[FolderWatcher, Collector, Path]]:
    root = tmp_path / "inbox"
    root.mkdir()
    c = Collector()
    w = FolderWatcher(SETTLE, c.on_ready, on_problem=c.problems.append)
    w.start()
    w.add(root)
    yield w, c, root
    w.stop()


def _slow_write(path: Path, data: bytes, chunks: int, pause: float) -> None:
    step = len(data) // chunks + 1
    with open(path, "wb") as fh:
        for i in range(0, len(data), step):
            fh.write(data[i : i + step])
            fh.flush()
            time.sleep(pause)


def test_slow_writer_is_handed_on_once_and_complete(watched: tuple) -> None:
    _w, c, root = watched
    data = photo("sunset").read_bytes()
    _slow_write(root / "slow.jpg", data, chunks=8, pause=SETTLE * 0.6)  # pauses < settle
    assert c.wait(lambda: c.paths() == [root / "slow.jpg"])
    time.sleep(SETTLE * 3)
    assert c.ready == [(root, root / "slow.jpg", len(data))]


def test_a_file_closed_long_after_its_last_write_is_handed_on_once(tmp_path: Path) -> None:
    # The writer stops writing but keeps the file open past the settle time; its close (an
    # inotify close-write event) changes nothing and must not hand it on a second time.
    root = tmp_path / "inbox"
    root.mkdir()
    c = Collector()
    w = FolderWatcher(SETTLE, c.on_ready, companion_wait=0.0)  # no wait for a Live Photo's MOV
    w.start()
    try:
        w.add(root)
        data = photo("sunset").read_bytes()
        with open(root / "open.jpg", "wb") as fh:
            fh.write(data)
            fh.flush()
            assert c.wait(lambda: c.paths() == [root / "open.jpg"])
        time.sleep(SETTLE * 3)
    finally:
        w.stop()
    assert c.ready == [(root, root / "open.jpg", len(data))]


def test_temp_name_renamed_into_place_gives_only_the_final_name(watched: tuple) -> None:
    _w, c, root = watched
    tmp = root / ".IMG_0001.jpg.part"
    _slow_write(tmp, photo("peaks").read_bytes(), chunks=4, pause=0.05)
    os.rename(tmp, root / "IMG_0001.jpg")
    assert c.wait(lambda: root / "IMG_0001.jpg" in c.paths())
    time.sleep(SETTLE * 3)
    assert c.paths() == [root / "IMG_0001.jpg"]


def test_file_deleted_before_it_settles_is_never_handed_on(watched: tuple) -> None:
    _w, c, root = watched
    (root / "gone.jpg").write_bytes(b"x" * 100)
    (root / "stays.jpg").write_bytes(b"y" * 100)
    (root / "gone.jpg").unlink()
    assert c.wait(lambda: c.paths() == [root / "stays.jpg"])
    time.sleep(SETTLE * 3)
    assert c.paths() == [root / "stays.jpg"]


def test_own_output_folders_are_ignored(watched: tuple) -> None:
    _w, c, root = watched
    (root / "duplicates" / "g").mkdir(parents=True)
    (root / ".remedia").mkdir()
    (root / "duplicates" / "g" / "copy.jpg").write_bytes(b"x" * 10)
    (root / ".remedia" / "report.json").write_text("{}")
    (root / "new.jpg").write_bytes(b"z" * 10)
    assert c.wait(lambda: c.paths() == [root / "new.jpg"])
    # Our own move of new.jpg into duplicates/ must not come back as a new file.
    os.rename(root / "new.jpg", root / "duplicates" / "g" / "new.jpg")
    time.sleep(SETTLE * 3)
    assert c.paths() == [root / "new.jpg"]


def test_moved_back_out_of_duplicates_is_seen_as_arriving(watched: tuple) -> None:
    _w, c, root = watched
    (root / "duplicates" / "g").mkdir(parents=True)
    (root / "duplicates" / "g" / "a.jpg").write_bytes(b"x" * 10)
    time.sleep(SETTLE * 2)
    os.rename(root / "duplicates" / "g" / "a.jpg", root / "a.jpg")
    assert c.wait(lambda: c.paths() == [root / "a.jpg"])


def test_folder_moved_in_is_walked(watched: tuple, tmp_path: Path) -> None:
    _w, c, root = watched
    outside = tmp_path / "card" / "DCIM"
    outside.mkdir(parents=True)
    for i in range(5):
        (outside / f"{i}.jpg").write_bytes(b"x" * (i + 1))
    os.rename(outside, root / "DCIM")
    expected = {root / "DCIM" / f"{i}.jpg" for i in range(5)}
    assert c.wait(lambda: set(c.paths()) == expected)
    assert len(c.paths()) == 5


def test_burst_into_a_new_subfolder_is_handed_on_exactly_once(watched: tuple) -> None:
    _w, c, root = watched
    sub = root / "Backup"
    sub.mkdir()
    n = 1500
    for i in range(n):
        (sub / f"IMG_{i:05d}.jpg").write_bytes(b"x" * (100 + i))
    assert c.wait(lambda: len(c.paths()) >= n, timeout=30)
    time.sleep(SETTLE * 3)
    counts = Counter(c.paths())
    assert len(counts) == n and set(counts.values()) == {1}
    assert all(size == 100 + int(p.stem[4:]) for _, p, size in c.ready)


def test_stopping_schedules_nothing_again_and_ends_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The settler thread, woken by stop(), used to find the observers' emitters stopping,
    # take them for dead ones and schedule them again: a KeyError in watchdog ended it.
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    for i in range(10):
        root = tmp_path / f"nas{i}"
        root.mkdir()
        w = FolderWatcher(SETTLE, lambda r, p: None, is_network=lambda p: True, poll_interval=0.1)
        w.start()
        w.add(root)
        time.sleep(0.05)
        w.stop()
    assert errors == [] and "starting it again" not in caplog.text


def test_reconcile_feeds_files_that_arrived_while_off(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    (root / "old").mkdir(parents=True)
    (root / "old" / "a.jpg").write_bytes(b"x")
    (root / "duplicates").mkdir()
    (root / "duplicates" / "b.jpg").write_bytes(b"x")
    c = Collector()
    w = FolderWatcher(SETTLE, c.on_ready)
    w.start()
    try:
        w.add(root)
        cutoff = time.time() + 1
        os.utime(root / "old" / "a.jpg", (cutoff - 100, cutoff - 100))
        assert w.reconcile(root, changed_since=cutoff + 50) == 0  # nothing newer than that
        assert w.reconcile(root) == 1  # everything not ours
        assert c.wait(lambda: c.paths() == [root / "old" / "a.jpg"])
    finally:
        w.stop()


def test_network_folder_is_polled(tmp_path: Path) -> None:
    root = tmp_path / "nas"
    root.mkdir()
    c = Collector()
    w = FolderWatcher(SETTLE, c.on_ready, poll_interval=0.3, is_network=lambda p: True)
    w.start()
    try:
        info = w.add(root)
        assert info.mode == "polling" and "network" in info.reason
        shutil.copy2(photo("cat"), root / "cat.jpg")
        assert c.wait(lambda: c.paths() == [root / "cat.jpg"])
    finally:
        w.stop()


def test_watch_limit_is_detected_and_reported(tmp_path: Path) -> None:
    root = tmp_path / "huge"
    for i in range(30):
        (root / f"d{i}").mkdir(parents=True)
    c = Collector()
    # The budget is what the kernel would still allow (here: pretend only 20 watches left).
    w = FolderWatcher(SETTLE, c.on_ready, on_problem=c.problems.append, budget=lambda: 20,
                      poll_interval=0.3)  # fmt: skip
    w.start()
    try:
        info = w.add(root)
        assert info.mode == "polling"
        assert len(c.problems) == 1 and "max_user_watches" in c.problems[0]
        assert "more than 20 folders" in c.problems[0]
        (root / "d7" / "x.jpg").write_bytes(b"x" * 5)
        assert c.wait(lambda: c.paths() == [root / "d7" / "x.jpg"])
    finally:
        w.stop()


@pytest.mark.skipif(not Path("/proc/sys/fs/inotify/max_user_watches").exists(), reason="no inotify")
def test_inotify_budget_reads_the_kernel_limit() -> None:
    limit = int(Path("/proc/sys/fs/inotify/max_user_watches").read_text())
    budget = fsinfo.inotify_budget()
    assert budget is not None and 0 <= budget <= limit


def test_nothing_pending_means_everything_was_delivered(tmp_path: Path) -> None:
    # The service starts a batch when pending(root) is 0; files between the settler and
    # on_ready must still count, or a burst is cut into several batches.
    root = tmp_path / "inbox"
    root.mkdir()
    for i in range(3000):
        (root / f"{i}.jpg").write_bytes(b"x" * (i + 1))
    delivered: list[Path] = []
    violations: list[int] = []

    def on_ready(r: Path, paths: list[Path]) -> None:
        time.sleep(0.1)  # a consumer that takes its time
        delivered.extend(paths)

    w = FolderWatcher(SETTLE, on_ready)
    w.start()
    try:
        w.add(root)
        w.reconcile(root)
        deadline = time.monotonic() + 20
        while len(delivered) < 3000 and time.monotonic() < deadline:
            seen = len(delivered)
            if w.pending(root) == 0 and len(delivered) < 3000 and seen == len(delivered):
                violations.append(seen)
            time.sleep(0.001)
    finally:
        w.stop()
    assert len(delivered) == 3000 and violations == []
