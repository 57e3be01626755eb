"""The world misbehaves: full disks, locked files, files that vanish or grow mid-sort, symlink
loops, 10,000 files in one folder, odd names and very long paths.

Each case checks the bytes of every file before and after, that every file it broke has a
clear reason in the report, and that the rest of the sort carried on.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import sys
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from remedia_tray.core.progress import Progress
from remedia_tray.errors import RemediaError
from remedia_tray.filing.mover import PART_SUFFIX, undo_last_sort
from remedia_tray.sorter import SortOptions, sort_folder

from ..conftest import photo, whatsapp_copy
from ._guard import Snapshot
from .conftest import build_library, cli_env, fill, run_cli

HASH = ("--engine", "hash", "--workers", "1")
IN_PROCESS = SortOptions(engine="hash", workers=1)


def sort_json(root: Path, *args: str, ok: tuple[int, ...] = (0, 1), **kw: object) -> dict:
    done = run_cli("sort", root, *HASH, "--json", *args, **kw)  # type: ignore[arg-type]
    assert done.returncode in ok, (done.returncode, done.stdout[-3000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def reasons(report: dict) -> dict[str, str]:
    """File name -> why it was skipped or not moved."""
    out = {}
    for entry in report["skipped"] + report["failed"]:
        out[os.path.basename(entry["path"])] = entry["reason"]
    return out


def moved_names(report: dict) -> set[str]:
    return {os.path.basename(m["from"]) for g in report["groups"] for m in g["moves"]}


def undo(root: Path, **faults: str) -> None:
    done = run_cli("undo", root, **faults)
    assert done.returncode == 0, (done.stdout, done.stderr)


# --- full disk -----------------------------------------------------------------------------


def test_full_disk_for_the_copies(
    tmp_path: Path, guard: Callable[..., Snapshot], mounts: Callable[..., bool]
) -> None:
    """duplicates/ on another, nearly full filesystem: copies that do not fit stay put."""
    root = tmp_path / "lib"
    big = root / "big"
    big.mkdir(parents=True)
    shutil.copy2(photo("cat"), root / "cat.jpg")
    shutil.copy2(photo("cat"), big / "cat copy.jpg")  # 50 KB: does not fit
    shutil.copy2(photo("peaks"), root / "peaks.jpg")
    whatsapp_copy(photo("peaks"), root / "small" / "peaks small.jpg", side=120)  # fits
    faults: dict[str, str] = {}
    if mounts(root / "duplicates", "64k"):
        fill(root / "duplicates", leave=24 * 1024)
        filler = (root / "duplicates" / ".filler").read_bytes()
    else:  # no mounting here: the same errors, injected where the copy would fail
        faults = {"oserror": "link:ENOSPC:1"}
        filler = None
    snap = guard(root)
    if filler is not None:
        snap.expect("duplicates/.filler", filler)
    report = sort_json(root, **faults)
    why = reasons(report)
    assert why["cat copy.jpg"] == "disk full; left in place", why
    assert moved_names(report) == {"peaks small.jpg"}  # the rest carried on
    assert not list(root.rglob("*" + PART_SUFFIX))
    snap.check()
    undo(root)  # the injected failure (if any) was for the sort only
    snap.check(restored=True)


def test_full_disk_for_the_folder_itself(
    tmp_path: Path, guard: Callable[..., Snapshot], mounts: Callable[..., bool]
) -> None:
    """No room even for the undo journal: a clear message, and nothing is moved."""
    root = tmp_path / "lib"
    if not mounts(root, "2m"):
        pytest.skip("needs a small tmpfs (root on Linux); the journal's own errors are below")
    build_library(root)
    sort_json(root, "--dry-run", ok=(0,))  # a first run creates .remedia/ while there is room
    fill(root)
    snap = guard(root)
    snap.expect(".filler", (root / ".filler").read_bytes())
    done = run_cli("sort", root, *HASH)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert "cannot write the undo journal" in done.stderr and "disk full" in done.stderr
    assert "nothing was moved" in done.stderr
    snap.check(restored=True)
    (root / ".filler").unlink()  # room again: the next run works and leaves no trace of this
    snap.expect(".filler", None)
    report = sort_json(root, ok=(0,))
    assert len(moved_names(report)) == 3
    undo(root)
    snap.check(restored=True)


def test_disk_fills_up_mid_sort(
    tmp_path: Path, guard: Callable[..., Snapshot], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal write of the 2nd move fails (full disk): that move and later ones are
    refused, earlier ones stay journaled and undoable, and the journal has no torn record."""
    from remedia_tray.filing import journal as journal_module

    root = build_library(tmp_path / "lib")
    snap = guard(root)
    real = journal_module.Journal.write
    calls = {"move": 0}

    class FullDisk:
        """The os module, except that write() lands half its bytes and then fails."""

        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

        def write(self, fd: int, data: bytes) -> int:
            os.write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write(self: journal_module.Journal, record: dict, *, sync: bool = True) -> None:
        if record.get("op") == "move":
            calls["move"] += 1
            if calls["move"] == 2:  # from here on the disk is full
                monkeypatch.setattr(journal_module, "os", FullDisk())
        real(self, record, sync=sync)

    monkeypatch.setattr(journal_module.Journal, "write", write)
    report = sort_folder(root, IN_PROCESS)
    monkeypatch.undo()
    assert len(report.failed) == 2 and report.duplicates_moved == 1
    assert {s.reason for s in report.failed} == {"disk full; left in place"}
    assert report.journal is not None
    lines = report.journal.read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # no torn line
    snap.check()
    assert undo_last_sort(root).restored == 1
    snap.check(restored=True)


