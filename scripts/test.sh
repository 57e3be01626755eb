#!/usr/bin/env bash
# One command: set up (system packages too when root), lint, type-check, check the built wheel
# in a fresh venv, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    # Virtual display, D-Bus, file managers, browser, wine and nsis, mmdebstrap, the
    # distribution's PyGObject for the tray.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    xargs -a scripts/apt-packages.txt apt-get install -y -qq --no-install-recommends >/dev/null
else
    echo "test: not root or no apt-get; tests that need system packages will be skipped" >&2
fi
bash scripts/setup.sh --dev
.venv/bin/ruff check remedia_tray tests benchmarks scripts
.venv/bin/mypy
# Layering contract (pyproject.toml [tool.importlinter]): lower layers never import upper ones.
PYTHONPATH=. .venv/bin/lint-imports
bash scripts/check_wheel.sh
# Desktop tests need a virtual display and a private session bus; both are started here.
if command -v xvfb-run >/dev/null && command -v dbus-run-session >/dev/null; then
    exec xvfb-run -a dbus-run-session -- .venv/bin/python -m pytest -q -rs "$@"
else
    exec .venv/bin/python -m pytest -q -rs "$@"
fi
