"""Open the review page of a folder from the tray: the local server, with its action buttons."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

#: The server stops by itself after this long without a request (the user closed the tab).
IDLE_SECONDS = 1800.0


def review_command(folder: Path) -> list[str]:
    """`remedia review FOLDER --serve`, by absolute path, as the file-manager entries run it."""
    from ..integrations.base import Launcher

    launcher = Launcher.current().argv
    return [*launcher, "review", str(folder), "--serve", "--idle", f"{IDLE_SECONDS:g}"]


def open_review(folder: Path) -> bool:
    """Start the review server for `folder` in its own process; it opens the browser itself.

    The browser gets a one-time URL, never the server's token (command lines are public).
    False (and a log line) when it cannot be started; the caller may open the static page.
    """
    try:
        subprocess.Popen(
            review_command(folder),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives a tray restart; stops when idle
        )
    except OSError:
        log.warning("cannot start the review server for %s", folder, exc_info=True)
        return False
    return True