def test_cache_disk_full_at_any_point_costs_only_speed(
    tmp_path: Path, guard: Callable[..., Snapshot], mounts: Callable[..., bool]
) -> None:
    """The disk holding the feature cache fills up: opening it, or committing rows, fails
    depending on how much room is left; each amount of room is tried."""
    if not mounts(tmp_path / "probe", "1m"):
        pytest.skip("needs a small tmpfs (root on Linux)")
    for leave in range(0, 72 * 1024, 8 * 1024):
        cache = tmp_path / f"cache{leave}"
        assert mounts(cache, "1m")
        warm = build_library(tmp_path / f"warm{leave}")  # the database exists, with room
        sort_folder(warm, SortOptions(engine="hash", workers=1, cache_dir=cache, dry_run=True))
        fill(cache, leave=leave)
        root = build_library(tmp_path / f"lib{leave}")
        for name in ("life", "coffee", "ridge", "umang", "seeding"):  # more rows to commit
            shutil.copy2(photo(name), root / f"{name}.jpg")
        snap = guard(root, f"{leave} bytes free")
        report = sort_folder(root, SortOptions(engine="hash", workers=1, cache_dir=cache))
        assert report.duplicates_moved == 3
        snap.check()
        undo_last_sort(root)
        snap.check(restored=True)


