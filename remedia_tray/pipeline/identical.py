"""Byte-identical files, found by size and content hash without decoding."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

from ..core.media import MediaFile

_CHUNK = 1 << 20


def content_digest(f: MediaFile) -> str:
    h = hashlib.blake2b(digest_size=20)
    with open(f.path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


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
        by_digest: dict[str, list[int]] = defaultdict(list)
        for pos in positions:
            try:
                by_digest[content_digest(files[pos])].append(pos)
            except OSError:
                continue  # the decode step reports unreadable files
        sets.extend(group for group in by_digest.values() if len(group) > 1)
    return sorted(sets)
