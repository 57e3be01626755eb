"""JSON files ReMedia keeps: UTF-8, or ASCII escapes for names that are not UTF-8."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def json_bytes(data: Any, *, indent: int) -> bytes:
    """`data` as readable UTF-8 JSON; with \\u escapes when a name is not valid UTF-8."""
    try:
        return json.dumps(data, indent=indent, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A file name that is not valid UTF-8: \u escapes keep its exact bytes, and stay JSON.
        return json.dumps(data, indent=indent).encode("ascii")


def read_json(path: Path) -> Any:
    """The JSON value in `path`; OSError, ValueError."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
