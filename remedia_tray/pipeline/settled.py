"""The photos an earlier sort settled: seen, compared, and left where they are.

A later sort asks only about the photos that are new since (k searches against the library,
not a regrouping of all n); settled photos are matched against, never regrouped among
themselves. Stored in FOLDER/.remedia/library.npz, keyed by the engines and strictness that
settled them: any other key, or a damaged file, means "nothing is settled" (a full pass).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..atomicfile import write_atomic
from ..core.media import MediaFile
from ..layout import library_index_path

log = logging.getLogger(__name__)

Identity = tuple[bytes, int, int]


def _identity(f: MediaFile) -> Identity:
    return (os.fsencode(f.path), f.size, f.mtime_ns)


def load_settled(root: Path, key: str) -> frozenset[Identity] | None:
    """The settled photos' identities, or None when there is no usable index for `key`."""
    path = library_index_path(root)
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            paths, sizes, mtimes = data["paths"], data["sizes"], data["mtimes"]
            return frozenset(zip(paths.tolist(), sizes.tolist(), mtimes.tolist()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None


def is_settled(f: MediaFile, settled: frozenset[Identity]) -> bool:
    return _identity(f) in settled


def save_settled(root: Path, key: str, files: Iterable[MediaFile]) -> None:
    """Replace the index with `files` (atomically; a failure only costs speed next time)."""
    items = [_identity(f) for f in files]
    buf = io.BytesIO()
    np.savez(
        buf,
        key=np.array(key),
        paths=np.array([p for p, _, _ in items], dtype=np.bytes_) if items else np.zeros(0, "S1"),
        sizes=np.array([s for _, s, _ in items], dtype=np.int64),
        mtimes=np.array([m for _, _, m in items], dtype=np.int64),
    )
    path = library_index_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buf.getvalue())
