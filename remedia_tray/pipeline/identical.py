"""Byte-identical files, found by size and content hash without decoding."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence

from ..core.media import MediaFile

_Digest = Callable[[MediaFile], str]
_CHUNK = 1 << 20
#: The ends read first: files of one size (uncompressed RAWs, screenshots of one phone) mostly
#: differ within them, so only files whose ends match are read whole.
_END = 64 << 10


def content_digest(f: MediaFile) -> str:
    h = hashlib.blake2b(digest_size=20)
    with open(f.path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def ends_digest(f: MediaFile) -> str:
    """A digest of the first and last 64 KB (the whole file when it is not larger)."""
    h = hashlib.blake2b(digest_size=20)
    with open(f.path, "rb") as fh:
        h.update(fh.read(_END))
        if f.size > 2 * _END:
            fh.seek(-_END, 2)
        h.update(fh.read(_END))
    return h.hexdigest()


def _same(positions: list[int], files: Sequence[MediaFile], digest: _Digest) -> list[list[int]]:
    """`positions` split by `digest`, sets of two or more; unreadable files are left out."""
    by_digest: dict[str, list[int]] = defaultdict(list)
    for pos in positions:
        try:
            by_digest[digest(files[pos])].append(pos)
        except OSError:
            continue  # the decode step reports unreadable files
    return [group for group in by_digest.values() if len(group) > 1]


def identical_sets(files: Sequence[MediaFile]) -> list[list[int]]:
    """Positions of files with identical bytes (sets of two or more), in input order."""
    by_size: dict[int, list[int]] = defaultdict(list)
    for pos, f in enumerate(files):
        if f.size > 0:
            by_size[f.size].append(pos)
    sets: list[list[int]] = []
    for positions in by_size.values():
        if len(positions) < 2:
            continue
        for alike in _same(positions, files, ends_digest):
            whole = files[alike[0]].size <= 2 * _END  # the ends were the whole file
            sets.extend([alike] if whole else _same(alike, files, content_digest))
    return sorted(sets)
