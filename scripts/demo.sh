#!/usr/bin/env bash
# One command: set up (no root, no system packages), then sort a copy of the bundled demo
# photos with both engines and print what was sorted.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/remedia demo "$@"
