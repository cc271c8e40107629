"""CPU per URL inside a gunicorn worker, for ``bench/rush.py --cpu-report``: not part of shopqr.

Python imports ``sitecustomize`` at start-up from the path; rush.py puts this directory first
on the served process's PYTHONPATH and names a file in SHOPQR_BENCH_CPU_REPORT. In each worker
(after gunicorn forks it) every request's thread CPU time (``time.thread_time``: waiting for
the GIL, a lock or the database costs none) is added up by method and URL (ids and tokens
folded into X), and the table is rewritten every 2 s with the process's total CPU, so what
the requests did not use (gunicorn, the payment poller) shows too."""

from __future__ import annotations

import os
import re
import sys
import threading
import time

OUT = os.environ.get("SHOPQR_BENCH_CPU_REPORT")
_ID = re.compile(r"/[A-Za-z0-9_-]{20,}|/\d+")


def _start() -> None:
    import flask

    totals: dict[str, list[float]] = {}
    lock = threading.Lock()
    wsgi_app = flask.Flask.wsgi_app

    def measured(self, environ, start_response):  # type: ignore[no-untyped-def]
        begin = time.thread_time()
        try:
            return wsgi_app(self, environ, start_response)
        finally:
            spent = time.thread_time() - begin
            key = f"{environ['REQUEST_METHOD']} {_ID.sub('/X', environ['PATH_INFO'])}"
            with lock:
                entry = totals.setdefault(key, [0, 0.0])
                entry[0] += 1
                entry[1] += spent

    flask.Flask.wsgi_app = measured
    began = time.process_time()

    def write() -> None:
        while True:
            time.sleep(2)
            with lock:
                rows = sorted(totals.items(), key=lambda kv: -kv[1][1])
                in_requests = sum(spent for _, spent in totals.values())
            lines = [f"process CPU {time.process_time() - began:.2f} s, "
                     f"in requests {in_requests:.2f} s"]
            lines += [f"{spent:8.2f} s {count:6.0f} x {1000 * spent / count:7.2f} ms  {key}"
                      for key, (count, spent) in rows]
            with open(f"{OUT}.tmp", "w") as out:
                out.write("\n".join(lines) + "\n")
            os.replace(f"{OUT}.tmp", OUT)

    threading.Thread(target=write, daemon=True).start()


if OUT and "gunicorn" in " ".join(sys.argv):
    os.register_at_fork(after_in_child=_start)
