"""The tray's sort worker on real files: a folder whose settings are invalid is not sorted."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from remedia_tray.desktop import settings as sm
from remedia_tray.desktop.worker import BatchResult, SortWorker, default_sort
from tests.test_keep_rules import camera_copy


class _Quiet:
    """Nothing is arriving or pending: every handed-on file is complete."""

    def arriving(self, folder: Path) -> bool:
        return False

    def is_pending(self, path: Path) -> bool:
        return False


class _Notes:
    """Records the notifications (the worker's only way to the desktop)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def notify(self, summary: str, body: str, **_: Any) -> bool:
        self.sent.append((summary, body))
        return True


def _wait(check: Any, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "the worker did not get there in time"
        time.sleep(0.05)


def test_a_mistyped_reference_folder_holds_the_folder_until_fixed(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    lib = camera_copy(root / "Lib" / "IMG_3.jpg", quality=75)  # the reference: never moves
    cam = camera_copy(root / "Camera" / "IMG_3.jpg", quality=95)
    other = tmp_path / "other"
    a = camera_copy(other / "A.jpg", quality=95)
    b = camera_copy(other / "B.jpg", quality=70)
    path = tmp_path / "settings.toml"
    path.write_text(f'engine = "hash"\n\n[folders."{root}"]\nreferences = "Lib"\n')
    loaded = sm.load(path)
    assert loaded.problem is not None and "'references' must be a list" in loaded.problem
    current = [loaded.settings]
    cond = threading.Condition()
    problems: list[str] = []
    batches: list[BatchResult] = []
    worker = SortWorker(
        cond,
        sort=default_sort,
        notifier=_Notes(),  # type: ignore[arg-type]
        settings=lambda: current[0],
        settle=lambda: 0.0,
        on_problem=problems.append,
        on_change=lambda: None,
        on_batch=batches.append,
    )
    worker.start(_Quiet())  # type: ignore[arg-type]
    try:
        with cond:
            worker.queue.add(root, [lib, cam])
            worker.queue.add(other, [a, b])
            cond.notify_all()
        _wait(lambda: {r.folder for r in batches} >= {other, root})  # each taken once
        assert [r.error for r in batches if r.folder == other] == [None], batches
        # The other folder is sorted as usual; this one is not, and the tray says why.
        assert not b.exists() and a.exists()
        assert lib.exists() and cam.exists() and not (root / "duplicates").exists()
        assert problems == [f"Not sorting {root}: {loaded.problem.split(': ', 1)[1]}"]
        assert "'references' must be a list of folder paths" in problems[0]
        assert worker.progress().waiting == 2  # its files wait, nothing is lost
        time.sleep(1.0)  # held: asked once, said once
        assert len(problems) == 1 and lib.exists() and cam.exists()
        # Fixed (as the Keep menu or a restart would): the waiting batch runs, Lib is kept.
        with cond:
            current[0] = loaded.settings.with_folder(root, references=(Path("Lib"),))
            cond.notify_all()
        _wait(lambda: any(r.folder == root and r.report for r in batches))
    finally:
        worker.stop()
    assert lib.exists() and not cam.exists()
    assert [p.name for p in (root / "duplicates").rglob("*.jpg")] == ["IMG_3.jpg"]
