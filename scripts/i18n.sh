#!/usr/bin/env bash
# The message catalog's workflow (Babel): extract the marked strings into the template,
# start or update a language's catalog, compile the catalogs the app loads.
#
#   scripts/i18n.sh extract          # tray_app -> resources/locale/exlab-tray.pot
#   scripts/i18n.sh init de          # a new language from the template
#   scripts/i18n.sh update           # every language's .po follows the template
#   scripts/i18n.sh compile          # .po -> .mo (what tray_app/i18n.py loads)
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel=".venv/bin/pybabel"
[ -x "$pybabel" ] || pybabel="pybabel"
locale="resources/locale"
template="$locale/exlab-tray.pot"

case "${1:-}" in
    extract)
        mkdir -p "$locale"
        "$pybabel" extract -F babel.cfg --project=exlab-tray --no-location --sort-output \
            -k _ -k gettext_ -k N_ -k ngettext:1,2 -c Translators: -o "$template" tray_app
        ;;
    init)
        [ -n "${2:-}" ] || { echo "usage: $0 init LANGUAGE" >&2; exit 2; }
        "$pybabel" init -D exlab-tray -i "$template" -d "$locale" -l "$2"
        ;;
    update)
        "$pybabel" update -D exlab-tray -i "$template" -d "$locale" --ignore-obsolete
        ;;
    compile)
        "$pybabel" compile -D exlab-tray -d "$locale" --statistics
        ;;
    *)
        echo "usage: $0 extract | init LANGUAGE | update | compile" >&2
        exit 2
        ;;
esac
