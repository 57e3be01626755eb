"""Byte-identical files: same size, then the ends, then the whole content."""

from __future__ import annotations

import os
from pathlib import Path

from remedia_tray.core.media import MediaFile
from remedia_tray.pipeline.identical import identical_sets


def _files(tmp_path: Path, contents: list[bytes]) -> list[MediaFile]:
    out = []
    for k, data in enumerate(contents):
        path = tmp_path / f"f{k}.bin"
        path.write_bytes(data)
        out.append(MediaFile.from_stat(path, os.stat(path)))
    return out


def test_same_ends_but_another_middle_is_not_identical(tmp_path: Path) -> None:
    base = os.urandom(1 << 20)
    middle = bytearray(base)
    middle[len(base) // 2] ^= 1
    files = _files(tmp_path, [base, bytes(middle), base, os.urandom(1 << 20)])
    assert identical_sets(files) == [[0, 2]]


def test_small_and_empty_files(tmp_path: Path) -> None:
    small = b"x" * 1000
    files = _files(tmp_path, [small, b"", small, b"", b"y" * 1000])
    assert identical_sets(files) == [[0, 2]]  # empty files are no pictures to compare


def test_a_file_gone_since_the_walk_is_left_out(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    files = _files(tmp_path, [data, data, data])
    files[1].path.unlink()
    assert identical_sets(files) == [[0, 2]]
