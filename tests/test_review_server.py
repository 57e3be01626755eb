"""The review server over real HTTP: every refusal moves nothing, every action is undoable."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remedia_tray.cli import main
from remedia_tray.filing import decisions
from remedia_tray.review.server import ReviewServer
from remedia_tray.sorter import SortOptions, sort_folder
from tests.conftest import photo, read_tree, whatsapp_copy

NAMES = ("sunset", "peaks", "life")


def sorted_library(root: Path) -> Path:
    """Three camera photos and their WhatsApp copies, sorted: three duplicates groups."""
    for n in NAMES:
        (root / "Camera").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(photo(n), root / "Camera" / f"{n}.jpg")
        whatsapp_copy(photo(n), root / "WhatsApp" / f"{n}-wa.jpg")
    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    assert sorted(g.folder.name for g in report.duplicate_groups) == sorted(NAMES)
    return root


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ReviewServer]:
    server = ReviewServer(sorted_library(tmp_path / "Photos"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(10)


def request(
    server: ReviewServer,
    method: str,
    path: str,
    *,
    body: dict[str, Any] | str | None = None,
    token: str | None = "ok",
    host: str | None = None,
    origin: str | None = "own",
    token_in: str = "header",
) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Host": host or f"127.0.0.1:{server.port}"}
    if token == "ok":
        token = server.token
    if token is not None and token_in == "header":
        headers["X-Remedia-Token"] = token
    elif token is not None:
        path += ("&" if "?" in path else "?") + f"token={token}"
    if origin == "own":
        origin = f"http://127.0.0.1:{server.port}"
    if origin is not None:
        headers["Origin"] = origin
    data = None
    if isinstance(body, dict):
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif isinstance(body, str):
        data = body.encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    conn.close()
    return resp.status, text


KEEP = {"action": "keep", "group": "duplicates/sunset", "path": "duplicates/sunset/sunset-wa.jpg"}


def test_page_is_served_with_markup_and_buttons(served: ReviewServer) -> None:
    status, page = request(served, "GET", "/", token_in="query")
    assert status == 200
    for n in NAMES:
        assert f'data-group="duplicates/{n}"' in page
        assert f'data-path="duplicates/{n}/{n}-wa.jpg"' in page
        assert f'data-path="Camera/{n}.jpg"' in page
    assert page.count('data-action="keep"') == 3
    assert page.count('data-action="not-duplicate"') == 3
    assert page.count('data-action="undo-group"') == 3
    assert "file:" not in page.split("</head>")[1]  # pictures come from the server


@pytest.mark.parametrize(
    ("case", "kw", "expected"),
    [
        ("no token", {"token": None}, {401}),
        ("wrong token", {"token": "x" * 43}, {403}),
        ("wrong token in query", {"token": "nope", "token_in": "query"}, {403}),
        ("foreign Host", {"host": "evil.example:80"}, {403, 421}),
        ("rebinding Host", {"host": "127.0.0.1.nip.io"}, {403, 421}),
        ("foreign Origin", {"origin": "http://evil.example"}, {403}),
        ("null Origin", {"origin": "null"}, {403}),
        ("no Origin, token in query", {"origin": None, "token_in": "query"}, {403}),
        ("traversal", {"body": {**KEEP, "path": "../outside.jpg"}}, {403}),
        ("inner traversal", {"body": {**KEEP, "path": "duplicates/sunset/../../x.jpg"}}, {403}),
        ("absolute path", {"body": {**KEEP, "path": "/etc/passwd"}}, {403}),
        ("not a member", {"body": {**KEEP, "path": "Camera/peaks.jpg"}}, {409}),
        (
            "member of another group",
            {"body": {**KEEP, "path": "duplicates/peaks/peaks-wa.jpg"}},
            {409},
        ),
        ("unknown group", {"body": {**KEEP, "group": "duplicates/nope"}}, {409}),
        ("unknown action", {"body": {**KEEP, "action": "delete"}}, {400}),
    ],
)
def test_refused_requests_move_nothing(
    served: ReviewServer, case: str, kw: dict[str, Any], expected: set[int]
) -> None:
    before = read_tree(served.root)
    kw.setdefault("body", KEEP)
    status, _ = request(served, "POST", "/action", **kw)
    assert status in expected, case
    assert read_tree(served.root) == before


def test_get_on_an_action_is_refused(served: ReviewServer) -> None:
    before = read_tree(served.root)
    status, _ = request(
        served, "GET", "/action?action=keep&group=duplicates/sunset", token_in="query"
    )
    assert status == 405
    assert read_tree(served.root) == before


def test_symlink_member_is_refused(served: ReviewServer, tmp_path: Path) -> None:
    outside = tmp_path / "secret.jpg"
    shutil.copyfile(photo("cat"), outside)
    member = served.root / "duplicates" / "sunset" / "sunset-wa.jpg"
    member.unlink()
    member.symlink_to(outside)  # a member swapped for a link out of the folder
    linked_dir = served.root / "duplicates" / "linked"
    linked_dir.symlink_to(served.root / "duplicates" / "peaks")
    before = read_tree(served.root)
    assert request(served, "POST", "/action", body=KEEP)[0] == 403
    link = {**KEEP, "group": "duplicates/peaks", "path": "duplicates/linked/peaks-wa.jpg"}
    assert request(served, "POST", "/action", body=link)[0] == 403
    assert (
        request(
            served, "POST", "/action", body={"action": "undo-group", "group": "duplicates/sunset"}
        )[0]
        == 403
    )
    assert read_tree(served.root) == before and outside.is_file() and member.is_symlink()


def test_photo_route_serves_members_only(served: ReviewServer) -> None:
    assert request(served, "GET", "/photo?path=Camera/sunset.jpg", token_in="query")[0] == 200
    (served.root / "notes.txt").write_text("private")
    assert request(served, "GET", "/photo?path=notes.txt", token_in="query")[0] == 404
    assert request(served, "GET", "/photo?path=../x", token_in="query")[0] == 403
    assert request(served, "GET", "/thumbs/..%2f..%2fx", token_in="query")[0] == 404


def test_actions_are_journaled_remembered_and_undone(served: ReviewServer) -> None:
    root = served.root
    original = read_tree(root)
    assert request(served, "POST", "/action", body=KEEP)[0] == 200
    assert request(served, "POST", "/action", body=KEEP)[0] == 409  # a second tab: nothing moves
    form = "action=not-duplicate&group=duplicates%2Fpeaks&path=duplicates%2Fpeaks%2Fpeaks-wa.jpg"
    status, _ = request(served, "POST", "/action", body=form, token_in="query")
    assert status == 303
    undo = {"action": "undo-group", "group": "duplicates/life"}
    assert request(served, "POST", "/action", body=undo)[0] == 200
    tree = read_tree(root)
    assert "WhatsApp/sunset-wa.jpg" in tree and "duplicates/sunset/sunset.jpg" in tree
    assert "Camera/sunset.jpg" not in tree
    assert "WhatsApp/peaks-wa.jpg" in tree and "Camera/peaks.jpg" in tree
    assert "WhatsApp/life-wa.jpg" in tree and "Camera/life.jpg" in tree
    assert len(tree) == len(original)  # nothing deleted, nothing copied
    assert decisions.remembered(root) == ("WhatsApp/peaks-wa.jpg",)
    page = request(served, "GET", "/", token_in="query")[1]
    assert 'data-group="duplicates/sunset"' in page and 'data-group="duplicates/life"' not in page
    assert 'data-path="WhatsApp/sunset-wa.jpg"' in page

    # `remedia undo` reverts the actions, newest first, then the sort itself.
    for _ in range(3):
        assert main(["undo", str(root)]) == 0
    assert read_tree(root) == original
    assert decisions.remembered(root) == ()
    assert main(["undo", str(root)]) == 0
    assert {p for p in read_tree(root) if not p.endswith("remedia-group.json")} == {
        f"{d}/{n}{s}.jpg" for n in NAMES for d, s in (("Camera", ""), ("WhatsApp", "-wa"))
    }


def test_a_later_sort_respects_both_decisions(served: ReviewServer) -> None:
    root = served.root
    assert request(served, "POST", "/action", body=KEEP)[0] == 200
    body = {
        "action": "not-duplicate",
        "group": "duplicates/peaks",
        "path": "duplicates/peaks/peaks-wa.jpg",
    }
    assert request(served, "POST", "/action", body=body)[0] == 200
    # New copies arrive: a full-size sunset (which would outrank the kept WhatsApp copy) and a
    # copy of the peaks photo (the WhatsApp peaks copy must stay out of its group).
    (root / "Downloads").mkdir()
    shutil.copyfile(photo("sunset"), root / "Downloads" / "sunset.jpg")
    shutil.copyfile(photo("peaks"), root / "Downloads" / "peaks.jpg")
    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    sunset = next(g for g in report.duplicate_groups if g.best.name == "sunset-wa.jpg")
    assert sunset.keeper == root / "WhatsApp" / "sunset-wa.jpg"
    assert [m.src for m in sunset.moves] == [root / "Downloads" / "sunset.jpg"]
    assert "your choice" in sunset.reason
    peaks = [g for g in report.duplicate_groups if root / "WhatsApp" / "peaks-wa.jpg" in g.members]
    assert peaks == [], report.duplicate_groups
    assert (root / "WhatsApp" / "peaks-wa.jpg").is_file()
    assert (root / "WhatsApp" / "sunset-wa.jpg").is_file()
    # `remedia forget` clears both decisions.
    assert main(["forget", str(root)]) == 0
    assert decisions.remembered(root) == ()


def test_busy_folder_answers_409(served: ReviewServer) -> None:
    from remedia_tray.filing.locking import folder_lock
    from remedia_tray.layout import lock_path

    before = read_tree(served.root)
    with folder_lock(lock_path(served.root)):
        status, text = request(served, "POST", "/action", body=KEEP)
    assert status == 409 and "busy" in text
    assert read_tree(served.root) == before


def test_cli_serve_prints_the_url_first_and_stops_when_idle(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = sorted_library(tmp_path / "Photos")
    proc = subprocess.Popen(
        [sys.executable, "-m", "remedia_tray", "review", str(root), "--serve", "--no-browser",
         "--idle", "2"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )  # fmt: skip
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:") and "token=" in url
    assert proc.wait(timeout=30) == 0
