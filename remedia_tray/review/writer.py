"""The review pages as files: FOLDER/.remedia/review/index.html shows the folder as it is
now (folder.py), review/<report name>.html the sort that report is about.

Rendering is pure (facts.py -> view.py -> page.py); the writers here make the thumbnails,
read the folder and write the pages.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .._platform import IS_WINDOWS
from ..atomicfile import write_atomic
from ..core.media import Skipped
from ..core.progress import ProgressFactory, null_progress
from ..errors import FolderNotFound, RemediaError
from ..filing.confined import check_own_folders
from ..filing.formats import Report, sort_name
from ..filing.report import SortReport
from ..layout import INDEX_NAME, JOURNAL_DIR, REPORTS_DIR, REVIEW_DIR, data_dir, thumbs_dir
from . import facts as _facts
from .facts import PageFacts, facts_from_report
from .folder import read_folder
from .page import render_page
from .view import Served, page_view
from .view import undo_command as undo_command

if TYPE_CHECKING:
    from .thumbnails import ThumbnailSet

#: Previews made per page at most: beyond this a first sort of a huge archive would spend
#: minutes on pictures nobody scrolls to; the rest of the groups are still listed and linked.
MAX_PREVIEWS = 5000

#: Beside index.html: the state of the folder's journals and reports the page was made from.
_STAMP_NAME = "index.state"


def review_dir(folder: Path) -> Path:
    return data_dir(Path(folder)) / REVIEW_DIR


def index_path(folder: Path) -> Path:
    """Where the page of the folder lives (whether or not it exists yet)."""
    return review_dir(folder) / INDEX_NAME


def latest_page_path(folder: Path) -> Path | None:
    """The review page of `folder`, or None when there is none yet."""
    path = index_path(Path(folder).expanduser().absolute())
    return path if path.is_file() else None


@dataclass(frozen=True)
class ReviewPage:
    path: Path  # this sort's own page
    index: Path  # the folder's page
    thumbnails_made: int
    no_preview: tuple[Skipped, ...]  # photos shown without a thumbnail, and why


def current_locations(report: Report) -> list[str]:
    """Every group member of a report where it is after the sort."""
    return _facts.current_locations(facts_from_report(report))


def render_report(
    report: Report,
    *,
    page_dir: Path,
    thumbs: Mapping[str, Path],
    no_preview: Mapping[str, str] | None = None,
    windows: bool = IS_WINDOWS,
    served: Served | None = None,
) -> str:
    """The page of one sort, from its report (`SortReport.saved()` or a saved one)."""
    view = page_view(
        facts_from_report(report),
        page_dir=page_dir,
        thumbs=thumbs,
        no_preview=no_preview,
        windows=windows,
        served=served,
    )
    return render_page(view)


# ---------------------------------------------------------------- writers


def _write_atomic(path: Path, text: str) -> None:
    # Readable like any file the user makes (the temporary file starts private).
    write_atomic(path, text.encode("utf-8"), mode=0o644)


def _folder_stamp(folder: Path) -> str:
    """What the folder page depends on, cheaply: its journals (an undo renames one or adds
    to it, a review action adds one) and its reports."""
    seen = []
    for sub in (JOURNAL_DIR, REPORTS_DIR):
        try:
            with os.scandir(data_dir(folder) / sub) as it:
                seen += sorted(f"{sub}/{e.name}:{e.stat().st_size}" for e in it)
        except OSError:
            continue
    return hashlib.sha256("\n".join(seen).encode("utf-8", "surrogateescape")).hexdigest()


def page_thumbnails(
    folder: Path,
    photos: Sequence[str],
    *,
    workers: int = 0,
    progress: ProgressFactory = null_progress,
    max_previews: int = MAX_PREVIEWS,
) -> tuple[ThumbnailSet, dict[Path, str]]:
    """The previews of `photos` (group members where they are now), and why some have none."""
    from .thumbnails import ensure_thumbnails

    review_dir(folder).mkdir(parents=True, exist_ok=True)
    wanted = [Path(p) for p in dict.fromkeys(photos)]
    thumbs = ensure_thumbnails(
        wanted[:max_previews], thumbs_dir(folder), workers=workers, progress=progress
    )
    problems = dict(thumbs.problems)
    for p in wanted[max_previews:]:
        problems[p] = f"not previewed: this sort has more than {max_previews:,} photos in groups"
    return thumbs, problems


def _render(
    pages: Sequence[PageFacts], thumbs: ThumbnailSet, problems: Mapping[Path, str], out: Path
) -> list[str]:
    """Each page's HTML; a page with the same facts as the one before is the same text."""
    texts: list[str] = []
    known = {str(k): v for k, v in thumbs.thumbs.items()}
    why = {str(k): v for k, v in problems.items()}
    for k, facts in enumerate(pages):
        if k and facts == pages[k - 1]:  # a first sort: the folder is what it made
            texts.append(texts[-1])
        else:
            view = page_view(facts, page_dir=out, thumbs=known, no_preview=why)
            texts.append(render_page(view))
    return texts


