"""Fault injection for test subprocesses (on PYTHONPATH only in tests/faults; never shipped).

Python imports `sitecustomize` at start-up, so the real `python -m remedia_tray ...` command,
and every decoding worker it spawns, runs with these hooks when the environment asks:

REMEDIA_FAULTS_TRACE=FILE     append one line per named step of a sort/undo (see `_event`)
REMEDIA_FAULTS_KILL_AT=N      SIGKILL this process at the N-th step (1-based)
REMEDIA_FAULTS_KILL_ON=NAME:K SIGKILL at the K-th step called NAME
REMEDIA_FAULTS_HOLD=DIR       at the first journaled move, create DIR/held, wait for DIR/release
REMEDIA_FAULTS_NET_LOG=FILE   record every socket created/connected/resolved; refuse AF_INET(6)
REMEDIA_FAULTS_BLOCK=a,b      make `import a` and `import b` fail (e.g. pillow_heif)
REMEDIA_FAULTS_OSERROR=OP:ERRNO[:K]  fail the K-th (default every) mover OP (link/copy) with ERRNO

The product code is not changed: the hooks wrap real functions and let them run, and a
"kill" is a real SIGKILL of the process, exactly what `kill -9` does.
"""

from __future__ import annotations

import os
import sys


def _env(name: str) -> str:
    return os.environ.get("REMEDIA_FAULTS_" + name, "")


def _install_net_guard(log_path: str) -> None:
    import socket

    def record(line: str) -> None:
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {line}\n")

    def family_name(fam: object) -> str:
        try:
            return socket.AddressFamily(int(fam)).name  # type: ignore[call-overload]
        except (ValueError, TypeError):
            return str(fam)

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event == "socket.__new__":
            fam = family_name(args[1])
            record(f"socket {fam}")
            if fam in ("AF_INET", "AF_INET6"):
                raise PermissionError(f"network socket refused during a ReMedia test ({fam})")
        elif event in ("socket.connect", "socket.sendto", "socket.bind"):
            sock, address = args[0], args[1]
            fam = family_name(getattr(sock, "family", "?"))
            record(f"{event.split('.')[1]} {fam} {address!r}")
            if fam in ("AF_INET", "AF_INET6"):
                raise PermissionError(f"network {event} refused during a ReMedia test")
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
            record(f"resolve {args[0]!r}")
            raise PermissionError(f"name lookup refused during a ReMedia test: {args[0]!r}")

    sys.addaudithook(hook)


def _install_import_block(names: str) -> None:
    for name in filter(None, names.split(",")):
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError


_counts: dict[str, int] = {}
_total = [0]


def _event(name: str) -> None:
    """One named step happened; record it and maybe die right here."""
    import signal

    _total[0] += 1
    _counts[name] = _counts.get(name, 0) + 1
    trace = _env("TRACE")
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
    kill_at = _env("KILL_AT")
    kill_on = _env("KILL_ON")
    if (kill_at and int(kill_at) == _total[0]) or (
        kill_on
        and kill_on.rpartition(":")[0] == name
        and int(kill_on.rpartition(":")[2]) == _counts[name]
    ):
        os.kill(os.getpid(), signal.SIGKILL)


def _install_steps() -> None:
    import errno
    import functools
    import shutil
    import time
    from pathlib import Path

    from remedia_tray.filing import journal, mover, report
    from remedia_tray.pipeline import cache
    from remedia_tray.review import writer as review

    scope = [0]  # > 0 while mover is moving, undoing or recovering

    def scoped(fn):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            scope[0] += 1
            try:
                return fn(*args, **kwargs)
            finally:
                scope[0] -= 1

        return wrapper

    for name in ("apply_plan", "_undo", "recover_incomplete"):
        setattr(mover, name, scoped(getattr(mover, name)))

    failures = _env("OSERROR")
    fail_op, fail_errno, fail_k = "", 0, 0
    if failures:
        parts = failures.split(":")
        fail_op, fail_errno = parts[0], getattr(errno, parts[1])
        fail_k = int(parts[2]) if len(parts) > 2 else 0
    fail_count = {"n": 0}

    def maybe_fail(op: str, path: object) -> None:
        if scope[0] and op == fail_op:
            fail_count["n"] += 1
            if fail_k in (0, fail_count["n"]):
                raise OSError(fail_errno, os.strerror(fail_errno), str(path))

    def after(op: str, real):  # type: ignore[no-untyped-def]
        @functools.wraps(real)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            if op == "link":
                maybe_fail("link", args[1])
            result = real(*args, **kwargs)
            if scope[0]:
                _event(op)
            return result

        return wrapper

    os.link = after("link", os.link)
    os.unlink = after("unlink", os.unlink)
    os.rename = after("rename", os.rename)
    os.mkdir = after("mkdir", os.mkdir)
    os.rmdir = after("rmdir", os.rmdir)

    real_copy2 = shutil.copy2

    def copy2(src, dst, *, follow_symlinks=True):  # type: ignore[no-untyped-def]
        if not scope[0]:
            return real_copy2(src, dst, follow_symlinks=follow_symlinks)
        maybe_fail("copy", dst)
        data = Path(src).read_bytes()
        with open(dst, "wb") as fh:  # the first half lands on disk, then the step fires
            fh.write(data[: len(data) // 2])
            fh.flush()
            os.fsync(fh.fileno())
        _event("copy:half")
        result = real_copy2(src, dst, follow_symlinks=follow_symlinks)
        _event("copy:done")
        return result

    shutil.copy2 = copy2

    real_write = journal.Journal.write
    held = [False]

    def write(self, record, *, sync=True):  # type: ignore[no-untyped-def]
        real_write(self, record, sync=sync)
        hold = _env("HOLD")
        if hold and record.get("op") == "move" and not held[0]:
            held[0] = True
            Path(hold, "held").write_text(str(os.getpid()))
            while not Path(hold, "release").exists():
                time.sleep(0.02)
        _event("journal:" + str(record.get("op")))

    journal.Journal.write = write  # type: ignore[method-assign]

    real_init = cache.FeatureCache.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        real_init(self, *args, **kwargs)

        def trace(sql: str) -> None:
            text = sql.lstrip().upper()
            if text.startswith("INSERT") and " FEATURES " in f" {text} ":
                _event("cache:insert")
            elif text.startswith("COMMIT"):
                _event("cache:commit")

        self._db.set_trace_callback(trace)
        # Commit by row count, not by the clock: the steps of a run must be the same every
        # time, or a step number traced once would name another step on a busy machine.
        self._flush_seconds = float("inf")

    cache.FeatureCache.__init__ = init  # type: ignore[method-assign]

    real_put = cache.FeatureCache.put

    def put(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        real_put(self, *args, **kwargs)
        if len(self._pending) >= 4:
            self.flush()

    cache.FeatureCache.put = put  # type: ignore[method-assign]

    real_save = report.save_report

    def save_report(*args, **kwargs):  # type: ignore[no-untyped-def]
        path = real_save(*args, **kwargs)
        _event("report")
        return path

    report.save_report = save_report

    real_review = review.write_review

    def write_review(*args, **kwargs):  # type: ignore[no-untyped-def]
        page = real_review(*args, **kwargs)
        _event("review")
        return page

    review.write_review = write_review


if _env("NET_LOG"):
    _install_net_guard(_env("NET_LOG"))
if _env("BLOCK"):
    _install_import_block(_env("BLOCK"))
if _env("TRACE") or _env("KILL_AT") or _env("KILL_ON") or _env("HOLD") or _env("OSERROR"):
    _install_steps()
