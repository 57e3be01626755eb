from __future__ import annotations

import os
from pathlib import Path

from remedia_tray.core.media import Skipped
from remedia_tray.pipeline.discovery import iter_files


def test_recursive_and_skips(tmp_path: Path) -> None:
    for rel in [
        "a.jpg",
        "sub/b.jpg",
        "sub/deeper/c.png",
        ".hidden/d.jpg",
        "duplicates/x/e.jpg",
        "similar/y/f.jpg",
        "sub/duplicates/g.jpg",  # a user's own folder of that name deeper down is scanned
        "download.jpg.part",
        ".remedia/journal/j.jsonl",
    ]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    os.symlink(tmp_path / "a.jpg", tmp_path / "link.jpg")
    os.symlink(tmp_path / "sub", tmp_path / "linkdir")
    found = [str(f.path.relative_to(tmp_path)) for f in iter_files(tmp_path)]
    assert sorted(found) == ["a.jpg", "sub/b.jpg", "sub/deeper/c.png", "sub/duplicates/g.jpg"]


def test_unreadable_folder_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.jpg").write_bytes(b"x")
    locked.chmod(0)
    try:
        skipped: list[Skipped] = []
        list(iter_files(tmp_path, skipped=skipped))
        if os.geteuid() != 0:  # root reads anything
            assert skipped and "cannot read folder" in skipped[0].reason
    finally:
        locked.chmod(0o755)
