"""Where ReMedia keeps its files: the `FOLDER/.remedia/` layout and the per-user folders.

Every path a sort, an undo, the review page or the tray writes inside a sorted folder is
defined here, once. Imports nothing from the package, so every layer may use it.
"""

from __future__ import annotations

from pathlib import Path

#: Output folders a sort fills (and never scans again).
OUTPUT_DIRS = ("duplicates", "similar")
#: ReMedia's own data inside a sorted folder.
DATA_DIR = ".remedia"
#: One journal per sort, what `undo` replays.
JOURNAL_DIR = "journal"
REPORTS_DIR = "reports"
REVIEW_DIR = "review"
THUMBS_DIR = "thumbs"
INDEX_NAME = "index.html"
LOCK_NAME = "lock"
DECISIONS_NAME = "decisions.json"
TRAY_STATE_NAME = "tray-state.json"
#: The library index: every photo a sort has seen, with its search keys (pipeline/library_index).
LIBRARY_NAME = "library"
#: A group folder's manifest (best photo, reason), read back by the next sort.
MANIFEST_NAME = "remedia-group.json"


def data_dir(root: Path) -> Path:
    return Path(root) / DATA_DIR


def lock_path(root: Path) -> Path:
    return data_dir(root) / LOCK_NAME


def journal_dir(root: Path) -> Path:
    return data_dir(root) / JOURNAL_DIR


def reports_dir(root: Path) -> Path:
    return data_dir(root) / REPORTS_DIR


def review_dir(root: Path) -> Path:
    return data_dir(root) / REVIEW_DIR


def thumbs_dir(root: Path) -> Path:
    """Review-page previews, named by file identity (made by the scan or by the page)."""
    return review_dir(root) / THUMBS_DIR


def decisions_path(root: Path) -> Path:
    return data_dir(root) / DECISIONS_NAME


def library_index_path(root: Path) -> Path:
    return data_dir(root) / LIBRARY_NAME


def library_meta_path(root: Path) -> Path:
    """The index's row count and key, written last: without it the index is not used."""
    return library_index_path(root) / "meta.json"


def forget_library_index(root: Path) -> None:
    """Moves the index does not know about (undo, a review action) make it unusable until the
    next sort writes it again; a sort that knows what it moved records it itself."""
    try:
        library_meta_path(root).unlink(missing_ok=True)
    except OSError:
        pass  # a read-only data folder: the rows are still checked against the disk


def tray_state_path(root: Path) -> Path:
    return data_dir(root) / TRAY_STATE_NAME


def user_cache_dir() -> Path:
    """The feature cache and converted models live here (per user, may be deleted)."""
    from platformdirs import user_cache_dir as cache_dir

    return Path(cache_dir("remedia", appauthor=False))
