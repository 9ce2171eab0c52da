#!/usr/bin/env bash
# Wraps "ExLab Tray.app" (from PyInstaller's BUNDLE step) into a compressed .dmg with an
# Applications shortcut, then self-tests the app from the mounted image.
#   packaging/macos/make-dmg.sh DIST_DIR OUT.dmg
# Runs on macOS only (hdiutil); .github/workflows/packages.yml calls it.
set -euo pipefail
dist="$1"
dmg="$2"
app="$dist/ExLab Tray.app"
[ -d "$app" ] || { echo "make-dmg.sh: $app not found" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -volname "ExLab Tray" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"

# The image as a user gets it: mount it read-only and run the app's own self-test from it.
mount="$(mktemp -d)"
hdiutil attach -nobrowse -readonly -mountpoint "$mount" "$dmg" >/dev/null
status=0
"$mount/ExLab Tray.app/Contents/MacOS/exlab-tray" --self-test || status=$?
hdiutil detach "$mount" >/dev/null
exit "$status"
