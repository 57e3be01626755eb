"""Atomic writes: the old or the new content, never half, and the permission bits asked for."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from remedia_tray.atomicfile import replacing, write_atomic

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


def _bits(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
def test_private_by_default_and_like_open_when_asked(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "private", b"a")
        write_atomic(tmp_path / "shared", b"b", private=False)
        (tmp_path / "plain").write_bytes(b"c")
    finally:
        os.umask(old)
    assert _bits(tmp_path / "private") == 0o600
    assert _bits(tmp_path / "shared") == _bits(tmp_path / "plain") == 0o644
    write_atomic(tmp_path / "mode", b"d", mode=0o640)
    assert _bits(tmp_path / "mode") == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]
