"""Nothing is written outside FOLDER: a symlink where ReMedia would write is refused.

Every case puts a symlink to a folder outside FOLDER where a sort, a review action or an undo
would write (duplicates/, similar/, a group folder, .remedia/, a review action's destination,
an undo's target), runs ReMedia as the user would, and checks that the folder outside is
exactly as it was, that ReMedia said so in one line, and that no photo was lost.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from remedia_tray.layout import MANIFEST_NAME

from ..conftest import photo, whatsapp_copy
from ._guard import Snapshot, read_files
from .conftest import build_library, held_sort, run_cli
from .test_environment import HASH, moved_names, reasons, sort_json, undo

SYMLINK = "is a symlink"


def outside_folder(base: Path) -> Path:
    """A folder outside the library, with one file of its own, that must stay as it is."""
    out = base / "outside"
    out.mkdir()
    (out / "theirs.txt").write_text("not ReMedia's")
    return out


def tree(folder: Path) -> dict[str, bytes]:
    return read_files(folder)


def photos_of(snap: Snapshot) -> Snapshot:
    """A snapshot of a sorted folder counts its photos; group manifests are ReMedia's notes."""
    for rel in [r for r in snap.files if Path(r).name == MANIFEST_NAME]:
        snap.expect(rel, None)
    return snap


def one_line_refusal(done: subprocess.CompletedProcess[str], link: Path) -> str:
    """The sort (or undo) refused in one clear line naming the link."""
    assert done.returncode == 1, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("remedia: ") and str(link) in lines[0], lines
    assert SYMLINK in lines[0] and "nothing was moved" in lines[0], lines
    return lines[0]


# --- a sort -------------------------------------------------------------------------------


@pytest.mark.parametrize("link", ["duplicates", "similar", ".remedia", ".remedia/journal"])
def test_a_symlinked_folder_refuses_the_sort(
    tmp_path: Path, link: str, guard: Callable[..., Snapshot]
) -> None:
    """FOLDER/duplicates (or similar/, .remedia/, .remedia/journal/) is a link to a folder
    elsewhere: the sort refuses before moving anything, and writes nothing there."""
    root = build_library(tmp_path / "lib")
    out = outside_folder(tmp_path)
    before = tree(out)
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(out, root / link)
    snap = guard(root, link)
    done = run_cli("sort", root, *HASH)
    one_line_refusal(done, root / link)
    assert tree(out) == before  # no photo, no journal, no lock, no report out there
    assert sorted(os.listdir(out)) == ["theirs.txt"]
    snap.check(restored=True)  # every photo where it was
    dry = run_cli("sort", root, *HASH, "--dry-run")
    assert dry.returncode == 1 and SYMLINK in dry.stderr, dry.stderr  # it says so up front


