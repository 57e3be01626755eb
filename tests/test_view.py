"""The review page's pure parts: report data -> facts (the adapter), facts -> view model, and
the folder's facts from the group folders on disk plus the reports of the sorts in effect."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from remedia_tray.core.media import MediaFile
from remedia_tray.filing.formats import Report
from remedia_tray.pipeline.placed import PlacedGroup
from remedia_tray.review.facts import PageFacts, UndoneSort, facts_from_report
from remedia_tray.review.folder import folder_facts
from remedia_tray.review.page import render_page
from remedia_tray.review.view import KINDS, Served, page_view

PAGE_DIR = Path("/p/.remedia/review")


def _detail(size: int) -> dict[str, Any]:
    return {"bytes": size, "mtime_ns": 0, "width": 40, "height": 30, "format": "JPEG",
            "exif_fields": 0}  # fmt: skip


def _dups(name: str, copies: list[str], *, kept: str | None = None) -> dict[str, Any]:
    kept = kept or f"/p/{name}.jpg"
    moves = [{"from": f"/p/{c}", "to": f"/p/duplicates/{name}/{c}"} for c in copies]
    return {
        "kind": "duplicates",
        "folder": f"/p/duplicates/{name}",
        "kept": kept,
        "best": kept,
        "reason": "most pixels",
        "verified": "byte-identical",
        "members": [kept, *(f"/p/{c}" for c in copies)],
        "moves": moves,
        "details": [_detail(100)] + [_detail(10) for _ in copies],
    }


def _report(*groups: dict[str, Any], **kw: Any) -> dict[str, Any]:
    moved = sum(len(g["moves"]) for g in groups if g["kind"] == "duplicates")
    data = {
        "folder": "/p",
        "finished": "2026-01-02T03:04:05",
        "strictness": 50,
        "engines": {"hash": "1"},
        "images": 9,
        "seconds": 0.5,
        "journal": "/p/.remedia/journal/sort-1.jsonl",
        "duplicates_moved": moved,
        "similar_moved": sum(len(g["moves"]) for g in groups if g["kind"] == "similar"),
        "duplicate_bytes": 10 * moved,
        "notes": [],
        "groups": list(groups),
        "skipped": [],
        "failed": [],
    }
    return {**data, **kw}


def facts_of(data: dict[str, Any], *, name: str = "") -> PageFacts:
    """The adapter reads the typed report: the data as it is read back from its file."""
    return facts_from_report(Report.from_dict(data), name=name)


def _placed(name: str, copies: list[str], kept: str | None = None) -> PlacedGroup:
    folder = Path("/p/duplicates") / name
    files = tuple(MediaFile(folder / c, 10, 0, 0, 0) for c in sorted(copies))
    kept_path = Path(kept or f"/p/{name}.jpg")
    return PlacedGroup("duplicates", folder, files, kept=kept_path, best=kept_path)


# ---------------------------------------------------------------- the adapter


def test_the_adapter_says_where_each_member_is_now_and_why_one_did_not_move() -> None:
    group = _dups("a", ["a copy.jpg", "a locked.jpg"])
    group["moves"].pop()  # the second copy could not move
    data = _report(group)
    data["failed"] = [{"path": "/p/a locked.jpg", "reason": "permission denied"}]
    facts = facts_of(data, name="sort-1")
    (g,) = facts.groups
    kept, copy, locked = g.members
    assert kept.kept and kept.now == kept.original == "/p/a.jpg" and not kept.moved
    assert copy.moved and copy.now == "/p/duplicates/a/a copy.jpg"
    assert locked.not_moved == "permission denied" and locked.now == locked.original
    assert g.linked and g.verified == "byte-identical" and facts.sort_moved == 1
    assert facts.engines == (("hash", "1"),) and facts.name == "sort-1"


def test_a_kept_copy_that_moved_on_with_its_series_is_found_there() -> None:
    series = {
        "kind": "similar",
        "folder": "/p/similar/s",
        "kept": None,
        "best": "/p/a.jpg",
        "reason": "sharpest",
        "members": ["/p/a.jpg", "/p/b.jpg"],
        "moves": [
            {"from": "/p/a.jpg", "to": "/p/similar/s/a.jpg"},
            {"from": "/p/b.jpg", "to": "/p/similar/s/b.jpg"},
        ],
    }
    facts = facts_of(_report(_dups("a", ["a copy.jpg"]), series))
    kept = facts.groups[0].members[0]
    assert kept.kept and kept.now == "/p/similar/s/a.jpg" and not kept.moved
    view = page_view(facts, page_dir=PAGE_DIR, thumbs={})
    assert (
        view.sections[0].groups[0].members[0].where
        == "kept; now with its series at similar/s/a.jpg"
    )


# ---------------------------------------------------------------- the view model


def test_each_kind_reads_from_its_row_of_the_table() -> None:
    series = {
        "kind": "similar",
        "folder": "/p/similar/s",
        "kept": None,
        "best": "/p/s2.jpg",
        "reason": "sharpest",
        "members": ["/p/s1.jpg", "/p/s2.jpg"],
        "moves": [{"from": f"/p/s{k}.jpg", "to": f"/p/similar/s/s{k}.jpg"} for k in (1, 2)],
    }
    facts = facts_of(_report(_dups("a", ["a copy.jpg"]), series))
    view = page_view(facts, page_dir=PAGE_DIR, thumbs={}, served=Served("t"))
    (dup,), (sim,) = (s.groups for s in view.sections)
    assert [s.heading for s in view.sections] == ["Duplicates", "Similar photos"]
    assert (dup.layout, sim.layout) == ("grid", "row")
    assert dup.sub == "2 copies · 1 moved · <0.01 MB in duplicates · verified: byte-identical"
    assert sim.sub == "2 similar photos · 2 moved"
    assert dup.why == "Kept a.jpg: most pixels" and sim.why == "Best shot s2.jpg: sharpest"
    assert [m.badge for m in sim.members] == ["", "Best"]
    # Served: the member buttons of each kind, and every group can be undone.
    copy_form = dup.members[1].form
    assert copy_form is not None and copy_form.buttons == (
        ("keep", "Keep this copy"),
        ("not-duplicate", KINDS["duplicates"].not_member),
    )
    assert dup.members[0].form is None  # the kept copy stayed where it was
    assert sim.members[0].form is not None
    assert sim.members[0].form.buttons == (("not-duplicate", "Not similar"),)
    assert dup.undo is not None and "token=t" in dup.undo.url
    assert dup.href is None  # served: the title does not link to a folder


def test_totals_and_the_undo_box() -> None:
    facts = facts_of(_report(_dups("a", ["a copy.jpg"])))
    view = page_view(facts, page_dir=PAGE_DIR, thumbs={}, windows=False)
    labels = [t.label for t in view.totals]
    assert "Photos moved to similar/" not in labels  # no similar groups: not said twice
    assert view.undo == "remedia undo /p"
    nothing = page_view(replace(facts, sort_moved=0), page_dir=PAGE_DIR, thumbs={})
    assert nothing.undo is None
    assert page_view(replace(facts, journal=None), page_dir=PAGE_DIR, thumbs={}).undo is None


def test_links_are_relative_and_every_byte_of_a_name_is_kept() -> None:
    odd = "/p/caf\udce9 #1.jpg"  # a Latin-1 byte that is not UTF-8
    group = _dups("caf", [])
    group["members"].append(odd)
    group["moves"] = [{"from": odd, "to": "/p/duplicates/caf/caf\udce9 #1.jpg"}]
    facts = facts_of(_report(group))
    m = page_view(facts, page_dir=PAGE_DIR, thumbs={}).sections[0].groups[0].members[1]
    assert m.href == "../../duplicates/caf/caf%E9%20%231.jpg"
    html = render_page(page_view(facts, page_dir=PAGE_DIR, thumbs={}))
    assert "caf\\xe9 #1.jpg" in html  # the raw byte, shown


def test_hostile_text_is_escaped_when_rendered() -> None:
    evil = '/p/<img src=x onerror="alert(1)">.jpg'
    group = _dups("x", [])
    group["members"].append(evil)
    group["moves"] = [{"from": evil, "to": "/p/duplicates/x/e.jpg"}]
    group["reason"] = "<script>alert(2)</script>"
    html = render_page(page_view(facts_of(_report(group)), page_dir=PAGE_DIR, thumbs={}))
    assert "<img src=x" not in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


# ---------------------------------------------------------------- the folder


def test_a_first_sort_is_the_folder_and_nothing_is_marked() -> None:
    sort = facts_of(_report(_dups("b", ["b copy.jpg"]), _dups("a", ["a copy.jpg"])))
    placed = [_placed("a", ["a copy.jpg"]), _placed("b", ["b copy.jpg"])]  # as read: by name
    assert folder_facts(placed, [sort]) == sort


def test_the_newest_sort_marks_new_groups_grown_groups_and_new_members() -> None:
    first = facts_of(_report(_dups("a", ["a copy.jpg"]), _dups("b", ["b copy.jpg"])), name="sort-1")
    second = facts_of(
        _report(_dups("a", ["a copy 2.jpg"]), _dups("c", ["c copy.jpg"]), images=2),
        name="sort-2",
    )
    placed = [
        _placed("a", ["a copy.jpg", "a copy 2.jpg"]),
        _placed("b", ["b copy.jpg"]),
        _placed("c", ["c copy.jpg"]),
    ]
    facts = folder_facts(placed, [first, second])
    by_name = {Path(g.folder).name: g for g in facts.groups}
    assert [Path(g.folder).name for g in facts.groups] == ["a", "c", "b"]  # newest sort first
    assert (by_name["a"].change, by_name["c"].change, by_name["b"].change) == ("grown", "new", None)
    a = by_name["a"]
    # In the order the sorts added them, the newcomer marked.
    assert [Path(m.now).name for m in a.members] == ["a.jpg", "a copy.jpg", "a copy 2.jpg"]
    assert [m.new for m in a.members] == [False, False, True]
    assert a.members[1].original == "/p/a copy.jpg"  # known from the older report
    assert (facts.duplicates_moved, facts.duplicate_bytes, facts.images) == (4, 40, 2)
    view = page_view(facts, page_dir=PAGE_DIR, thumbs={})
    assert (
        view.changes
        == "The latest sort changed this folder: 1 new group and 1 group grown, marked below."
    )
    assert len(view.sections[0].groups) == 3


def test_groups_no_longer_on_disk_are_gone_and_an_undone_sort_is_said() -> None:
    first = facts_of(_report(_dups("a", ["a copy.jpg"])), name="sort-1")
    undone = UndoneSort("sort-2", "2026-01-03T10:00:00", 2)
    facts = folder_facts([_placed("a", ["a copy.jpg"])], [first], [undone])
    assert [Path(g.folder).name for g in facts.groups] == ["a"]
    view = page_view(facts, page_dir=PAGE_DIR, thumbs={})
    assert view.undone == (
        (
            "sort-2",
            "The sort of 2026-01-03 10:00 was undone: the files it moved into 2 groups are back.",
        ),
    )
    assert view.changes == "" and view.undo is not None


def test_a_group_no_report_knows_is_still_shown_from_the_disk() -> None:
    first = facts_of(_report(_dups("a", ["a copy.jpg"])), name="sort-1")
    stray = PlacedGroup(
        "duplicates",
        Path("/p/duplicates/z"),
        (MediaFile(Path("/p/duplicates/z/z.jpg"), 7, 0, 0, 0),),
    )
    facts = folder_facts([stray, _placed("a", ["a copy.jpg"])], [first])
    z = facts.groups[-1]
    assert Path(z.folder).name == "z" and z.reason == "" and z.members[0].detail is not None
    assert z.members[0].detail.bytes == 7 and z.change is None


# ---------------------------------------------------------------- media sets


def _live_sets() -> dict[str, Any]:
    """A kept Live Photo with its edits and rendition, and a copy that moved with its video."""
    group = _dups("IMG_1", ["b/IMG_1.HEIC"], kept="/p/IMG_1.HEIC")
    group["moves"] = [
        {"from": "/p/b/IMG_1.HEIC", "to": "/p/duplicates/IMG_1/IMG_1.HEIC"},
        {"from": "/p/b/IMG_1.MOV", "to": "/p/duplicates/IMG_1/IMG_1.MOV"},
        {"from": "/p/b/IMG_1.AAE", "to": "/p/duplicates/IMG_1/IMG_1.AAE"},
    ]
    group["companions"] = {
        "/p/IMG_1.HEIC": [  # not in the order of the table: the badges are
            {"role": "edited", "path": "/p/IMG_E1.JPG"},
            {"role": "aae", "path": "/p/IMG_1.AAE"},
            {"role": "live", "path": "/p/IMG_1.MOV"},
            {"role": "aae", "path": "/p/IMG_O1.AAE"},
        ],
        "/p/b/IMG_1.HEIC": [
            {"role": "live", "path": "/p/duplicates/IMG_1/IMG_1.MOV"},
            {"role": "aae", "path": "/p/duplicates/IMG_1/IMG_1.AAE"},
        ],
    }
    return group


def test_a_media_set_is_one_tile_with_a_badge_per_kind_of_companion() -> None:
    facts = facts_of(_report(_live_sets()))
    kept, copy = facts.groups[0].members
    assert ("live", "/p/IMG_1.MOV") in kept.companions and len(kept.companions) == 4
    assert copy.companions == (
        ("live", "/p/duplicates/IMG_1/IMG_1.MOV"),
        ("aae", "/p/duplicates/IMG_1/IMG_1.AAE"),
    )
    group = page_view(facts, page_dir=PAGE_DIR, thumbs={}).sections[0].groups[0]
    assert [m.rel for m in group.members] == ["IMG_1.HEIC", "duplicates/IMG_1/IMG_1.HEIC"]
    kept_view, copy_view = group.members
    assert [b.label for b in kept_view.sets] == ["Live", "AAE", "Edited"]  # RULES order
    assert [b.title for b in kept_view.sets] == [
        "Live: IMG_1.MOV", "AAE: IMG_1.AAE, IMG_O1.AAE", "Edited: IMG_E1.JPG",
    ]  # fmt: skip
    assert [b.label for b in copy_view.sets] == ["Live", "AAE"]
    assert kept_view.where == "stays at IMG_1.HEIC + 4 companions"
    assert copy_view.where == "from b/IMG_1.HEIC + 2 companions"
    assert group.sub.startswith("2 copies · 1 moved")  # companions are no copies
    assert "img_1.mov" in group.names  # the filter finds a set by its companions' names too
    html = render_page(page_view(facts, page_dir=PAGE_DIR, thumbs={}))
    assert html.count("<figure") == 2
    assert '<span class="set" data-role="live" title="Live: IMG_1.MOV">Live</span>' in html


def test_a_report_without_sets_shows_no_badges_and_the_same_page() -> None:
    data = _report(_dups("a", ["a copy.jpg"]))
    facts = facts_of(data)
    assert all(m.companions == () for g in facts.groups for m in g.members)
    html = render_page(page_view(facts, page_dir=PAGE_DIR, thumbs={}))
    assert 'class="sets"' not in html and "companion" not in html


def test_hostile_companion_names_are_escaped() -> None:
    group = _live_sets()
    evil = '/p/<img src=x onerror="alert(1)">.MOV'
    group["companions"]["/p/IMG_1.HEIC"] = [{"role": "live", "path": evil}]
    html = render_page(page_view(facts_of(_report(group)), page_dir=PAGE_DIR, thumbs={}))
    assert "<img src=x" not in html
    assert 'title="Live: &lt;img src=x onerror=&quot;alert(1)&quot;&gt;.MOV"' in html


def test_the_folder_page_shows_sets_from_the_manifests_and_the_reports() -> None:
    sort = facts_of(_report(_live_sets(), duplicates_moved=1))  # a set counts once
    folder = Path("/p/duplicates/IMG_1")
    placed = PlacedGroup(
        "duplicates", folder, (MediaFile(folder / "IMG_1.HEIC", 10, 0, 0, 0),),
        kept=Path("/p/IMG_1.HEIC"), best=Path("/p/IMG_1.HEIC"),
        companions=((folder / "IMG_1.HEIC",
                     (("live", folder / "IMG_1.MOV"), ("aae", folder / "IMG_1.AAE"))),),
    )  # fmt: skip
    # A first sort: the folder is what it made, sets included (the space the duplicates take
    # is summed from the pictures there: their companions are not read).
    assert folder_facts([placed], [sort]) == replace(sort, duplicate_bytes=10)
    # The user took the video out of the group folder: the disk says so.
    alone = replace(placed, companions=((folder / "IMG_1.HEIC", (("aae", folder / "IMG_1.AAE"),)),))
    kept, copy = folder_facts([alone], [sort]).groups[0].members
    assert copy.companions == (("aae", str(folder / "IMG_1.AAE")),)
    assert len(kept.companions) == 4  # the kept copy's set, from the report
