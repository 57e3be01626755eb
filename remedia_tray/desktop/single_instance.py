"""One tray service per user, and hand-off of folders to it (stdlib only).

The service holds an exclusive lock on `<runtime dir>/tray.lock` (the kernel drops it when
the process dies, so there is no stale lock) and listens on a local socket (AF_UNIX; a named
pipe on Windows) authenticated with a random key in a 0600 file. `remedia sort FOLDER`
(what the file-manager menu runs) tries the hand-off first, so many clicks reach one
process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Client, Listener
from pathlib import Path
from typing import Any

from .._platform import IS_WINDOWS
from ..safety.locking import try_lock

log = logging.getLogger(__name__)

APP_DIR = "ReMedia"
_MAX_UNIX_PATH = 100  # sun_path is 104-108 bytes depending on the OS


def runtime_dir() -> Path:
    import warnings

    from platformdirs import user_runtime_dir

    with warnings.catch_warnings():  # platformdirs warns when it has to invent a folder
        warnings.simplefilter("ignore")
        path = Path(user_runtime_dir(APP_DIR, appauthor=False))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _user_tag(folder: Path) -> str:
    return hashlib.sha256(str(folder).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Endpoint:
    lock: Path
    key: Path
    address: str
    family: str  # "AF_UNIX" or "AF_PIPE"


def endpoint(folder: Path | None = None) -> Endpoint:
    folder = folder if folder is not None else runtime_dir()
    if IS_WINDOWS:
        user = os.environ.get("USERNAME", "user")
        address = rf"\\.\pipe\remedia-{user}-{_user_tag(folder)}"
        family = "AF_PIPE"
    else:
        address = str(folder / "tray.sock")
        if len(address.encode()) > _MAX_UNIX_PATH:  # e.g. macOS' long runtime folder
            address = os.path.join(tempfile.gettempdir(), f"remedia-{_user_tag(folder)}.sock")
        family = "AF_UNIX"
    return Endpoint(folder / "tray.lock", folder / "tray.key", address, family)


class AlreadyRunning(Exception):
    """Another tray service of this user holds the lock."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        where = f" (process {pid})" if pid else ""
        super().__init__(f"ReMedia is already running{where}")


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ServiceLock:
    """Held by the running service; also serves hand-off requests while held."""

    def __init__(self, ep: Endpoint | None = None) -> None:
        self.endpoint = ep if ep is not None else endpoint()
        self._fd: int | None = None
        self._listener: Listener | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning."""
        path = self.endpoint.lock
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if not try_lock(fd):
            os.close(fd)
            raise AlreadyRunning(_read_pid(path.with_suffix(".pid")))
        self._fd = fd
        path.with_suffix(".pid").write_text(f"{os.getpid()}\n", encoding="ascii")

    def serve(self, handler: Handler) -> None:
        """Answer hand-off requests on a thread until release()."""
        ep = self.endpoint
        key = secrets.token_bytes(32)
        fd = os.open(ep.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        if ep.family == "AF_UNIX" and os.path.lexists(ep.address):
            os.unlink(ep.address)  # left by a killed service; we hold the lock, so it is stale
        self._listener = Listener(ep.address, family=ep.family, authkey=key)
        self._thread = threading.Thread(
            target=self._accept, args=(handler,), name="remedia-handoff", daemon=True
        )
        self._thread.start()

    def _accept(self, handler: Handler) -> None:
        assert self._listener is not None
        while not self._closing:
            try:
                conn = self._listener.accept()
            except Exception:  # AuthenticationError (wrong key), reset, or closed by release()
                if self._closing:
                    return
                log.debug("hand-off connection refused", exc_info=True)
                continue
            try:
                with conn:
                    if conn.poll(5):
                        request = conn.recv()
                        reply = handler(request) if isinstance(request, dict) else {"ok": False}
                        conn.send(reply)
            except (OSError, EOFError):
                log.debug("hand-off request failed", exc_info=True)
            except Exception:
                log.exception("hand-off handler failed")

    def release(self) -> None:
        self._closing = True
        if self._listener is not None:
            try:
                self._listener.close()
            except OSError:
                pass
            if self.endpoint.family == "AF_UNIX":
                try:
                    os.unlink(self.endpoint.address)
                except OSError:
                    pass
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None


def is_running(ep: Endpoint | None = None) -> bool:
    """True while some process holds the service lock."""
    ep = ep if ep is not None else endpoint()
    try:
        fd = os.open(ep.lock, os.O_RDWR)
    except OSError:
        return False
    try:
        # Getting the lock means nobody holds it (closing the fd releases it again).
        return not try_lock(fd)
    finally:
        os.close(fd)


def request(
    message: dict[str, Any], *, ep: Endpoint | None = None, timeout: float = 5.0
) -> dict[str, Any] | None:
    """Send one request to the running service; None when there is none or it did not answer."""
    ep = ep if ep is not None else endpoint()
    deadline = time.monotonic() + timeout
    while True:
        if not is_running(ep):
            return None
        try:
            key = ep.key.read_bytes()
            with Client(ep.address, family=ep.family, authkey=key) as conn:
                conn.send(message)
                if conn.poll(max(0.1, deadline - time.monotonic())):
                    reply = conn.recv()
                    return reply if isinstance(reply, dict) else None
                return None
        except (OSError, EOFError, ValueError) as exc:
            # The service may still be starting (lock held, socket not yet bound).
            if time.monotonic() >= deadline:
                log.debug("hand-off failed: %s", exc)
                return None
            time.sleep(0.1)
        except Exception as exc:  # AuthenticationError and friends: not our service
            log.debug("hand-off refused: %s", exc)
            return None


def hand_off(folders: list[Path], *, ep: Endpoint | None = None, timeout: float = 5.0) -> bool:
    """Ask the running service to sort `folders`; True when it accepted them."""
    reply = request(
        {"op": "sort", "folders": [str(Path(f).expanduser().absolute()) for f in folders]},
        ep=ep,
        timeout=timeout,
    )
    return bool(reply and reply.get("ok"))
