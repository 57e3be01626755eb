#!/usr/bin/env bash
# Install ReMedia for the current user: no root, no compiler.
#
#   installers/linux/install.sh [options] [WHEEL|PROJECT_DIR]
#
# Without an argument it installs the checkout it sits in. With pipx on PATH it uses
# `pipx install --system-site-packages`; otherwise a venv in ~/.local/share/remedia/venv
# (also --system-site-packages, so the distribution's python3-gi is seen) and a link
# ~/.local/bin/remedia. The tray (pystray, watchdog) is added only when the system Python
# can import PyGObject (gi): PyGObject is never built with pip. Then it adds "Sort with
# ReMedia" to the file-manager menus and, with the tray, starts ReMedia at login.
# Running it again upgrades/repairs the install. uninstall.sh undoes all of it.
#
# Options:
#   --pipx | --venv        force the method (default: pipx when found, else venv)
#   --no-tray              install without the tray even when PyGObject is there
#   --no-integrate         do not add the file-manager menu entries
#   --no-autostart         do not start the tray at login
#   --all-file-managers    add menu entries for every supported file manager
# Environment: REMEDIA_PYTHON (interpreter; default /usr/bin/python3, else python3).
set -euo pipefail

say() { printf 'remedia install: %s\n' "$*"; }
die() { printf 'remedia install: error: %s\n' "$*" >&2; exit 1; }
# Run a chatty command; show its output only when it fails.
quiet() {
    local out
    if ! out="$("$@" 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "failed: $*"
    fi
}

method="" tray=auto integrate=1 autostart=1 all_fm=0 source=""
while [ $# -gt 0 ]; do
    case "$1" in
        --pipx) method=pipx ;;
        --venv) method=venv ;;
        --no-tray) tray=no ;;
        --no-integrate) integrate=0 ;;
        --no-autostart) autostart=0 ;;
        --all-file-managers) all_fm=1 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$source" ] || die "only one WHEEL or PROJECT_DIR"; source="$1" ;;
    esac
    shift
done

[ "$(id -u)" -ne 0 ] || say "note: installing for root; run as your own user to install for yourself"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "$source" ]; then
    source="$(cd "$here/../.." && pwd)"
    [ -f "$source/pyproject.toml" ] || die "no WHEEL given and $source is not a ReMedia checkout"
fi
[ -e "$source" ] || die "not found: $source"
source="$(cd "$(dirname "$source")" && pwd)/$(basename "$source")"
case "$source" in
    *.whl) [ -f "$source" ] || die "not a file: $source" ;;
    *) [ -f "$source/pyproject.toml" ] || die "not a wheel or a project folder: $source" ;;
esac

py="${REMEDIA_PYTHON:-}"
if [ -z "$py" ]; then
    if [ -x /usr/bin/python3 ]; then py=/usr/bin/python3; else py="$(command -v python3 || true)"; fi
fi
if [ -z "$py" ] || [ ! -x "$py" ]; then
    die "python3 not found (Debian/Ubuntu: sudo apt install python3 python3-venv)"
fi
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "$py is older than Python 3.10"

data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
bin_dir="$HOME/.local/bin"
app_dir="$data_home/remedia"
venv="$app_dir/venv"
state="$app_dir/install-state"
link="$bin_dir/remedia"

if [ -z "$method" ]; then
    if command -v pipx >/dev/null 2>&1; then method=pipx; else method=venv; fi
fi
# Remember the generic folders this install creates, so uninstall.sh can remove them
# again when they are empty (a reinstall keeps the first record). Look before running
# pipx: any pipx command creates its home and bin folder.
created=()
for d in "$HOME/.local" "$bin_dir" "$data_home" "${XDG_CONFIG_HOME:-$HOME/.config}" \
         "${XDG_CONFIG_HOME:-$HOME/.config}/autostart" "${XDG_CACHE_HOME:-$HOME/.cache}"; do
    [ -e "$d" ] || created+=("$d")
