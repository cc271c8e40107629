#!/usr/bin/env bash
# Restart a running shopqr without downtime (gunicorn's own upgrade: USR2, then TERM the old
# master). The new master inherits the listening socket, so no connection is refused or lost:
# old and new workers take turns on one accept queue until the old ones leave. The old
# workers close their kitchen/POS websockets with 1012 at once (the pages reconnect to the new
# workers), finish the guest requests in flight, and give up the payment poller's lease.
#
#   GUNICORN_PIDFILE=instance/gunicorn.pid gunicorn -c gunicorn.conf.py app:app   # started so
#   ./scripts/restart.sh [pidfile]                                                 # each deploy
#
# Deploy the new code (and run `flask --app app db upgrade`) first: the new master loads it.
# The old master is stopped only once a new worker has loaded the app and passed the readiness
# check (what /readyz answers, asked inside that worker: over the shared port an old worker
# might answer). A new master that is not ready (say the release step did not run) is stopped
# again, and the old one keeps serving.
set -euo pipefail
# running: the process exists and is not a zombie (an exited child its parent has not reaped)
running() { local state; state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; [[ "$state" != Z* ]]; }
pidfile="${1:-${GUNICORN_PIDFILE:-instance/gunicorn.pid}}"
[ -s "$pidfile" ] || { echo "no pid in $pidfile: is gunicorn running with GUNICORN_PIDFILE?" >&2; exit 1; }
# stop the new master, and wait until the old one (its parent) has reaped it: until then the old
# master would ignore the next restart's USR2 ("Child exists")
stop_new() {
  kill -TERM "$new" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$new" 2>/dev/null || break; sleep 0.1; done
}
old=$(cat "$pidfile")
running "$old" || { echo "gunicorn $old (from $pidfile) is not running" >&2; exit 1; }

echo "starting a new gunicorn next to $old"
kill -USR2 "$old"
new="$old"
for _ in $(seq 1 600); do  # the new master writes <pidfile>.2 (and takes <pidfile> once the
  new=$(cat "$pidfile.2" 2>/dev/null || true)  # old one is gone)
  [ -n "$new" ] && [ "$new" != "$old" ] && break
  new="$old"
  sleep 0.1
done
if [ "$new" = "$old" ]; then
  echo "no new master within 60 s: $old keeps serving, nothing was stopped" >&2
  exit 1
fi
for _ in $(seq 1 600); do  # a worker of the new master has loaded the app and checked that
  # the database is ready for it (gunicorn.conf.py writes .ready, or .unready with the reason)
  [ -e "$pidfile.$new.ready" ] || [ -e "$pidfile.$new.unready" ] && break
  sleep 0.1
done
if [ ! -e "$pidfile.$new.ready" ]; then
  if [ -e "$pidfile.$new.unready" ]; then
    echo "the new master $new is not ready: $(cat "$pidfile.$new.unready")" >&2
    echo "stopping it, $old keeps serving" >&2
  else
    echo "the new master $new booted no worker within 60 s: stopping it, $old keeps serving" >&2
  fi
  stop_new
  rm -f "$pidfile.$new.unready"
  exit 1
fi

echo "new gunicorn $new is serving after ${SECONDS}s; stopping $old"
kill -TERM "$old"
for _ in $(seq 1 400); do
  running "$old" || break
  sleep 0.1
done
rm -f "$pidfile.$old.ready" "$pidfile.$old.unready"
if running "$old"; then
  echo "gunicorn $old is still stopping (graceful timeout)" >&2
else
  for _ in $(seq 1 50); do  # the new master takes over the pidfile
    [ "$(cat "$pidfile" 2>/dev/null)" = "$new" ] && break
    sleep 0.1
  done
  echo "restarted: $old -> $new in ${SECONDS}s"
fi
