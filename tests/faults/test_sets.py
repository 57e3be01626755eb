"""Media sets under faults: a set (a picture, its Live video, AAE, XMP and Takeout JSON) is
never left split, and nothing is lost, whatever stops its move.

The sort runs as a real process (`tests/faults/set_sort.py`: recovery, plan with the set,
journaled moves), killed, held or failed by the fault hooks; undo is the real
`remedia undo`. Every case compares the full tree (paths and sha256) before and after.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import read_tree

from ._guard import Snapshot
from .conftest import REPO, cli_env, run_cli
from .set_sort import COMPANIONS, STEM, set_library
from .test_environment import unprivileged  # noqa: F401  (a fixture)

SET = (f"{STEM}.JPG", *(name for _, name in COMPANIONS))
GROUP = "duplicates/sunset"


def set_sort(
    root: Path,
    *args: str,
    env: dict[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
    **faults: str,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.faults.set_sort", str(root), *args],
        env=env if env is not None else cli_env(**faults),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        preexec_fn=preexec,
    )


def failures(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert done.returncode == 0, done.stderr
    return {Path(p).name: why for p, why in json.loads(done.stdout)["failed"]}


def where_is_the_set(root: Path, ignore: frozenset[str] = frozenset()) -> set[str]:
    """The folders holding the set's members: exactly one, or the set is split (`ignore`:
    files of the user's, relative paths, that only share a name)."""
    found = {
        p.parent
        for p in root.rglob("*")
        if p.name in SET and str(p.relative_to(root)) not in ignore
    }
    assert len(found) == 1, f"the set is split: {sorted(map(str, found))}"
    assert {p.name for p in next(iter(found)).iterdir()} >= set(SET)
    return {str(f.relative_to(root)) for f in found}


# The lone copy of peaks moves first (link:1), then the set: kill after the picture moved
# (before any companion's intent), after a companion's intent (before its move), between a
# companion's link and unlink, after two companions, after the last (before "set-done").
KILLS = ("unlink:2", "journal:move:3", "link:3", "unlink:4", "journal:moved:6")


@pytest.mark.parametrize("then", ["undo", "next sort"])
@pytest.mark.parametrize("kill", KILLS)
def test_a_crash_between_two_members_of_a_set(
    tmp_path: Path, guard: Callable[..., Snapshot], kill: str, then: str
) -> None:
    root = set_library(tmp_path / "lib")
    snap = guard(root, f"{kill} then {then}")
    before = read_tree(root)
    done = set_sort(root, kill_on=kill)
    assert done.returncode == -9, (done.returncode, done.stderr)
    assert (root / GROUP / f"{STEM}.JPG").exists()  # killed with the set split on disk
    snap.check(strays_allowed=kill == "link:3")  # a link is two names for one file
    if then == "undo":
        undone = run_cli("undo", root)
        assert undone.returncode == 0, undone.stderr
    else:
        again = set_sort(root, "--recover-only")  # the next sort, first step: recovery
        assert again.returncode == 0, again.stderr
        # The set cut short went back whole (the lone copy of peaks stays sorted).
        assert where_is_the_set(root) == {"Phone"}
        assert {p: h for p, h in read_tree(root).items() if Path(p).name in SET} == {
            p: h for p, h in before.items() if Path(p).name in SET
        }
        assert failures(set_sort(root)) == {}  # then it moves the set whole
        assert where_is_the_set(root) == {GROUP}
        undone = run_cli("undo", root)  # one undo: the crashed sort and the one resuming it
        assert undone.returncode == 0, undone.stderr
    assert read_tree(root) == before
    assert where_is_the_set(root) == {"Phone"}
    snap.check(restored=True)


