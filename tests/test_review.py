"""The review page: written after every real sort, links where files are now, escapes everything."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlparse

import pytest
from PIL import Image

from remedia_tray.core.media import Skipped
from remedia_tray.core.planning import Move, PlannedGroup
from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.filing.report import MemberDetail, SortReport, save_report
from remedia_tray.review import writer as review
from remedia_tray.review.thumbnails import ensure_thumbnails, thumb_name
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import photo, read_tree, whatsapp_copy

HASH = SortOptions(engine="hash", workers=1)
HOSTILE = "<script>window.x=1<\\script> & \"quoted\" 'single' <img src=x onerror=alert(1)>\nline2"


class Page(HTMLParser):
    """Every tag, attribute and text run of a page, as a browser's parser sees them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.raw: dict[str, list[str]] = {"style": [], "script": []}
        self._in: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in self.raw:
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.raw[self._in].append(data)
        else:
            self.text.append(data)

    def attr_values(self, tag: str, name: str, **having: str) -> list[str]:
        return [
            str(a[name])
            for t, a in self.tags
            if t == tag and name in a and all(a.get(k) == v for k, v in having.items())
        ]


def target(page: Path, href: str) -> Path:
    """The file a relative link of the page opens."""
    assert not urlparse(href).scheme, href
    return Path(os.path.normpath(page.parent / os.fsdecode(unquote_to_bytes(href))))


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "lib"
    for d in ("Camera", "WhatsApp", "Downloads"):
        (root / d).mkdir(parents=True)
    for name in ("sunset", "coffee", "cat"):
        shutil.copy2(photo(name), root / "Camera" / f"{name}.jpg")
    whatsapp_copy(photo("sunset"), root / "WhatsApp" / "IMG-WA0001.jpg")
    shutil.copy2(photo("coffee"), root / "Downloads" / "coffee (1).jpg")
    (root / "Downloads" / "notes.txt").write_text("hello")
    return root


def test_sort_writes_the_page_and_links_point_where_files_are_now(library: Path) -> None:
    assert review.latest_page_path(library) is None
    report = sort_folder(library, HASH)
    page = report.review_path
    assert page is not None and page.is_file()
    index = review.latest_page_path(library)
    assert index == library / ".remedia" / "review" / "index.html"
    assert index.read_text(encoding="utf-8") == page.read_text(encoding="utf-8")
    assert page.stem == report.report_path.stem  # type: ignore[union-attr]

    doc = Page(page.read_text(encoding="utf-8"))
    links = {target(page, h) for h in doc.attr_values("a", "href", **{"class": "thumb"})}
    assert links == {
        library / "Camera/sunset.jpg",
        library / "duplicates/sunset/IMG-WA0001.jpg",
        library / "Camera/coffee.jpg",
        library / "duplicates/coffee/coffee (1).jpg",
    }
    thumbs = [target(page, s) for s in doc.attr_values("img", "src")]
    assert len(thumbs) == 4 and all(t.is_file() and t.parent.name == "thumbs" for t in thumbs)
    with Image.open(thumbs[0]) as im:
        assert max(im.size) <= 320
    groups = doc.attr_values("a", "href")
    assert any(target(page, h) == library / "duplicates/sunset" for h in groups)
    text = " ".join(doc.text)
    assert "Kept sunset.jpg: most pixels" in text
    assert "Downloads/notes.txt" in text and "not an image" in text
    assert f"remedia undo {library}" in text
    assert "Space the duplicates take up" in text


