#!/usr/bin/env bash
# Runs ExLab Tray from this checkout, installing what it needs first.
# Arguments are passed on: scripts/run-app.sh --demo, scripts/run-app.sh serve, ...
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/bootstrap.sh" app
exec "$repo/.venv/bin/exlab-tray" "$@"
