"""`remedia review FOLDER --serve`: the review page with action buttons, from a local server.

Locked down because it can move files: bound to 127.0.0.1 only; every request needs this run's
random token (query `token=` or header `X-Remedia-Token`) or the session cookie a one-time code
was exchanged for; the Host header must name this server (against DNS rebinding); a POST must
come from the page's own origin (against other sites' forms); actions are POST only, and every
path is checked by review/actions.py. The browser is started with a one-time code, never the
token: a command line is visible to every local user.
"""

from __future__ import annotations

import functools
import json
import logging
import mimetypes
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from ..core.wording import shown
from ..layout import THUMBS_DIR, review_dir
from .actions import Refused, resolve_inside, run_action
from .facts import current_locations, facts_from_report
from .page import SERVED_CSP, render_page
from .state import load_state, members_now
from .view import Served, page_view

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Remedia-Token"
#: Seconds a connection may stay silent (mid-request included) before it is closed.
CONNECTION_TIMEOUT = 10.0
#: Connections the system queues while the server is busy (5, the default, left most of a
#: burst of 40 to retries and resets).
BACKLOG = 128
#: Seconds a one-time code stays valid if no browser comes for it.
CODE_SECONDS = 120.0
_THUMB_NAME = re.compile(r"[0-9a-f]{24}\.jpg")
_MAX_BODY = 64 * 1024
_CHUNK = 256 * 1024

Credential = Literal["token", "cookie"]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = BACKLOG

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away or timed out: the library never prints a traceback.
        log.debug("review connection from %s failed", client_address, exc_info=True)


def _same(given: str, secret: str) -> bool:
    """A constant-time comparison that takes any text (a query may carry raw bytes)."""
    return secrets.compare_digest(
        given.encode("utf-8", "surrogateescape"), secret.encode("utf-8", "surrogateescape")
    )


def open_regular(path: Path) -> tuple[BinaryIO, int]:
    """`path` opened for reading when it is a regular file, and its size; else Refused(404).

    Never follows a symbolic link at the last step and never blocks (a FIFO or a device is
    refused, not waited on).
    """
    try:
        before = os.lstat(path)
        if not stat.S_ISREG(before.st_mode):
            raise Refused(404, "not a regular file")
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except OSError:
        raise Refused(404, "not found") from None
    try:
        st = os.fstat(fd)
        swapped = (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino)
        if swapped or not stat.S_ISREG(st.st_mode):
            raise Refused(404, "not a regular file")
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


class ReviewServer:
    """The review server of one folder; `url` carries the token. Start with serve_forever()."""

    def __init__(
        self,
        folder: Path,
        *,
        token: str | None = None,
        port: int = 0,
        idle: float | None = None,
        timeout: float = CONNECTION_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(folder).expanduser().absolute()
        self.token = token or secrets.token_urlsafe(32)
        self.idle = idle
        self._clock = clock
        self.last_request = clock()
        self._session = secrets.token_urlsafe(32)  # the cookie's value: not the token
        self._codes: dict[str, float] = {}  # one-time code -> when it expires
        self._codes_lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"app": self, "timeout": timeout})
        self.httpd = _HTTPServer(("127.0.0.1", port), handler)
        self.port = int(self.httpd.server_address[1])
        self.hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        # Cookies are shared by every port of a host: one name per server.
        self.cookie_name = f"remedia_{self.port}"

    @property
    def url(self) -> str:
        """The page's URL with the token: for the user's own terminal, never a command line."""
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def one_time_url(self) -> str:
        """A URL that lets one browser in once (exchanged for a session cookie), then not again."""
        code = secrets.token_urlsafe(32)
        with self._codes_lock:
            self._codes[code] = self._clock() + CODE_SECONDS
        return f"http://127.0.0.1:{self.port}/open?code={code}"

    def redeem(self, code: str) -> bool:
        """True once for a code from one_time_url() that has not expired."""
        now = self._clock()
        with self._codes_lock:
            match = next((c for c in self._codes if _same(code, c)), None)
            if match is None:
                return False
            return self._codes.pop(match) > now

    def session_cookie(self) -> str:
        return f"{self.cookie_name}={self._session}; Path=/; HttpOnly; SameSite=Strict"

    def valid_session(self, value: str) -> bool:
        return _same(value, self._session)

    def touch(self) -> None:
        """An accepted request: the idle time starts again."""
        self.last_request = self._clock()

    def serve_forever(self, *, on_ready: Callable[[], None] | None = None) -> None:
        """Serve until shutdown() or, with `idle`, that many seconds without an accepted request.

        `on_ready` runs in its own thread once serving (it may block, as a browser launch can).
        """
        if self.idle is not None:
            threading.Thread(target=self._watch_idle, daemon=True).start()
        if on_ready is not None:
            threading.Thread(target=on_ready, daemon=True).start()
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.httpd.server_close()

    def shutdown(self) -> None:
        self.httpd.shutdown()

    def _watch_idle(self) -> None:
        assert self.idle is not None
        while True:
            left = self.last_request + self.idle - self._clock()
            if left <= 0:
                log.info("no request for %s s; stopping", self.idle)
                self.httpd.shutdown()
                return
            time.sleep(min(left, 1.0))

    def page(self, served: Served) -> bytes:
        from .writer import page_thumbnails

        facts = facts_from_report(load_state(self.root).sort)
        thumbs, problems = page_thumbnails(Path(facts.folder), current_locations(facts))
        view = page_view(
            facts,
            page_dir=review_dir(self.root),
            thumbs={str(k): v for k, v in thumbs.thumbs.items()},
            no_preview={str(k): v for k, v in problems.items()},
            served=served,
        )
        return render_page(view).encode("utf-8")

    def member_file(self, rel: str) -> Path:
        """A photo the page may show: a current member of a group, or Refused."""
        path = resolve_inside(self.root, rel)
        state = load_state(self.root)
        for g in state.sort.groups:
            if any(m.now == path for m in members_now(state.sort, g)):
                return path
        raise Refused(404, "not a photo of this review")


