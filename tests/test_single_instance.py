"""The tray hand-off as an attacker sees it: hostile listeners, folders and peers of other users.

`remedia sort FOLDER` hands the folder to the running tray over a local socket. Whoever can
take that socket or its folder must get neither code run (the hand-off once unpickled) nor a
traceback: `remedia sort` sorts by itself, or refuses in one line. The round trips at the end
run the real hand-off between two processes, on both transports.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pickle
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remedia_tray.desktop import single_instance as si
from remedia_tray.errors import RemediaError

REPO = Path(__file__).resolve().parents[1]
NOBODY = 65534
IS_ROOT_ON_LINUX = sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0
as_root = pytest.mark.skipif(not IS_ROOT_ON_LINUX, reason="plays another user: root on Linux")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="AF_UNIX, uids and modes")


@contextlib.contextmanager
def _recording_service(ep: si.Endpoint) -> Iterator[list[dict[str, Any]]]:
    """A service on `ep` that answers {"ok": true}; yields the requests it was handed."""
    lock = si.ServiceLock(ep)
    lock.acquire()
    seen: list[dict[str, Any]] = []
    lock.serve(lambda msg: seen.append(msg) or {"ok": True})
    try:
        yield seen
    finally:
        lock.release()


def _env(run: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_RUNTIME_DIR"] = str(run)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _remedia(
    *args: str | Path, env: dict[str, str], preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "remedia_tray", *map(str, args)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=30, preexec_fn=preexec,
    )  # fmt: skip


def _without_dac_override() -> None:
    """As root: the exec'd program obeys file permissions (as tests/faults' `unprivileged`)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _as_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


@contextlib.contextmanager
def _lock_held(path: Path) -> Iterator[None]:
    """Hold the service lock as a running tray would, so clients try the socket."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


class _Payload:
    """Unpickling this creates `marker`: proof that a peer's bytes ran as code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


