#!/usr/bin/env bash
# Remove ReMedia from this Mac for the current user: the app (/Applications or
# ~/Applications), the login item (LaunchAgent org.remedia.tray), the Finder Quick Action
# "Sort with ReMedia", settings, caches and logs. Photos and their FOLDER/.remedia undo
# journals are never touched. Running it again does nothing and succeeds.
#
#   installers/macos/uninstall.sh [--keep-settings]
#
#   --keep-settings   keep ~/Library/Application Support/ReMedia (settings, downloaded models)
# Environment (tests): REMEDIA_APP_DIRS (default "/Applications $HOME/Applications"),
# REMEDIA_ALLOW_NON_MACOS=1 to run the file removal on another system.
set -euo pipefail

say() { printf 'remedia uninstall: %s\n' "$*"; }

keep=0
for arg in "$@"; do
    case "$arg" in
        --keep-settings) keep=1 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) say "unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done
if [ "$(uname -s)" != Darwin ] && [ "${REMEDIA_ALLOW_NON_MACOS:-0}" != 1 ]; then
    say "this removes ReMedia from macOS; on Linux use installers/linux/uninstall.sh" >&2
    exit 1
fi

label="org.remedia.tray"
lib="$HOME/Library"
read -r -a app_dirs <<<"${REMEDIA_APP_DIRS:-/Applications $HOME/Applications}"

# 1. Stop the tray: unload the login item, then end a copy started by hand.
if command -v launchctl >/dev/null 2>&1; then
    launchctl bootout "gui/$(id -u)/$label" 2>/dev/null || true
fi
for dir in "${app_dirs[@]}"; do
    exe="$dir/ReMedia.app/Contents/MacOS/ReMedia"
    if [ -x "$exe" ] && command -v pkill >/dev/null 2>&1; then
        if pkill -u "$(id -u)" -f -- "$exe" 2>/dev/null; then say "stopped the running ReMedia"; fi
    fi
done

# 2. The app removes its own Quick Action and login item (it keeps a manifest of them).
for dir in "${app_dirs[@]}"; do
    exe="$dir/ReMedia.app/Contents/MacOS/ReMedia"
    if [ -x "$exe" ]; then
        "$exe" autostart disable >/dev/null 2>&1 || true
        "$exe" integrate uninstall >/dev/null 2>&1 || true
    fi
done
# Fallback when the app is already gone.
rm -f "$lib/LaunchAgents/$label.plist"
rm -rf "$lib/Services/Sort with ReMedia.workflow"
if [ -x /System/Library/CoreServices/pbs ]; then /System/Library/CoreServices/pbs -update || true; fi
say "removed the Finder Quick Action and the login item"

# 3. The app.
for dir in "${app_dirs[@]}"; do
    if [ -d "$dir/ReMedia.app" ]; then
        rm -rf "$dir/ReMedia.app" || say "could not remove $dir/ReMedia.app (drag it to the Trash)"
    fi
done
say "removed ReMedia.app"

# 4. Caches, logs, runtime files; settings and models unless --keep-settings.
rm -rf "$lib/Caches/remedia" "$lib/Caches/ReMedia" "$lib/Caches/TemporaryItems/ReMedia" \
       "$lib/Logs/ReMedia" "$lib/Preferences/$label.plist" "$lib/Saved Application State/$label.savedState"
if [ "$keep" = 1 ]; then
    say "kept your settings in $lib/Application Support/ReMedia"
else
    rm -rf "$lib/Application Support/ReMedia" "$lib/Application Support/remedia"
    say "removed the cache, settings and downloaded models"
fi
say "done; your photos and their duplicates/ and similar/ folders are untouched"