def write_page(
    report: Report,
    *,
    name: str,
    workers: int = 0,
    progress: ProgressFactory = null_progress,
    max_previews: int = MAX_PREVIEWS,
) -> ReviewPage:
    """Make the thumbnails, then write review/`name` (this report's sort) and review/index.html
    (the folder as it is now, this sort's changes marked)."""
    folder = report.folder
    check_own_folders(folder)  # the page and its thumbnails go inside .remedia
    out = review_dir(folder)
    sort = facts_from_report(report, name=Path(name).stem)
    whole = read_folder(folder, current=sort) or sort
    photos = _facts.current_locations(sort) + _facts.current_locations(whole)
    thumbs, problems = page_thumbnails(
        folder, photos, workers=workers, progress=progress, max_previews=max_previews
    )
    text, index_text = _render([sort, whole], thumbs, problems, out)
    page = out / name
    _write_atomic(page, text)
    _write_index(folder, index_text)
    return ReviewPage(
        path=page,
        index=out / INDEX_NAME,
        thumbnails_made=thumbs.made,
        no_preview=tuple(Skipped(p, r) for p, r in problems.items()),
    )


def _write_index(folder: Path, text: str) -> None:
    _write_atomic(index_path(folder), text)
    _write_atomic(review_dir(folder) / _STAMP_NAME, _folder_stamp(folder))


def write_review(
    report: SortReport, *, workers: int = 0, progress: ProgressFactory = null_progress
) -> ReviewPage:
    """Write the review pages of a finished sort (its own is named after its saved report, or
    from one clock reading when it was not saved)."""
    stem = report.report_path.stem if report.report_path is not None else sort_name()
    return write_page(report.saved(), name=stem + ".html", workers=workers, progress=progress)


def _is_current(folder: Path) -> bool:
    try:
        stamp = (review_dir(folder) / _STAMP_NAME).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return False
    return stamp == _folder_stamp(folder)


def write_folder_page(folder: Path, *, workers: int = 0) -> Path:
    """Write review/index.html, the folder as it is now. Raises RemediaError before any sort."""
    folder = Path(folder).expanduser().absolute()
    check_own_folders(folder)
    whole = read_folder(folder)
    if whole is None:
        raise RemediaError(f"no sort of {folder} to review yet: run `remedia sort` on it first")
    thumbs, problems = page_thumbnails(folder, _facts.current_locations(whole), workers=workers)
    (text,) = _render([whole], thumbs, problems, review_dir(folder))
    _write_index(folder, text)
    return index_path(folder)


def ensure_page(folder: Path, *, workers: int = 0) -> Path:
    """The review page of `folder`, rebuilt when missing or when the folder's sorts changed
    since it was written (`remedia undo`, a review action)."""
    folder = Path(folder).expanduser().absolute()
    if not folder.is_dir():
        raise FolderNotFound(f"folder not found: {folder}")
    existing = latest_page_path(folder)
    if existing is not None and _is_current(folder):
        return existing
    return write_folder_page(folder, workers=workers)


def open_in_browser(page: Path) -> bool:
    """Show `page` in the user's web browser; False when no browser could be started."""
    import webbrowser

    try:
        return webbrowser.open(page.as_uri())
    except webbrowser.Error:
        return False
