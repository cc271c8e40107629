#!/usr/bin/env bash
# Set up and run the shopqr demo: SQLite in instance/, the Lucky Cafe demo shop, the built-in
# Bakong simulator, the payment poller. Open the printed table (or counter, for takeaway) URLs
# in a browser.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-5000}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Install only when pyproject.toml changed since the last install (the demo's, or test.sh's,
# which includes it).
current() { [ -e "$1" ] && [ ! pyproject.toml -nt "$1" ]; }
if ! current .venv/.installed-demo && ! current .venv/.installed-dev; then
  echo "installing Python packages (first run: a few minutes)…"
  .venv/bin/pip install --disable-pip-version-check --progress-bar on -e .
  touch .venv/.installed-demo
fi
# The demo is development: the built-in Bakong simulator, a development key. Without these two
# shopqr starts as production (a real SECRET_KEY required, no simulator).
export SHOPQR_ENV=development BAKONG_SIMULATOR=1
# Telegram notifications go to the built-in fake Bot API (its chat page opens from the owner's
# "Open Telegram" link under Settings → Telegram), unless a real bot token is given.
if [ -z "${TELEGRAM_BOT_TOKEN:-}" ]; then
  export TELEGRAM_FAKE=1 TELEGRAM_BOT_TOKEN=000000:demo-fake-bot
fi
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:${PORT}}"
.venv/bin/flask --app app demo
echo
echo "Serving on ${PUBLIC_BASE_URL} (Ctrl-C stops)"
exec .venv/bin/flask --app app run --host "${HOST:-127.0.0.1}" --port "${PORT}" --with-threads
