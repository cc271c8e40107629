#!/usr/bin/env bash
# Translations: `scripts/i18n.sh` extracts the strings, updates the Khmer catalog and compiles
# it. Translate new entries in shopqr/translations/km/LC_MESSAGES/messages.po, then run again.
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel=.venv/bin/pybabel
$pybabel extract -F babel.cfg -k _l -o shopqr/translations/messages.pot --no-location . >/dev/null
if [ -f shopqr/translations/km/LC_MESSAGES/messages.po ]; then
  $pybabel update -i shopqr/translations/messages.pot -d shopqr/translations -l km --no-fuzzy-matching >/dev/null
else
  $pybabel init -i shopqr/translations/messages.pot -d shopqr/translations -l km >/dev/null
fi
$pybabel compile -d shopqr/translations -l km
