"""ReMedia: sort photo collections into true duplicates and similar photos, locally."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = ["SortOptions", "SortReport", "__version__", "sort_folder", "undo_last_sort"]

if TYPE_CHECKING:
    from .filing.mover import undo_last_sort
    from .filing.report import SortReport
    from .sorter import SortOptions, sort_folder


def __getattr__(name: str) -> Any:
    # Lazy re-exports keep `import remedia_tray` cheap (no numpy, no PIL, never torch).
    if name in ("SortOptions", "sort_folder"):
        from . import sorter

        return getattr(sorter, name)
    if name == "SortReport":
        from .filing.report import SortReport

        return SortReport
    if name == "undo_last_sort":
        from .filing.mover import undo_last_sort

        return undo_last_sort
    raise AttributeError(name)
