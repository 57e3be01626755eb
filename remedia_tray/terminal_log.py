"""What reaches the terminal and what goes to the log file, for the command line.

The terminal shows ReMedia's own lines ("remedia: ..." and the progress bar); warnings of
other packages, what C libraries write to file descriptor 2 (in the decoding workers too) and
the details of unexpected errors go to a log file, named on the terminal only when it got
something the terminal did not show.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TextIO

from .core.wording import shown


def log_file() -> Path:
    """Where the command line and the tray write what is not for the terminal."""
    from platformdirs import user_log_dir

    return Path(user_log_dir("remedia", appauthor=False)) / "remedia.log"


def _own(record: logging.LogRecord) -> bool:
    return record.name == "remedia_tray" or record.name.startswith("remedia_tray.")


class _TerminalLines(logging.Formatter):
    """ReMedia's own warnings, one line each: names escaped, tracebacks left to the log."""

    def format(self, record: logging.LogRecord) -> str:
        return f"remedia: {shown(record.getMessage())}"


#: The log starts afresh past this size (the tray runs for months).
_LOG_KEEP = 2_000_000


class _LogFile(logging.FileHandler):
    """The log file, made at its first line; counts the lines the terminal did not show."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, delay=True, encoding="utf-8", errors="backslashreplace")
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        self.hidden = 0

    def _open(self):  # type: ignore[no-untyped-def]
        path = Path(self.baseFilename)
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            if path.stat().st_size > _LOG_KEEP:
                os.replace(path, path.with_name(path.name + ".1"))  # one older log is kept
        return super()._open()

    def emit(self, record: logging.LogRecord) -> None:
        if not _own(record) or record.exc_info:
            self.hidden += 1
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # a log that cannot be written (disk full) must not add noise to the terminal


_SYNC = b"\x00remedia: sync\n"


class TerminalAndLog:
    """Third-party output goes to the log file; the terminal shows ReMedia's own lines.

    C libraries (libtiff ...) write straight to file descriptor 2, and the decoding workers
    inherit it: fd 2 becomes a pipe whose lines a thread copies to the log, while `sys.stderr`
    (ReMedia's lines, the progress bar) keeps the terminal. Python warnings and other
    packages' log records go to the log too.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = _LogFile(path)
        self.said = False
        self._terminal: logging.Handler | None = None
        self._saved: tuple[int, TextIO] | None = None
        self._synced = threading.Event()

    def __enter__(self) -> TerminalAndLog:
        self._capture_fd2()
        root = logging.getLogger()
        if root.level == logging.NOTSET or root.level > logging.WARNING:
            root.setLevel(logging.WARNING)
        if sys.stderr is not None:
            self._terminal = logging.StreamHandler(sys.stderr)
            self._terminal.setFormatter(_TerminalLines())
            self._terminal.addFilter(_own)
            root.addHandler(self._terminal)
        root.addHandler(self.file)
        logging.captureWarnings(True)
        return self

    def _capture_fd2(self) -> None:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
            read, write = os.pipe()
        except (OSError, ValueError, AttributeError):
            return  # no fd 2 (started without a console): nothing to capture
        stream = sys.stderr
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if stream.fileno() == 2:
                # ReMedia's own lines go on to the terminal, through a copy of fd 2.
                sys.stderr = open(
                    os.dup(saved), "w", encoding=stream.encoding, errors="surrogateescape",
                    buffering=1,
                )  # fmt: skip
        os.dup2(write, 2)
        os.close(write)
        self._saved = (saved, stream)
        threading.Thread(target=self._pump, args=(read,), daemon=True, name="fd2").start()

    def _pump(self, fd: int) -> None:
        with open(fd, "rb") as pipe:
            for raw in pipe:  # ends when every writer (the workers too) has closed the pipe
                if raw.endswith(_SYNC):
                    raw = raw[: -len(_SYNC)]  # after a line a writer left unfinished
                    self._synced.set()
                text = raw.decode("utf-8", "backslashreplace").rstrip()
                if text:  # straight to the file: it outlives main(), as workers may
                    self.file.handle(
                        logging.LogRecord("stderr", logging.WARNING, "", 0, text, None, None)
                    )

    def _sync(self) -> None:
        """Wait until what was written to fd 2 so far is in the log."""
        if self._saved is None:
            return
        self._synced.clear()
        with contextlib.suppress(OSError):
            os.write(2, _SYNC)
            self._synced.wait(5)

    def say_where(self) -> None:
        """One line naming the log file, when it got lines the terminal did not show."""
        self._sync()
        if self.file.hidden and not self.said:
            self.said = True
            print_err(f"remedia: more details are in {shown(self.path)}")

    def __exit__(self, *exc: object) -> None:
        self._sync()
        logging.captureWarnings(False)
        root = logging.getLogger()
        if self._terminal is not None:
            root.removeHandler(self._terminal)
        root.removeHandler(self.file)
        if self._saved is not None:
            saved, stream = self._saved
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if sys.stderr is not stream:
                with contextlib.suppress(OSError, ValueError):
                    sys.stderr.close()
                sys.stderr = stream
        self.file.close()


def print_err(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)
