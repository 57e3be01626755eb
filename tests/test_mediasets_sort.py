"""Media sets through a real `remedia sort` (issue 23): a picture and its companions end in one
folder sharing a stem, a set backed up twice moves whole once, a WhatsApp copy of a Live Photo
goes to duplicates/ while the set stays, nothing is "skipped" for being a companion, and undo
is exact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import photo, read_tree
from .mediafiles import LIVE, backups, media_sets_in

pytest.importorskip("av")
pytest.importorskip("pillow_heif")


def _sort(root: Path, *extra: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "remedia_tray", "sort", str(root), "--json", *extra],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    return backups(tmp_path / "Pictures", [photo("cat"), photo("peaks"), photo("ridge")])


def test_sets_are_sorted_as_one_and_undone_exactly(library: Path) -> None:
    before = read_tree(library)
    sets_before = len(media_sets_in(library))
    report = _sort(library)
    moved = {m["from"]: m["to"] for g in report["groups"] for m in g["moves"]}
    rel = {
        str(Path(k).relative_to(library)): str(Path(v).relative_to(library))
        for k, v in moved.items()
    }

    # The Live Photo in Phone/ carries more (its edits and rendition): it stays, whole.
    for name in (*LIVE, "IMG_E0001.JPG", "IMG_O0001.AAE"):
        assert f"Phone/{name}" not in rel, rel
    # Its second backup moved whole into one duplicates folder, still one set by name.
    dests = [rel[f"Backup/{n}"] for n in LIVE]
    assert len({Path(d).parent for d in dests}) == 1 and dests[0].startswith("duplicates/")
    stems = {Path(d).name.split(".")[0] for d in dests}
    assert len(stems) == 1, dests
    # The WhatsApp copy is a duplicate of the Live Photo's picture: it joins the same group.
    assert Path(rel["WhatsApp/IMG-20230601-WA0001.jpg"]).parent == Path(dests[0]).parent

    # Every set is still a set: its members in one folder, pairing by name.
    assert len(media_sets_in(library)) == sets_before
    for picture, *companions in media_sets_in(library):
        assert all(Path(c).parent == Path(picture).parent for c in companions)
    # No companion is "skipped"; only the text file is (the 10 s video is read as a video).
    skipped = sorted(Path(s["path"]).name for s in report["skipped"])
    assert skipped == ["notes.txt"], skipped

    undone = subprocess.run(
        [sys.executable, "-m", "remedia_tray", "undo", str(library)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert read_tree(library) == before
