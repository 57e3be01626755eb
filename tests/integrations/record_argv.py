"""Test launcher: record the arguments a menu entry passed, then (with --run) sort for real.

Used in place of ReMedia's launcher when a test needs the exact argv a file manager
produced. Usage, as the launcher part of an entry:
    python record_argv.py [--run] LOG   (the entry appends: sort --notify -- FOLDER...)
Appends one JSON line {"argv": [...]} to LOG, then with --run executes
`python -m remedia_tray <argv...>` and appends {"rc": <exit code>}.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main() -> int:
    args = sys.argv[1:]
    run = args[:1] == ["--run"]
    if run:
        args = args[1:]
    log, rest = args[0], args[1:]
    with open(log, "a", encoding="utf-8", errors="surrogateescape") as f:
        f.write(json.dumps({"argv": rest}) + "\n")
    if not run:
        return 0
    rc = subprocess.call([sys.executable, "-m", "remedia_tray", *rest])
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps({"rc": rc}) + "\n")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
