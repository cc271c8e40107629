"""Restart benchmark: prints figures, asserts nothing. See README "Deployment".

1. Stop and start (what a supervisor does without overlap): gunicorn as the Procfile runs it,
   with 0, 10 and 100 kitchen websockets open; SIGTERM to the master; the seconds until the
   old process has exited, until a new one started then answers /healthz, and the close codes
   the sockets saw.
2. Zero-downtime restart (scripts/restart.sh: USR2, then TERM the old master) under a steady
   guest load (menu pages and order-status polls from 8 threads) with 10 kitchen sockets that
   reconnect as the page's ws extension does: guest requests that failed or took over 1 s, and
   how long the kitchen sockets were away.

    .venv/bin/python bench/restart.py [--sockets 0,10,100] [--load-seconds 12]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests
import simple_websocket
from run import (
    ROOT,
    SLUG,
    VENV_BIN,
    app_env,
    cookie_header,
    free_port,
    guest,
    prepare_database,
    procfile_web,
    staff_session,
    table_tokens,
)


def start(env: dict[str, str], port: int, pidfile: Path | None = None,
          threads: int = 200) -> subprocess.Popen:
    command = procfile_web().replace("gunicorn.conf.py", str(ROOT / "gunicorn.conf.py"))
    full_env = {**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1",
                "GUNICORN_THREADS": str(threads),
                "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    if pidfile:
        full_env["GUNICORN_PIDFILE"] = str(pidfile)
    return subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=ROOT, env=full_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def wait_answering(url: str, timeout: float = 30) -> float:
    """Seconds until /healthz answers 200."""
    begin = time.perf_counter()
    while time.perf_counter() - begin < timeout:
        try:
            if requests.get(url + "/healthz", timeout=0.5).status_code == 200:
                return time.perf_counter() - begin
        except requests.RequestException:
            pass
        time.sleep(0.02)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def socket_url(base: str) -> str:
    return base.replace("http://", "ws://") + f"/s/{SLUG}/kitchen/ws"


def close_code(ws: simple_websocket.Client, timeout: float) -> int | str:
    try:
        while ws.receive(timeout=timeout) is not None:
            pass
        return "still open"
    except simple_websocket.ConnectionClosed as closed:
        return closed.reason


def stop_and_start(env: dict[str, str], sockets: int) -> dict[str, object]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    old = start(env, port)
    try:
        wait_answering(base)
        cookie = cookie_header(staff_session(base, SLUG, "Barista", "271828"))
        clients = []
        for _ in range(sockets):
            ws = simple_websocket.Client.connect(socket_url(base), headers={"Cookie": cookie})
            ws.receive(timeout=30)
            clients.append(ws)
        codes: list[object] = []
        watchers = [threading.Thread(target=lambda ws=ws: codes.append(close_code(ws, 40)))
                    for ws in clients]
        for w in watchers:
            w.start()
        t0 = time.perf_counter()
        os.kill(old.pid, signal.SIGTERM)
        old.wait(timeout=60)
        exited = time.perf_counter() - t0
        new = start(env, port)
        try:
            wait_answering(base, timeout=60)
            answered = time.perf_counter() - t0
        finally:
            os.killpg(new.pid, signal.SIGTERM)
            new.wait(timeout=60)
        for w in watchers:
            w.join(timeout=5)
        return {"sockets": sockets, "exited": exited, "answered": answered,
                "codes": sorted({str(c) for c in codes}) or ["-"]}
    finally:
        if old.poll() is None:
            os.killpg(old.pid, signal.SIGKILL)


class KitchenScreen(threading.Thread):
    """A kitchen socket that reconnects after a close, as the page does (0.2 s later)."""

    def __init__(self, base: str, cookie: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.base, self.cookie, self.stop_evt = base, cookie, stop
        self.gaps: list[float] = []  # seconds from a close to the next snapshot
        self.codes: list[object] = []

    def run(self) -> None:
        closed_at = None
        while not self.stop_evt.is_set():
            try:
                ws = simple_websocket.Client.connect(socket_url(self.base),
                                                     headers={"Cookie": self.cookie})
                ws.receive(timeout=10)  # the snapshot: the screen is live again
                if closed_at is not None:
                    self.gaps.append(time.perf_counter() - closed_at)
                    closed_at = None
                while not self.stop_evt.is_set():
                    ws.receive(timeout=0.5)
                ws.close()
            except simple_websocket.ConnectionClosed as closed:
                self.codes.append(closed.reason)
                closed_at = closed_at or time.perf_counter()
                time.sleep(0.2)
            except (simple_websocket.ConnectionError, OSError):
                closed_at = closed_at or time.perf_counter()
                time.sleep(0.2)


def zero_downtime(env: dict[str, str], database_url: str, load_seconds: float,
                  sockets: int = 10) -> dict[str, object]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="shopqr-restart-"))
    pidfile = workdir / "gunicorn.pid"
    proc = start(env, port, pidfile)
    try:
        wait_answering(base)
        cookie = cookie_header(staff_session(base, SLUG, "Barista", "271828"))
        stop = threading.Event()
        screens = [KitchenScreen(base, cookie, stop) for _ in range(sockets)]
        for screen in screens:
            screen.start()
        tokens = table_tokens(database_url, SLUG)
        results: list[tuple[float, bool]] = []
        lock = threading.Lock()

        def load(n: int) -> None:
            session, _token = guest(base, SLUG, tokens[n % len(tokens)])
            while not stop.is_set():
                begin = time.perf_counter()
                try:
                    ok = session.get(f"{base}/s/{SLUG}/menu", timeout=10).status_code == 200
                except requests.RequestException:
                    ok = False
                with lock:
                    results.append((time.perf_counter() - begin, ok))

        loaders = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(8)]
        for loader in loaders:
            loader.start()
        time.sleep(load_seconds / 3)
        begin = time.perf_counter()
        out = subprocess.run(["bash", str(ROOT / "scripts" / "restart.sh"), str(pidfile)],
                             capture_output=True, text=True, timeout=120)
        restart_seconds = time.perf_counter() - begin
        time.sleep(load_seconds * 2 / 3)
        stop.set()
        for thread in [*loaders, *screens]:
            thread.join(timeout=15)
        new_pid = int(pidfile.read_text())
        gaps = [g for s in screens for g in s.gaps]
        return {"restart_script_seconds": restart_seconds,
                "script": " / ".join(out.stdout.strip().splitlines()),
                "script_ok": out.returncode == 0, "requests": len(results),
                "failed": sum(1 for _, ok in results if not ok),
                "over_1s": sum(1 for d, _ in results if d > 1.0),
                "p99_ms": 1000 * sorted(d for d, _ in results)[int(len(results) * .99) - 1],
                "reconnected": f"{len(gaps)} of {sockets}",
                "codes": sorted({str(c) for s in screens for c in s.codes}),
                "gap_max_s": max(gaps) if gaps else float("nan"),
                "gap_p50_s": statistics.median(gaps) if gaps else float("nan"),
                "new_master": new_pid != proc.pid}
    finally:
        # the new master is in the old one's process group (forked from it)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", default="0,10,100")
    parser.add_argument("--load-seconds", type=float, default=12.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="shopqr-restart-bench-"))
    database_url = prepare_database("sqlite", workdir)
    env = app_env(database_url, workdir)
    print(f"gunicorn: {procfile_web()} (graceful_timeout 30 s in gunicorn.conf.py)")
    print("\n== stop and start: SIGTERM, then a new process on the same port (SQLite)")
    print(f"{'sockets':>8}{'old exited s':>14}{'new answers s':>15}  close codes")
    for count in (int(n) for n in args.sockets.split(",")):
        row = stop_and_start(env, count)
        print(f"{row['sockets']:>8}{row['exited']:>14.2f}{row['answered']:>15.2f}  "
              f"{', '.join(row['codes'])}")
    print("\n== zero-downtime restart (scripts/restart.sh) under guest load, 10 kitchen screens")
    row = zero_downtime(env, database_url, args.load_seconds)
    for key, value in row.items():
        print(f"{key:>24}: {value:.2f}" if isinstance(value, float) else f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
