#!/usr/bin/env bash
# Remove ReMedia for the current user: the program (pipx app or venv + ~/.local/bin/remedia),
# the file-manager menu entries, start at login, the feature cache, the settings and the
# downloaded AI model. Photos and the FOLDER/.remedia undo journals are never touched.
#
#   installers/linux/uninstall.sh [--keep-settings]
#
#   --keep-settings   keep ~/.config/ReMedia (watched folders, strictness) and downloaded models
#   --purge           accepted for compatibility: removing everything is already the default
# Running it again (or without an install) does nothing and succeeds.
set -euo pipefail

say() { printf 'remedia uninstall: %s\n' "$*"; }

keep=0
for arg in "$@"; do
    case "$arg" in
        --keep-settings) keep=1 ;;
        --purge) keep=0 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) say "unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
config_home="${XDG_CONFIG_HOME:-$HOME/.config}"
cache_home="${XDG_CACHE_HOME:-$HOME/.cache}"
app_dir="$data_home/remedia"
venv="$app_dir/venv"
state="$app_dir/install-state"
link="$HOME/.local/bin/remedia"
# pipx's home, found without running pipx (every pipx command creates its folders).
pipx_home=""
for d in "${PIPX_HOME:-}" "$HOME/.local/pipx" "$data_home/pipx"; do
    if [ -n "$d" ] && [ -d "$d/venvs/remedia-tray" ]; then pipx_home="$d"; break; fi
done

# The remedia command of this install (venv first, then pipx), if it still runs.
remedia=""
for cand in "$venv/bin/remedia" ${pipx_home:+"$pipx_home/venvs/remedia-tray/bin/remedia"}; do
    if [ -x "$cand" ] && "$cand" --version >/dev/null 2>&1; then remedia="$cand"; break; fi
done
created=()
if [ -f "$state" ]; then
    while IFS= read -r line; do
        case "$line" in created=*) created+=("${line#created=}") ;; esac
    done <"$state"
fi

# 1. Stop a running tray (this user's processes started from this install only).
if command -v pkill >/dev/null 2>&1; then
    pats=("$venv/bin/python[0-9.]* -m remedia_tray" "$venv/bin/remedia tray" "$link tray")
    [ -n "$pipx_home" ] && pats+=("$pipx_home/venvs/remedia-tray/bin/")
    stopped=0
    for pat in "${pats[@]}"; do
        if pkill -TERM -u "$(id -u)" -f -- "$pat" 2>/dev/null; then stopped=1; fi
    done
    if [ "$stopped" = 1 ]; then
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            alive=0
            for pat in "${pats[@]}"; do pgrep -u "$(id -u)" -f -- "$pat" >/dev/null && alive=1; done
            [ "$alive" = 0 ] && break
            sleep 0.5
        done
        for pat in "${pats[@]}"; do pkill -KILL -u "$(id -u)" -f -- "$pat" 2>/dev/null || true; done
        say "stopped the running ReMedia tray"
    fi
fi

# 2. Start at login and the menu entries (the app keeps a manifest of what it wrote).
autostart_file="$config_home/autostart/remedia-tray.desktop"
if [ -n "$remedia" ]; then
    "$remedia" autostart disable >/dev/null || true
    "$remedia" integrate uninstall >/dev/null || say "warning: could not remove the menu entries"
fi
# Fallback when the program is already gone: our own files, by name and marker.
if [ -f "$autostart_file" ] && grep -q '^X-ReMedia-Autostart=true' "$autostart_file"; then
    rm -f "$autostart_file"
fi
rm -f "$data_home/nautilus-python/extensions/remedia_sort.py" \
      "$data_home/nautilus/scripts/Sort with ReMedia" \
      "$data_home/nemo/actions/remedia-sort.nemo_action" \
      "$data_home/nemo/actions/remedia-sort-here.nemo_action" \
      "$data_home/kio/servicemenus/remedia-sort.desktop"
say "removed the menu entries and start at login"

# 3. The program.
if [ -n "$pipx_home" ]; then
    if command -v pipx >/dev/null 2>&1; then
        PIPX_HOME="$pipx_home" pipx uninstall remedia-tray >/dev/null 2>&1 || true
    fi
    rm -rf "$pipx_home/venvs/remedia-tray"
    [ -L "$link" ] && [ ! -e "$link" ] && rm -f "$link"   # pipx's link, now dangling
fi
if [ -L "$link" ]; then
    case "$(readlink "$link")" in
        "$venv"/*|*/venvs/remedia-tray/*) rm -f "$link" ;;
        *) say "left $link alone: it does not point into a ReMedia install" ;;
    esac
fi
rm -rf "$venv"
say "removed the program"

# 4. Caches, runtime files, settings and data (both spellings the app uses).
rm -rf "$cache_home/remedia" "$cache_home/ReMedia" "$data_home/ReMedia"
[ -n "${XDG_RUNTIME_DIR:-}" ] && rm -rf "$XDG_RUNTIME_DIR/ReMedia"
rm -rf "/tmp/runtime-$(id -u)/ReMedia" 2>/dev/null || true
if [ "$keep" = 1 ]; then
    rm -f "$state"
    rmdir "$app_dir" 2>/dev/null || true
    say "kept your settings ($config_home/ReMedia) and downloaded models ($app_dir)"
else
    rm -rf "$config_home/ReMedia" "$config_home/remedia" "$app_dir"
    say "removed the cache, settings and downloaded models"
fi

# 5. Generic folders the install created, if nothing else uses them now (deepest first).
if [ -n "$pipx_home" ] && [ -d "$pipx_home" ]; then
    for d in "${created[@]}"; do
        # pipx's own folder, created for us: remove it when no other pipx app is left.
        if [ "$d" = "$pipx_home" ] && [ -z "$(ls -A "$pipx_home/venvs" 2>/dev/null)" ]; then
            rm -rf "$pipx_home"
        fi
    done
fi
if [ "${#created[@]}" -gt 0 ]; then
    while IFS= read -r d; do
        rmdir "$d" 2>/dev/null || true
    done < <(printf '%s\n' "${created[@]}" | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-)
fi
say "done; your photos and their duplicates/ and similar/ folders are untouched"
