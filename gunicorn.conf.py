"""gunicorn settings for shopqr. The Procfile runs `gunicorn -c gunicorn.conf.py app:app`;
the README's deployment section says how to restart without downtime (scripts/restart.sh).

Environment: HOST (0.0.0.0), PORT (8000), WEB_CONCURRENCY (worker processes, 1),
GUNICORN_THREADS (threads per worker, 64: each open kitchen/POS websocket holds one),
GUNICORN_PIDFILE (where the master writes its pid; scripts/restart.sh needs it)."""

import os
import signal

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
timeout = 60
# Guest requests finish within this; staff websockets do not wait for it (see below).
graceful_timeout = 30
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
pidfile = os.environ.get("GUNICORN_PIDFILE") or None


def post_worker_init(worker):
    """The worker is ready: start the payment poller now (not on the first request), and make
    its SIGTERM also tell shopqr that the process is stopping, so open staff websockets close
    with 1012 at once (their pages reconnect to the next process) and the poller gives up its
    lease. Otherwise the worker would wait for every open socket until graceful_timeout."""
    from shopqr import lifecycle
    from shopqr.services import poller

    poller.ensure_started(worker.wsgi)
    if pidfile:  # scripts/restart.sh waits for this before it stops the old master
        open(f"{pidfile}.{os.getppid()}.ready", "w").close()
    stop_worker = worker.handle_exit

    def handle_exit(sig, frame):
        lifecycle.begin_shutdown()
        stop_worker(sig, frame)

    signal.signal(signal.SIGTERM, handle_exit)


def worker_exit(server, worker):
    """The worker's last moment: make sure the poller's lease is given up."""
    from shopqr import lifecycle

    lifecycle.finish_shutdown(timeout=10)
