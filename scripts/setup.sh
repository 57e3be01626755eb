#!/usr/bin/env bash
# Creates .venv with ReMedia (both engines and the tray, no torch). Safe to run again.
# Usage: scripts/setup.sh [--dev]
#   --dev  also the test tools and the conversion tools (torch) for the tests that check the
#          bundled model against its torch reference.
# Never needs root or a compiler. Where the distribution's PyGObject is installed (Debian:
# python3-gi), the venv is made from the system Python with --system-site-packages so the tray
# can use it; pip never builds PyGObject.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
    if [[ -n "${PYTHON:-}" ]]; then echo "$PYTHON"; return; fi
    if [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import gi, venv, ensurepip' 2>/dev/null; then
        echo /usr/bin/python3
        return
    fi
    echo python3
}

if [[ ! -x .venv/bin/python ]]; then
    PY="$(pick_python)"
    FLAGS=()
    if "$PY" -c 'import gi' 2>/dev/null; then FLAGS+=(--system-site-packages); fi
    "$PY" -m venv "${FLAGS[@]}" .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [[ "${1:-}" == "--dev" ]]; then
    # torch/torchvision pinned to a pair that imports together (see README, "Development").
    .venv/bin/python -m pip install -q -r scripts/requirements-pins.txt
    .venv/bin/python -m pip install -q -e ".[convert,tray,dev]"
else
    # The tray's packages (pystray, watchdog) are small: `.venv/bin/remedia tray` just works.
    .venv/bin/python -m pip install -q -e ".[tray]"
fi