def test_a_companions_name_taken_mid_sort(tmp_path: Path, guard: Callable[..., Snapshot]) -> None:
    root = set_library(tmp_path / "lib")
    snap = guard(root)
    before = read_tree(root)
    hold = tmp_path / "hold"
    hold.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.set_sort", str(root)],
        env=cli_env(hold=str(hold)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        while not (hold / "held").exists():  # planned, and the first move journaled
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        (root / GROUP).mkdir(parents=True)  # the user makes it, and puts a file there
        (root / GROUP / f"{STEM}.JPG.xmp").write_text("the user's own sidecar\n")
        snap.expect(f"{GROUP}/{STEM}.JPG.xmp", b"the user's own sidecar\n")
        (hold / "release").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    why = failures(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert why == {
        f"{STEM}.JPG": f"{STEM}.JPG.xmp: another file took its name in the group folder; "
        "left in place; the set of 5 files stays together where it was"
    }
    users = frozenset({f"{GROUP}/{STEM}.JPG.xmp"})
    assert where_is_the_set(root, users) == {"Phone"}  # whole, where it was
    assert not (root / "Phone/peaks copy.jpg").exists()  # the sort carried on
    snap.check()
    done = run_cli("undo", root)
    assert done.returncode == 0, done.stderr
    after = read_tree(root)
    assert (
        after.pop(f"{GROUP}/{STEM}.JPG.xmp")
        == hashlib.sha256(b"the user's own sidecar\n").hexdigest()
    )
    assert after == before
    snap.check(restored=True)


@pytest.mark.parametrize(("error", "reason"), [("ENOSPC", "disk full"), ("EACCES", "permission")])
def test_a_companion_that_cannot_move(
    tmp_path: Path, guard: Callable[..., Snapshot], error: str, reason: str
) -> None:
    root = set_library(tmp_path / "lib")
    snap = guard(root, error)
    before = read_tree(root)
    why = failures(set_sort(root, oserror=f"link:{error}:4"))  # the AAE, third of the set
    assert why == {
        f"{STEM}.JPG": f"{STEM}.AAE: {reason}{' denied' if error == 'EACCES' else ''}; "
        "left in place; the set of 5 files stays together where it was"
    }
    assert where_is_the_set(root) == {"Phone"}
    snap.check()
    done = run_cli("undo", root)
    assert done.returncode == 0, done.stderr
    assert read_tree(root) == before
    snap.check(restored=True)


def test_a_set_in_a_read_only_folder(
    unprivileged: tuple[Path, Callable[[], None] | None, dict[str, str]],  # noqa: F811
    guard: Callable[..., Snapshot],
) -> None:
    base, preexec, env = unprivileged
    root = set_library(base / "lib")
    (root / "Phone").chmod(0o555)
    snap = guard(root)
    before = read_tree(root)
    why = failures(set_sort(root, env=env, preexec=preexec))
    assert why[f"{STEM}.JPG"] == (
        f"{STEM}.JPG: permission denied; left in place; "
        "the set of 5 files stays together where it was"
    )
    assert where_is_the_set(root) == {"Phone"}
    done = run_cli("undo", root, env=env, preexec=preexec)
    assert done.returncode == 0, done.stderr
    (root / "Phone").chmod(0o755)
    assert read_tree(root) == before
    snap.check(restored=True)


# Undo takes a set back whole, or leaves it whole in its group.


def sorted_library(
    tmp_path: Path, guard: Callable[..., Snapshot], case: str = ""
) -> tuple[Path, dict[str, str], Snapshot]:
    """The set library, sorted (the set moved whole); the tree before the sort, and its
    snapshot."""
    root = set_library(tmp_path / "lib")
    snap = guard(root, case)
    before = read_tree(root)
    assert failures(set_sort(root)) == {}
    assert where_is_the_set(root) == {GROUP}
    return root, before, snap


STAYS = "the set of 5 files stays together in duplicates/sunset: "


def test_undo_while_a_companions_name_is_taken(
    tmp_path: Path, guard: Callable[..., Snapshot]
) -> None:
    root, before, snap = sorted_library(tmp_path, guard)
    mine = b"<plist>the user's own edits</plist>\n"
    ours = (root / f"{GROUP}/{STEM}.AAE").read_bytes()
    (root / f"Phone/{STEM}.AAE").write_bytes(mine)
    snap.expect(f"Phone/{STEM}.AAE", mine)
    done = run_cli("undo", root)
    assert done.returncode == 1, done.stderr
    assert f"{STAYS}{STEM}.AAE: another file now has the name {STEM}.AAE in Phone" in done.stdout
    assert "Not back yet, 5 files" in done.stdout  # the whole set, said once
    assert where_is_the_set(root, frozenset({f"Phone/{STEM}.AAE"})) == {GROUP}
    assert (root / "Phone/peaks copy.jpg").exists()  # the rest of the sort went back
    # Nothing lost; the set's AAE counts as "stray" only as the user's file has its name.
    assert snap.check(strays_allowed=True).stray == (f"{GROUP}/{STEM}.AAE",)
    (root / f"Phone/{STEM}.AAE").rename(root / "Phone/mine.AAE")  # the user frees the name
    snap.expect(f"Phone/{STEM}.AAE", ours)  # where the set's own AAE belongs again
    snap.expect("Phone/mine.AAE", mine)
    again = run_cli("undo", root)
    assert again.returncode == 0, (again.stdout, again.stderr)
    after = read_tree(root)
    assert after.pop("Phone/mine.AAE") == hashlib.sha256(mine).hexdigest()
    assert after == before
    snap.check(restored=True)


@pytest.mark.parametrize(
    ("error", "reason"), [("ENOSPC", "No space left on device"), ("EACCES", "Permission denied")]
)
def test_undo_when_the_second_member_cannot_go_back(
    tmp_path: Path, guard: Callable[..., Snapshot], error: str, reason: str
) -> None:
    root, before, snap = sorted_library(tmp_path, guard, error)
    done = run_cli("undo", root, oserror=f"link:{error}:2")  # the XMP, after the JSON
    assert done.returncode == 1, done.stderr
    assert f"{STAYS}{STEM}.JPG.xmp: could not move back: {reason}" in done.stdout
    assert where_is_the_set(root) == {GROUP}  # the JSON went forward again
    assert (root / "Phone/peaks copy.jpg").exists()
    snap.check()
    again = run_cli("undo", root)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert read_tree(root) == before
    snap.check(restored=True)


# The JSON and the XMP go back, the AAE fails (disk full); then each is marked "redone" and
# put forward: the AAE's mark, the XMP's mark, its link, its unlink, the JSON's mark, ...
FORWARD_KILLS = ("journal:redone:2", "link:3", "unlink:3", "journal:redone:3", "link:4")


@pytest.mark.parametrize("kill", FORWARD_KILLS)
def test_an_undo_killed_while_putting_a_set_forward(
    tmp_path: Path, guard: Callable[..., Snapshot], kill: str
) -> None:
    root, before, snap = sorted_library(tmp_path, guard, kill)
    done = run_cli("undo", root, oserror="link:ENOSPC:3", kill_on=kill)
    assert done.returncode == -9, (done.returncode, done.stdout, done.stderr[-2000:])
    snap.check(strays_allowed=kill.startswith("link"))  # a link is two names for one file
    again = run_cli("undo", root)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert read_tree(root) == before
    snap.check(restored=True)
