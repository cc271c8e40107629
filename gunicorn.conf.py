"""gunicorn settings for shopqr. The Procfile runs `gunicorn -c gunicorn.conf.py app:app`;
the README's deployment section says how to restart without downtime (scripts/restart.sh).

Health checks: GET /healthz (liveness: the process is up and its database answers) and GET
/readyz (readiness: the database is at the newest migration and the poller's lease table
answers; 503 with a JSON reason otherwise). Point a load balancer's health check at /readyz.

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
    if "shopqr_events" not in getattr(worker.wsgi, "extensions", {}):
        return  # not shopqr (bench/hello.py, the benchmark's bare Flask app)
    from shopqr import lifecycle, ops
    from shopqr.services import poller

    poller.ensure_started(worker.wsgi)
    with worker.wsgi.app_context():  # what /readyz answers, asked in this worker
        report = ops.readiness()
    if report["status"] != "ready":
        worker.log.warning("shopqr is not ready: %s", report["reason"])
    if pidfile:  # scripts/restart.sh waits for one of these before it stops the old master
        marker = f"{pidfile}.{os.getppid()}"
        if report["status"] == "ready":
            open(f"{marker}.ready", "w").close()
        else:
            with open(f"{marker}.unready", "w") as reason:
                reason.write(f"{report['reason']}\n")
    stop_worker = worker.handle_exit

    def handle_exit(sig, frame):
        lifecycle.begin_shutdown()
        stop_worker(sig, frame)

    signal.signal(signal.SIGTERM, handle_exit)


def worker_exit(server, worker):
    """The worker's last moment: make sure the poller's lease is given up."""
    from shopqr import lifecycle

    lifecycle.finish_shutdown(timeout=10)
