#!/usr/bin/env bash
# Build ReMedia.app (PyInstaller, one folder, menu-bar only) and a .dmg, on a Mac.
#
#   installers/macos/build_app.sh [--no-dmg]
#
# Output: dist/macos/ReMedia.app and dist/macos/ReMedia-<version>.dmg in the checkout.
# PyInstaller cannot cross-build: this refuses to run anywhere but macOS.
# The app's executable is the `remedia` command: without arguments (a double click in
# Finder, or login) it runs the tray; with arguments it is the CLI. After copying the app
# to /Applications, the Finder Quick Action and start at login come from the app itself:
#   /Applications/ReMedia.app/Contents/MacOS/ReMedia integrate install
#   /Applications/ReMedia.app/Contents/MacOS/ReMedia autostart enable
# installers/macos/uninstall.sh removes all of it again.
set -euo pipefail

say() { printf 'remedia build_app: %s\n' "$*"; }
die() { printf 'remedia build_app: error: %s\n' "$*" >&2; exit 1; }

[ "$(uname -s)" = Darwin ] || die "this builds a macOS app and needs macOS (PyInstaller, hdiutil); nothing was done"

make_dmg=1
for arg in "$@"; do
    case "$arg" in
        --no-dmg) make_dmg=0 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $arg" ;;
    esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/dist/macos"
work="$repo/build/macos"
py="${PYTHON:-python3}"

rm -rf "$work" "$out/ReMedia.app"
mkdir -p "$work" "$out"
say "creating a build venv in $work/venv"
"$py" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet pyinstaller "${repo}[tray]"
version="$("$work/venv/bin/python" -c 'import remedia_tray; print(remedia_tray.__version__)')"

cat >"$work/ReMedia.py" <<'PY'
import sys

from remedia_tray.cli import main

# Finder and launchd start the app without arguments: run the tray.
raise SystemExit(main(sys.argv[1:] or ["tray"]))
PY

icon_args=()
if command -v iconutil >/dev/null 2>&1; then
    iconset="$work/remedia.iconset"
    mkdir -p "$iconset"
    for size in 16 32 128 256 512; do
        sips -z "$size" "$size" "$repo/remedia_tray/assets/tray-idle.png" \
            --out "$iconset/icon_${size}x${size}.png" >/dev/null
    done
    iconutil -c icns "$iconset" -o "$work/remedia.icns"
    icon_args=(--icon "$work/remedia.icns")
fi

say "running PyInstaller"
"$work/venv/bin/pyinstaller" --noconfirm --clean --windowed --name ReMedia \
    --osx-bundle-identifier org.remedia.tray \
    --collect-data remedia_tray --collect-submodules remedia_tray \
    --distpath "$out" --workpath "$work/pyinstaller" --specpath "$work" \
    ${icon_args[@]+"${icon_args[@]}"} "$work/ReMedia.py"  # macOS bash 3.2: empty array

app="$out/ReMedia.app"
say "merging installers/macos/Info.plist into the bundle"
"$work/venv/bin/python" - "$here/Info.plist" "$app/Contents/Info.plist" "$version" <<'PY'
import plistlib
import sys

ours_path, theirs_path, version = sys.argv[1:]
with open(ours_path, "rb") as f:
    ours = plistlib.load(f)
with open(theirs_path, "rb") as f:
    merged = plistlib.load(f)
for key, value in ours.items():
    merged[key] = value.replace("@VERSION@", version) if isinstance(value, str) else value
if "CFBundleIconFile" in ours and not merged.get("CFBundleIconFile", "").endswith(".icns"):
    merged.pop("CFBundleIconFile")
with open(theirs_path, "wb") as f:
    plistlib.dump(merged, f)
PY
plutil -lint "$app/Contents/Info.plist" >/dev/null
# Changing Info.plist breaks PyInstaller's ad-hoc signature; sign again (ad hoc).
codesign --force --deep --sign - "$app"
say "built $app ($(du -sh "$app" | cut -f1))"

if [ "$make_dmg" = 1 ]; then
    stage="$work/dmg"
    rm -rf "$stage"
    mkdir -p "$stage"
    cp -R "$app" "$stage/"
    ln -s /Applications "$stage/Applications"
    dmg="$out/ReMedia-$version.dmg"
    hdiutil create -quiet -volname "ReMedia $version" -srcfolder "$stage" -ov -format UDZO "$dmg"
    say "built $dmg ($(du -sh "$dmg" | cut -f1))"
fi
