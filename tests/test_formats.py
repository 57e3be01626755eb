"""The stored formats read today's files, and their writers write them again byte for byte.

The files in tests/data/formats/sorted/ were written by the code before the formats were
declared (tests/data/formats/make_fixtures.py: two sorts, a review action, an undo).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from remedia_tray.core.media import Skipped
from remedia_tray.core.planning import Move, PlannedGroup
from remedia_tray.filing import formats
from remedia_tray.filing.formats import (
    Begin,
    End,
    Group,
    MoveIntent,
    Report,
    Undone,
    Unknown,
    latest_report,
    parse_record,
)
from remedia_tray.filing.report import MemberDetail, SortReport, save_report
from remedia_tray.layout import reports_dir

SORTED = Path(__file__).parent / "data" / "formats" / "sorted"
REPORTS = sorted((SORTED / "reports").glob("*.json"))
JOURNALS = sorted((SORTED / "journal").glob("*.jsonl"))
MANIFESTS = sorted((SORTED / "manifests").glob("*/*/remedia-group.json"))


def test_the_fixtures_are_there() -> None:
    assert len(REPORTS) == 2 and len(JOURNALS) == 3 and len(MANIFESTS) == 2


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.name)
def test_a_saved_report_reads_and_writes_back_byte_for_byte(path: Path) -> None:
    raw = path.read_bytes()
    report = Report.from_dict(json.loads(raw))
    assert report.groups and report.groups[0].kind == "duplicates"
    assert report.groups[0].key == "duplicates/café"
    assert all(isinstance(d, MemberDetail) for d in report.groups[0].details)
    assert report.journal is not None and report.journal.name.endswith(".jsonl")
    assert formats.json_bytes(report.to_dict(), indent=1) == raw


def _sort_report(root: Path, **changes: object) -> SortReport:
    a, b, c = root / "a.jpg", root / "b.jpg", root / "c é.jpg"
    dup = PlannedGroup(
        "duplicates",
        root / "duplicates" / "a",
        a,
        a,
        "oldest",
        (a, b),
        (Move(b, root / "duplicates" / "a" / "b.jpg"),),
        "byte-identical",
    )
    sim = PlannedGroup("similar", root / "similar" / "c", None, c, "sharpest", (c, a), ())
    fields: dict[str, object] = dict(
        folder=root,
        dry_run=False,
        strictness=50,
        engines={"hash": "dHash"},
        files_seen=3,
        images=3,
        decoded=2,
        from_cache=1,
        groups=(dup, sim),
        skipped=(Skipped(root / "x.txt", "not a photo"),),
        failed=(),
        journal=root / "j.jsonl",
        seconds=1.23456,
        notes=("a note",),
        details={a: MemberDetail(1, 2, 3, 4, "JPEG", 5)},
        finished=1_700_000_000.5,
        stages={"search": 0.123456},
        mode="batch",
    )
    fields.update(changes)
    return SortReport(**fields)  # type: ignore[arg-type]


def _old_to_dict(r: SortReport) -> dict[str, object]:
    """SortReport.to_dict as it was written before the formats were declared."""

    def detail(d: MemberDetail | None) -> object:
        if d is None:
            return None
        return {
            "bytes": d.size,
            "mtime_ns": d.mtime_ns,
            "width": d.width,
            "height": d.height,
            "format": d.format,
            "exif_fields": d.exif_fields,
        }

    return {
        "folder": str(r.folder),
        "dry_run": r.dry_run,
        "strictness": r.strictness,
        "engines": r.engines,
        "files_seen": r.files_seen,
        "images": r.images,
        "decoded": r.decoded,
        "from_cache": r.from_cache,
        "seconds": round(r.seconds, 3),
        "mode": r.mode,
        "stages": {k: round(v, 4) for k, v in r.stages.items()},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(r.finished)),
        "journal": str(r.journal) if r.journal else None,
        "duplicates_moved": r.duplicates_moved,
        "similar_moved": r.similar_moved,
        "duplicate_bytes": r.duplicate_bytes,
        "notes": list(r.notes),
        "review_page": str(r.review_path) if r.review_path else None,
        "groups": [
            {
                "kind": g.kind,
                "folder": str(g.folder),
                "kept": str(g.keeper) if g.keeper else None,
                "best": str(g.best),
                "reason": g.reason,
                "best_reason": g.reason,  # since issue 25 (older reports lack it)
                "verified": g.verified,
                "members": [str(p) for p in g.members],
                "moves": [{"from": str(m.src), "to": str(m.dst)} for m in g.moves],
                "details": [detail(r.details.get(p)) for p in g.members],
            }
            for g in r.groups
        ],
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in r.skipped],
        "failed": [{"path": str(s.path), "reason": s.reason} for s in r.failed],
    }


def test_sort_report_writes_what_it_wrote_before_and_reads_back(tmp_path: Path) -> None:
    report = _sort_report(tmp_path, review_path=tmp_path / "p.html")
    data = report.to_dict()
    assert json.dumps(data) == json.dumps(_old_to_dict(report))
    assert Report.from_dict(json.loads(json.dumps(data))).to_dict() == data


def test_a_name_that_is_not_utf8_is_saved_with_escapes(tmp_path: Path) -> None:
    odd = tmp_path / os.fsdecode(b"caf\xe9.jpg")
    report = _sort_report(tmp_path, skipped=(Skipped(odd, "not a photo"),))
    path = save_report(report, tmp_path / ".remedia")
    raw = path.read_bytes()
    raw.decode("ascii")  # escapes only
    assert Report.from_dict(json.loads(raw)).skipped[0].path == odd


def test_an_older_report_reads_with_neutral_values() -> None:
    old = {
        "folder": "/f",
        "groups": [
            {
                "kind": "similar",
                "folder": "/f/similar/a",
                "best": "/f/a.jpg",
                "members": ["/f/a.jpg"],
            }
        ],
    }
    report = Report.from_dict(old)
    assert report.mode == "walk" and report.stages == {} and report.journal is None
    assert report.groups[0].details == () and report.groups[0].kept is None
    with pytest.raises(ValueError):
        Report.from_dict(
            {
                "folder": "/f",
                "groups": [{"kind": "videos", "folder": "/f/v", "best": "/f/a", "members": []}],
            }
        )


def test_latest_report_passes_over_damaged_and_undone_reports(tmp_path: Path) -> None:
    assert latest_report(tmp_path) is None
    journal = tmp_path / "j.jsonl"
    journal.write_text("")
    older = save_report(_sort_report(tmp_path, journal=journal), tmp_path / ".remedia")
    undone = save_report(
        _sort_report(tmp_path, journal=tmp_path / "gone.jsonl"), tmp_path / ".remedia"
    )
    damaged = reports_dir(tmp_path) / (undone.stem + "1.json")
    damaged.write_text("{")
    assert older.name < undone.name < damaged.name
    found = latest_report(tmp_path)
    assert found is not None and found.path == older
    assert found.report.journal == journal
    again = latest_report(tmp_path, undone_too=True)
    assert again is not None and again.path == undone


@pytest.mark.parametrize("path", JOURNALS, ids=lambda p: p.name)
def test_every_journal_record_reads_typed_and_writes_back_the_same_line(path: Path) -> None:
    lines = path.read_bytes().splitlines()
    records = [parse_record(json.loads(line)) for line in lines]
    assert not any(isinstance(r, Unknown) for r in records)
    assert isinstance(records[0], Begin) and records[0].run == path.name.split(".")[0]
    for line, record in zip(lines, records):
        assert json.dumps(record.to_dict()).encode("ascii") == line


def test_the_fixture_journals_hold_every_kind_of_record() -> None:
    ops = {json.loads(line)["op"] for p in JOURNALS for line in p.read_bytes().splitlines()}
    assert ops == {
        "begin",
        "mkdir",
        "group",
        "move",
        "moved",
        "manifest",
        "manifest-update",
        "review",
        "end",
        "undone",
    }


def test_records_the_journal_never_wrote_like_that_are_unknown_and_kept() -> None:
    for data in ({"op": "move", "src": "a"}, {"op": "undone", "n": "x"}, {"op": "later"}, {}):
        record = parse_record(data)
        assert isinstance(record, Unknown) and record.to_dict() == data
    assert parse_record({"op": "end", "recovered": True}) == End(recovered=True)
    assert End(recovered=True).to_dict() == {"op": "end", "recovered": True}
    assert parse_record({"op": "undone", "n": 3}) == Undone(3)
    assert parse_record({"op": "move", "src": "a", "dst": "b"}) == MoveIntent(Path("a"), Path("b"))
    old = parse_record({"op": "begin", "root": "/x", "version": 1})  # before runs
    assert isinstance(old, Begin) and old.run is None and old.root == Path("/x")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.parent.name)
def test_a_manifest_reads_and_is_written_again_byte_for_byte(path: Path) -> None:
    raw = path.read_bytes()
    manifest = formats.read_manifest(path.parent)
    assert manifest is not None and manifest.kind == "duplicates"
    assert manifest.best is not None and manifest.kept == manifest.best and manifest.moved
    group = Group(
        path.parent, "duplicates", Path(manifest.kept), Path(manifest.best), str(manifest.reason)
    )
    moves = [(Path(a), Path(b)) for a, b in manifest.moved]
    assert formats.new_manifest(group, moves) == raw
    # The one the second sort grew: its first version (journaled) grown by the second sort.
    grown = formats.new_manifest(group, moves[:1])
    assert formats.grown_manifest(grown, group, moves[1:]) == formats.new_manifest(group, moves)


def test_the_journaled_old_manifest_is_what_the_first_sort_wrote() -> None:
    update = next(
        parse_record(json.loads(line))
        for p in JOURNALS
        for line in p.read_bytes().splitlines()
        if json.loads(line)["op"] == "manifest-update"
    )
    assert isinstance(update, formats.ManifestUpdated)
    first = formats.Manifest.from_dict(json.loads(update.old.encode("latin-1")))
    now = formats.read_manifest(SORTED / "manifests" / "duplicates" / update.path.parent.name)
    assert now is not None and now.moved[: len(first.moved)] == first.moved


def test_a_damaged_manifest_holds_no_hints_and_is_not_grown(tmp_path: Path) -> None:
    assert formats.read_manifest(tmp_path) is None
    formats.manifest_path(tmp_path).write_text("[1, 2]")
    empty = formats.read_manifest(tmp_path)
    assert empty == formats.Manifest(None, None, None, None, ())
    group = Group(tmp_path, "similar", None, tmp_path / "a.jpg", "sharpest")
    assert formats.grown_manifest(b"{", group, []) is None
    assert formats.grown_manifest(b"[]", group, []) is None


def test_a_sort_name_reads_the_clock_once() -> None:
    ns = 1_700_000_000 * 10**9 + 999_999_999
    local = time.strftime("%Y%m%d-%H%M%S", time.localtime(1_700_000_000))
    assert formats.sort_name(ns) == f"sort-{local}-999999999"
    assert formats.sort_name().startswith("sort-")


def test_a_report_is_in_effect_while_its_journal_is_there(tmp_path: Path) -> None:
    journal = tmp_path / "sort-1.jsonl"
    report = Report.from_dict({"folder": str(tmp_path), "journal": str(journal)})
    assert not report.in_effect  # undone: the journal is renamed *.undone.jsonl
    journal.write_text("")
    assert report.in_effect
    assert Report.from_dict({"folder": str(tmp_path), "journal": None}).in_effect  # moved nothing


def test_an_older_report_reads_with_the_values_its_page_always_showed(tmp_path: Path) -> None:
    group = {"kind": "similar", "folder": "/p/similar/a", "best": "/p/a.jpg", "reason": None,
             "members": ["/p/a.jpg"], "verified": 64}  # fmt: skip
    old = {"folder": "/p", "finished": None, "engines": None, "notes": None, "groups": [group]}
    report = Report.from_dict(old)
    assert report.strictness == 50  # the default level: a report without it was sorted so
    assert report.finished == "" and report.engines == {} and report.notes == ()
    (g,) = report.groups
    assert g.reason == "" and g.verified is None and g.kept is None and g.moves == ()


def test_a_report_names_each_members_companions_where_they_are_now(tmp_path: Path) -> None:
    a, b = tmp_path / "IMG_1.HEIC", tmp_path / "b" / "IMG_1.HEIC"
    folder = tmp_path / "duplicates" / "IMG_1"
    kept_set = (("live", tmp_path / "IMG_1.MOV"), ("aae", tmp_path / "IMG_1.AAE"))
    copy_set = (("live", tmp_path / "b" / "IMG_1.MOV"),)
    dup = PlannedGroup(
        "duplicates", folder, a, a, "its set is whole", (a, b),
        (Move(b, folder / "IMG_1.HEIC", unit=b),
         Move(tmp_path / "b" / "IMG_1.MOV", folder / "IMG_1.MOV", unit=b, role="live")),
        "byte-identical", companions=((a, kept_set), (b, copy_set)),
    )  # fmt: skip
    report = _sort_report(tmp_path, groups=(dup,), details={})
    assert report.duplicates_moved == 1  # a set counts once, as its picture
    saved = report.to_dict()["groups"][0]
    assert saved["companions"] == {
        str(a): [{"role": "live", "path": str(tmp_path / "IMG_1.MOV")},
                 {"role": "aae", "path": str(tmp_path / "IMG_1.AAE")}],
        str(b): [{"role": "live", "path": str(folder / "IMG_1.MOV")}],  # moved with it
    }  # fmt: skip
    again = Report.from_dict(json.loads(formats.json_bytes(report.to_dict(), indent=1)))
    (group,) = again.groups
    assert group.companions_of(b) == (("live", folder / "IMG_1.MOV"),)
    assert group.companions_of(a) == kept_set
    assert again.to_dict() == report.to_dict()


def test_a_group_without_sets_writes_no_companions_and_odd_ones_are_passed_over() -> None:
    group = Report.from_dict(json.loads(REPORTS[0].read_bytes())).groups[0]
    assert group.companions == () and "companions" not in group.to_dict()
    data = {**group.to_dict(), "companions": {
        "/p/a.jpg": [{"role": "hologram", "path": "/p/a.holo"}, {"role": "xmp"}, 7,
                     {"role": "xmp", "path": "/p/a.jpg.xmp"}],
        "/p/b.jpg": "not a list",
    }}  # fmt: skip
    read = type(group).from_dict(data)
    assert read.companions == ((Path("/p/a.jpg"), (("xmp", Path("/p/a.jpg.xmp")),)),)
