"""Media sets through the tray (issue 23): a phone backup copied into a watched folder is
sorted as `remedia sort` sorts it, a set copied in pieces is one set in one batch, and a
companion that arrives after its picture was sorted follows it; undo is exact.

The real service (watchdog, settle, companion wait, sort_folder, D-Bus notification) runs in
this process; the files are real HEIC, MOV, JPEG and sidecars made at test time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers beside this file

from tray_support import NotifyServer, requires_bus, wait_until

from remedia_tray.desktop.service import BatchResult, TrayService
from remedia_tray.desktop.settings import Settings, save
from remedia_tray.desktop.watcher import COMPANION_WAIT
from remedia_tray.sorter import SortOptions, sort_folder
from tests.conftest import photo, read_tree
from tests.mediafiles import LIVE, aae, backups, heic, media_sets_in, video

pytest.importorskip("av")
pytest.importorskip("pillow_heif")

pytestmark = [
    pytest.mark.desktop,
    requires_bus,
    pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning"),
]

SETTLE = 0.5


class _Tray:
    """The service watching `root`; `batches` as they finish."""

    def __init__(self, tmp_path: Path, root: Path) -> None:
        settings_path = tmp_path / "config" / "settings.toml"
        save(Settings(watched=(root,), engine="hash", settle_seconds=SETTLE), settings_path)
        self.batches: list[BatchResult] = []
        self.service = TrayService(settings_path=settings_path, on_batch=self.batches.append)
        self._running = False

    def start(self) -> None:
        self.service.start()
        self._running = True

    def stop(self) -> None:
        if self._running:
            self.service.stop()
            self._running = False

    def wait(self, n: int, timeout: float = 120) -> BatchResult:
        assert wait_until(lambda: len(self.batches) >= n, timeout=timeout)
        return self.batches[n - 1]


@pytest.fixture
def tray(tmp_path: Path) -> Iterator[_Tray]:
    root = tmp_path / "Pictures"
    root.mkdir(exist_ok=True)
    t = _Tray(tmp_path, root)
    yield t
    t.stop()


def _undo(root: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "remedia_tray", "undo", str(root)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_phone_backup_copied_in_is_sorted_as_remedia_sort_sorts_it(
    tmp_path: Path, notify_server: NotifyServer, tray: _Tray
) -> None:
    staged = backups(tmp_path / "staging", [photo("cat"), photo("peaks"), photo("ridge")])
    root = tmp_path / "Pictures"
    before_sets = len(media_sets_in(staged))
    tray.start()
    # Copied in as a whole (a backup tool's rename of its finished folder).
    os.rename(staged, root / "Backup-2023")
    before = read_tree(root)
    assert wait_until(lambda: any(b.report and b.report.groups for b in tray.batches), 120)
    time.sleep(COMPANION_WAIT + SETTLE * 3)  # nothing else may follow
    (batch,) = [b for b in tray.batches if b.paths]
    assert batch.error is None and batch.report is not None
    report = batch.report
    rel = {
        str(m.src.relative_to(root / "Backup-2023")): str(m.dst.relative_to(root))
        for g in report.groups for m in g.moves
    }  # fmt: skip
    # The richer Live Photo stays whole; its second backup moves whole into duplicates/.
    for name in (*LIVE, "IMG_E0001.JPG", "IMG_O0001.AAE"):
        assert f"Phone/{name}" not in rel, rel
    dests = [rel[f"Backup/{n}"] for n in LIVE]
    assert len({Path(d).parent for d in dests}) == 1 and dests[0].startswith("duplicates/")
    assert len({Path(d).name.split(".")[0] for d in dests}) == 1, dests
    # The WhatsApp copy of the Live Photo's picture goes to duplicates/ beside it.
    assert Path(rel["WhatsApp/IMG-20230601-WA0001.jpg"]).parent == Path(dests[0]).parent
    # Every set is still a set, beside its picture and sharing its stem; no companion skipped.
    assert len(media_sets_in(root)) == before_sets
    for picture, *companions in media_sets_in(root):
        assert all(Path(c).parent == Path(picture).parent for c in companions)
    assert sorted(s.path.name for s in report.skipped) == ["notes.txt"]  # a video is read
    assert report.failed == () and batch.notified
    tray.stop()
    _undo(root)
    assert read_tree(root) == before


def _library_with_a_live_photo(root: Path) -> None:
    """Phone/IMG_0001.HEIC with its edits, sorted once (the tray's batches use its index)."""
    heic(photo("cat"), root / "Phone" / "IMG_0001.HEIC")
    aae(root / "Phone" / "IMG_0001.AAE")
    sort_folder(root, SortOptions(engine="hash", workers=1))


def test_a_set_copied_in_pieces_is_one_set_in_one_batch(
    tmp_path: Path, notify_server: NotifyServer, tray: _Tray
) -> None:
    root = tmp_path / "Pictures"
    _library_with_a_live_photo(root)
    made = tmp_path / "made"
    made.mkdir()
    shutil.copy2(root / "Phone" / "IMG_0001.HEIC", made / "IMG_0001.HEIC")
    video(photo("cat"), made / "IMG_0001.MOV", seconds=2.0, fps=5, side=160)
    tray.start()
    tray.wait(1)  # the start-up scan
    notified = len(notify_server.records())
    (root / "Inbox").mkdir()
    shutil.copy2(made / "IMG_0001.HEIC", root / "Inbox" / "IMG_0001.HEIC")
    time.sleep(1.0)  # the MOV a second later, once the HEIC has settled
    shutil.copy2(made / "IMG_0001.MOV", root / "Inbox" / "IMG_0001.MOV")
    batch = tray.wait(2)
    time.sleep(COMPANION_WAIT + SETTLE * 3)
    assert len(tray.batches) == 2 and len(notify_server.records()) == notified + 1
    assert sorted(p.name for p in batch.paths) == ["IMG_0001.HEIC", "IMG_0001.MOV"]
    assert batch.report is not None and batch.report.skipped == ()
    # One set: the HEIC with its Live video is the richer copy and stays whole; the
    # library's bare set (HEIC + AAE) moves whole into duplicates/.
    moves = sorted((str(m.src.relative_to(root)), str(m.dst.relative_to(root)))
                   for g in batch.report.groups for m in g.moves)  # fmt: skip
    assert moves == [
        ("Phone/IMG_0001.AAE", "duplicates/IMG_0001/IMG_0001.AAE"),
        ("Phone/IMG_0001.HEIC", "duplicates/IMG_0001/IMG_0001.HEIC"),
    ]
    assert sorted(p.name for p in (root / "Inbox").iterdir()) == ["IMG_0001.HEIC", "IMG_0001.MOV"]


def test_a_video_arriving_after_its_picture_was_sorted_joins_it(
    tmp_path: Path, notify_server: NotifyServer, tray: _Tray
) -> None:
    root = tmp_path / "Pictures"
    _library_with_a_live_photo(root)
    mov = video(photo("cat"), tmp_path / "made" / "IMG_0001.MOV", seconds=2.0, fps=5, side=160)
    tray.start()
    tray.wait(1)
    staging = tmp_path / "staging"
    for name in ("Inbox", "Inbox2"):  # two bare backups of the picture, without its video
        (staging / name).mkdir(parents=True)
        shutil.copy2(root / "Phone" / "IMG_0001.HEIC", staging / name / "IMG_0001.HEIC")
    os.rename(staging, root / "Backups")
    first = tray.wait(2)  # both go to duplicates/IMG_0001/, the second renamed
    assert first.report is not None
    now = {m.src.parent.name: m.dst for g in first.report.groups for m in g.moves}
    assert sorted(p.name for p in now.values()) == ["IMG_0001 (2).HEIC", "IMG_0001.HEIC"]
    before = read_tree(root)
    arriving = root / "Backups" / "Inbox2" / "img_0001.mov"  # its Live video, named in lower case
    shutil.copy2(mov, arriving)
    batch = tray.wait(3)
    assert batch.report is not None and batch.report.skipped == () and batch.report.failed == ()
    picture = now["Inbox2"]
    joined = picture.parent / f"{picture.stem}.mov"  # the picture's stem, e.g. "IMG_0001 (2)"
    assert [(m.src, m.dst) for g in batch.report.groups for m in g.moves] == [(arriving, joined)]
    assert joined.exists() and not arriving.exists()
    tray.stop()
    _undo(root)
    assert read_tree(root) == {**before, "Backups/Inbox2/img_0001.mov": read_tree(mov.parent)[
        "IMG_0001.MOV"]}  # fmt: skip
