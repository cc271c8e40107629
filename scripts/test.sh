#!/usr/bin/env bash
# Set up and run the whole shopqr test suite: lint, then pytest on SQLite, then on MariaDB.
# Installs what is missing (Python packages in .venv, MariaDB, Redis, Chromium) on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
fc-list 2>/dev/null | grep -qi khmer || need_apt+=(fonts-khmeros)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# MariaDB on 127.0.0.1:3306 (root, empty password) and Redis on 127.0.0.1:6379
if ! mysqladmin -h127.0.0.1 -uroot ping >/dev/null 2>&1; then
  echo "== starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do mysqladmin -h127.0.0.1 -uroot ping >/dev/null 2>&1 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  echo "== starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'

echo "== ruff"
.venv/bin/ruff check .

export SHOPQR_REDIS_TEST_URL="${SHOPQR_REDIS_TEST_URL:-redis://127.0.0.1:6379/15}"

echo "== pytest on SQLite"
.venv/bin/python -m pytest -q -rs "$@"

echo "== pytest on MariaDB"
export SHOPQR_TEST_DATABASE_URL="${SHOPQR_TEST_DATABASE_URL:-mysql+pymysql://root@127.0.0.1:3306/shopqr_test}"
log=$(mktemp)
set +e
.venv/bin/python -m pytest -q -rs "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then exit "$status"; fi
if grep -q "MariaDB only" "$log"; then
  echo "MariaDB tests were skipped on the MariaDB pass" >&2
  exit 1
fi