def test_a_group_folder_moved_out_behind_a_symlink(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    """duplicates/sunset was moved to another disk and a link left in its place: a new copy
    of the sunset would join that group, out there. The sort refuses instead."""
    root = build_library(tmp_path / "lib")
    sort_json(root, ok=(0,))
    out = outside_folder(tmp_path)
    shutil.move(root / "duplicates" / "sunset", out / "sunset")
    os.symlink(out / "sunset", root / "duplicates" / "sunset")
    (root / "Later").mkdir()
    shutil.copy2(photo("sunset"), root / "Later" / "IMG_0099.jpg")
    before, inside = tree(out), tree(root)
    snap = photos_of(guard(root))
    done = run_cli("sort", root, *HASH)
    one_line_refusal(done, root / "duplicates" / "sunset")
    assert tree(out) == before
    assert tree(root) == inside  # IMG_0099.jpg still in Later/
    snap.check()


def test_a_folder_swapped_for_a_symlink_during_the_sort(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    """The sort is paused at its first move; meanwhile the second group's folder appears as a
    link to a folder elsewhere. Its moves fail with a reason; the other group is sorted."""
    root = build_library(tmp_path / "lib")
    out = outside_folder(tmp_path)
    before = tree(out)
    snap = guard(root)
    hold = tmp_path / "hold"
    with held_sort(root, hold, *HASH, "--json") as proc:
        (first,) = os.listdir(root / "duplicates")  # made for the first group's move
        second = ({"sunset", "peaks"} - {first}).pop()
        os.symlink(out, root / "duplicates" / second)
        (hold / "release").touch()
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "Traceback" not in stderr, stderr
    report = json.loads(stdout)
    why = reasons(report)
    copies = {"sunset": ("IMG_0001.jpg", "IMG_0002.jpg"), "peaks": ("IMG-WA0003.jpg",)}
    for name in copies[second]:
        assert SYMLINK in why[name] and "left in place" in why[name], why
    assert moved_names(report) == set(copies[first])
    assert tree(out) == before
    snap.check()
    os.unlink(root / "duplicates" / second)
    undo(root)
    snap.check(restored=True)


def test_folder_itself_may_be_a_symlink(tmp_path: Path, guard: Callable[..., Snapshot]) -> None:
    """FOLDER is resolved once: a library reached through a link (~/Pictures -> /data/...)
    sorts, and undoes through either name."""
    real = build_library(tmp_path / "data" / "lib")
    link = tmp_path / "Pictures"
    os.symlink(real, link)
    snap = guard(real)
    report = sort_json(link, ok=(0,))
    assert len(moved_names(report)) == 3
    snap.check()
    undo(real)  # the journal names the link; the same folder
    snap.check(restored=True)


# --- a review action ----------------------------------------------------------------------


@pytest.fixture
def review_server(tmp_path: Path) -> Iterator[tuple[Path, object]]:
    """A sorted library (Camera originals, WhatsApp copies in duplicates/) and its server."""
    from remedia_tray.review.server import ReviewServer

    root = tmp_path / "Photos"
    (root / "Camera").mkdir(parents=True)
    for name in ("sunset", "peaks"):
        shutil.copyfile(photo(name), root / "Camera" / f"{name}.jpg")
        whatsapp_copy(photo(name), root / "WhatsApp" / f"{name}-wa.jpg")
    report = sort_json(root, ok=(0,))
    assert moved_names(report) == {"sunset-wa.jpg", "peaks-wa.jpg"}
    server = ReviewServer(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, server
    finally:
        server.shutdown()
        thread.join(10)


def post_action(server: object, body: dict[str, str]) -> tuple[int, str]:
    """POST /action as the page does (JSON, the page's token and origin)."""
    port, token = server.port, server.token  # type: ignore[attr-defined]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {
        "Host": f"127.0.0.1:{port}",
        "X-Remedia-Token": token,
        "Origin": f"http://127.0.0.1:{port}",
        "Content-Type": "application/json",
    }
    conn.request("POST", "/action", body=json.dumps(body).encode(), headers=headers)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    conn.close()
    return resp.status, text


def test_review_action_into_a_folder_swapped_for_a_symlink(
    tmp_path: Path, review_server: tuple[Path, object], guard: Callable[..., Snapshot]
) -> None:
    """ "Not a duplicate" puts sunset-wa.jpg back in WhatsApp/, which is now a link to a folder
    elsewhere: refused, and the photo stays in its group. So is "undo this group"."""
    root, server = review_server
    out = outside_folder(tmp_path)
    before = tree(out)
    os.rmdir(root / "WhatsApp")  # emptied by the sort
    os.symlink(out, root / "WhatsApp")
    snap = photos_of(guard(root))
    inside = tree(root)
    status, text = post_action(
        server,
        {
            "action": "not-duplicate",
            "group": "duplicates/sunset",
            "path": "duplicates/sunset/sunset-wa.jpg",
        },
    )
    assert status == 403 and SYMLINK in text and "WhatsApp" in text, (status, text)
    status, text = post_action(server, {"action": "undo-group", "group": "duplicates/peaks"})
    assert status == 403 and SYMLINK in text, (status, text)
    assert tree(out) == before
    assert tree(root) == inside  # sunset-wa.jpg still in its group
    snap.check()


# --- an undo ------------------------------------------------------------------------------


def test_undo_into_a_folder_swapped_for_a_symlink(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    """After the sort, Phone/ (where the copies came from) became a link to a folder elsewhere:
    the undo leaves the copies in duplicates/ and says why; once the link is gone, it ends."""
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    sort_json(root, ok=(0,))
    out = outside_folder(tmp_path)
    before = tree(out)
    os.rmdir(root / "Phone")  # emptied by the sort
    os.symlink(out, root / "Phone")
    done = run_cli("undo", root)
    assert done.returncode == 1 and "Traceback" not in done.stderr, (done.stdout, done.stderr)
    assert tree(out) == before
    assert "Not back yet, 3 files" in done.stdout, done.stdout
    assert done.stdout.count(SYMLINK) == 3, done.stdout
    assert "remedia undo" in done.stdout, done.stdout
    snap.check()
    os.unlink(root / "Phone")  # the user removes the link
    again = run_cli("undo", root)
    assert again.returncode == 0 and "Restored 3 files" in again.stdout, again.stdout
    snap.check(restored=True)


def test_undo_refuses_a_symlinked_data_folder(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root = build_library(tmp_path / "lib")
    snap = guard(root)
    sort_json(root, ok=(0,))
    out = outside_folder(tmp_path)
    shutil.move(root / ".remedia", out / "data")
    os.symlink(out / "data", root / ".remedia")
    before = tree(out)
    done = run_cli("undo", root)
    one_line_refusal(done, root / ".remedia")
    assert tree(out) == before
    os.unlink(root / ".remedia")
    shutil.move(out / "data", root / ".remedia")
    undo(root)
    snap.check(restored=True)


# --- the rule itself ----------------------------------------------------------------------


@pytest.mark.parametrize("dir_fd", [True, False], ids=["openat", "lstat"])
def test_confined_opens_only_real_folders_inside(tmp_path: Path, dir_fd: bool) -> None:
    """Both ways of checking (descriptors, and lstat as on Windows) give the same answers."""
    from remedia_tray.errors import OutsideFolder
    from remedia_tray.filing.confined import Confined

    real = tmp_path / "real"
    (real / "a").mkdir(parents=True)
    (real / "file").write_text("x")
    os.symlink(tmp_path, real / "up")
    os.symlink(real / "a", real / "a link")  # even a link to a folder inside is refused
    root = tmp_path / "root"
    os.symlink(real, root)  # FOLDER itself may be a link
    confined = Confined(root, dir_fd=dir_fd)
    made: list[Path] = []
    with confined.open(root / "a" / "b" / "c", create=made.append) as folder:
        assert folder.path == root / "a" / "b" / "c"
        assert not (folder / "x.jpg").lexists()
    assert made == [root / "a" / "b", root / "a" / "b" / "c"]
    assert (real / "a" / "b" / "c").is_dir()
    for bad in (root / "up", root / "up" / "x", root / "a link", root / "a link" / "b"):
        with pytest.raises(OutsideFolder, match=SYMLINK), confined.open(bad):
            pass
        with pytest.raises(OutsideFolder):
            confined.check(bad)
    for outside in (tmp_path, tmp_path / "elsewhere", root / ".." / "real"):
        with pytest.raises(OutsideFolder, match="not inside"), confined.open(outside):
            pass
    with pytest.raises(FileNotFoundError), confined.open(root / "missing"):
        pass
    with pytest.raises(NotADirectoryError), confined.open(root / "file"):
        pass
    confined.check(root / "missing" / "deeper")  # not there yet: nothing to refuse
    assert sorted(os.listdir(tmp_path)) == ["real", "root"]


def test_no_folder_descriptor_is_left_open(tmp_path: Path) -> None:
    """Folders opened for a move are closed again, on success and on refusal."""
    from remedia_tray.errors import OutsideFolder
    from remedia_tray.filing.confined import Confined

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc")
    (tmp_path / "a").mkdir()
    os.symlink(tmp_path / "a", tmp_path / "l")
    confined = Confined(tmp_path)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        with confined.open(tmp_path / "a"):
            pass
        with pytest.raises(OutsideFolder), confined.open(tmp_path / "l" / "x"):
            pass
    assert len(os.listdir("/proc/self/fd")) == before  # the tray runs for days
