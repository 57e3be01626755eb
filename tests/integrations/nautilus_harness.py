"""Load the generated Nautilus extension in the system Python, as nautilus-python does.

Run with /usr/bin/python3 (Debian python3-gi + python3-nautilus, Nautilus typelib), never
with ReMedia's venv: the extension must work with the standard library and gi alone.
Usage: /usr/bin/python3 nautilus_harness.py EXTENSION.py SPEC_JSON
SPEC: {"selection": [dirs], "background": dir, "file": path, "remote": uri}
Prints JSON: the labels each provider call returned; activates the selection item (Nautilus
43+ call form) and the background item (older form, with a window argument first).
"""

from __future__ import annotations

import importlib.util
import json
import sys

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio  # noqa: E402


class FileInfo:
    """The part of Nautilus.FileInfo the extension uses."""

    def __init__(self, location: Gio.File) -> None:
        self.location = location

    def get_uri_scheme(self) -> str:
        return str(self.location.get_uri_scheme())

    def is_directory(self) -> bool:
        kind = self.location.query_file_type(Gio.FileQueryInfoFlags.NONE, None)
        return bool(kind == Gio.FileType.DIRECTORY)

    def get_location(self) -> Gio.File:
        return self.location


def local(path: str) -> FileInfo:
    return FileInfo(Gio.File.new_for_path(path))


def labels(items: list) -> list[str]:  # type: ignore[type-arg]
    return [item.get_property("label") for item in items]


def main() -> None:
    ext_path, spec = sys.argv[1], json.loads(sys.argv[2])
    module_spec = importlib.util.spec_from_file_location("remedia_sort", ext_path)
    assert module_spec is not None and module_spec.loader is not None
    ext = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(ext)
    provider = ext.RemediaMenuProvider()
    selection = [local(p) for p in spec["selection"]]
    background = local(spec["background"])
    with_file = [*selection, local(spec["file"])]
    remote = [FileInfo(Gio.File.new_for_uri(spec["remote"]))]

    items = provider.get_file_items(selection)  # Nautilus 43+: (files)
    old_items = provider.get_file_items(None, selection)  # older: (window, files)
    bg_items = provider.get_background_items(None, background)  # older: (window, folder)
    result = {
        "api": gi.get_required_version("Nautilus"),
        "selection": labels(items),
        "selection_old_api": labels(old_items),
        "background": labels(provider.get_background_items(background)),
        "background_old_api": labels(bg_items),
        "with_a_file": labels(provider.get_file_items(with_file)),
        "remote": labels(provider.get_file_items(remote)),
        "names": [i.get_property("name") for i in items + bg_items],
    }
    items[0].activate()
    bg_items[0].activate()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