def _frame(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _read_frame(conn: socket.socket) -> bytes:
    head = conn.recv(4, socket.MSG_WAITALL)
    if len(head) < 4:
        return b""
    return conn.recv(struct.unpack(">I", head)[0], socket.MSG_WAITALL)


# -- hostile listeners: `remedia sort` sorts by itself, runs nothing, shows no traceback ---------


def _mp_pickle(ep: si.Endpoint, key: bytes, marker: Path, stop: threading.Event) -> None:
    """Today's protocol, done right with the key, then a pickle that creates the marker."""
    from multiprocessing.connection import Listener

    with Listener(ep.address, family="AF_UNIX", authkey=key) as listener:
        while not stop.is_set():
            try:
                with listener.accept() as conn:
                    conn.send(_Payload(marker))  # the attack: pickles on purpose
            except Exception:  # the new client fails multiprocessing's handshake
                continue


def _raw(answer: Callable[[socket.socket, bytes, Path], None]) -> Callable[..., None]:
    def serve(ep: si.Endpoint, key: bytes, marker: Path, stop: threading.Event) -> None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(ep.address)
        server.listen(8)
        server.settimeout(0.2)
        with server:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.settimeout(30)
                    with contextlib.suppress(Exception):  # whatever befalls the attacker
                        answer(conn, key, marker)

    return serve


def _pickle_first(conn: socket.socket, key: bytes, marker: Path) -> None:
    while True:  # a pickle as every message, framed as both protocols frame them
        conn.sendall(_frame(pickle.dumps(_Payload(marker))))
        if not _read_frame(conn):
            return


def _pickle_after_handshake(conn: socket.socket, key: bytes, marker: Path) -> None:
    """The new handshake done right (this listener knows the key), then a pickled reply."""
    from remedia_tray.desktop.handoff_wire import server_exchange

    class Spiked:  # the real server's messages, but a pickle in the place of its reply
        sent = 0

        def send_frame(self, data: bytes, *, deadline: float) -> None:
            self.sent += 1
            conn.sendall(_frame(data if self.sent == 1 else pickle.dumps(_Payload(marker))))

        def recv_frame(self, *, deadline: float) -> bytes:
            return _read_frame(conn)

        def close(self) -> None:
            pass

    server_exchange(Spiked(), key, lambda request: {"ok": True}, deadline=time.monotonic() + 9)


def _silent(conn: socket.socket, key: bytes, marker: Path) -> None:
    conn.recv(1 << 16)  # accepts and never answers (until the client gives up)
    conn.recv(1 << 16)


def _huge(conn: socket.socket, key: bytes, marker: Path) -> None:
    conn.sendall(struct.pack(">I", 0xFFFFFFFF) + b"\0" * 65536)  # "4 GB follow"


def _garbage(conn: socket.socket, key: bytes, marker: Path) -> None:
    conn.sendall(secrets.token_bytes(300))


def _deep_json(conn: socket.socket, key: bytes, marker: Path) -> None:
    conn.sendall(_frame(b"[" * 200_000))


def _not_an_object(conn: socket.socket, key: bytes, marker: Path) -> None:
    conn.sendall(_frame(json.dumps(["nonce", "proof"]).encode()))


HOSTILE = {
    "pickle after multiprocessing's handshake": _mp_pickle,
    "pickle as the first message": _raw(_pickle_first),
    "pickle after the new handshake": _raw(_pickle_after_handshake),
    "silent": _raw(_silent),
    "4 GB length": _raw(_huge),
    "garbage": _raw(_garbage),
    "deeply nested JSON": _raw(_deep_json),
    "JSON that is not an object": _raw(_not_an_object),
}


@pytest.mark.parametrize("behaviour", list(HOSTILE))
def test_sort_never_runs_what_a_hostile_listener_sends(tmp_path: Path, behaviour: str) -> None:
    # A process of this user (one that knows the key) bound the tray's socket.
    run, photos, marker = tmp_path / "run", tmp_path / "photos", tmp_path / "marker"
    (run / "ReMedia").mkdir(mode=0o700, parents=True)
    run.chmod(0o700)
    photos.mkdir()
    ep = si.endpoint(run / "ReMedia")
    key = secrets.token_bytes(32)
    ep.key.write_bytes(key)
    stop = threading.Event()
    listener = threading.Thread(target=HOSTILE[behaviour], args=(ep, key, marker, stop))
    listener.daemon = True
    with _lock_held(ep.lock):
        listener.start()
        while not os.path.exists(ep.address):
            time.sleep(0.01)
        started = time.monotonic()
        done = _remedia("sort", photos, env=_env(run))
        took = time.monotonic() - started
    stop.set()
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as wake:
        wake.connect(ep.address)  # ends a listener waiting in accept()
    listener.join(10)
    assert not marker.exists(), "the hand-off unpickled what the listener sent"
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith(f"ReMedia sorted {photos}")  # by itself
    assert "sorting here" in done.stderr
    assert all(line.startswith("remedia: ") for line in done.stderr.splitlines()), done.stderr
    assert took < 30  # the client's 5 s limit, not the listener's patience


# -- folders another user can use: refused in one line ----------------------------------------


def _taken(tmp_path: Path, how: str) -> Path:
    """A runtime folder that another user could use, in one of several ways."""
    base = tmp_path / "base"
    base.mkdir(mode=0o755)
    folder = base / "ReMedia"
    if how == "symlink":
        (base / "real").mkdir(mode=0o700)
        folder.symlink_to(base / "real")
        return folder
    folder.mkdir(mode=0o700)
    if how == "mode 0777":
        folder.chmod(0o777)
    elif how == "mode 0750":
        folder.chmod(0o750)
    elif how == "owned by another user":
        os.chown(folder, NOBODY, NOBODY)
    elif how == "inside a folder of another user":  # older platformdirs: /tmp/runtime-UID
        os.chown(base, NOBODY, NOBODY)
    elif how == "inside a folder anyone can write to":
        base.chmod(0o777)
    else:
        raise ValueError(how)
    return folder


TAKEN = [
    "symlink",
    "mode 0777",
    "mode 0750",
    pytest.param("owned by another user", marks=as_root),
    pytest.param("inside a folder of another user", marks=as_root),
    "inside a folder anyone can write to",
]


@pytest.mark.parametrize("how", TAKEN)
def test_a_runtime_folder_another_user_can_use_is_refused(tmp_path: Path, how: str) -> None:
    ep = si.endpoint(_taken(tmp_path, how))
    for attempt in (
        lambda: si.is_running(ep),
        lambda: si.hand_off([tmp_path], ep=ep),
        lambda: si.ServiceLock(ep).acquire(),
    ):
        with pytest.raises(RemediaError) as exc:
            attempt()
        message = str(exc.value)
        assert "\n" not in message and str(ep.lock.parent) in message
    assert not ep.lock.exists() and not ep.key.exists()


def test_sort_refuses_a_runtime_folder_anyone_can_write_in_one_line(tmp_path: Path) -> None:
    run, photos = tmp_path / "run", tmp_path / "photos"
    (run / "ReMedia").mkdir(mode=0o700, parents=True)
    run.chmod(0o700)
    (run / "ReMedia").chmod(0o777)
    photos.mkdir()
    done = _remedia("sort", photos, env=_env(run))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("remedia: ")
    assert "has mode 0777, not 0700" in done.stderr
    assert not (photos / ".remedia").exists()


@as_root
def test_sort_refuses_the_temporary_runtime_folder_of_another_user(tmp_path: Path) -> None:
    # No XDG_RUNTIME_DIR: platformdirs falls back to TMPDIR/runtime-UID, which another user
    # made first. Recent platformdirs refuse it (it was a PermissionError traceback), older
    # ones return it (and ReMedia's own check refuses).
    if os.path.exists(f"/run/user/{os.geteuid()}"):
        pytest.skip("platformdirs would use /run/user/UID")
    temp, photos = tmp_path / "tmp", tmp_path / "photos"
    temp.mkdir()
    photos.mkdir()
    (temp / f"runtime-{os.geteuid()}").mkdir(mode=0o700)
    os.chown(temp / f"runtime-{os.geteuid()}", NOBODY, NOBODY)
    env = _env(tmp_path)
    del env["XDG_RUNTIME_DIR"]
    env["TMPDIR"] = str(temp)
    done = _remedia("sort", photos, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("remedia: ")
    assert f"uid {NOBODY}" in done.stderr


def test_the_short_socket_folder_for_a_long_runtime_path_is_checked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    deep.mkdir(mode=0o700, parents=True)
    ep = si.endpoint(deep)
    socket_dir = Path(ep.address).parent
    assert socket_dir.parent == tmp_path  # not a name anyone can bind in the shared /tmp
    socket_dir.mkdir(mode=0o777)  # made first by someone else
    socket_dir.chmod(0o777)
    lock = si.ServiceLock(ep)
    lock.acquire()
    try:
        with pytest.raises(RemediaError, match="has mode 0777"):
            lock.serve(lambda msg: {"ok": True})
    finally:
        lock.release()


_ATTACKER = textwrap.dedent(
    """
    import fcntl, os, sys
    from multiprocessing.connection import Listener
    folder, marker = sys.argv[1], sys.argv[2]

    class Payload:
        def __reduce__(self):
            return (open, (marker, "w"))

    # /tmp/runtime-UID taken by uid 65534: its folder, lock, key and socket, all open to us.
    key = b"k" * 32
    lock = os.open(os.path.join(folder, "tray.lock"), os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(lock, fcntl.LOCK_EX)
    with open(os.path.join(folder, "tray.key"), "wb") as fh:
        fh.write(key)
    listener = Listener(os.path.join(folder, "tray.sock"), family="AF_UNIX", authkey=key)
    for name in ("", "tray.lock", "tray.key", "tray.sock"):
        path = os.path.join(folder, name)
        os.chown(path, 65534, 65534)
        os.chmod(path, 0o777 if name in ("", "tray.sock") else 0o666)
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    print("ready", flush=True)
    while True:
        try:
            with listener.accept() as conn:
                print("connected", flush=True)
                conn.send(Payload())
        except Exception:
            pass
    """
)


@as_root
def test_sort_refuses_a_runtime_folder_taken_by_another_user(tmp_path: Path) -> None:
    # What older platformdirs allowed: another user owns the runtime folder and serves a
    # pickle on the tray's socket. `remedia sort` ran it; now it refuses in one line.
    run, photos, marker = tmp_path / "run", tmp_path / "photos", tmp_path / "marker"
    (run / "ReMedia").mkdir(mode=0o700, parents=True)
    run.chmod(0o700)
    photos.mkdir()
    attacker = subprocess.Popen(
        [sys.executable, "-c", _ATTACKER, str(run / "ReMedia"), str(marker)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert attacker.stdout is not None and attacker.stdout.readline().strip() == "ready"
        done = _remedia("sort", photos, env=_env(run), preexec=_without_dac_override)
    finally:
        attacker.send_signal(signal.SIGKILL)
        attacker.wait(10)
    assert not marker.exists(), "`remedia sort` ran the other user's pickle"
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"remedia: {run / 'ReMedia'} is owned by uid {NOBODY}, not 0")
    assert "connected" not in attacker.stdout.read()  # refused before connecting
    assert not (photos / ".remedia").exists()


# -- the peer's uid, checked by both sides -----------------------------------------------------

_HOLDER = textwrap.dedent(
    """
    import dataclasses, json, sys, time
    from pathlib import Path
    from remedia_tray.desktop import single_instance as si
    ep = si.endpoint(Path(sys.argv[1]))
    if sys.argv[2:] == ["connection"]:  # Windows' transport, on a Unix socket
        ep = dataclasses.replace(ep, transport="connection")
    lock = si.ServiceLock(ep)
    lock.acquire()
    def handler(msg):
        print("got", json.dumps(msg), flush=True)
        return {"ok": True, "echo": msg}
    lock.serve(handler)
    print("ready", flush=True)
    time.sleep(120)
    """
)


def _holder(folder: Path, *args: str, **kw: Any) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(folder), *args],
        stdout=subprocess.PIPE, text=True, env=_env(folder), cwd=REPO, **kw,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    return holder


def _stop(holder: subprocess.Popen[str]) -> str:
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    assert holder.stdout is not None
    return holder.stdout.read()


@as_root
def test_client_refuses_a_listener_of_another_user(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ours = tmp_path / "run"
    ours.mkdir(mode=0o700)
    ep = si.endpoint(ours)
    theirs = Path(tempfile.mkdtemp(prefix="remedia-peer-"))  # in /tmp, where uid 65534 can go
    os.chown(theirs, NOBODY, NOBODY)
    holder = _holder(theirs, preexec_fn=_as_nobody)
    try:
        # Their service, at our socket path and with our key: only their uid gives them away.
        os.rename(theirs / "tray.sock", ep.address)
        shutil.copyfile(theirs / "tray.key", ep.key)
        with _lock_held(ep.lock):
            assert si.request({"op": "ping"}, ep=ep, timeout=3) is None
    finally:
        got = _stop(holder)
        shutil.rmtree(theirs)
    assert "got" not in got
    assert f"the peer is uid {NOBODY}, not 0" in caplog.text


_CLIENT = textwrap.dedent(
    """
    import socket, sys, time
    from remedia_tray.desktop.handoff_socket import SocketChannel
    from remedia_tray.desktop.handoff_wire import HandoffFailed, client_exchange
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sys.argv[1])
    try:
        key, deadline = bytes.fromhex(sys.stdin.read()), time.monotonic() + 5
        print(client_exchange(SocketChannel(sock), key, {"op": "ping"}, deadline=deadline))
    except (HandoffFailed, OSError) as exc:
        print("refused:", exc)
    """
)


@as_root
def test_service_refuses_a_client_of_another_user(caplog: pytest.LogCaptureFixture) -> None:
    run = Path(tempfile.mkdtemp(prefix="remedia-run-"))  # in /tmp, where uid 65534 can go
    ep = si.endpoint(run)
    try:
        with _recording_service(ep) as seen:
            key = ep.key.read_bytes().hex()
            run.chmod(0o711)  # let them reach the socket: the folder was checked when serving began
            os.chmod(ep.address, 0o666)

            def client(**kw: Any) -> str:
                return subprocess.run(
                    [sys.executable, "-c", _CLIENT, ep.address], input=key, env=_env(run),
                    cwd=REPO, capture_output=True, text=True, timeout=30, **kw,
                ).stdout  # fmt: skip

            assert client() == "{'ok': True}\n"  # the same key, as this user
            assert client(preexec_fn=_as_nobody).startswith("refused:")  # the same key, as 65534
            deadline = time.monotonic() + 5
            while "the peer is uid" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)  # the service logs on its own thread
    finally:
        shutil.rmtree(run)
    assert seen == [{"op": "ping"}]
    assert f"the peer is uid {NOBODY}, not 0" in caplog.text


# -- the real hand-off between two processes -----------------------------------------------------


@pytest.mark.parametrize("transport", ["socket", "connection"])
def test_hand_off_round_trip_between_two_processes(tmp_path: Path, transport: str) -> None:
    import dataclasses

    run, photos = tmp_path / "run", tmp_path / "photos"
    (run / "ReMedia").mkdir(mode=0o700, parents=True)
    run.chmod(0o700)
    photos.mkdir()
    ep = si.endpoint(run / "ReMedia")
    if transport == "connection":
        ep = dataclasses.replace(ep, transport="connection")
    holder = _holder(run / "ReMedia", transport)
    try:
        assert si.request({"op": "ping"}, ep=ep) == {"ok": True, "echo": {"op": "ping"}}
        assert si.hand_off([photos, tmp_path / "other"], ep=ep)
        if transport == "socket":  # what the file manager's menu runs
            done = _remedia("sort", photos, env=_env(run))
            assert done.returncode == 0, done.stderr
            assert done.stdout == (
                f"Handed {photos} to the running ReMedia tray; it notifies you when it is sorted\n"
            )
    finally:
        got = _stop(holder)
    requests = [json.loads(line.removeprefix("got ")) for line in got.splitlines()]
    assert requests[:2] == [
        {"op": "ping"},
        {"op": "sort", "folders": [str(photos), str(tmp_path / "other")]},
    ]
    assert requests[2:] == (
        [{"op": "sort", "folders": [str(photos)]}] if transport == "socket" else []
    )


def test_service_answers_malformed_requests_without_calling_the_handler(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    ep = si.endpoint(run)
    with _recording_service(ep) as seen:
        for bad in (
            {"folders": ["/a"]},
            {"op": "sort", "folders": "/a"},
            {"op": "sort", "folders": ["relative/path"]},
            {"op": "sort", "folders": [1]},
        ):
            assert si.request(bad, ep=ep) == {"ok": False, "error": "malformed request"}
        assert si.request({"op": "sort", "folders": ["/a"]}, ep=ep) == {"ok": True}
    assert seen == [{"op": "sort", "folders": ["/a"]}]


# -- the wire format on its own ------------------------------------------------------------------


class _Script:
    """A channel that answers with scripted messages and records what it is sent."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = list(frames)
        self.sent: list[bytes] = []

    def send_frame(self, data: bytes, *, deadline: float) -> None:
        self.sent.append(data)

    def recv_frame(self, *, deadline: float) -> bytes:
        from remedia_tray.desktop.handoff_wire import HandoffFailed

        if not self.frames:
            raise HandoffFailed("closed")
        return self.frames.pop(0)

    def close(self) -> None:
        pass


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)
_hexish = st.text(alphabet="0123456789abcdefABCDEFxyz\u00e9\ud800", min_size=62, max_size=66)
_message = st.one_of(
    st.binary(max_size=200),
    _json.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"nonce": _hexish | _json, "proof": _hexish | _json},
        optional={"request": _json, "reply": _json, "v": _json},
    ).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(_message, max_size=3))
def test_any_answer_from_a_listener_is_refused_cleanly(frames: list[bytes]) -> None:
    from remedia_tray.desktop.handoff_wire import HandoffFailed, client_exchange

    with pytest.raises(HandoffFailed):
        client_exchange(_Script(frames), b"k" * 32, {"op": "ping"}, deadline=time.monotonic() + 5)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(_message, max_size=3))
def test_any_request_from_a_client_without_the_key_is_refused_cleanly(frames: list[bytes]) -> None:
    from remedia_tray.desktop.handoff_wire import HandoffFailed, server_exchange

    called: list[object] = []
    with pytest.raises(HandoffFailed):
        server_exchange(
            _Script(frames),
            b"k" * 32,
            lambda r: called.append(r) or {},
            deadline=time.monotonic() + 5,
        )
    assert called == []


def test_the_socket_channel_bounds_size_and_time() -> None:
    from remedia_tray.desktop.handoff_socket import SocketChannel
    from remedia_tray.desktop.handoff_wire import MAX_MESSAGE, HandoffFailed

    ours, theirs = socket.socketpair()
    with ours, theirs:
        channel = SocketChannel(ours)
        theirs.sendall(struct.pack(">I", MAX_MESSAGE + 1))
        with pytest.raises(HandoffFailed, match="over"):
            channel.recv_frame(deadline=time.monotonic() + 5)
        theirs.sendall(struct.pack(">I", 10) + b"12345")  # half a message, then silence
        started = time.monotonic()
        with pytest.raises(HandoffFailed, match="in time"):
            channel.recv_frame(deadline=time.monotonic() + 0.5)
        assert time.monotonic() - started < 2
        with pytest.raises(HandoffFailed, match="over"):
            channel.send_frame(b"x" * (MAX_MESSAGE + 1), deadline=time.monotonic() + 5)
