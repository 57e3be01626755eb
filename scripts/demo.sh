#!/usr/bin/env bash
# One command: set up (no root, no system packages), then sort a copy of the bundled demo
# photos with both engines and print what was sorted, and how to run ReMedia afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
status=0
.venv/bin/remedia demo "$@" || status=$?

# `remedia` is in the venv, not on the PATH: say how to run it.
remedia="$PWD/.venv/bin/remedia"
quoted=$(printf '%q' "$remedia")
echo
echo "To run ReMedia: $quoted sort FOLDER    (every command: $quoted --help)"
if [[ "$(command -v remedia || true)" != "$remedia" ]]; then
    echo "To type just \`remedia\`: mkdir -p ~/.local/bin && ln -sf $quoted ~/.local/bin/remedia"
    case ":$PATH:" in
        *":$HOME/.local/bin:"*) ;;
        *) echo "  and put ~/.local/bin on your PATH (Debian and Ubuntu do at the next login)" ;;
    esac
fi
exit "$status"
