"""The review server against a hostile machine, over real sockets and real files (issue 21).

The browser is started with a one-time code, never the token; any file name is served and
acted on; a FIFO, a deeply nested or short body, a silent connection, a burst of connections
and refused requests neither hang nor keep the server alive; names on the page are escaped.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from remedia_tray.review.server import ReviewServer
from remedia_tray.sorter import SortOptions, sort_folder
from tests.conftest import photo, read_tree, whatsapp_copy
from tests.test_review_server import KEEP, request, sorted_library

REPO = Path(__file__).resolve().parents[1]
posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, SIGSTOP and raw-byte names")


class Response:
    def __init__(self, resp: http.client.HTTPResponse) -> None:
        self.status = resp.status
        self.headers = resp.getheaders()
        self.body = resp.read()

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def fetch(
    port: int,
    method: str,
    target: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 60,
) -> Response:
    """One request as a browser on this machine sends it (Host of the server, no token)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(
            method, target, body=body, headers={"Host": f"127.0.0.1:{port}", **(headers or {})}
        )
        return Response(conn.getresponse())
    finally:
        conn.close()


class Forms(HTMLParser):
    """The page's action forms (action URL, hidden fields, buttons) and its links and images."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, object]] = []
        self.links: list[str] = []
        self.images: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a["action"], "fields": {}, "buttons": []})
        elif tag == "input" and a.get("type") == "hidden":
            self.forms[-1]["fields"][a["name"]] = a["value"]  # type: ignore[index]
        elif tag == "button" and a.get("name") == "action":
            self.forms[-1]["buttons"].append(a["value"])  # type: ignore[union-attr]
        elif tag == "a" and "thumb" in a.get("class", ""):
            self.links.append(a["href"])
        elif tag == "img":
            self.images.append(a["src"])

    def form(self, action: str, **having: str) -> tuple[str, str]:
        """The form with button `action` (and these hidden fields), as a browser submits it."""
        from urllib.parse import urlencode

        for f in self.forms:
            fields: dict[str, str] = f["fields"]  # type: ignore[assignment]
            if action in f["buttons"] and all(  # type: ignore[operator]
                _form_name(fields.get(k, "")) == v for k, v in having.items()
            ):
                return str(f["action"]), urlencode({**fields, "action": action})
        raise AssertionError(f"no {action} form with {having}: {self.forms}")


def _form_name(value: str) -> str:
    from urllib.parse import unquote

    return unquote(value, errors="surrogateescape")


def _serve(root: Path, **kw: object) -> tuple[ReviewServer, threading.Thread]:
    server = ReviewServer(root, **kw)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ReviewServer]:
    server, thread = _serve(sorted_library(tmp_path / "Photos"))
    yield server
    server.shutdown()
    thread.join(10)


def _cli_server(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "remedia_tray", "review", str(root), "--serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def _port_and_token(url: str) -> tuple[int, str]:
    m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", url)
    assert m, url
    return int(m.group(1)), m.group(2)


# ------------------------------------------------------------------ the token stays private


@posix_only
def test_the_browser_gets_a_one_time_code_never_the_token(tmp_path: Path) -> None:
    root = sorted_library(tmp_path / "Photos")
    record = tmp_path / "browser-argv"
    browser = tmp_path / "browser.sh"  # what a browser's command line shows every local user
    browser.write_text(
        '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$ARGV_FILE.part"\n'
        'mv "$ARGV_FILE.part" "$ARGV_FILE"\n'
    )
    browser.chmod(0o755)
    proc = _cli_server(
        root, "--idle", "120", env={"BROWSER": str(browser), "ARGV_FILE": str(record)}
    )
    try:
        assert proc.stdout is not None
        port, token = _port_and_token(proc.stdout.readline().strip())  # the terminal keeps it
        deadline = time.monotonic() + 60
        while not record.exists():
            assert time.monotonic() < deadline, "the browser was never started"
            time.sleep(0.1)
        argv = record.read_text().splitlines()
        assert argv and not any(token in a for a in argv), argv
        (opened,) = (a for a in argv if a.startswith(f"http://127.0.0.1:{port}/"))
        target = opened.removeprefix(f"http://127.0.0.1:{port}")

        # The code is exchanged once for an HttpOnly, SameSite=Strict cookie and a clean URL.
        first = fetch(port, "GET", target)
        assert first.status == 303 and first.header("Location") == "/"
        cookie = first.header("Set-Cookie")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
        assert token not in json.dumps(first.headers)
        jar = {"Cookie": cookie.split(";")[0]}
        assert fetch(port, "GET", target).status == 403  # used: another user's copy is worthless
        assert fetch(port, "GET", "/").status == 401
        assert fetch(port, "GET", "/", headers={"Cookie": jar["Cookie"] + "x"}).status == 401

        # With the cookie, the page, its pictures and its buttons work, and carry no token.
        page = fetch(port, "GET", "/", headers=jar)
        assert page.status == 200 and 'data-group="duplicates/sunset"' in page.text
        assert token not in page.text and "token" not in page.text
        forms = Forms(page.text)
        assert forms.links and forms.images
        for src in forms.links[:2] + forms.images[:2]:
            assert fetch(port, "GET", src.replace("&amp;", "&"), headers=jar).status == 200
        action, body = forms.form("keep", path=KEEP["path"])
        own = {"Origin": f"http://127.0.0.1:{port}", **jar}
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        before = read_tree(root)
        # The other protections stay: a foreign Origin or Host is refused, cookie or not.
        evil = {**form, **jar, "Origin": "http://evil.example"}
        assert fetch(port, "POST", action, headers=evil, body=body.encode()).status == 403
        assert fetch(port, "POST", action, headers={**form, **own, "Host": "evil.example"},
                     body=body.encode()).status == 421  # fmt: skip
        assert fetch(port, "POST", action, headers=form, body=body.encode()).status == 401
        assert read_tree(root) == before
        done = fetch(port, "POST", action, headers={**form, **own}, body=body.encode())
        assert done.status == 303 and done.header("Location") == "/"
        assert "WhatsApp/sunset-wa.jpg" in read_tree(root)
        # The token of the terminal still works.
        assert request_token(port, token).status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def request_token(port: int, token: str) -> Response:
    return fetch(port, "GET", f"/?token={token}")


def test_a_one_time_code_works_once_and_expires(tmp_path: Path) -> None:
    now = [0.0]
    server, thread = _serve(sorted_library(tmp_path / "Photos"), clock=lambda: now[0])
    try:
        url = server.one_time_url()
        target = url.removeprefix(f"http://127.0.0.1:{server.port}")
        assert server.token not in url
        assert fetch(server.port, "HEAD", target).status == 405  # a link checker: not used up
        assert fetch(server.port, "GET", target).status == 303
        assert fetch(server.port, "GET", target).status == 403
        late = server.one_time_url().removeprefix(f"http://127.0.0.1:{server.port}")
        now[0] += 3600
        assert fetch(server.port, "GET", late).status == 403
        assert fetch(server.port, "GET", "/open?code=").status == 403
        assert fetch(server.port, "GET", "/open?code=%FF%00").status == 403
        assert fetch(server.port, "GET", "/?token=%FF%00").status == 403
        assert fetch(server.port, "GET", "/", headers={"Cookie": "x=\xff; ;;="}).status == 401
        foreign = fetch(server.port, "GET", target, headers={"Host": "evil.example"})
        assert foreign.status == 421
    finally:
        server.shutdown()
        thread.join(10)


# ------------------------------------------------------------------ any file name


def _odd_library(root: Path, names: tuple[str, str]) -> Path:
    camera, copy = names
    (root / "Camera").mkdir(parents=True)
    shutil.copyfile(photo("sunset"), root / "Camera" / camera)
    whatsapp_copy(photo("sunset"), root / "WhatsApp" / copy)
    report = sort_folder(root, SortOptions(engine="hash", workers=1))
    assert len(report.duplicate_groups) == 1
    return root


def _page_action(server: ReviewServer, action: str, path: str) -> int:
    page = request(server, "GET", "/", token_in="query")[1]
    url, body = Forms(page).form(action, path=path)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", url.replace("&amp;", "&"), body=body, headers={
        "Host": f"127.0.0.1:{server.port}", "Origin": f"http://127.0.0.1:{server.port}",
        "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    status = conn.getresponse().status
    conn.close()
    return status


@posix_only
def test_names_that_are_not_utf8_are_served_and_acted_on(tmp_path: Path) -> None:
    camera = os.fsdecode(b"sun\xffset.jpg")
    copy = os.fsdecode(b"sun\xffset-wa.jpg")
    root = _odd_library(tmp_path / "Photos", (camera, copy))
    group = os.fsdecode(b"duplicates/sun\xffset")
    server, thread = _serve(root)
    try:
        status, page = request(server, "GET", "/", token_in="query")
        assert status == 200, page
        assert "sun\\xffset-wa.jpg" in page  # the raw byte, shown
        for href in Forms(page).links:
            got = fetch(server.port, "GET", href.replace("&amp;", "&"),
                        headers={"X-Remedia-Token": server.token})  # fmt: skip
            assert got.status == 200, href
        moved = root / group / copy
        got = fetch(server.port, "GET", "/photo?path=duplicates/sun%FFset/sun%FFset-wa.jpg",
                    headers={"X-Remedia-Token": server.token})  # fmt: skip
        assert got.status == 200 and got.body == moved.read_bytes()

        assert _page_action(server, "keep", f"{group}/{copy}") == 303
        tree = read_tree(root)
        assert f"WhatsApp/{copy}" in tree and f"{group}/{camera}" in tree, tree
        # JSON clients name raw bytes as \udcXX escapes.
        undo = {"action": "undo-group", "group": group}
        assert request(server, "POST", "/action", body=undo)[0] == 200
        assert {f"Camera/{camera}", f"WhatsApp/{copy}"} <= set(read_tree(root))
    finally:
        server.shutdown()
        thread.join(10)


@posix_only
def test_control_and_bidi_characters_are_escaped_on_the_page(tmp_path: Path) -> None:
    camera = "holiday\u202egpj.exe.jpg"  # shows as "holidayexe.jpg" reversed
    copy = "holiday\x1b[31mred\u2066.jpg"
    root = _odd_library(tmp_path / "Photos", (camera, copy))
    server, thread = _serve(root)
    try:
        status, page = request(server, "GET", "/", token_in="query")
        assert status == 200
        for raw in ("\u202e", "\x1b", "\u2066"):
            assert raw not in page
        assert "holiday\\u202egpj.exe.jpg" in page and "holiday\\x1b[31mred\\u2066.jpg" in page
        # The buttons still name the real file.
        group = "duplicates/holiday\u202egpj.exe"
        assert _page_action(server, "keep", f"{group}/{copy}") == 303
        tree = read_tree(root)
        assert f"WhatsApp/{copy}" in tree and f"{group}/{camera}" in tree, tree
    finally:
        server.shutdown()
        thread.join(10)


# ------------------------------------------------------------------ only regular files


@posix_only
def test_a_fifo_in_a_group_is_refused_without_hanging(served: ReviewServer) -> None:
    member = served.root / "duplicates" / "sunset" / "sunset-wa.jpg"
    member.unlink()
    os.mkfifo(member)
    thumbs = served.root / ".remedia" / "review" / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    os.mkfifo(thumbs / ("f" * 24 + ".jpg"))
    auth = {"X-Remedia-Token": served.token}
    got = fetch(served.port, "GET", "/photo?path=duplicates/sunset/sunset-wa.jpg", headers=auth)
    assert got.status == 404
    page = fetch(served.port, "GET", "/", headers=auth)
    assert page.status == 200 and "not a regular file" in page.text
    assert fetch(served.port, "GET", "/thumbs/" + "f" * 24 + ".jpg", headers=auth).status == 404
    assert request(served, "GET", "/photo?path=Camera/sunset.jpg", token_in="query")[0] == 200


# ------------------------------------------------------------------ malformed requests


def _raw_exchange(port: int, data: bytes, *, timeout: float = 60) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def _post(port: int, token: str, body: bytes, ctype: str, length: int | None = None) -> bytes:
    head = (
        f"POST /action HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Remedia-Token: {token}\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {len(body) if length is None else length}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


@pytest.mark.parametrize(
    ("case", "body", "ctype"),
    [
        ("nested arrays", b"[" * 30000 + b"]" * 30000, "application/json"),
        ("nested objects", b'{"a":' * 10000 + b"1" + b"}" * 10000, "application/json"),
        ("not UTF-8", b'{"action": "keep\xff"}', "application/json"),
        ("a list", b'["keep"]', "application/json"),
        ("not a string", b'{"action": "keep", "group": 5}', "application/json"),
        ("huge number", b'{"action": ' + b"9" * 50000 + b"}", "application/json"),
    ],
)
def test_malformed_bodies_get_400(served: ReviewServer, case: str, body: bytes, ctype: str) -> None:
    before = read_tree(served.root)
    answer = _raw_exchange(served.port, _post(served.port, served.token, body, ctype))
    assert answer.startswith(b"HTTP/1.0 400 "), (case, answer[:200])
    assert read_tree(served.root) == before


def test_a_short_body_gets_400(served: ReviewServer) -> None:
    short = _post(served.port, served.token, b'{"action": "ke', "application/json", length=200)
    assert _raw_exchange(served.port, short).startswith(b"HTTP/1.0 400 ")  # after the time limit


def test_a_malformed_target_gets_400(served: ReviewServer) -> None:
    bad = f"GET http://[::1/ HTTP/1.0\r\nHost: 127.0.0.1:{served.port}\r\n\r\n".encode()
    assert _raw_exchange(served.port, bad).startswith(b"HTTP/1.0 400 ")


# ------------------------------------------------------------------ the idle timer


def test_only_accepted_requests_keep_the_server_alive(tmp_path: Path) -> None:
    now = [0.0]
    server, thread = _serve(sorted_library(tmp_path / "Photos"), idle=60, clock=lambda: now[0])
    port = server.port
    try:
        now[0] = 50.0
        assert fetch(port, "GET", "/").status == 401
        assert fetch(port, "GET", "/?token=" + "x" * 43).status == 403
        assert fetch(port, "GET", "/open?code=guess").status in (401, 403)
        assert fetch(port, "GET", "/", headers={"Host": "evil.example"}).status == 421
        now[0] = 100.0  # 100 s after the last accepted request (the start)
        thread.join(30)
        assert not thread.is_alive(), "refused requests kept the server alive"
    finally:
        if thread.is_alive():
            server.shutdown()
        thread.join(10)

    now[0] = 0.0
    server, thread = _serve(tmp_path / "Photos", idle=60, clock=lambda: now[0])
    try:
        now[0] = 50.0
        assert fetch(server.port, "GET", "/favicon.ico",
                     headers={"X-Remedia-Token": server.token}).status == 204  # fmt: skip
        now[0] = 100.0  # 50 s after it: the server stays
        time.sleep(3)
        assert thread.is_alive()
        now[0] = 111.0
        thread.join(30)
        assert not thread.is_alive()
    finally:
        if thread.is_alive():
            server.shutdown()
        thread.join(10)


# ------------------------------------------------------------------ connections


def test_silent_connections_are_closed(served: ReviewServer) -> None:
    threads_before = threading.active_count()
    silent = [socket.create_connection(("127.0.0.1", served.port), timeout=60) for _ in range(100)]
    slow = socket.create_connection(("127.0.0.1", served.port), timeout=60)
    slow.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n".encode())  # never ends
    try:
        # The server still answers while they wait.
        assert request(served, "GET", "/favicon.ico", token_in="query")[0] == 204
        for s in [*silent, slow]:
            assert s.recv(1) == b"", "the server kept a silent connection open"
        deadline = time.monotonic() + 30
        while threading.active_count() > threads_before + 2:
            assert time.monotonic() < deadline, "handler threads outlived their connections"
            time.sleep(0.2)
    finally:
        for s in [*silent, slow]:
            s.close()


@posix_only
def test_a_burst_of_40_connections_is_queued_and_answered(tmp_path: Path) -> None:
    root = sorted_library(tmp_path / "Photos")
    proc = _cli_server(root, "--no-browser")
    socks: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        port, token = _port_and_token(proc.stdout.readline().strip())
        refused = json.dumps({**KEEP, "group": "duplicates/nope"}).encode()
        post = _post(port, token, refused, "application/json")
        os.kill(proc.pid, signal.SIGSTOP)  # a busy server: nothing is accepted for a while
        try:
            for _ in range(40):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                socks.append(s)
            pending = set(socks)
            deadline = time.monotonic() + 10  # loopback connects at once when the queue has room
            while pending and time.monotonic() < deadline:
                _, ready, _ = select.select([], list(pending), [], 0.5)
                for s in ready:
                    assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                    pending.discard(s)
            assert not pending, f"{len(pending)} of 40 connections were not queued"
            for s in socks:
                s.setblocking(True)
                s.settimeout(60)
                s.sendall(post)
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        answers = []
        for s in socks:
            out = b""
            while chunk := s.recv(65536):
                out += chunk
            answers.append(out.split(b"\r\n")[0])
        assert answers == [b"HTTP/1.0 409 Conflict"] * 40
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait(timeout=30)
