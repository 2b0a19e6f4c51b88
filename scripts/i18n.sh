#!/usr/bin/env bash
# Refresh the translation catalog after changing user-visible strings:
#   scripts/i18n.sh          extract messages, update vi/messages.po (then translate the new entries), compile
# tests/test_translations.py fails while any message lacks a Vietnamese translation.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.venv/bin/pybabel
$B extract -F babel.cfg -k _l -k N_ -o meetings/translations/messages.pot . >/dev/null 2>&1
$B update -i meetings/translations/messages.pot -d meetings/translations -l vi --no-fuzzy-matching >/dev/null 2>&1
$B compile -f -d meetings/translations >/dev/null 2>&1
echo "catalog updated: meetings/translations/vi/LC_MESSAGES/messages.po"
