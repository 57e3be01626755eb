#!/usr/bin/env bash
# One command: set up (system packages too when root), lint, type-check and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-system-packages
.venv/bin/ruff check remedia_tray tests benchmarks
.venv/bin/mypy
# Desktop tests need a virtual display and a private session bus; both are started here.
if command -v xvfb-run >/dev/null && command -v dbus-run-session >/dev/null; then
    exec xvfb-run -a dbus-run-session -- .venv/bin/python -m pytest -q -rs "$@"
else
    exec .venv/bin/python -m pytest -q -rs "$@"
fi
