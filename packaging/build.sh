#!/usr/bin/env bash
# Builds the Linux installer: a PyInstaller one-folder bundle wrapped in a .deb.
#   packaging/build.sh [--out DIR]      (default DIR: dist/ at the repo root)
# Writes DIR/exlab-tray_<version>_<arch>.deb. Intermediate files go to packaging/build/
# (git-ignored). Installs what it needs first: .venv via scripts/bootstrap.sh, then the
# `package` extra (PyInstaller) into it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo/dist"
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"

work="$repo/packaging/build"
python="$repo/.venv/bin/python"
say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
started=$SECONDS

# One build at a time in packaging/build (two test runs may call this at once).
mkdir -p "$work"
exec 9>"$work/.lock"
if ! flock -w 900 9; then
    echo "build.sh: another build has held $work/.lock for 15 minutes" >&2
    exit 1
fi

if ! command -v dpkg-deb >/dev/null 2>&1; then
    echo "build.sh: dpkg-deb not found; the .deb can only be built on Debian or Ubuntu" >&2
    exit 1
fi
[ -x "$python" ] || "$repo/scripts/bootstrap.sh" app
if ! "$python" -c 'import PyInstaller' 2>/dev/null; then
    say "installing the 'package' extra (PyInstaller) into .venv"
    "$python" -m pip install -q -e "$repo[package]"
fi

version="$("$python" -c 'import tray_app; print(tray_app.__version__)')"
arch="$(dpkg --print-architecture)"
deb="$out/exlab-tray_${version}_${arch}.deb"

# --- bundle -----------------------------------------------------------------------------
say "PyInstaller one-folder bundle (exlab-tray $version)"
bundle_started=$SECONDS
rm -rf "$work/dist" "$work/root"
"$python" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$work/dist" --workpath "$work/pyinstaller" \
    "$repo/packaging/exlab-tray.spec"
bundle="$work/dist/exlab-tray"
bundle_seconds=$((SECONDS - bundle_started))
if find "$bundle" -name 'libqgtk3*' | grep -q .; then
    echo "build.sh: the GTK3 platform theme slipped into the bundle" >&2
    exit 1
fi

# --- package tree -------------------------------------------------------------------------
say "assembling the package tree"
root="$work/root"
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
    "$root/usr/share/metainfo" "$root/usr/share/doc/exlab-tray" "$root/etc/xdg/exlab-tray"
cp -a "$bundle" "$root/opt/exlab-tray"
# PyInstaller's bootloader resolves the symlink, so the bundle finds its _internal folder.
ln -s /opt/exlab-tray/exlab-tray "$root/usr/bin/exlab-tray"
install -m 0644 "$repo/resources/exlab-tray.desktop" "$root/usr/share/applications/"
install -m 0644 "$repo/packaging/io.exlab.Tray.metainfo.xml" "$root/usr/share/metainfo/"
install -m 0644 "$repo/packaging/deb/copyright" "$root/usr/share/doc/exlab-tray/copyright"
# The site's policy file (every user's defaults), all comments: a conffile, kept on upgrade.
install -m 0644 "$repo/packaging/site/settings.toml" "$root/etc/xdg/exlab-tray/settings.toml"
echo /etc/xdg/exlab-tray/settings.toml > "$root/DEBIAN/conffiles"
install -m 0755 "$repo/packaging/deb/preinst" "$root/DEBIAN/preinst"
QT_QPA_PLATFORM=offscreen "$python" "$repo/packaging/render_icons.py" \
    --hicolor "$root/usr/share/icons/hicolor"

# dpkg records modes as they are; make them the usual ones whatever the umask was.
chmod -R u+rwX,go+rX,go-w "$root"
installed_kib="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_kib/" \
    "$repo/packaging/deb/control.in" > "$root/DEBIAN/control"

# --- checks on the metadata (only where the validators are installed) ---------------------
if command -v appstreamcli >/dev/null 2>&1; then
    appstreamcli validate --no-net --explain "$root/usr/share/metainfo/io.exlab.Tray.metainfo.xml" >&2
else
    say "appstreamcli not installed: skipping AppStream validation (apt-get install appstream)"
fi
if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate "$root/usr/share/applications/exlab-tray.desktop"
fi

# --- .deb ---------------------------------------------------------------------------------
# pack.py writes what `dpkg-deb --build --root-owner-group -Zgzip -z1` would, except that
# the package does not claim /opt (gzip -1: 2 s instead of 30 s for xz, ~50% larger file).
say "packing the .deb"
rm -f "$deb"
"$python" "$repo/packaging/deb/pack.py" "$root" "$deb"
dpkg-deb --info "$deb" >/dev/null  # dpkg reads it back

bundle_mb="$(du -sm "$bundle" | cut -f1)"
deb_mb="$(du -m "$deb" | cut -f1)"
say "built $deb"
printf 'bundle: %s MB (PyInstaller %s s), .deb: %s MB, total build: %s s\n' \
    "$bundle_mb" "$bundle_seconds" "$deb_mb" "$((SECONDS - started))"
