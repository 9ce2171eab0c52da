#!/usr/bin/env bash
# Runs the whole test suite: lint, format check, type check, then pytest
# (slow end-to-end tests included). Installs what it needs first.
# Extra arguments go to pytest, e.g. scripts/run-tests.sh -m "not slow".
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/scripts/bootstrap.sh" test
cd "$repo"
bin="$repo/.venv/bin"
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"

echo "==> ruff check" >&2
"$bin/ruff" check .
echo "==> ruff format --check" >&2
"$bin/ruff" format --check .
echo "==> mypy" >&2
"$bin/mypy"
echo "==> pytest" >&2
"$bin/python" -m pytest --cov=tray_app --cov-report=term:skip-covered "$@"
echo "==> coverage of tray_app/sessions (must be >= 90%)" >&2
"$bin/python" -m coverage report --include='tray_app/sessions/*' --fail-under=90