done
pipx_home=""
if [ "$method" = pipx ]; then
    command -v pipx >/dev/null 2>&1 || die "--pipx given but pipx is not installed"
    pipx_before=()
    for d in "${PIPX_HOME:-}" "$HOME/.local/pipx" "$data_home/pipx"; do
        if [ -n "$d" ] && [ -e "$d" ]; then pipx_before+=("$d"); fi
    done
    pipx_home="$(pipx environment --value PIPX_HOME 2>/dev/null || echo "$HOME/.local/pipx")"
    case " ${pipx_before[*]:-} " in
        *" $pipx_home "*) ;;
        *) created+=("$pipx_home") ;;
    esac
fi
mkdir -p "$app_dir"
if [ ! -f "$state" ]; then
    { echo "method=$method"; for d in "${created[@]}"; do echo "created=$d"; done; } >"$state"
elif ! grep -qx "method=$method" "$state"; then
    sed -i "s/^method=.*/method=$method/" "$state"
fi

want_tray=0
if [ "$tray" = auto ]; then
    if "$py" -c 'import gi' >/dev/null 2>&1; then
        want_tray=1
    else
        say "no tray: $py cannot import PyGObject; for the tray run:" \
            "sudo apt install python3-gi python3-gi-cairo gir1.2-ayatanaappindicator3-0.1" \
            "and run this installer again"
    fi
fi
# The [tray] extra names PyGObject for Linux, which pip would try to compile: ask for the
# two pure-Python tray packages instead and let the distribution's gi serve PyGObject.
tray_pkgs=("pystray>=0.19.5" "watchdog>=4.0")

export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
start=$(date +%s)
say "installing $(basename "$source") with $method ($py)"
if [ "$method" = pipx ]; then
    quiet pipx install --force --system-site-packages --python "$py" \
        --pip-args=--prefer-binary "$source"
    if [ "$want_tray" = 1 ]; then
        quiet pipx inject --force --pip-args=--prefer-binary remedia-tray "${tray_pkgs[@]}"
    fi
    venv="$pipx_home/venvs/remedia-tray"
else
    if [ ! -x "$venv/bin/python" ]; then
        "$py" -m venv --system-site-packages "$venv" >/dev/null 2>&1 || {
            rm -rf "$venv"
            die "could not create a venv with $py (Debian/Ubuntu: sudo apt install python3-venv)"
        }
    fi
    pkgs=("$source")
    [ "$want_tray" = 1 ] && pkgs+=("${tray_pkgs[@]}")
    "$venv/bin/python" -m pip install --quiet --upgrade --prefer-binary "${pkgs[@]}" \
        || die "pip could not install ReMedia (see the messages above)"
    mkdir -p "$bin_dir"
    ln -sfn "$venv/bin/remedia" "$link"
fi
remedia="$venv/bin/remedia"
[ -x "$remedia" ] || die "the install did not produce $remedia"
"$remedia" --version >/dev/null || die "$remedia does not start"
seconds=$(( $(date +%s) - start ))

if [ "$integrate" = 1 ]; then
    args=(integrate install)
    [ "$all_fm" = 1 ] && args+=(--all)
    if "$remedia" "${args[@]}" >/dev/null; then
        say "added \"Sort with ReMedia\" to the file-manager menus"
    else
        say "warning: could not add the file-manager menu entries (remedia integrate install)"
    fi
fi
if [ "$want_tray" = 1 ] && [ "$autostart" = 1 ]; then
    if "$remedia" autostart enable >/dev/null; then
        say "the tray starts at login (remedia autostart disable stops that)"
    else
        say "warning: could not set the tray to start at login (remedia autostart enable)"
    fi
fi

size=$(du -sh "$venv" | cut -f1)
say "installed $("$remedia" --version) in ${seconds} s, ${size} in $venv"
case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) say "note: add $bin_dir to your PATH to run \`remedia\` (it is there: $link)" ;;
esac
