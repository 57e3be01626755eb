"""One tray service per user, and hand-off of folders to it (stdlib only).

The service holds an exclusive lock on `<runtime dir>/tray.lock` (the kernel drops it when
the process dies, so there is no stale lock) and answers on a local socket: AF_UNIX in a
folder only this user can use (handoff_socket), or a named pipe on Windows (handoff_pipe).
Requests and replies are bounded JSON, and both sides prove they know a random key kept in
a 0600 file (handoff_wire); nothing a peer sends is unpickled. `remedia sort FOLDER` (what
the file-manager menu runs) tries the hand-off first, so many clicks reach one process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from .._platform import IS_WINDOWS
from ..errors import UnsafeRuntimeDir
from ..filing.locking import try_lock
from .handoff_wire import Channel, HandoffFailed, client_exchange, server_exchange

log = logging.getLogger(__name__)

APP_DIR = "ReMedia"
CONNECTION_TIMEOUT = 5.0  # seconds the service gives one client for its whole exchange
_MAX_KEY = 256
_MAX_FOLDERS = 10_000

Family = Literal["AF_UNIX", "AF_PIPE"]
# "socket": handoff_socket (AF_UNIX with peer checks); "connection": multiprocessing's
# send_bytes/recv_bytes (Windows' named pipes; on POSIX only to test that code).
Transport = Literal["socket", "connection"]


def runtime_dir() -> Path:
    """This user's private runtime folder; UnsafeRuntimeDir when another user could use it."""
    import warnings

    from platformdirs import user_runtime_dir

    try:
        with warnings.catch_warnings():  # platformdirs warns when it has to invent a folder
            warnings.simplefilter("ignore")
            path = Path(user_runtime_dir(APP_DIR, appauthor=False))
    except OSError as exc:  # recent platformdirs refuse a runtime folder another user owns
        raise UnsafeRuntimeDir(f"no private runtime folder for the tray: {exc}") from None
    if IS_WINDOWS:
        path.mkdir(parents=True, exist_ok=True)
        return path
    from .handoff_socket import make_private_dir

    make_private_dir(path)
    return path


