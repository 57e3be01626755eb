"""The hand-off's messages: bounded JSON objects and a mutual key check (nothing is unpickled).

A transport (an AF_UNIX socket, or `multiprocessing.connection` on Windows) carries whole
messages; this module decides what they contain. Both sides prove they know the key in the
runtime folder (an HMAC over two fresh nonces) before the client sends its request, so a
listener that took the address gets no request, and whatever a peer sends is parsed as data.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

MAX_MESSAGE = 1 << 20  # bytes; a request names a few folders
VERSION = 1
_NONCE_BYTES = 32
_SERVER_ROLE = b"remedia-handoff-server\0"
_CLIENT_ROLE = b"remedia-handoff-client\0"


class HandoffFailed(Exception):
    """The peer broke the protocol, failed the key check or did not answer in time."""


class Channel(Protocol):
    """One connection that carries whole messages of at most MAX_MESSAGE bytes."""

    def send_frame(self, data: bytes, *, deadline: float) -> None: ...

    def recv_frame(self, *, deadline: float) -> bytes: ...

    def close(self) -> None: ...


def remaining(deadline: float) -> float:
    """Seconds left until `deadline` (a time.monotonic() value); HandoffFailed when none."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise HandoffFailed("no answer in time")
    return left


def encode(message: Mapping[str, Any]) -> bytes:
    try:
        data = json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    except (TypeError, ValueError) as exc:
        raise HandoffFailed(f"not a JSON message: {exc}") from None
    if len(data) > MAX_MESSAGE:
        raise HandoffFailed(f"message of {len(data)} bytes is over {MAX_MESSAGE}")
    return data


def decode(data: bytes) -> dict[str, Any]:
    """The JSON object in `data`; HandoffFailed for anything else."""
    if len(data) > MAX_MESSAGE:
        raise HandoffFailed(f"message of {len(data)} bytes is over {MAX_MESSAGE}")
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise HandoffFailed(f"malformed message: {type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise HandoffFailed("malformed message: not a JSON object")
    return value


def _proof(key: bytes, role: bytes, client_nonce: bytes, server_nonce: bytes) -> str:
    return hmac.new(key, role + client_nonce + server_nonce, "sha256").hexdigest()


def _nonce(message: Mapping[str, Any]) -> bytes:
    value = message.get("nonce")
    if not isinstance(value, str) or len(value) != 2 * _NONCE_BYTES or not value.isascii():
        raise HandoffFailed("malformed message: no nonce")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise HandoffFailed("malformed message: no nonce") from None


def _proves(message: Mapping[str, Any], expected: str) -> bool:
    proof = message.get("proof")
    # compare_digest refuses non-ASCII str with TypeError: check first.
    return isinstance(proof, str) and proof.isascii() and hmac.compare_digest(proof, expected)


def client_exchange(
    channel: Channel, key: bytes, request: Mapping[str, Any], *, deadline: float
) -> dict[str, Any]:
    """Check the listener knows `key`, then send `request` and return its reply."""
    client_nonce = secrets.token_bytes(_NONCE_BYTES)
    channel.send_frame(encode({"v": VERSION, "nonce": client_nonce.hex()}), deadline=deadline)
    hello = decode(channel.recv_frame(deadline=deadline))
    server_nonce = _nonce(hello)
    if not _proves(hello, _proof(key, _SERVER_ROLE, client_nonce, server_nonce)):
        raise HandoffFailed("the listener does not know the key: not this user's tray")
    proof = _proof(key, _CLIENT_ROLE, client_nonce, server_nonce)
    channel.send_frame(encode({"proof": proof, "request": request}), deadline=deadline)
    reply = decode(channel.recv_frame(deadline=deadline)).get("reply")
    if not isinstance(reply, dict):
        raise HandoffFailed("malformed reply")
    return reply


def server_exchange(
    channel: Channel,
    key: bytes,
    handler: Callable[[dict[str, Any]], Mapping[str, Any]],
    *,
    deadline: float,
) -> None:
    """Prove we know `key`, check the client does too, and answer its one request."""
    client_nonce = _nonce(decode(channel.recv_frame(deadline=deadline)))
    server_nonce = secrets.token_bytes(_NONCE_BYTES)
    proof = _proof(key, _SERVER_ROLE, client_nonce, server_nonce)
    hello = {"v": VERSION, "nonce": server_nonce.hex(), "proof": proof}
    channel.send_frame(encode(hello), deadline=deadline)
    message = decode(channel.recv_frame(deadline=deadline))
    if not _proves(message, _proof(key, _CLIENT_ROLE, client_nonce, server_nonce)):
        raise HandoffFailed("the client does not know the key")
    request = message.get("request")
    if not isinstance(request, dict):
        raise HandoffFailed("malformed request")
    channel.send_frame(encode({"reply": handler(request)}), deadline=deadline)
