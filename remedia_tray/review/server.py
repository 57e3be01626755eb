"""`remedia review FOLDER --serve`: the review page with action buttons, from a local server.

Locked down because it can move files: bound to 127.0.0.1 only, every request needs the random
token of this run (query `token=` or header `X-Remedia-Token`), the Host header must name this
server (against DNS rebinding), a POST must come from the page's own origin (against other
sites' forms), actions are POST only, and every path is checked by review/actions.py.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..layout import THUMBS_DIR, review_dir
from .actions import Refused, resolve_inside, run_action
from .page import SERVED_CSP, Served, render_page
from .state import group_key, load_state, members_now

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Remedia-Token"
_THUMB_NAME = re.compile(r"[0-9a-f]{24}\.jpg")
_MAX_BODY = 64 * 1024


class ReviewServer:
    """The review server of one folder; `url` carries the token. Start with serve_forever()."""

    def __init__(
        self,
        folder: Path,
        *,
        token: str | None = None,
        port: int = 0,
        idle: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(folder).expanduser().absolute()
        self.token = token or secrets.token_urlsafe(32)
        self.idle = idle
        self._clock = clock
        self.last_request = clock()
        handler = type("Handler", (_Handler,), {"app": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def serve_forever(self) -> None:
        """Serve until shutdown() or, with `idle`, that many seconds without a request."""
        if self.idle is not None:
            threading.Thread(target=self._watch_idle, daemon=True).start()
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

    def page(self) -> bytes:
        from .writer import page_thumbnails

        state = load_state(self.root)
        thumbs, problems = page_thumbnails(state.data)
        text = render_page(
            state.data,
            page_dir=review_dir(self.root),
            thumbs={str(k): v for k, v in thumbs.thumbs.items()},
            no_preview={str(k): v for k, v in problems.items()},
            served=Served(self.token),
        )
        return text.encode("utf-8")

    def member_file(self, rel: str) -> Path:
        """A photo the page may show: a current member of a group, or Refused."""
        path = resolve_inside(self.root, rel)
        state = load_state(self.root)
        for g in state.data.get("groups", ()):
            if any(m.now == path for m in members_now(state.data, g)):
                return path
        raise Refused(404, "not a photo of this review")


class _Handler(BaseHTTPRequestHandler):
    app: ReviewServer
    server_version = "ReMedia"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # ------------------------------------------------------------ answers

    def _send(
        self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("X-Frame-Options", "DENY")
        # frame-ancestors works only as a header; the page's <meta> carries the rest too.
        self.send_header("Content-Security-Policy", SERVED_CSP + "; frame-ancestors 'none'")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        if "json" in (self.headers.get("Accept", "") + self.headers.get("Content-Type", "")):
            body = json.dumps({"ok": False, "error": message}).encode()
            self._send(status, body, "application/json", extra)
        else:
            self._send(status, (message + "\n").encode(), "text/plain; charset=utf-8", extra)

    # ------------------------------------------------------------ checks

    def _query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    def _admitted(self) -> bool:
        """Host and token checks shared by every request; answers the refusal itself."""
        self.app.last_request = self.app._clock()
        if self.headers.get("Host", "") not in self.app.hosts:
            self._error(HTTPStatus.MISDIRECTED_REQUEST, "unknown host")
            return False
        given = self.headers.get(TOKEN_HEADER) or next(iter(self._query().get("token", [])), "")
        if not given:
            self._error(HTTPStatus.UNAUTHORIZED, "the page's token is required")
            return False
        if not secrets.compare_digest(given.encode(), self.app.token.encode()):
            self._error(HTTPStatus.FORBIDDEN, "wrong token")
            return False
        return True

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None:
            # Only a non-browser client omits Origin; it must then send the token as a header,
            # which no other site's page can do without a CORS preflight we never answer.
            return self.headers.get(TOKEN_HEADER) is not None
        return origin in {f"http://{h}" for h in self.app.hosts}

    # ------------------------------------------------------------ routes

    def do_GET(self) -> None:
        if not self._admitted():
            return
        route = urlsplit(self.path).path
        try:
            if route == "/":
                self._send(200, self.app.page(), "text/html; charset=utf-8")
            elif route == "/favicon.ico":
                self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
            elif route.startswith("/thumbs/"):
                self._thumb(route.removeprefix("/thumbs/"))
            elif route == "/photo":
                path = self.app.member_file(next(iter(self._query().get("path", [])), ""))
                ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                self._send(200, path.read_bytes(), ctype)
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

    def _thumb(self, name: str) -> None:
        if not _THUMB_NAME.fullmatch(name):
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        path = review_dir(self.app.root) / THUMBS_DIR / name
        try:
            body = path.read_bytes()
        except OSError:
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        self._send(200, body, "image/jpeg")

    def do_POST(self) -> None:
        if not self._admitted():
            return
        if not self._same_origin():
            self._error(HTTPStatus.FORBIDDEN, "request from another origin")
            return
        if urlsplit(self.path).path != "/action":
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
            where = f"/?{urlsplit(self.path).query}"
            self._send(303, b"", "text/plain", {"Location": where})

    def _body(self) -> tuple[dict[str, str], bool]:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise Refused(400, "bad Content-Length") from None
        if length < 0 or length > _MAX_BODY:
            raise Refused(413, "request too large")
        raw = self.rfile.read(length)
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            try:
                data = json.loads(raw)
            except ValueError:
                raise Refused(400, "not JSON") from None
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise Refused(400, "expected an object of strings")
            return data, True
        if ctype == "application/x-www-form-urlencoded":
            form = parse_qs(raw.decode("utf-8", "surrogateescape"), keep_blank_values=True)
            return {k: v[0] for k, v in form.items()}, False
        raise Refused(415, "send JSON or a form")


def _rel(root: Path, path: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def serve_review(
    folder: Path,
    *,
    announce: Callable[[str], None],
    open_browser: bool = True,
    idle: float | None = None,
) -> None:
    """Serve the review page of `folder` until interrupted or idle; `announce` gets the URL."""
    server = ReviewServer(folder, idle=idle)
    load_state(server.root)  # fail now, not in the browser, when there is nothing to review
    announce(server.url)
    if open_browser:
        import webbrowser

        try:
            webbrowser.open(server.url)
        except webbrowser.Error:
            log.warning("could not start a web browser; open %s", server.url)
    server.serve_forever()


__all__ = ["ReviewServer", "group_key", "serve_review"]
