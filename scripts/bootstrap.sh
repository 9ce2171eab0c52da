#!/usr/bin/env bash
# Prepares a machine to run or test ExLab Tray: the system libraries Qt needs
# (Debian/Ubuntu, only when missing), a virtual environment in .venv and the
# Python packages. Safe to run again: every step is skipped when already done.
#   scripts/bootstrap.sh app     what running the app needs
#   scripts/bootstrap.sh test    plus the virtual display, tray host and
#                                notification daemon the end-to-end tests drive
set -euo pipefail

profile="${1:-app}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

# Debian package names; see shared notes "System libraries".
qt_runtime=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libglib2.0-0)
qt_xcb=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
        libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libx11-xcb1)
desktop_test=(xvfb xauth trayer x11-utils xdotool imagemagick dbus dbus-x11 dunst
              haskell-status-notifier-item-utils haskell-gtk-sni-tray-utils
              procps at-spi2-core python3-pyatspi
              openssh-server rsync rclone  # the NAS sync tests: a real sshd, rsync, rclone
              iproute2)  # ... and a network address that comes and goes (ip)

missing_debs() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || echo "$pkg"
    done
}

install_debs() {
    local -a missing
    mapfile -t missing < <(missing_debs "$@")
    [ "${#missing[@]}" -eq 0 ] && return 0
    say "installing system packages: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "$(uname -s)" = Linux ] && command -v dpkg-query >/dev/null 2>&1; then
    pkgs=("${qt_runtime[@]}" "${qt_xcb[@]}")
    [ "$profile" = test ] && pkgs+=("${desktop_test[@]}")
    install_debs "${pkgs[@]}"
fi

# The distribution's interpreter comes first: Debian builds it with PGO and LTO,
# and it runs ExLab Tray's hot paths about 1.5x faster than an interpreter built
# from source without them (pyenv's default); see benchmarks/README.md.
pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11 \
                     /usr/bin/python3 python3.13 python3.12 python3.11 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "ExLab Tray needs Python 3.11 or newer; none was found on PATH." >&2
    return 1
}

if [ ! -x "$venv/bin/python" ]; then
    python="$(pick_python)"
    say "creating virtual environment with $($python --version)"
    if ! "$python" -m venv "$venv" 2>/dev/null; then
        # Debian splits venv out of the interpreter package.
        [ "$(uname -s)" = Linux ] && install_debs python3-venv
        rm -rf "$venv"
        "$python" -m venv "$venv"
    fi
fi

extras="dev"
stamp="$venv/.exlab-installed-$extras"
if [ ! -f "$stamp" ] || [ "$repo/pyproject.toml" -nt "$stamp" ]; then
    say "installing Python packages into .venv"
    "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$venv/bin/python" -m pip install -q -e "$repo[$extras]"
    touch "$stamp"
fi

# Our modules' bytecode, as an installed package has it: without it every start compiles
# ~75 modules from source (~120 ms of `serve`'s start; benchmarks/README.md), and a shell
# that sets PYTHONDONTWRITEBYTECODE never caches it. Up-to-date files are skipped.
"$venv/bin/python" -m compileall -q "$repo/tray_app" >/dev/null
