"""User decisions: a photo moved back out of duplicates/ or similar/ is never sorted again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from remedia_tray.cli import main
from remedia_tray.filing import decisions
from remedia_tray.filing.mover import undo_last_sort
from remedia_tray.sorter import SortOptions, sort_folder

from .conftest import photo, whatsapp_copy

HASH = SortOptions(engine="hash", workers=1)


@pytest.fixture
def sorted_folder(tmp_path: Path) -> Path:
    """Camera/sunset.jpg kept; its WhatsApp copy moved to duplicates/sunset/."""
    root = tmp_path / "photos"
    (root / "Camera").mkdir(parents=True)
    shutil.copy2(photo("sunset"), root / "Camera" / "sunset.jpg")
    shutil.copy2(photo("peaks"), root / "Camera" / "peaks.jpg")
    whatsapp_copy(photo("sunset"), root / "IMG-WA0001.jpg")
    report = sort_folder(root, HASH)
    assert report.duplicates_moved == 1
    assert (root / "duplicates" / "sunset" / "IMG-WA0001.jpg").exists()
    return root


def _moves(report: object) -> list[tuple[str, str]]:
    return [(m.src.name, m.dst.parent.name) for g in report.groups for m in g.moves]  # type: ignore[attr-defined]


def test_photo_moved_back_stays_where_the_user_put_it(sorted_folder: Path) -> None:
    root = sorted_folder
    os.rename(root / "duplicates/sunset/IMG-WA0001.jpg", root / "IMG-WA0001.jpg")
    report = sort_folder(root, HASH)
    assert _moves(report) == []
    assert (root / "IMG-WA0001.jpg").exists()
    assert any("where you moved" in n for n in report.notes)
    assert decisions.remembered(root) == ("IMG-WA0001.jpg",)
    # ...and on every later sort too, also after a rename by the user.
    os.rename(root / "IMG-WA0001.jpg", root / "Camera" / "from phone.jpg")
    for _ in range(2):
        assert _moves(sort_folder(root, HASH)) == []
    assert (root / "Camera" / "from phone.jpg").exists()


def test_photo_copied_back_is_recognised_by_content(sorted_folder: Path) -> None:
    root = sorted_folder
    src = root / "duplicates/sunset/IMG-WA0001.jpg"
    # A copy (new inode, new mtime), then the original deleted: a file manager's copy+delete.
    (root / "kept").mkdir()
    (root / "kept" / "mine.jpg").write_bytes(src.read_bytes())
    src.unlink()
    assert _moves(sort_folder(root, HASH)) == []
    assert (root / "kept" / "mine.jpg").exists()


def test_undo_is_not_a_user_decision(sorted_folder: Path) -> None:
    root = sorted_folder
    result = undo_last_sort(root)
    assert result.restored == 1 and (root / "IMG-WA0001.jpg").exists()
    report = sort_folder(root, HASH)
    assert _moves(report) == [("IMG-WA0001.jpg", "sunset")]
    assert decisions.remembered(root) == ()


def test_deleted_copy_is_not_a_decision(sorted_folder: Path) -> None:
    root = sorted_folder
    (root / "duplicates/sunset/IMG-WA0001.jpg").unlink()
    sort_folder(root, HASH)
    data = json.loads((root / ".remedia" / "decisions.json").read_text())
    assert data["kept"] == [] and data["placed"] == {}
    # A new, unrelated copy of the same photo is sorted as usual.
    whatsapp_copy(photo("sunset"), root / "IMG-WA0002.jpg")
    assert _moves(sort_folder(root, HASH)) == [("IMG-WA0002.jpg", "sunset")]


def test_forget_lets_the_next_sort_sort_it_again(
    sorted_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sorted_folder
    os.rename(root / "duplicates/sunset/IMG-WA0001.jpg", root / "IMG-WA0001.jpg")
    assert _moves(sort_folder(root, HASH)) == []
    assert main(["forget", str(root)]) == 0
    assert "Forgot 1 photo you had moved back" in capsys.readouterr().out
    assert decisions.remembered(root) == ()
    assert _moves(sort_folder(root, HASH)) == [("IMG-WA0001.jpg", "sunset")]


def test_dry_run_records_nothing(sorted_folder: Path) -> None:
    root = sorted_folder
    before = (root / ".remedia" / "decisions.json").read_bytes()
    os.rename(root / "duplicates/sunset/IMG-WA0001.jpg", root / "IMG-WA0001.jpg")
    report = sort_folder(root, SortOptions(engine="hash", workers=1, dry_run=True))
    assert _moves(report) == []  # the decision is respected in the plan ...
    assert (root / ".remedia" / "decisions.json").read_bytes() == before  # ... but not saved


def test_moved_back_from_similar_is_remembered_too(tmp_path: Path) -> None:
    # The same bookkeeping covers similar/: build a placement as a similar-group sort leaves it.
    root = tmp_path / "photos"
    (root / "similar" / "peaks").mkdir(parents=True)
    journal = root / ".remedia" / "journal" / "sort-1.jsonl"
    journal.parent.mkdir(parents=True)
    shutil.copy2(photo("peaks"), root / "similar" / "peaks" / "peaks.jpg")
    journal.write_text(
        json.dumps({"op": "move", "src": str(root / "peaks.jpg"), "dst": "x"}) + "\n"
    )
    moved = [(root / "peaks.jpg", root / "similar" / "peaks" / "peaks.jpg")]
    assert decisions.note_placements(root, journal, moved) == 1
    os.rename(root / "similar" / "peaks" / "peaks.jpg", root / "peaks.jpg")
    from remedia_tray.pipeline.discovery import iter_files

    result = decisions.exclude_remembered(root, list(iter_files(root)))
    assert result.kept == (root / "peaks.jpg",) and result.files == ()
    assert result.new_decisions == 1


def test_forget_on_a_missing_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forget", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_names_that_are_not_utf8_are_remembered(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    shutil.copy2(photo("life"), root / "life.jpg")
    odd = os.fsdecode(b"IMG-\xff\xfe.jpg")  # e.g. from an old camera card (Latin-1 names)
    whatsapp_copy(photo("life"), root / odd)
    assert _moves(sort_folder(root, HASH)) == [(odd, "life")]
    os.rename(root / "duplicates" / "life" / odd, root / odd)
    assert _moves(sort_folder(root, HASH)) == []
    assert decisions.remembered(root) == (odd,)
