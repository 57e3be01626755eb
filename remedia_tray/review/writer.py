"""The review page: one self-contained local HTML file showing what a sort did.

`render_page` is pure (report data in, HTML out); the writers around it make the thumbnails and
put the page at FOLDER/.remedia/review/index.html (latest sort) and review/<report name>.html.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomicfile import write_atomic
from ..core.media import Skipped
from ..core.progress import ProgressFactory, null_progress
from ..errors import FolderNotFound, RemediaError
from ..layout import INDEX_NAME, REPORTS_DIR, REVIEW_DIR, data_dir, thumbs_dir
from ..safety.confined import check_own_folders
from ..safety.report import SortReport
from .page import current_locations as current_locations
from .page import render_page as render_page
from .page import undo_command as undo_command

if TYPE_CHECKING:
    from .thumbnails import ThumbnailSet

#: Previews made per page at most: beyond this a first sort of a huge archive would spend
#: minutes on pictures nobody scrolls to; the rest of the groups are still listed and linked.
MAX_PREVIEWS = 5000


def review_dir(folder: Path) -> Path:
    return data_dir(Path(folder)) / REVIEW_DIR


def index_path(folder: Path) -> Path:
    """Where the page of the latest sort of `folder` lives (whether or not it exists yet)."""
    return review_dir(folder) / INDEX_NAME


def latest_page_path(folder: Path) -> Path | None:
    """The review page of the latest sort of `folder`, or None when there is none yet."""
    path = index_path(Path(folder).expanduser().absolute())
    return path if path.is_file() else None


@dataclass(frozen=True)
class ReviewPage:
    path: Path  # this sort's own page
    index: Path  # the latest-sort page (same content, stable path)
    thumbnails_made: int
    thumbnails_reused: int
    no_preview: tuple[Skipped, ...]  # photos shown without a thumbnail, and why


# ---------------------------------------------------------------- writers


def _write_atomic(path: Path, text: str) -> None:
    # Readable like any file the user makes (the temporary file starts private).
    write_atomic(path, text.encode("utf-8"), mode=0o644)


def page_thumbnails(
    data: Mapping[str, Any],
    *,
    workers: int = 0,
    progress: ProgressFactory = null_progress,
    max_previews: int = MAX_PREVIEWS,
) -> tuple[ThumbnailSet, dict[Path, str]]:
    """The previews of every group member where it is now, and why some have none."""
    from .thumbnails import ensure_thumbnails

    out = review_dir(Path(data["folder"]))
    out.mkdir(parents=True, exist_ok=True)
    photos = [Path(p) for p in dict.fromkeys(current_locations(data))]
    thumbs = ensure_thumbnails(
        photos[:max_previews], thumbs_dir(Path(data["folder"])), workers=workers, progress=progress
    )
    problems = dict(thumbs.problems)
    for p in photos[max_previews:]:
        problems[p] = f"not previewed: this sort has more than {max_previews:,} photos in groups"
    return thumbs, problems


def write_page(
    data: Mapping[str, Any],
    *,
    name: str,
    workers: int = 0,
    progress: ProgressFactory = null_progress,
    max_previews: int = MAX_PREVIEWS,
) -> ReviewPage:
    """Make the thumbnails, then write review/`name` and review/index.html for this report."""
    folder = Path(data["folder"])
    check_own_folders(folder)  # the page and its thumbnails go inside .remedia
    out = review_dir(folder)
    thumbs, problems = page_thumbnails(
        data, workers=workers, progress=progress, max_previews=max_previews
    )
    text = render_page(
        data,
        page_dir=out,
        thumbs={str(k): v for k, v in thumbs.thumbs.items()},
        no_preview={str(k): v for k, v in problems.items()},
    )
    page = out / name
    _write_atomic(page, text)
    _write_atomic(out / INDEX_NAME, text)
    return ReviewPage(
        path=page,
        index=out / INDEX_NAME,
        thumbnails_made=thumbs.made,
        thumbnails_reused=thumbs.reused,
        no_preview=tuple(Skipped(p, r) for p, r in problems.items()),
    )


def write_review(
    report: SortReport, *, workers: int = 0, progress: ProgressFactory = null_progress
) -> ReviewPage:
    """Write the review page of a finished sort (named after its saved report)."""
    if report.report_path is not None:
        name = report.report_path.stem + ".html"
    else:
        name = f"sort-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}.html"
    return write_page(report.to_dict(), name=name, workers=workers, progress=progress)


def _saved_reports(folder: Path) -> Iterator[Path]:
    reports = data_dir(folder) / REPORTS_DIR
    try:
        names = sorted(n for n in os.listdir(reports) if n.startswith("sort-"))
    except OSError:
        return
    for n in reversed(names):
        if n.endswith(".json"):
            yield reports / n


def ensure_page(folder: Path, *, workers: int = 0) -> Path:
    """The latest review page of `folder`, rebuilt from the latest saved report if it is missing."""
    folder = Path(folder).expanduser().absolute()
    if not folder.is_dir():
        raise FolderNotFound(f"folder not found: {folder}")
    existing = latest_page_path(folder)
    if existing is not None:
        return existing
    for report in _saved_reports(folder):
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a damaged report; an older one may still be good
        return write_page(data, name=report.stem + ".html", workers=workers).index
    raise RemediaError(f"no sort of {folder} to review yet: run `remedia sort` on it first")


def open_in_browser(page: Path) -> bool:
    """Show `page` in the user's web browser; False when no browser could be started."""
    import webbrowser

    try:
        return webbrowser.open(page.as_uri())
    except webbrowser.Error:
        return False
