"""The hand-off over `multiprocessing.connection` (Windows, whose Python has no AF_UNIX).

Only `send_bytes`/`recv_bytes` are used: `send`/`recv` pickle, and unpickling what a peer
sends runs its code. The connection's own key check is left off (it is the same HMAC idea);
handoff_wire's runs over these bytes on every platform, so a squatter on the pipe name fails it.
"""

from __future__ import annotations

from multiprocessing.connection import Client, Listener
from typing import Protocol

from .handoff_wire import MAX_MESSAGE, HandoffFailed, remaining


class _Connection(Protocol):  # multiprocessing's Connection and PipeConnection
    def send_bytes(self, buf: bytes) -> None: ...

    def recv_bytes(self, maxlength: int | None = None) -> bytes: ...

    def poll(self, timeout: float | None = 0.0) -> bool: ...

    def close(self) -> None: ...


class ConnectionChannel:
    """One `multiprocessing.connection` connection carrying whole messages as bytes."""

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn

    def send_frame(self, data: bytes, *, deadline: float) -> None:
        if len(data) > MAX_MESSAGE:
            raise HandoffFailed(f"message of {len(data)} bytes is over {MAX_MESSAGE}")
        remaining(deadline)
        self._conn.send_bytes(data)

    def recv_frame(self, *, deadline: float) -> bytes:
        # A named pipe in message mode delivers whole messages, so after poll() the read is
        # immediate; recv_bytes raises OSError for one over MAX_MESSAGE.
        if not self._conn.poll(remaining(deadline)):
            raise HandoffFailed("no answer in time")
        try:
            return self._conn.recv_bytes(MAX_MESSAGE)
        except EOFError:
            raise HandoffFailed("connection closed mid-message") from None

    def close(self) -> None:
        self._conn.close()


class ConnectionServer:
    """A `multiprocessing.connection.Listener` without its pickling half."""

    def __init__(self, address: str, *, family: str) -> None:
        self._listener = Listener(address, family=family)
        self.address = address

    def accept(self) -> ConnectionChannel:
        return ConnectionChannel(self._listener.accept())

    def close(self) -> None:
        self._listener.close()


def connect(address: str, *, family: str) -> ConnectionChannel:
    """Connect to the service's pipe (a squatter fails the key check that follows)."""
    return ConnectionChannel(Client(address, family=family))
