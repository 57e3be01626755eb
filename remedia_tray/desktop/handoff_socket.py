"""The hand-off over an AF_UNIX socket (Linux, macOS, BSD): a private folder, a checked peer.

The socket lives in a folder that only this user can use (owned by them, mode 0700, below
folders no other user can rename it out of), and each side asks the kernel which user is at
the other end where the OS tells (SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS and BSD).
Messages are a 4-byte big-endian length and that many bytes.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
import tempfile
from pathlib import Path

from .._platform import IS_LINUX
from ..errors import UnsafeRuntimeDir
from .handoff_wire import MAX_MESSAGE, HandoffFailed, remaining

_HEADER = struct.Struct(">I")
_MAX_PATH = 100  # sun_path is 104-108 bytes depending on the OS
_BACKLOG = 16
_CHUNK = 1 << 16
# POSIX only, as this module (which Windows never imports): for mypy --platform win32.
_AF_UNIX: int = socket.AF_UNIX  # type: ignore[attr-defined,unused-ignore]


def _euid() -> int:
    return int(os.geteuid())  # type: ignore[attr-defined,unused-ignore]


def socket_address(folder: Path, *, tag: str) -> str:
    """`folder/tray.sock`, or for a long `folder` (macOS) one in a private temporary folder."""
    address = str(folder / "tray.sock")
    if len(address.encode()) > _MAX_PATH:
        private = f"remedia-{_euid()}-{tag}"  # checked like the runtime folder
        address = os.path.join(tempfile.gettempdir(), private, "tray.sock")
    return address


_HINT = (
    ", so another user could stand in for the ReMedia tray; fix or remove it, "
    "or set XDG_RUNTIME_DIR to a folder only you can use"
)


def private_dir_problem(path: Path) -> str | None:
    """Why another user could use `path` (None when it is private); OSError when missing."""
    uid = _euid()
    info = os.lstat(path)
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        return f"{path} is a symlink"
    if not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a folder"
    if info.st_uid != uid:
        return f"{path} is owned by uid {info.st_uid}, not {uid}"
    if mode & 0o077:
        return f"{path} has mode {mode:04o}, not 0700"
    # Whoever can write to a folder above can rename ours away and put theirs in its place,
    # unless that folder is sticky (/tmp) and owned by root or us.
    real_parent = Path(os.path.realpath(path.parent))
    for parent in (real_parent, *real_parent.parents):
        above = os.lstat(parent)
        if above.st_uid not in (0, uid):
            return f"{path} is inside {parent}, owned by uid {above.st_uid}"
        if above.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not above.st_mode & stat.S_ISVTX:
            return f"{path} is inside {parent}, which other users can write to"
    return None


def check_private_dir(path: Path) -> None:
    """Raise UnsafeRuntimeDir unless only this user can use `path`; OSError when missing."""
    problem = private_dir_problem(path)
    if problem is not None:
        raise UnsafeRuntimeDir(problem + _HINT)


def make_private_dir(path: Path) -> None:
    """Create `path` (mode 0700) if missing, then check it as check_private_dir does."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        check_private_dir(path)
    except OSError as exc:
        raise UnsafeRuntimeDir(f"cannot use {path}: {exc.strerror or exc}") from None


def peer_uid(sock: socket.socket) -> int | None:
    """The user id of the process at the other end, or None where the OS does not tell."""
    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if IS_LINUX and so_peercred is not None:  # OpenBSD's has another layout: skipped
        ucred = struct.Struct("iII")  # struct ucred: pid, uid, gid
        _pid, uid, _gid = ucred.unpack(sock.getsockopt(socket.SOL_SOCKET, so_peercred, ucred.size))
        return int(uid)
    local_peercred = getattr(socket, "LOCAL_PEERCRED", None)
    if local_peercred is None:
        return None
    # struct xucred (macOS, FreeBSD): u_int cr_version; uid_t cr_uid; ...; at level SOL_LOCAL (0).
    data = sock.getsockopt(getattr(socket, "SOL_LOCAL", 0), local_peercred, 256)
    _version, uid = struct.unpack_from("II", data)
    return int(uid)


def _check_peer(sock: socket.socket) -> None:
    uid = peer_uid(sock)
    if uid is not None and uid != _euid():
        raise HandoffFailed(f"the peer is uid {uid}, not {_euid()}")


class SocketChannel:
    """One connected AF_UNIX stream socket carrying length-prefixed messages."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def send_frame(self, data: bytes, *, deadline: float) -> None:
        if len(data) > MAX_MESSAGE:
            raise HandoffFailed(f"message of {len(data)} bytes is over {MAX_MESSAGE}")
        self._sock.settimeout(remaining(deadline))
        try:
            self._sock.sendall(_HEADER.pack(len(data)) + data)
        except TimeoutError:
            raise HandoffFailed("the peer did not read in time") from None

    def recv_frame(self, *, deadline: float) -> bytes:
        (size,) = _HEADER.unpack(self._exactly(_HEADER.size, deadline))
        if size > MAX_MESSAGE:
            raise HandoffFailed(f"message of {size} bytes is over {MAX_MESSAGE}")
        return self._exactly(size, deadline)

    def _exactly(self, size: int, deadline: float) -> bytes:
        data = bytearray()
        while len(data) < size:
            self._sock.settimeout(remaining(deadline))  # the whole message, not each read
            try:
                chunk = self._sock.recv(min(size - len(data), _CHUNK))
            except TimeoutError:
                raise HandoffFailed("no answer in time") from None
            if not chunk:
                raise HandoffFailed("connection closed mid-message")
            data += chunk
        return bytes(data)

    def close(self) -> None:
        self._sock.close()


class SocketServer:
    """A listening AF_UNIX socket at `address`, in a folder that make_private_dir checked."""

    def __init__(self, address: str) -> None:
        if os.path.lexists(address):
            os.unlink(address)  # left by a killed service; the caller holds the lock
        sock = socket.socket(_AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(address)
            os.chmod(address, 0o600)
            sock.listen(_BACKLOG)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self.address = address

    def accept(self) -> SocketChannel:
        """The next connection from this user; HandoffFailed for another user's."""
        conn, _ = self._sock.accept()
        try:
            _check_peer(conn)
        except (OSError, HandoffFailed):
            conn.close()
            raise
        return SocketChannel(conn)

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept (Linux)
        except OSError:
            pass
        self._sock.close()
        try:
            os.unlink(self.address)
        except OSError:
            pass


def connect(address: str, *, timeout: float) -> SocketChannel:
    """Connect to the service at `address`; HandoffFailed when another user listens there."""
    sock = socket.socket(_AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        _check_peer(sock)
    except (OSError, HandoffFailed):
        sock.close()
        raise
    return SocketChannel(sock)
