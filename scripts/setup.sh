#!/usr/bin/env bash
# Creates .venv with ReMedia and everything its tests need. Safe to run again.
# Usage: scripts/setup.sh [--with-system-packages]
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
if [[ "${1:-}" == "--with-system-packages" ]]; then
    # Debian/Ubuntu packages for the desktop tests (virtual display, D-Bus, file managers, browser).
    if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        xargs -a scripts/apt-packages.txt apt-get install -y -qq --no-install-recommends >/dev/null
    else
        echo "setup: not root or no apt-get; desktop tests that need system packages will be skipped" >&2
    fi
fi

[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# torch/torchvision pinned to a pair that imports together (see README, "AI engine").
.venv/bin/python -m pip install -q -r scripts/requirements-pins.txt
.venv/bin/python -m pip install -q -e ".[ai,tray,dev]"
