"""Media sets through a real `remedia sort` (issue 23): a picture and its companions end in one
folder sharing a stem, a set backed up twice moves whole once, a WhatsApp copy of a Live Photo
goes to duplicates/ while the set stays, nothing is "skipped" for being a companion, and undo
is exact."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from remedia_tray.core.mediasets import find_sets
from remedia_tray.pipeline.mediasets import is_live_video

from .conftest import photo
from .mediafiles import phone_backup

pytest.importorskip("av")
pytest.importorskip("pillow_heif")

LIVE = ("IMG_0001.HEIC", "IMG_0001.MOV", "IMG_0001.AAE")


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".remedia" not in p.relative_to(root).parts
    }


def _sort(root: Path, *extra: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "remedia_tray", "sort", str(root), "--json", *extra],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _sets(root: Path) -> list[tuple[str, ...]]:
    """Every media set in the tree, as paths under `root`, picture first."""
    out = []
    for folder in sorted({p.parent for p in root.rglob("*") if p.is_file()}):
        if ".remedia" in folder.relative_to(root).parts:
            continue
        names = [p.name for p in folder.iterdir() if p.is_file()]
        rel = folder.relative_to(root)
        found = find_sets(names, live_ok=lambda n, f=folder: is_live_video(f / n))
        out += [tuple(str(rel / n) for n in s.names) for s in found if s.companions]
    return out


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    phone_backup(root / "Phone", [photo("cat"), photo("peaks"), photo("ridge")])
    # The Live Photo backed up a second time, byte for byte, without its edits.
    (root / "Backup").mkdir()
    for name in LIVE:
        shutil.copy2(root / "Phone" / name, root / "Backup" / name)
    # A WhatsApp copy of the Live Photo's picture: smaller, re-encoded, no metadata.
    from PIL import Image

    with Image.open(photo("cat")) as im:
        small = im.convert("RGB")
        small.thumbnail((640, 640))
        (root / "WhatsApp").mkdir()
        small.save(root / "WhatsApp" / "IMG-20230601-WA0001.jpg", quality=60)
    return root


def test_sets_are_sorted_as_one_and_undone_exactly(library: Path) -> None:
    before = _tree(library)
    sets_before = len(_sets(library))
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
    assert len(_sets(library)) == sets_before
    for picture, *companions in _sets(library):
        assert all(Path(c).parent == Path(picture).parent for c in companions)
    # No companion is "skipped"; only the 10 s video and the text file are.
    skipped = sorted(Path(s["path"]).name for s in report["skipped"])
    assert skipped == ["IMG_0005.MOV", "notes.txt"], skipped

    undone = subprocess.run(
        [sys.executable, "-m", "remedia_tray", "undo", str(library)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert _tree(library) == before
