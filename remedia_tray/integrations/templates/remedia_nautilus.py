"""Sort with ReMedia: Nautilus context-menu entry for folders and the folder background.

Installed by `remedia integrate install`, removed by `remedia integrate uninstall`.
Runs inside Nautilus' own Python (nautilus-python, Debian python3-nautilus), not ReMedia's:
standard library and gi only. Supports the Nautilus 43+ API (Nautilus 4.0 typelib,
`get_file_items(files)`, `get_background_items(folder)`) and the older one (3.0, with a
leading `window` argument). The folders are passed to the command as separate arguments;
no shell is involved.
"""

from __future__ import annotations

import subprocess
import threading
from typing import Any

import gi

# Written at install time: the absolute launcher, then `sort --notify --`.
REMEDIA_COMMAND: list[str] = ["remedia", "sort", "--notify", "--"]
LABEL = "Sort with ReMedia"
TIP = "Sort the photos in this folder into duplicates/ and similar/"

for _api in ("4.0", "3.0"):
    try:
        gi.require_version("Nautilus", _api)
        break
    except ValueError:
        continue

from gi.repository import GObject, Nautilus  # noqa: E402


def local_folders(files: list[Any]) -> list[str]:
    """Paths of the selection, or [] unless every item is a local folder."""
    paths = []
    for f in files:
        if f.get_uri_scheme() != "file" or not f.is_directory():
            return []
        path = f.get_location().get_path()
        if not path:
            return []
        paths.append(path)
    return paths


def launch(paths: list[str]) -> None:
    """One process for the whole selection: one batch."""
    proc = subprocess.Popen(
        [*REMEDIA_COMMAND, *paths],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Reap it when it ends, so no zombie stays behind in Nautilus.
    threading.Thread(target=proc.wait, daemon=True).start()


class RemediaMenuProvider(GObject.GObject, Nautilus.MenuProvider):  # type: ignore[misc]
    def _items(self, name: str, paths: list[str]) -> list[Any]:
        if not paths:
            return []
        item = Nautilus.MenuItem(name=name, label=LABEL, tip=TIP)
        item.connect("activate", lambda _item: launch(paths))
        return [item]

    def get_file_items(self, *args: Any) -> list[Any]:
        # Nautilus 43+: (files); older: (window, files).
        return self._items("ReMedia::sort_selection", local_folders(list(args[-1])))

    def get_background_items(self, *args: Any) -> list[Any]:
        # Nautilus 43+: (folder); older: (window, folder).
        return self._items("ReMedia::sort_background", local_folders([args[-1]]))
