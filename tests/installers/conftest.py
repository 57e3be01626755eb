"""Shared pieces of the installer tests: the wheel, photos with a resized copy, listings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALLERS = REPO / "installers"
DATA = REPO / "tests" / "data"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, built once per session from a copy (keeps the tree clean)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(
        REPO, src,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                      "__pycache__", ".*_cache", "benchmarks", "tests"),
    )  # fmt: skip
    out = base / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)]
    proc = subprocess.run([*cmd, "--no-build-isolation"], capture_output=True, text=True)
    if proc.returncode != 0:  # no setuptools/wheel in this interpreter: isolated build
        proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (whl,) = out.glob("remedia_tray-*.whl")
    return whl


def make_photos(folder: Path) -> Path:
    """Two different photos and a half-size copy of one (must end up in duplicates/)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("cat", "coffee"):
        shutil.copy2(DATA / f"{name}.jpg", folder / f"{name}.jpg")
    with Image.open(DATA / "cat.jpg") as im:
        im.resize((im.width // 2, im.height // 2)).save(folder / "cat_small.jpg", quality=90)
    return folder / "cat_small.jpg"


def listing(root: Path) -> set[str]:
    """Every path below root (files, folders, links), relative."""
    out: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), root))
    return out


def remedia_paths(paths: set[str]) -> set[str]:
    return {p for p in paths if "remedia" in p.lower()}
