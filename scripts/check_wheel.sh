#!/usr/bin/env bash
# Proves what a user gets from `pip install remedia-tray`: builds the wheel, installs it with no
# extras into a fresh venv, shows torch is absent, prints the venv's size (limit 400 MB), and
# sorts a copy of the demo photos with both engines.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT_MB=400
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

PY="${PYTHON:-python3}"
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" . >/dev/null 2>&1 \
    || "$PY" -m pip wheel -q --no-deps -w "$WORK/dist" .
WHEEL="$(ls "$WORK"/dist/remedia_tray-*.whl)"
echo "wheel: $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KB)"

start=$(date +%s)
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q "$WHEEL" 2> >(grep -v "^WARNING: Location" >&2)
echo "install: $(( $(date +%s) - start )) s"

if "$WORK/venv/bin/python" -c 'import torch' 2>/dev/null; then
    echo "FAIL: torch is importable in the runtime venv" >&2
    exit 1
fi
echo "import torch: fails, as it should (ModuleNotFoundError)"
size_mb=$(du -sm "$WORK/venv" | cut -f1)
echo "venv size: ${size_mb} MB (limit ${LIMIT_MB} MB)"
"$WORK/venv/bin/python" -m pip list --format=freeze 2>/dev/null | tr '\n' ' '; echo
if (( size_mb > LIMIT_MB )); then
    echo "FAIL: the runtime venv is over ${LIMIT_MB} MB" >&2
    exit 1
fi

cp -r assets/demo "$WORK/photos"
cd "$WORK"  # away from the checkout, so only the installed wheel can be imported
"$WORK/venv/bin/remedia" sort "$WORK/photos" --engine both | tee "$WORK/sort.txt"
dups=$(find "$WORK/photos/duplicates" -type f 2>/dev/null | wc -l)
similar=$(find "$WORK/photos/similar" -type f 2>/dev/null | wc -l)
echo "sorted: $dups files in duplicates/, $similar in similar/"
if (( dups == 0 || similar == 0 )); then
    echo "FAIL: the installed wheel did not sort with both engines" >&2
    exit 1
fi
grep -q "EfficientNet-Lite0" "$WORK/sort.txt" || { echo "FAIL: the report names no AI model" >&2; exit 1; }
echo "check_wheel: ok"
