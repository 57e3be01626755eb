"""`remedia sort --keep / --reference / --series` (issue 25): parsed into the sort's options,
bad values refused with a clear message before anything is read or moved."""

from __future__ import annotations

from pathlib import Path

import pytest

from remedia_tray.cli import _plain_sort, build_parser

from .conftest import photo, read_tree
from .conftest import run_remedia as run


def test_the_options_as_parsed(tmp_path: Path) -> None:
    lib, ref = tmp_path / "Library", tmp_path / "Ref"
    lib.mkdir()
    ref.mkdir()
    args = build_parser().parse_args(
        ["sort", str(tmp_path), "--keep", " newest, folder:Library ", "--reference", str(lib),
         "--reference", str(ref), "--series", "move-all"]
    )  # fmt: skip
    assert args.keep == ("newest", "folder:Library")
    assert args.reference == [lib, ref] and args.series == "move-all"
    assert not _plain_sort(args)  # the tray would sort with its own settings: not handed off
    plain = build_parser().parse_args(["sort", str(tmp_path)])
    assert (plain.keep, plain.reference, plain.series) == (None, [], "keep-best")
    assert _plain_sort(plain)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--reference", "missing"], "argument --reference: not a folder: missing"),
        (["--series", "best"], "argument --series: invalid choice: 'best'"),
        (["--keep", "biggest"], "remedia: unknown keep rule 'biggest'; the rules are original"),
    ],
)
def test_bad_values_are_refused_before_the_sort(
    tmp_path: Path, argv: list[str], words: str
) -> None:
    (tmp_path / "a.jpg").write_bytes(photo("cat").read_bytes())
    before = read_tree(tmp_path)
    done = run("sort", str(tmp_path), "--engine", "hash", *argv)
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert read_tree(tmp_path) == before
