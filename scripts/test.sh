#!/usr/bin/env bash
# Set up and run the whole shopqr test suite: lint, then pytest on SQLite and on MariaDB, the two
# passes at once (each its own process and log, printed when it ends). Installs what is missing
# (Python packages in .venv, MariaDB, Redis, Chromium, node and npm) on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

# A database server or Redis named by SHOPQR_TEST_DATABASE_URL / SHOPQR_REDIS_TEST_URL is used as
# it is; otherwise MariaDB and Redis run on this machine (installed and started here if needed).
need_apt=()
if [ -z "${SHOPQR_TEST_DATABASE_URL:-}" ]; then
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
fi
if [ -z "${SHOPQR_REDIS_TEST_URL:-}" ]; then
  command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
fi
[ -x "${SHOPQR_CHROMIUM:-/usr/bin/chromium}" ] || need_apt+=(chromium)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)  # the KHQR parity test runs NBC's npm SDK
# grep reads all of fc-list: with -q it would stop at the first match, and under pipefail the
# SIGPIPE fc-list then gets counted as "no Khmer font" (apt-get ran on every run)
fc-list 2>/dev/null | grep -i khmer >/dev/null || need_apt+=(fonts-khmeros)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing: ${need_apt[*]}. Run this as root on Debian (it installs them with apt-get)," >&2
    echo "or install them yourself (README: Before you start)." >&2
    exit 1
  fi
  echo "== installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# MariaDB on 127.0.0.1:3306 (root, empty password) and Redis on 127.0.0.1:6379
if [ -z "${SHOPQR_TEST_DATABASE_URL:-}" ] && ! mysqladmin -h127.0.0.1 -uroot ping >/dev/null 2>&1; then
  echo "== starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do mysqladmin -h127.0.0.1 -uroot ping >/dev/null 2>&1 && break; sleep 1; done
fi
if [ -z "${SHOPQR_REDIS_TEST_URL:-}" ] && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  echo "== starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Install only when pyproject.toml changed since the last install.
if [ ! -e .venv/.installed-dev ] || [ pyproject.toml -nt .venv/.installed-dev ]; then
  echo "== installing Python packages (first run: a few minutes)…"
  .venv/bin/pip install --disable-pip-version-check --progress-bar on -e '.[dev]'
  touch .venv/.installed-dev
fi

echo "== ruff"
.venv/bin/ruff check .

# The two passes run at once. They share nothing that matters: the SQLite pass has its own
# temporary files, the MariaDB pass its own database; their Redis channels are named after their
# databases (REDIS_PREFIX), and by default they use different Redis dbs as well.
mariadb_url="${SHOPQR_TEST_DATABASE_URL:-mysql+pymysql://root@127.0.0.1:3306/shopqr_test}"
logs=$(mktemp -d)
echo "== pytest on SQLite and on MariaDB, at once (logs in $logs)"
# The browser tests (screens, driven in Chromium) are shared between the passes: each runs once,
# half of the modules on SQLite and half on MariaDB (tests/conftest.py); everything else runs on
# both. SHOPQR_BROWSER_SHARE= (empty) runs them all on both.
env -u SHOPQR_TEST_DATABASE_URL \
  SHOPQR_BROWSER_SHARE="${SHOPQR_BROWSER_SHARE-1/2}" \
  SHOPQR_REDIS_TEST_URL="${SHOPQR_REDIS_TEST_URL:-redis://127.0.0.1:6379/15}" \
  .venv/bin/python -m pytest -q -rs "$@" >"$logs/sqlite.log" 2>&1 &
sqlite_pid=$!
SHOPQR_TEST_DATABASE_URL="$mariadb_url" \
  SHOPQR_BROWSER_SHARE="${SHOPQR_BROWSER_SHARE-2/2}" \
  SHOPQR_REDIS_TEST_URL="${SHOPQR_REDIS_TEST_URL:-redis://127.0.0.1:6379/13}" \
  .venv/bin/python -m pytest -q -rs "$@" >"$logs/mariadb.log" 2>&1 &
mariadb_pid=$!
trap 'kill "$sqlite_pid" "$mariadb_pid" 2>/dev/null || true' INT TERM

set +e
wait "$sqlite_pid"
sqlite_status=$?
echo "== pytest on SQLite (exit $sqlite_status, after ${SECONDS}s)"
cat "$logs/sqlite.log"
wait "$mariadb_pid"
mariadb_status=$?
echo "== pytest on MariaDB (exit $mariadb_status, after ${SECONDS}s)"
cat "$logs/mariadb.log"
set -e

status=0
if [ "$sqlite_status" -ne 0 ]; then
  echo "the SQLite pass failed (exit $sqlite_status)" >&2
  status=$sqlite_status
fi
if [ "$mariadb_status" -ne 0 ]; then
  echo "the MariaDB pass failed (exit $mariadb_status)" >&2
  status=$mariadb_status
fi
if grep -q "MariaDB only" "$logs/mariadb.log"; then
  echo "MariaDB tests were skipped on the MariaDB pass" >&2
  status=1
fi
exit "$status"
