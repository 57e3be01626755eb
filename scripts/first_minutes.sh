#!/usr/bin/env bash
# A new user's first minutes, from a fresh clone: `bash scripts/demo.sh`, run as a user who is
# not root, must end by saying how to run `remedia`, print no setuptools warnings, and leave a
# venv (at most 400 MB) whose `remedia tray --help` works and that has the tray's packages.
# .ci/run calls it after the tests (it installs from the package index, so not inside pytest).
#
# Usage: scripts/first_minutes.sh [--working-tree]
#   --working-tree  also copy this checkout's uncommitted changes into the clone (a clone has
#                   only what is committed), to check work before committing it.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
LIMIT_MB=400
overlay=0
[[ "${1:-}" == "--working-tree" ]] && overlay=1

work="$(mktemp -d)"
cleanup() {
    # The demo leaves its sorted copy in a temporary folder for the user to look at.
    local photos
    photos=$(sed -n 's/^Copied the demo photos to \(.*\) (the originals.*/\1/p' "$work/demo.txt" \
        2>/dev/null || true)
    [[ "$photos" == */remedia-demo-*/photos ]] && rm -rf "$(dirname "$photos")"
    rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
fail() { echo "first_minutes: FAIL: $*" >&2; exit 1; }

git clone -q "$here" "$work/clone"
repo="$work/clone"
if (( overlay )); then
    # Modified and new (not ignored) files; deleted ones are deleted in the clone too.
    (cd "$here" && git ls-files -z --modified --others --exclude-standard) |
        while IFS= read -r -d '' rel; do
            if [[ -e "$here/$rel" ]]; then
                mkdir -p "$(dirname "$repo/$rel")"
                cp -p "$here/$rel" "$repo/$rel"
            else
                rm -f "$repo/$rel"
            fi
        done
fi
mkdir -p "$work/home"

# As root (CI), the demo runs as `nobody`, in folders that user owns, with its own HOME.
as_user=()
if [[ "$(id -u)" == 0 ]]; then
    user=nobody
    group="$(id -gn "$user")"
    chown -R "$user:$group" "$repo" "$work/home"
    as_user=(runuser -u "$user" --)
fi
run() {
    "${as_user[@]}" env -u XDG_RUNTIME_DIR -u XDG_CACHE_HOME -u XDG_CONFIG_HOME -u XDG_DATA_HOME \
        -u XDG_STATE_HOME -u PIP_CACHE_DIR HOME="$work/home" "$@"
}

start=$(date +%s)
status=0
(cd "$repo" && run bash scripts/demo.sh) >"$work/demo.txt" 2>&1 || status=$?
seconds=$(( $(date +%s) - start ))
cat "$work/demo.txt"
echo "--- first_minutes: demo.sh as $(run id -un), exit $status, ${seconds} s"
(( status == 0 )) || fail "demo.sh exited $status"

remedia="$repo/.venv/bin/remedia"
grep -qF "To run ReMedia: $remedia sort FOLDER" "$work/demo.txt" \
    || fail "demo.sh does not say how to run remedia ($remedia)"
if grep -inE "setuptools|deprecat|BuildBackendWarning" "$work/demo.txt"; then
    fail "demo.sh printed setuptools warnings (above)"
fi
if grep -n "Traceback" "$work/demo.txt"; then
    fail "demo.sh printed a traceback (above)"
fi
run "$remedia" tray --help >/dev/null || fail "remedia tray --help does not work"
run "$repo/.venv/bin/python" -c \
    'import importlib.util as u, sys; sys.exit(not (u.find_spec("pystray") and u.find_spec("watchdog")))' \
    || fail "the venv lacks the tray's packages (pystray, watchdog)"
size_mb=$(du -sm "$repo/.venv" | cut -f1)
echo "--- first_minutes: venv ${size_mb} MB (limit ${LIMIT_MB} MB)"
(( size_mb <= LIMIT_MB )) || fail "the venv is over ${LIMIT_MB} MB"
echo "first_minutes: ok"