def test_garbage_cache_file_costs_only_speed(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root = build_library(tmp_path / "lib")
    cache = tmp_path / "cache"
    env = cli_env()
    env["XDG_CACHE_HOME"] = str(cache)
    assert run_cli("sort", root, *HASH, "--dry-run", env=env).returncode == 0
    db = next(cache.rglob("features-v1.sqlite"))
    for extra in db.parent.glob("features-v1.sqlite-*"):
        extra.unlink()
    data = bytearray(db.read_bytes())
    for k in range(100, len(data), 101):  # damage pages, keep the header
        data[k] ^= 0xA5
    db.write_bytes(bytes(data))
    snap = guard(root)
    report = sort_json(root, env=env, ok=(0,))
    assert len(moved_names(report)) == 3
    snap.check()
    undo(root)
    snap.check(restored=True)


# --- permissions ---------------------------------------------------------------------------


def _without_dac_override() -> None:
    """As root: drop the capabilities that ignore file permissions, for the exec'd program."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.fixture
def unprivileged(
    tmp_path: Path,
) -> Iterator[tuple[Path, Callable[[], None] | None, dict[str, str]]]:
    """(folder, preexec, env) to run the CLI as a user that file permissions apply to.

    Tests run as root in CI, and root reads and writes anything: the CLI then runs without
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so permission bits apply to it as to any
    user. Not root: the current user, as it is.
    """
    if os.geteuid() == 0 and not sys.platform.startswith("linux"):
        pytest.skip("dropping root's capabilities is Linux-only")
    base = tmp_path / "perm"
    base.mkdir()
    preexec = _without_dac_override if os.geteuid() == 0 else None
    try:
        yield base, preexec, cli_env()
    finally:
        for dirpath, dirnames, _ in os.walk(base):
            for name in dirnames:
                os.chmod(os.path.join(dirpath, name), 0o755)


def test_permission_denied_per_file(
    unprivileged: tuple[Path, Callable[[], None] | None, dict[str, str]],
    guard: Callable[..., Snapshot],
) -> None:
    base, preexec, env = unprivileged
    root = base / "lib"
    (root / "locked").mkdir(parents=True)
    (root / "secret").mkdir()
    shutil.copy2(photo("sunset"), root / "sunset.jpg")
    shutil.copy2(photo("sunset"), root / "locked" / "sunset copy.jpg")  # folder is read-only
    shutil.copy2(photo("peaks"), root / "peaks.jpg")
    shutil.copy2(photo("peaks"), root / "peaks copy.jpg")  # movable: the rest carries on
    shutil.copy2(photo("cat"), root / "unreadable.jpg")
    shutil.copy2(photo("life"), root / "secret" / "life.jpg")
    shutil.copy2(photo("coffee"), root / "read-only.jpg")
    shutil.copy2(photo("coffee"), root / "read-only copy.jpg")
    (root / "locked").chmod(0o555)
    (root / "unreadable.jpg").chmod(0o000)
    (root / "secret").chmod(0o000)
    (root / "read-only copy.jpg").chmod(0o444)
    snap = guard(root)
    report = sort_json(root, env=env, preexec=preexec)
    why = reasons(report)
    assert why["sunset copy.jpg"] == "permission denied; left in place"
    assert why["unreadable.jpg"] == "permission denied"
    assert why["secret"].startswith("cannot read folder: Permission denied")
    # A read-only file in a writable folder is moved (only the folder decides), intact.
    assert moved_names(report) == {"peaks copy.jpg", "read-only copy.jpg"}
    snap.check()
    done = run_cli("undo", root, env=env, preexec=preexec)
    assert done.returncode == 0, done.stderr
    (root / "secret").chmod(0o755)
    snap.check(restored=True)
    assert stat.S_IMODE((root / "read-only copy.jpg").stat().st_mode) == 0o444


def test_read_only_folder_is_refused_clearly(
    unprivileged: tuple[Path, Callable[[], None] | None, dict[str, str]],
    guard: Callable[..., Snapshot],
) -> None:
    base, preexec, env = unprivileged
    root = build_library(base / "lib")
    for dirpath, _, _ in os.walk(root):
        os.chmod(dirpath, 0o555)
    snap = guard(root)
    done = run_cli("sort", root, *HASH, env=env, preexec=preexec)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "cannot write to" in done.stderr and "nothing was moved" in done.stderr
    snap.check(restored=True)


def test_read_only_duplicates_folder(
    unprivileged: tuple[Path, Callable[[], None] | None, dict[str, str]],
    guard: Callable[..., Snapshot],
) -> None:
    base, preexec, env = unprivileged
    root = build_library(base / "lib")
    (root / "duplicates").mkdir()
    (root / "duplicates").chmod(0o555)
    snap = guard(root)
    report = sort_json(root, env=env, preexec=preexec)
    why = reasons(report)
    assert {why[n] for n in ("IMG_0001.jpg", "IMG_0002.jpg", "IMG-WA0003.jpg")} == {
        "permission denied; left in place"
    }
    snap.check(restored=True)


# --- files that vanish, change or are still being written ----------------------------------


class _Hook:
    """A progress bar that lets the test act on the folder between two decoded files."""

    def __init__(self, total: int, act: Callable[[int], None]) -> None:
        self.done = 0
        self.act = act
        act(0)

    def update(self, n: int = 1) -> None:
        self.done += n
        self.act(self.done)

    def close(self) -> None:
        pass


def _progress(act: Callable[[int], None]) -> Callable[[str, int], Progress]:
    def factory(desc: str, total: int) -> Progress:
        return _Hook(total, act if desc == "Reading photos" else lambda _: None)

    return factory


def test_files_vanish_and_change_mid_sort(tmp_path: Path, guard: Callable[..., Snapshot]) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    for name in ("sunset", "peaks", "cat", "life"):
        shutil.copy2(photo(name), root / f"{name}.jpg")
    whatsapp_copy(photo("sunset"), root / "z1 gone before read.jpg")
    whatsapp_copy(photo("peaks"), root / "z2 gone after read.jpg")
    whatsapp_copy(photo("cat"), root / "z3 rewritten after read.jpg")
    whatsapp_copy(photo("life"), root / "z4 still copying.jpg")
    snap = guard(root)
    replacement = photo("coffee").read_bytes()
    growing = root / "z4 still copying.jpg"

    def act(decoded: int) -> None:
        if decoded == 0:
            (root / "z1 gone before read.jpg").unlink()  # after discovery, before decoding
            snap.expect("z1 gone before read.jpg", None)
        if decoded == 8:  # everything read; planning and moving come next
            (root / "z2 gone after read.jpg").unlink()
            snap.expect("z2 gone after read.jpg", None)
            target = root / "z3 rewritten after read.jpg"
            target.write_bytes(replacement)  # another photo under the same name
            snap.expect(target.name, replacement)
            with open(growing, "ab") as fh:  # the phone is still writing this one
                fh.write(b"\0" * 1000)
            snap.expect(growing.name, growing.read_bytes())

    report = sort_folder(root, IN_PROCESS, progress=_progress(act))
    why = {s.path.name: s.reason for s in report.skipped + report.failed}
    assert why["z1 gone before read.jpg"].startswith("cannot read file: No such file")
    assert why["z2 gone after read.jpg"] == "file vanished before it could be moved"
    assert why["z3 rewritten after read.jpg"].startswith("changed since it was read")
    assert why["z4 still copying.jpg"].startswith("changed since it was read")
    assert (root / "z3 rewritten after read.jpg").read_bytes() == replacement  # not moved
    snap.check()
    assert report.duplicates_moved == 0
    again = sort_folder(root, IN_PROCESS)  # later, when things are settled
    assert {m.src.name for g in again.groups for m in g.moves} == {"z4 still copying.jpg"}
    snap.check()
    undo_last_sort(root)
    snap.check(restored=True)


def test_half_written_file_is_skipped_with_reason(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    shutil.copy2(photo("sunset"), root / "sunset.jpg")
    data = photo("sunset").read_bytes()
    (root / "incoming.jpg").write_bytes(data[: len(data) // 3])
    snap = guard(root)
    report = sort_folder(root, IN_PROCESS)
    why = {s.path.name: s.reason for s in report.skipped}
    assert "truncated" in why["incoming.jpg"] or "corrupt" in why["incoming.jpg"]
    assert not report.groups
    snap.check(restored=True)


# --- symlinks ------------------------------------------------------------------------------


def test_symlink_loops_and_links(tmp_path: Path, guard: Callable[..., Snapshot]) -> None:
    root = build_library(tmp_path / "lib")
    os.symlink("..", root / "Phone" / "up")  # a loop through the parent
    os.symlink(".", root / "here")  # a loop onto itself
    os.symlink("self", root / "self")  # ELOOP when followed
    os.symlink("missing.jpg", root / "dangling.jpg")
    os.symlink("sunset.jpg", root / "sunset link.jpg")  # a second name, not a second photo
    links = {p: os.readlink(p) for p in root.rglob("*") if p.is_symlink()}
    snap = guard(root)
    report = sort_json(root, ok=(0,))
    why = reasons(report)
    for link in links:
        assert why[link.name] == "symbolic link (not followed)", why
    assert len(moved_names(report)) == 3
    snap.check()
    assert {p: os.readlink(p) for p in links} == links
    undo(root)
    snap.check(restored=True)


# --- scale ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_ten_thousand_files_in_one_folder(tmp_path: Path, guard: Callable[..., Snapshot]) -> None:
    import numpy as np
    from PIL import Image

    root = tmp_path / "big"
    root.mkdir()
    rng = np.random.default_rng(7)
    copies = 100
    for k in range(10_000 - copies):
        pixels = rng.integers(0, 256, (12, 12), dtype=np.uint8)
        Image.fromarray(pixels, "L").save(root / f"img_{k:05d}.png", optimize=False)
    for k in range(copies):
        shutil.copy2(root / f"img_{k * 37:05d}.png", root / f"img_{k * 37:05d} copy.png")
    snap = guard(root)
    report = sort_json(root, "--workers", "0")
    assert report["files_seen"] == 10_000
    assert report["duplicates_moved"] == copies, report["duplicates_moved"]
    assert not report["failed"]
    snap.check()
    undo(root)
    snap.check(restored=True)


# --- names and paths -----------------------------------------------------------------------


ODD_NAMES = [
    "caf\u00e9.jpg",  # NFC
    "cafe\u0301.jpg",  # NFD: a different name for the same-looking text
    "line\nbreak.jpg",
    "tab\there.jpg",
    "-rf --help.jpg",
    "\u05e9\u05dc\u05d5\u05dd \u202eevil.jpg",  # Hebrew and a right-to-left override
    "\u200b.jpg",  # zero-width space
    "日本語の写真.jpg",
    "emoji 😀👨‍👩‍👧.jpg",
    " leading and trailing .jpg",
    "back\\slash?*:<>|.jpg",
    "a" * 251 + ".jpg",  # 255 bytes, the longest name there is
    "😀" * 62 + ".jpg",  # 252 bytes of 4-byte characters
]


def test_any_unicode_newlines_and_long_names(
    tmp_path: Path, guard: Callable[..., Snapshot], mounts: Callable[..., bool]
) -> None:
    assert unicodedata.normalize("NFC", ODD_NAMES[1]) == ODD_NAMES[0]
    for cross in (False, True):
        root = tmp_path / ("cross" if cross else "same") / "lib"
        root.mkdir(parents=True)
        faults: dict[str, str] = {}
        if cross and not mounts(root / "duplicates"):
            faults = {"oserror": "link:EXDEV"}
        sources = ("sunset", "peaks", "cat", "life", "coffee", "ridge", "umang", "seeding")
        for k, name in enumerate(ODD_NAMES):
            src = photo(sources[k % len(sources)])
            if k < len(sources):
                shutil.copy2(src, root / f"original {k}.jpg")
            whatsapp_copy(src, root / name, side=300 - k)
        bad = os.fsdecode(b"not utf-8 \xff\xfe.jpg")  # bytes no encoding can show
        shutil.copy2(photo("cat"), root / bad)
        whatsapp_copy(photo("cat"), root / os.fsdecode(b"copy \xe9\xff.jpg"))
        snap = guard(root, "cross-fs" if cross else "same-fs")
        report = sort_json(root, **faults)
        assert not report["failed"], report["failed"]
        moved = moved_names(report)
        assert set(ODD_NAMES) <= moved, set(ODD_NAMES) - moved
        snap.check()
        # The plain text report shows them too (undecodable bytes escaped, not a crash).
        done = run_cli("sort", root, *HASH, "--dry-run", **faults)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        undo(root, **faults)
        snap.check(restored=True)


def test_placements_are_remembered_for_non_utf8_names(tmp_path: Path) -> None:
    """What the user later moves back out of duplicates/ is recognised, odd names included."""
    root = tmp_path / "lib"
    root.mkdir()
    shutil.copy2(photo("cat"), root / "cat.jpg")
    whatsapp_copy(photo("cat"), root / os.fsdecode(b"copy \xe9\xff.jpg"))
    report = sort_folder(root, IN_PROCESS)
    assert report.duplicates_moved == 1
    placed = json.loads((root / ".remedia" / "decisions.json").read_text())["placed"]
    assert len(placed) == 1


def test_longest_names_colliding_in_a_group_folder(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    """Two 255-byte names meet in one group folder: the second would need "name (2).jpg",
    too long for any filesystem, so its stem is shortened to fit; undo still works."""
    root = tmp_path / "lib"
    longest = "b" * 251 + ".jpg"
    for folder in ("a", "b"):
        (root / folder).mkdir(parents=True)
        shutil.copy2(photo("cat"), root / folder / longest)
    shutil.copy2(photo("cat"), root / "cat.jpg")
    snap = guard(root)
    report = sort_json(root)
    assert report["failed"] == []
    assert report["duplicates_moved"] == 2
    names = {p.name for p in (root / "duplicates" / "cat").glob("*.jpg")}
    assert longest in names and len(names) == 2
    (other,) = names - {longest}
    assert other.endswith(" (2).jpg") and len(other.encode()) <= 255
    snap.check()
    undo(root)
    snap.check(restored=True)


def test_cli_output_survives_non_utf8_names_in_a_utf8_terminal(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    shutil.copy2(photo("cat"), root / "cat.jpg")
    shutil.copy2(photo("cat"), root / os.fsdecode(b"copy \xe9\xff.jpg"))
    env = cli_env()
    env["PYTHONIOENCODING"] = "utf-8:strict"  # what a desktop's en_US.UTF-8 terminal gives
    for args in (("--dry-run",), ("--json", "--dry-run")):
        done = run_cli("sort", root, *HASH, *args, env=env)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


def test_deep_paths_up_to_and_beyond_path_max(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root = tmp_path / "lib"
    root.mkdir()
    shutil.copy2(photo("sunset"), root / "sunset.jpg")
    segment = "d" * 200
    # ~3,500 bytes: long but usable.
    deep = root.joinpath(*[segment] * ((3500 - len(str(root))) // 201))
    deep.mkdir(parents=True)
    shutil.copy2(photo("sunset"), deep / "sunset deep.jpg")
    # Beyond PATH_MAX (4096): built relative to an open folder, as only such tools can.
    fd = os.open(deep, os.O_RDONLY)
    try:
        for _ in range(4):
            os.mkdir(segment, dir_fd=fd)
            nxt = os.open(segment, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        out = os.open("sunset too deep.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, photo("sunset").read_bytes())
        os.close(out)
    finally:
        os.close(fd)
    snap = guard(root, reader=_walk_fd)
    report = sort_folder(root, IN_PROCESS)
    why = {s.path.name: s.reason for s in report.skipped + report.failed}
    assert any("File name too long" in r for r in why.values()), why
    assert {m.src.name for g in report.groups for m in g.moves} == {"sunset deep.jpg"}
    assert len(str(report.groups[0].moves[0].src)) > 3000
    snap.check()
    undo_last_sort(root)
    snap.check(restored=True)
    shutil.rmtree(root)


def _walk_fd(root: Path) -> dict[str, bytes]:
    """Every file's bytes, reached through folder descriptors (no PATH_MAX limit)."""
    out: dict[str, bytes] = {}

    def walk(fd: int, prefix: str) -> None:
        for entry in os.scandir(fd):
            if entry.name == ".remedia":
                continue
            if entry.is_dir(follow_symlinks=False):
                sub = os.open(entry.name, os.O_RDONLY, dir_fd=fd)
                try:
                    walk(sub, f"{prefix}{entry.name}/")
                finally:
                    os.close(sub)
            else:
                f = os.open(entry.name, os.O_RDONLY, dir_fd=fd)
                with os.fdopen(f, "rb") as fh:
                    out[prefix + entry.name] = fh.read()

    top = os.open(root, os.O_RDONLY)
    try:
        walk(top, "")
    finally:
        os.close(top)
    return out


def test_folder_given_as_a_file_or_missing_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file.jpg").write_bytes(b"x")
    for target, message in (
        (tmp_path / "file.jpg", "not a folder"),
        (tmp_path / "nope", "not found"),
    ):
        done = run_cli("sort", target, *HASH)
        assert done.returncode == 2 and message in done.stderr, done.stderr
    with pytest.raises(RemediaError):
        sort_folder(tmp_path / "nope", IN_PROCESS)