def test_hostile_file_names_stay_text(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    shutil.copy2(photo("peaks"), root / "peaks.jpg")
    whatsapp_copy(photo("peaks"), root / (HOSTILE + ".jpg"))
    report = sort_folder(root, HASH)
    assert report.review_path is not None
    html_text = report.review_path.read_text(encoding="utf-8")
    doc = Page(html_text)

    assert [t for t, _ in doc.tags].count("script") == 1
    assert [t for t, _ in doc.tags].count("img") == 2
    allowed = {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "h2",
        "h3",
        "div",
        "dl",
        "dt",
        "dd",
        "code",
        "button",
        "nav",
        "a",
        "input",
        "main",
        "p",
        "section",
        "figure",
        "span",
        "img",
        "figcaption",
        "br",
        "details",
        "summary",
        "table",
        "tr",
        "th",
        "td",
        "footer",
        "script",
        "b",
        "ul",
        "li",
    }
    assert {t for t, _ in doc.tags} <= allowed
    assert not [a for _, attrs in doc.tags for a in attrs if a.startswith("on")]
    shown = HOSTILE.replace("\n", "\\x0a") + ".jpg"  # as wording.shown shows it
    assert shown in doc.text
    assert shown in doc.attr_values("img", "alt")
    moved = root / "duplicates" / "peaks" / (HOSTILE + ".jpg")
    thumbs = doc.attr_values("a", "href", **{"class": "thumb"})
    hrefs = {target(report.review_path, h) for h in thumbs}
    assert moved in hrefs and moved.is_file()


def test_csp_allows_only_our_inline_code_and_no_url_leaves_the_machine(library: Path) -> None:
    report = sort_folder(library, HASH)
    assert report.review_path is not None
    doc = Page(report.review_path.read_text(encoding="utf-8"))
    csp = doc.attr_values("meta", "content", **{"http-equiv": "Content-Security-Policy"})[0]
    assert "default-src 'none'" in csp and "img-src file: data:" in csp
    for kind, directive in (("style", "style-src"), ("script", "script-src")):
        (code,) = doc.raw[kind]
        digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in csp
    urls = [v for _, a in doc.tags for k, v in a.items() if k in ("src", "href") and v]
    assert urls
    for url in urls:
        assert not url.startswith("//") and urlparse(url).scheme in ("", "file", "data"), url
    assert not re.search(r"https?:|@import|url\(", " ".join(doc.raw["style"] + doc.raw["script"]))


def test_page_failure_never_fails_the_sort(library: Path) -> None:
    before = read_tree(library)
    data = library / ".remedia"
    data.mkdir()
    (data / "review").write_text("a file where the review folder should be")
    report = sort_folder(library, HASH)
    assert report.duplicates_moved == 2 and report.review_path is None
    assert any(n.startswith("review page not written") for n in report.notes)
    assert (library / "duplicates/sunset/IMG-WA0001.jpg").is_file()
    undo_last_sort(library)
    assert read_tree(library) == before


def test_dry_run_writes_no_page(library: Path) -> None:
    report = sort_folder(library, SortOptions(engine="hash", workers=1, dry_run=True))
    assert report.review_path is None and not (library / ".remedia").exists()


def _image(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, "JPEG")
    return path


def _finished_report(root: Path, groups: tuple[PlannedGroup, ...], **kw: object) -> SortReport:
    details = {}
    for g in groups:
        for m in g.members:
            now = next((mv.dst for mv in g.moves if mv.src == m), m)
            st = now.stat()
            details[m] = MemberDetail(st.st_size, st.st_mtime_ns, 64, 48, "JPEG", 0)
    return SortReport(
        folder=root,
        dry_run=False,
        strictness=50,
        engines={"hash": "test"},
        files_seen=3,
        images=3,
        decoded=3,
        from_cache=0,
        groups=groups,
        skipped=(),
        failed=(),
        journal=root / ".remedia" / "journal" / "x.jsonl",
        seconds=0.1,
        details=details,
        **kw,  # type: ignore[arg-type]
    )


def test_similar_groups_side_by_side_with_the_best_marked(tmp_path: Path) -> None:
    root = tmp_path / "p"
    folder = root / "similar" / "beach"
    names = ("beach.jpg", "beach 2.jpg", "beach 3.jpg")
    for k, n in enumerate(names):
        _image(folder / n, (40 * k, 100, 200))
    originals = tuple(root / "Camera" / n for n in names)
    group = PlannedGroup(
        kind="similar",
        folder=folder,
        keeper=None,
        best=originals[0],
        reason="sharpest",
        members=originals,
        moves=tuple(Move(o, folder / o.name) for o in originals),
    )
    page = review.write_review(_finished_report(root, (group,)))
    doc = Page(page.path.read_text(encoding="utf-8"))
    rows = [a for t, a in doc.tags if t == "div" and a.get("class") == "row"]
    assert len(rows) == 1
    hrefs = [target(page.path, h) for h in doc.attr_values("a", "href", **{"class": "thumb"})]
    assert hrefs == [folder / n for n in names]  # best first, in the group's order
    assert doc.attr_values("figure", "class").count("best") == 1
    assert "Best shot beach.jpg: sharpest" in doc.text
    assert page.thumbnails_made == 3 and not page.no_preview


def test_non_utf8_names_render_and_survive_the_saved_report(tmp_path: Path) -> None:
    root = tmp_path / "p"
    kept = _image(root / "cafe.jpg", (10, 20, 30))
    odd = os.fsdecode(b"caf\xe9.jpg")  # Latin-1 bytes: not valid UTF-8
    dst = _image(root / "duplicates" / "cafe" / odd, (10, 20, 30))
    group = PlannedGroup(
        kind="duplicates",
        folder=dst.parent,
        keeper=kept,
        best=kept,
        reason="most pixels",
        members=(kept, root / odd),
        moves=(Move(root / odd, dst),),
    )
    report = _finished_report(root, (group,))
    saved = save_report(report, root / ".remedia")
    report = SortReport(**{**report.__dict__, "report_path": saved})
    page = review.write_review(report).path
    text = page.read_text(encoding="utf-8")
    assert "caf\\xe9.jpg" in Page(text).text  # the raw byte, shown
    doc = Page(text)
    assert dst in {target(page, h) for h in doc.attr_values("a", "href", **{"class": "thumb"})}
    assert "caf%E9.jpg" in text

    # `remedia review` rebuilds a lost page from the saved report, the odd name intact.
    page.unlink()
    (page.parent / review.INDEX_NAME).unlink()
    rebuilt = review.ensure_page(root)
    assert rebuilt == review.index_path(root) and "caf%E9.jpg" in rebuilt.read_text("utf-8")


def test_member_without_preview_gets_a_placeholder_with_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "p"
    kept = _image(root / "a.jpg", (200, 10, 10))
    broken = root / "duplicates" / "a" / "a copy.jpg"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(kept.read_bytes()[:200])  # truncated since the sort
    group = PlannedGroup(
        kind="duplicates",
        folder=broken.parent,
        keeper=kept,
        best=kept,
        reason="largest file",
        members=(kept, root / "a copy.jpg"),
        moves=(Move(root / "a copy.jpg", broken),),
    )
    page = review.write_review(_finished_report(root, (group,)))
    assert [s.path for s in page.no_preview] == [broken]
    text = " ".join(Page(page.path.read_text(encoding="utf-8")).text)
    assert "no preview" in text and page.no_preview[0].reason in text


def test_thumbnails_are_reused_by_file_identity(tmp_path: Path) -> None:
    photos = [shutil.copy2(photo(n), tmp_path / f"{n}.jpg") for n in ("life", "ridge", "umang")]
    store = tmp_path / "thumbs"
    first = ensure_thumbnails([Path(p) for p in photos], store, workers=2)
    assert first.made == 3 and first.reused == 0 and not first.problems
    again = ensure_thumbnails([Path(p) for p in photos], store)
    assert again.made == 0 and again.reused == 3 and again.thumbs == first.thumbs
    # A move (rename) keeps the identity; an edit does not.
    moved = tmp_path / "dups" / "life.jpg"
    moved.parent.mkdir()
    os.rename(photos[0], moved)
    after_move = ensure_thumbnails([moved], store)
    assert after_move.made == 0 and after_move.thumbs[moved] == first.thumbs[Path(photos[0])]
    whatsapp_copy(photo("ridge"), Path(photos[1]))
    after_edit = ensure_thumbnails([Path(photos[1])], store)
    assert after_edit.made == 1
    assert after_edit.thumbs[Path(photos[1])] != first.thumbs[Path(photos[1])]
    assert after_edit.thumbs[Path(photos[1])].name == thumb_name(os.stat(photos[1]))


def test_thumbnails_follow_exif_orientation(tmp_path: Path) -> None:
    src = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed portrait
    with Image.open(photo("sunset")) as im:
        im.convert("RGB").save(src, "JPEG", exif=exif)
        stored = im.size
    assert stored[0] > stored[1]
    thumbs = ensure_thumbnails([src], tmp_path / "t")
    with Image.open(thumbs.thumbs[src]) as t:
        assert t.height > t.width


def test_undo_command_is_exact_for_the_users_shell() -> None:
    for folder in ("/home/a/My Photos", '/x/it\'s "here" $HOME;rm', "/tmp/line\nbreak"):
        cmd = review.undo_command(folder, windows=False)
        assert shlex.split(cmd) == ["remedia", "undo", folder]
    assert (
        review.undo_command(r"C:\Users\a\My Photos", windows=True)
        == 'remedia undo "C:\\Users\\a\\My Photos"'
    )


def test_skipped_and_failed_files_are_listed(tmp_path: Path) -> None:
    root = tmp_path / "p"
    kept = _image(root / "k.jpg", (1, 2, 3))
    group = PlannedGroup(
        kind="duplicates",
        folder=root / "duplicates" / "k",
        keeper=kept,
        best=kept,
        reason="oldest",
        members=(kept, root / "locked.jpg"),
        moves=(),
    )
    _image(root / "locked.jpg", (1, 2, 3))
    report = SortReport(
        **{
            **_finished_report(root, (group,)).__dict__,
            "skipped": (Skipped(root / "clip.mov", "not an image (unrecognised content)"),),
            "failed": (Skipped(root / "locked.jpg", "permission denied; left in place"),),
        }
    )
    doc = Page(review.write_review(report).path.read_text(encoding="utf-8"))
    text = " ".join(doc.text)
    assert "clip.mov" in text and "not an image (unrecognised content)" in text
    assert "not moved: permission denied; left in place" in text
    assert "Not moved (1)" in text


def test_previews_are_capped_but_every_member_is_still_listed(tmp_path: Path) -> None:
    root = tmp_path / "p"
    kept = _image(root / "big.jpg", (9, 9, 9))
    dst = _image(root / "duplicates" / "big" / "big copy.jpg", (9, 9, 9))
    group = PlannedGroup(
        kind="duplicates",
        folder=dst.parent,
        keeper=kept,
        best=kept,
        reason="oldest",
        members=(kept, root / "big copy.jpg"),
        moves=(Move(root / "big copy.jpg", dst),),
    )
    saved = _finished_report(root, (group,)).saved()
    page = review.write_page(saved, name="capped.html", max_previews=1)
    assert page.thumbnails_made == 1 and [s.path for s in page.no_preview] == [dst]
    doc = Page(page.path.read_text(encoding="utf-8"))
    assert len(doc.attr_values("img", "src")) == 1
    assert dst in {target(page.path, h) for h in doc.attr_values("a", "href", **{"class": "thumb"})}
    assert "not previewed: this sort has more than 1 photos in groups" in " ".join(doc.text)


@pytest.mark.parametrize("workers", [1, 2])
def test_previews_come_from_the_scan_decode(tmp_path: Path, workers: int) -> None:
    """Every photo the sort decoded leaves its preview, so the page decodes nothing again."""
    from remedia_tray.layout import thumbs_dir

    root = tmp_path / "photos"
    root.mkdir()
    names = ("sunset", "peaks", "ridge", "cat", "coffee", "life", "umang", "seeding")
    for name in names:
        shutil.copy2(photo(name), root / f"{name}.jpg")
    whatsapp_copy(photo("sunset"), root / "IMG-WA0001.jpg")
    report = sort_folder(root, SortOptions(engine="hash", workers=workers))
    assert len(report.duplicate_groups) == 1
    previews = sorted(thumbs_dir(root).glob("*.jpg"))
    # Eight photos that are in no group have previews too: the scan made them, not the page.
    assert len(previews) == len(names) + 1
    for member in report.duplicate_groups[0].members:
        current = root / "duplicates" / "sunset" / member.name
        where = current if current.exists() else member
        assert (thumbs_dir(root) / thumb_name(os.stat(where))).is_file()
    with Image.open(previews[0]) as im:
        assert max(im.size) == 320 and im.format == "JPEG"
    again = review.write_review(report, workers=1)
    assert again.thumbnails_made == 0
    assert sort_folder(root, SortOptions(engine="hash", dry_run=True)).groups == ()


def test_a_dry_run_leaves_no_previews(tmp_path: Path) -> None:
    from remedia_tray.layout import thumbs_dir

    root = tmp_path / "photos"
    root.mkdir()
    shutil.copy2(photo("sunset"), root / "sunset.jpg")
    sort_folder(root, SortOptions(engine="hash", workers=1, dry_run=True))
    assert not thumbs_dir(root).exists()