def _user_tag(folder: Path) -> str:
    return hashlib.sha256(str(folder).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Endpoint:
    """Where the service of one runtime folder holds its lock and key, and listens."""

    lock: Path
    key: Path
    address: str
    family: Family
    transport: Transport = "socket"


def endpoint(folder: Path | None = None) -> Endpoint:
    """The endpoint of `folder` (by default the runtime folder); creates nothing in it."""
    folder = folder if folder is not None else runtime_dir()
    if IS_WINDOWS:
        user = os.environ.get("USERNAME", "user")
        address = rf"\\.\pipe\remedia-{user}-{_user_tag(folder)}"
        return Endpoint(folder / "tray.lock", folder / "tray.key", address, "AF_PIPE", "connection")
    from .handoff_socket import socket_address

    address = socket_address(folder, tag=_user_tag(folder))
    return Endpoint(folder / "tray.lock", folder / "tray.key", address, "AF_UNIX")


def _private_dirs(ep: Endpoint) -> list[Path]:
    """The folders that must be private to this user: the runtime folder, the socket's."""
    if ep.family != "AF_UNIX":
        return []
    folders = [ep.lock.parent]
    socket_dir = Path(ep.address).parent
    if socket_dir != ep.lock.parent:
        folders.append(socket_dir)
    return folders


def _check_private(ep: Endpoint) -> bool:
    """False when a folder is missing (no service); UnsafeRuntimeDir when one is not private."""
    folders = _private_dirs(ep)
    if not folders:
        return True  # a named pipe: no folder to check
    from .handoff_socket import check_private_dir

    try:
        for folder in folders:
            check_private_dir(folder)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise UnsafeRuntimeDir(f"cannot check {ep.lock.parent}: {exc.strerror or exc}") from None
    return True


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


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        key = fh.read(_MAX_KEY + 1)
    if not key or len(key) > _MAX_KEY:
        raise HandoffFailed(f"{path} is not a hand-off key")
    return key


Handler = Callable[[dict[str, Any]], dict[str, Any]]


class _Server(Protocol):
    def accept(self) -> Channel: ...

    def close(self) -> None: ...


def _listen(ep: Endpoint) -> _Server:
    if ep.transport == "socket":
        from .handoff_socket import SocketServer

        return SocketServer(ep.address)
    if ep.transport == "connection":
        from .handoff_pipe import ConnectionServer

        if ep.family == "AF_UNIX" and os.path.lexists(ep.address):
            os.unlink(ep.address)  # left by a killed service; we hold the lock
        return ConnectionServer(ep.address, family=ep.family)
    raise ValueError(f"Unknown hand-off transport: {ep.transport!r}")


def _connect(ep: Endpoint, *, timeout: float) -> Channel:
    if ep.transport == "socket":
        from .handoff_socket import connect

        return connect(ep.address, timeout=timeout)
    if ep.transport == "connection":
        from .handoff_pipe import connect as connect_pipe

        return connect_pipe(ep.address, family=ep.family)
    raise ValueError(f"Unknown hand-off transport: {ep.transport!r}")


def _well_formed(request: Mapping[str, Any]) -> bool:
    """The shape handle_request expects: an op name and absolute folder paths."""
    folders = request.get("folders", [])
    return (
        isinstance(request.get("op"), str)
        and isinstance(folders, list)
        and len(folders) <= _MAX_FOLDERS
        and all(isinstance(f, str) and "\0" not in f and os.path.isabs(f) for f in folders)
    )


class ServiceLock:
    """Held by the running service; also serves hand-off requests while held."""

    def __init__(self, ep: Endpoint | None = None) -> None:
        self.endpoint = ep if ep is not None else endpoint()
        self._fd: int | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._closing = False

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning (UnsafeRuntimeDir for a folder not private)."""
        path = self.endpoint.lock
        if self.endpoint.family == "AF_UNIX":
            from .handoff_socket import make_private_dir

            make_private_dir(path.parent)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        if not try_lock(fd):
            os.close(fd)
            raise AlreadyRunning(_read_pid(path.with_suffix(".pid")))
        self._fd = fd
        path.with_suffix(".pid").write_text(f"{os.getpid()}\n", encoding="ascii")

    def serve(self, handler: Handler) -> None:
        """Answer hand-off requests on a thread until release()."""
        ep = self.endpoint
        if ep.family == "AF_UNIX":
            from .handoff_socket import make_private_dir

            for folder in _private_dirs(ep):
                make_private_dir(folder)
        key = secrets.token_bytes(32)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(ep.key, flags, 0o600), "wb") as fh:
            fh.write(key)
        self._server = _listen(ep)
        self._thread = threading.Thread(
            target=self._accept, args=(self._server, key, handler), name="remedia-handoff",
            daemon=True,
        )  # fmt: skip
        self._thread.start()

    def _accept(self, server: _Server, key: bytes, handler: Handler) -> None:
        def checked(request: dict[str, Any]) -> dict[str, Any]:
            if not _well_formed(request):
                return {"ok": False, "error": "malformed request"}
            return handler(request)

        while not self._closing:
            try:
                channel = server.accept()
            except HandoffFailed as exc:  # another user's process
                log.warning("refused a hand-off: %s", exc)
                continue
            except OSError:  # a reset, or closed by release()
                if self._closing:
                    return
                log.debug("hand-off connection failed", exc_info=True)
                time.sleep(0.05)  # e.g. out of file descriptors: do not spin
                continue
            try:
                deadline = time.monotonic() + CONNECTION_TIMEOUT
                server_exchange(channel, key, checked, deadline=deadline)
            except HandoffFailed as exc:
                log.warning("refused a hand-off: %s", exc)
            except OSError:
                log.debug("hand-off request failed", exc_info=True)
            except Exception:
                log.exception("hand-off handler failed")
            finally:
                channel.close()

    def release(self) -> None:
        self._closing = True
        if self._server is not None:
            try:
                self._server.close()
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
    """True while some process holds the service lock (UnsafeRuntimeDir: folder not private)."""
    ep = ep if ep is not None else endpoint()
    if not _check_private(ep):
        return False
    try:
        fd = os.open(ep.lock, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        # Getting the lock means nobody holds it (closing the fd releases it again).
        return not try_lock(fd)
    finally:
        os.close(fd)


def request(
    message: Mapping[str, Any], *, ep: Endpoint | None = None, timeout: float = 5.0
) -> dict[str, Any] | None:
    """Send one request to the running service; None when there is none or it did not answer.

    Raises UnsafeRuntimeDir when the runtime folder is not private to this user.
    """
    ep = ep if ep is not None else endpoint()
    deadline = time.monotonic() + timeout
    while True:
        if not is_running(ep):
            return None
        try:
            channel = _connect(ep, timeout=max(0.1, deadline - time.monotonic()))
        except OSError as exc:
            # The service may still be starting (lock held, socket not bound yet).
            if time.monotonic() >= deadline:
                log.debug("hand-off failed: %s", exc)
                return None
            time.sleep(0.1)
            continue
        except HandoffFailed as exc:  # another user's listener
            log.warning("did not hand off to the tray: %s", exc)
            return None
        try:
            # Read after connecting: the service writes its key before it listens.
            key = _read_key(ep.key)
            return client_exchange(channel, key, message, deadline=deadline)
        except (HandoffFailed, OSError) as exc:
            log.warning("did not hand off to the tray: %s", exc)
            return None
        finally:
            channel.close()


def hand_off(folders: list[Path], *, ep: Endpoint | None = None, timeout: float = 5.0) -> bool:
    """Ask the running service to sort `folders`; True when it accepted them."""
    reply = request(
        {"op": "sort", "folders": [str(Path(f).expanduser().absolute()) for f in folders]},
        ep=ep,
        timeout=timeout,
    )
    return bool(reply and reply.get("ok"))