def _first(query: dict[str, list[str]], name: str) -> str:
    return next(iter(query.get(name, [])), "")


class _Handler(BaseHTTPRequestHandler):
    app: ReviewServer
    server_version = "ReMedia"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        line = (format % args).replace(self.app.token, "...")
        log.debug("%s %s", self.address_string(), line)

    # ------------------------------------------------------------ answers

    def _head(
        self, status: int, length: int, ctype: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("X-Frame-Options", "DENY")
        # frame-ancestors works only as a header; the page's <meta> carries the rest too.
        self.send_header("Content-Security-Policy", SERVED_CSP + "; frame-ancestors 'none'")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _send(
        self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
    ) -> None:
        self._head(status, len(body), ctype, extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_file(self, path: Path, ctype: str) -> None:
        f, size = open_regular(path)
        with f:
            self._head(200, size, ctype)
            left = size if self.command != "HEAD" else 0
            try:
                while left > 0:
                    chunk = f.read(min(_CHUNK, left))
                    if not chunk:
                        break  # the file shrank
                    self.wfile.write(chunk)
                    left -= len(chunk)
            except OSError:  # headers are out: no second answer, only a cut connection
                log.debug("sending %s failed", path, exc_info=True)
            if left > 0:
                self.close_connection = True

    def _error(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        if "json" in (self.headers.get("Accept", "") + self.headers.get("Content-Type", "")):
            body = json.dumps({"ok": False, "error": message}).encode()
            self._send(status, body, "application/json", extra)
        else:
            text = shown(message) + "\n"
            self._send(status, text.encode(), "text/plain; charset=utf-8", extra)

    # ------------------------------------------------------------ checks

    def _target(self) -> tuple[str, dict[str, list[str]]] | None:
        """The route and query of the request (names as raw bytes); None after answering 400."""
        try:
            parts = urlsplit(self.path)
        except ValueError:
            self._error(HTTPStatus.BAD_REQUEST, "malformed request target")
            return None
        query = parse_qs(parts.query, keep_blank_values=True, errors="surrogateescape")
        return parts.path, query

    def _host_ok(self) -> bool:
        if self.headers.get("Host", "") not in self.app.hosts:
            self._error(HTTPStatus.MISDIRECTED_REQUEST, "unknown host")
            return False
        return True

    def _cookie(self) -> str | None:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except CookieError:
            return None
        morsel = jar.get(self.app.cookie_name)
        return None if morsel is None else morsel.value

    def _admitted(self, query: dict[str, list[str]]) -> Credential | None:
        """Host and credential checks shared by every request; answers the refusal itself.

        Only an accepted request resets the idle time: refused ones cannot keep the server up.
        """
        if not self._host_ok():
            return None
        given = self.headers.get(TOKEN_HEADER) or _first(query, "token")
        if given:
            if not _same(given, self.app.token):
                self._error(HTTPStatus.FORBIDDEN, "wrong token")
                return None
            self.app.touch()
            return "token"
        cookie = self._cookie()
        if cookie is not None and self.app.valid_session(cookie):
            self.app.touch()
            return "cookie"
        self._error(
            HTTPStatus.UNAUTHORIZED,
            "the page's token is required: open the address `remedia review --serve` printed",
        )
        return None

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None:
            # Only a non-browser client omits Origin; it must then send the token as a header,
            # which no other site's page can do without a CORS preflight we never answer.
            return self.headers.get(TOKEN_HEADER) is not None
        return origin in {f"http://{h}" for h in self.app.hosts}

    # ------------------------------------------------------------ routes

    def do_GET(self) -> None:
        target = self._target()
        if target is None:
            return
        route, query = target
        if route == "/open":
            self._open(query)
            return
        credential = self._admitted(query)
        if credential is None:
            return
        # Through the cookie, the page's links carry no token: the browser never sees it.
        served = Served(self.app.token if credential == "token" else None)
        try:
            if route == "/":
                self._send(200, self.app.page(served), "text/html; charset=utf-8")
            elif route == "/favicon.ico":
                self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
            elif route.startswith("/thumbs/"):
                self._thumb(route.removeprefix("/thumbs/"))
            elif route == "/photo":
                path = self.app.member_file(_first(query, "path"))
                ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                self._send_file(path, ctype)
            elif route == "/action":
                self._error(
                    HTTPStatus.METHOD_NOT_ALLOWED, "actions are POST only", {"Allow": "POST"}
                )
            else:
                self._error(HTTPStatus.NOT_FOUND, "not found")
        except Refused as exc:
            self._error(exc.status, str(exc))
        except Exception as exc:  # the page says what went wrong; the server keeps running
            log.warning("review request failed", exc_info=True)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")

    do_HEAD = do_GET

    def _open(self, query: dict[str, list[str]]) -> None:
        """A one-time code for a session cookie, then on to the page's clean URL."""
        if not self._host_ok():
            return
        if self.command != "GET":  # a HEAD (a link checker) must not use the code up
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, "GET only", {"Allow": "GET"})
            return
        cookie = self._cookie()
        if self.app.redeem(_first(query, "code")):
            self.app.touch()
            self._send(
                303, b"", "text/plain", {"Location": "/", "Set-Cookie": self.app.session_cookie()}
            )
        elif cookie is not None and self.app.valid_session(cookie):
            self.app.touch()  # the same browser again (a reload): it is already in
            self._send(303, b"", "text/plain", {"Location": "/"})
        else:
            self._error(
                HTTPStatus.FORBIDDEN,
                "this link was already used or has expired: open the review again",
            )

    def _thumb(self, name: str) -> None:
        if not _THUMB_NAME.fullmatch(name):
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        self._send_file(review_dir(self.app.root) / THUMBS_DIR / name, "image/jpeg")

    def do_POST(self) -> None:
        target = self._target()
        if target is None:
            return
        route, query = target
        if not self._admitted(query):
            return
        if not self._same_origin():
            self._error(HTTPStatus.FORBIDDEN, "request from another origin")
            return
        if route != "/action":
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        try:
            fields, as_json = self._body()
            result = run_action(
                self.app.root,
                action=fields.get("action", ""),
                group=fields.get("group", ""),
                path=fields.get("path") or None,
            )
        except Refused as exc:
            self._error(exc.status, str(exc))
            return
        except Exception as exc:
            log.warning("review action failed", exc_info=True)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")
            return
        if as_json:
            body = {
                "ok": not result.problems,
                "action": result.action,
                "group": result.group,
                "moved": [
                    {"from": _rel(self.app.root, m.src), "to": _rel(self.app.root, m.dst)}
                    for m in result.moved
                ],
                "problems": list(result.problems),
            }
            self._send(200, json.dumps(body).encode(), "application/json")
        else:  # a form: back to the page, which shows the new state
            back = urlsplit(self.path).query
            self._send(303, b"", "text/plain", {"Location": f"/?{back}" if back else "/"})

    def _body(self) -> tuple[dict[str, str], bool]:
        """The action's fields; Refused(400) for anything malformed.

        JSON carries names as strings (raw bytes as \\udcXX escapes); a form, which can carry
        only text, has `group` and `path` percent-encoded once more, as the page writes them.
        """
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise Refused(400, "bad Content-Length") from None
        if length < 0:
            raise Refused(400, "bad Content-Length")
        if length > _MAX_BODY:
            raise Refused(413, "request too large")
        try:
            raw = self.rfile.read(length)
        except TimeoutError:
            raw = b""
        if len(raw) != length:
            self.close_connection = True
            raise Refused(400, "the body is shorter than its Content-Length")
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):  # RecursionError: nested too deep
                raise Refused(400, "not JSON") from None
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise Refused(400, "expected an object of strings")
            return data, True
        if ctype == "application/x-www-form-urlencoded":
            form = parse_qs(
                raw.decode("utf-8", "surrogateescape"),
                keep_blank_values=True,
                errors="surrogateescape",
            )
            fields = {k: v[0] for k, v in form.items()}
            for name in ("group", "path"):
                if name in fields:
                    fields[name] = unquote(fields[name], errors="surrogateescape")
            return fields, False
        raise Refused(415, "send JSON or a form")


def _rel(root: Path, path: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _launch_browser(url: str) -> None:
    import webbrowser

    try:
        started = webbrowser.open(url)
    except webbrowser.Error:
        started = False
    if not started:
        log.warning("could not start a web browser; open the address printed above")


def serve_review(
    folder: Path,
    *,
    announce: Callable[[str], None],
    open_browser: bool = True,
    idle: float | None = None,
) -> None:
    """Serve the review page of `folder` until interrupted or idle; `announce` gets the URL.

    The browser is started with a one-time URL: a browser's command line can be read by every
    local user, so it must not carry the token that `announce` gets.
    """
    server = ReviewServer(folder, idle=idle)
    load_state(server.root)  # fail now, not in the browser, when there is nothing to review
    announce(server.url)
    launch = functools.partial(_launch_browser, server.one_time_url()) if open_browser else None
    server.serve_forever(on_ready=launch)


__all__ = [
    "BACKLOG",
    "CONNECTION_TIMEOUT",
    "ReviewServer",
    "open_regular",
    "serve_review",
]
