"""Lunch-rush capacity: prints figures, asserts nothing.

One gunicorn process as the Procfile runs it (with the payment poller and the built-in Bakong
simulator) serves a seeded shop. Each simulated table has three phones. Every phone scans the
table's QR, loads the menu twice, opens the product sheet of 2-4 items and adds them with an
option. One phone checks out by KHQR and the simulator pays the QR (the guest's banking app);
then every phone polls the order status fragment every 4 s at the URL the page polls, as the
page does, until the order is served. A barista bumps orders through the kitchen screen's own
forms. Tables arrive over the first 10 s of a step.

A GET that finds its kept-alive connection closed by the server (gunicorn closes idle ones
after 2 s) is sent once more on a new connection, as browsers do; the "retried" column counts
them, and the latency includes the retry. ``--cpu-report`` prints, after each step, the
server's CPU per URL (bench/cpu_probe).

The number of tables grows by half each step until the p99 of guest requests passes 500 ms or a
guest request fails; then the steps halve the gap between the last step that held and the
first that did not, until it is within 10% (``--no-refine``: stop at once). The largest step
that held is the process's capacity.

    .venv/bin/python bench/rush.py [--db sqlite|mariadb|both] [--code DIR] [--max-tables 60]
                                   [--start 2] [--seconds 60] [--cpu-report] [--no-refine]

``--code DIR`` serves another checkout of shopqr (e.g. `git worktree add /tmp/old <rev>`), so
today's code and a change can be measured in one run.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from run import (
    MARIADB_URL,
    ROOT,
    VENV_BIN,
    app_env,
    csrf_of,
    free_port,
    procfile_web,
    product_ids,
    staff_session,
    table_tokens,
)

SLUG = "rush-cafe"
POLL_SECONDS = 4.0  # the order page's hx-trigger="every 4s"
P99_LIMIT_MS = 500.0


REFINE = True  # --no-refine: stop at the first step over the limit
CPU_REPORT = ""  # set by --cpu-report: the file bench/cpu_probe writes in the served process


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.retried = 0

    def call(self, session: requests.Session, method: str, url: str,
             **kwargs: object) -> requests.Response | None:
        begin = time.perf_counter()
        try:
            try:
                response = session.request(method, url, timeout=30, **kwargs)
            except requests.ConnectionError as exc:
                if method != "GET" or not _dropped(exc):
                    raise
                with self.lock:
                    self.retried += 1
                response = session.request(method, url, timeout=30, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.failures.append(f"{method} {url}: {type(exc).__name__} {exc}"[:200])
            return None
        elapsed = (time.perf_counter() - begin) * 1000
        with self.lock:
            self.latencies.append(elapsed)
            if response.status_code >= 400:
                self.failures.append(f"{method} {url}: {response.status_code}")
        return response


def _dropped(exc: requests.ConnectionError) -> bool:
    """The server closed a kept-alive connection as the request went out (no answer came)."""
    text = str(exc)
    return "Connection aborted" in text or "RemoteDisconnected" in text


def table(base: str, token: str, product_ids: list[int], rec: Recorder, stop: threading.Event,
          served: threading.Event, rng: random.Random) -> None:
    """Three phones at one table, from the scan until their order is served."""
    phones = []
    for _ in range(3):
        s = requests.Session()
        page = rec.call(s, "GET", f"{base}/s/{SLUG}/t/{token}")
        if page is None or page.status_code >= 400:
            return
        csrf = csrf_of(page.text)
        rec.call(s, "GET", f"{base}/s/{SLUG}/menu")
        phones.append((s, csrf))
    for s, csrf in phones:
        headers = {"X-CSRFToken": csrf, "HX-Request": "true"}
        for pid in rng.sample(product_ids, rng.randint(2, 4)):
            sheet = rec.call(s, "GET", f"{base}/s/{SLUG}/menu/products/{pid}",
                             headers={"HX-Request": "true"})
            form = {"product_id": str(pid), "quantity": "1"}
            if sheet is not None:
                groups: dict[str, list[str]] = {}
                for group, option in re.findall(r'name="group-(\d+)" value="(\d+)"', sheet.text):
                    groups.setdefault(group, []).append(option)
                form |= {f"group-{g}": rng.choice(opts) for g, opts in groups.items()}
            rec.call(s, "POST", f"{base}/s/{SLUG}/cart/items", data=form, headers=headers)
    s, csrf = phones[0]
    placed = rec.call(s, "POST", f"{base}/s/{SLUG}/checkout", headers={"X-CSRFToken": csrf},
                      data={"method": "khqr", "checkout_key": f"{rng.getrandbits(128):032x}"})
    if placed is None or placed.status_code >= 400:
        return
    status_url = poll_url(base, placed.text) or placed.url.rstrip("/") + "/status"
    md5 = re.search(r'data-md5="([0-9a-f]{32})"', placed.text)
    amount = re.search(r'name="amount" value="([\d.]+)"', placed.text)
    if not (md5 and amount):
        with rec.lock:
            rec.failures.append("checkout page without a KHQR")
        return
    time.sleep(rng.uniform(2, 6))  # the guest opens the banking app and pays
    requests.post(f"{base}/_bakong/pay", json={"md5": md5.group(1), "amount": amount.group(1)},
                  timeout=30)
    urls = [status_url] * len(phones)
    while not stop.is_set():
        for n, (phone, _csrf) in enumerate(phones):
            fragment = rec.call(phone, "GET", urls[n], headers={"HX-Request": "true"})
            if fragment is None or fragment.status_code != 200:
                continue  # (204: nothing changed; the page keeps what it shows)
            if "kitchen-served" in fragment.text:
                served.set()
                return
            urls[n] = poll_url(base, fragment.text) or urls[n]
        stop.wait(POLL_SECONDS)


def poll_url(base: str, html: str) -> str | None:
    """The order status URL the page polls (with what it shows, where the code sends it)."""
    found = re.search(r'hx-get="([^"]+/status[^"]*)"', html)
    return base + found.group(1).replace("&amp;", "&") if found else None


def barista(base: str, stop: threading.Event) -> None:
    """Bump every order on the board, one step each time round, as a barista taps."""
    session = staff_session(base, SLUG, "Barista", "271828")
    page = session.get(f"{base}/s/{SLUG}/kitchen/", timeout=30).text
    headers = {"X-CSRFToken": csrf_of(page), "HX-Request": "true"}
    while not stop.is_set():
        board = session.get(f"{base}/s/{SLUG}/kitchen/board", timeout=30).text
        for order_id, step in re.findall(
                r'orders/(\d+)/advance"[^>]*>\s*<input type="hidden" name="from" value="(\w+)"',
                board):
            session.post(f"{base}/s/{SLUG}/kitchen/orders/{order_id}/advance",
                         data={"from": step}, headers=headers, timeout=30)
        stop.wait(1.0)


def serve(code: Path, env: dict[str, str], port: int) -> subprocess.Popen:
    command = procfile_web().replace("gunicorn.conf.py", str(code / "gunicorn.conf.py"))
    path = [str(ROOT / "bench" / "cpu_probe")] if CPU_REPORT else []
    full_env = {**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1",
                "PYTHONPATH": os.pathsep.join([*path, str(code)]),
                "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
                **({"SHOPQR_BENCH_CPU_REPORT": CPU_REPORT} if CPU_REPORT else {})}
    proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=code, env=full_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("gunicorn did not start")


def prepare(kind: str, code: Path, workdir: Path, tables: int) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'rush.sqlite'}"
    else:
        subprocess.run(["mysql", "-h127.0.0.1", "-uroot", "-e",
                        "DROP DATABASE IF EXISTS shopqr_bench; CREATE DATABASE shopqr_bench "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"], check=True)
        url = MARIADB_URL
    env = {**os.environ, **app_env(url, workdir), "PYTHONPATH": str(code)}
    subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), SLUG, "60", str(tables)],
                   cwd=code, env=env, check=True, stdout=subprocess.DEVNULL)
    return url


def step(code: Path, url: str, workdir: Path, tables: int, tokens: list[str],
         products: list[int], seconds: float) -> dict[str, object]:
    port = free_port()
    env = app_env(url, workdir, SCHEDULER_ENABLED="1", PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    proc = serve(code, env, port)
    base = f"http://127.0.0.1:{port}"
    rec, stop = Recorder(), threading.Event()
    rng = random.Random(tables)
    try:
        kitchen = threading.Thread(target=barista, args=(base, stop), daemon=True)
        kitchen.start()
        done = [threading.Event() for _ in range(tables)]
        threads = []
        for n in range(tables):
            t = threading.Thread(target=table, daemon=True, args=(
                base, tokens[n], products, rec, stop, done[n], random.Random(rng.random())))
            threads.append(t)
        begin = time.perf_counter()
        for n, t in enumerate(threads):
            time.sleep(max(0.0, begin + 10 * n / tables - time.perf_counter()))
            t.start()
        deadline = begin + seconds
        for t in threads:
            t.join(timeout=max(0.1, deadline - time.perf_counter()))
        stop.set()
        for t in threads:
            t.join(timeout=10)
        kitchen.join(timeout=10)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    ordered = sorted(rec.latencies)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)] if ordered else float("nan")
    p50 = ordered[len(ordered) // 2] if ordered else float("nan")
    return {"tables": tables, "requests": len(ordered), "p50": p50, "p99": p99,
            "failed": len(rec.failures), "retried": rec.retried,
            "served": sum(e.is_set() for e in done),
            "first_failure": rec.failures[0] if rec.failures else ""}


def capacity(kind: str, code: Path, max_tables: int, seconds: float, start: int = 2) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="shopqr-rush-"))
    url = prepare(kind, code, workdir, max_tables)
    tokens, products = table_tokens(url, SLUG), product_ids(url, SLUG)
    held, over = 0, None
    tables = start
    print(f"{'tables':>7}{'requests':>10}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}{'retried':>8}"
          f"{'served':>8}")
    while tables <= max_tables:
        # each step uses fresh tables, so no group inherits an earlier step's session
        row = step(code, url, workdir, tables, tokens[:tables], products, seconds)
        print(f"{row['tables']:>7}{row['requests']:>10}{row['p50']:>9.0f}{row['p99']:>9.0f}"
              f"{row['failed']:>8}{row['retried']:>8}{row['served']:>8}  {row['first_failure']}",
              flush=True)
        if CPU_REPORT and os.path.exists(CPU_REPORT):
            with open(CPU_REPORT) as report:
                print("".join(f"        {line}" for line in report.readlines()[:14]))
            os.remove(CPU_REPORT)
        if row["failed"] or row["p99"] > P99_LIMIT_MS:
            over = tables
        else:
            held = tables
        subprocess.run([sys.executable, "-c", _CLOSE_SESSIONS, url], cwd=code, check=True,
                       env={**os.environ, **app_env(url, workdir), "PYTHONPATH": str(code)})
        if over is None:
            tables = tables + max(2, tables // 2)
        elif REFINE and over - held > max(2, held // 10):
            tables = (held + over) // 2  # between the last step held and the first over
        else:
            break
    return held


# Between steps: every table's group leaves (their sessions end), so a step starts empty.
_CLOSE_SESSIONS = """
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
with engine.begin() as conn:
    conn.execute(text("UPDATE table_sessions SET active_table_id = NULL"))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "mariadb", "both"), default="both")
    parser.add_argument("--code", action="append", type=Path,
                        help="a checkout of shopqr to measure (repeatable); default: this one")
    parser.add_argument("--max-tables", type=int, default=60)
    parser.add_argument("--start", type=int, default=2,
                        help="tables in the first step (then about 1.5x each step)")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="how long one step may run (tables not served by then count "
                             "as not served)")
    parser.add_argument("--no-refine", action="store_true",
                        help="stop at the first step over the limit (by default the steps "
                             "then halve the gap to the last step held, to within 10%%)")
    parser.add_argument("--cpu-report", action="store_true",
                        help="after each step, print the server's CPU per URL")
    args = parser.parse_args()
    if args.no_refine:
        global REFINE
        REFINE = False
    if args.cpu_report:
        global CPU_REPORT
        CPU_REPORT = str(Path(tempfile.mkdtemp(prefix="shopqr-cpu-")) / "report.txt")
    codes = args.code or [ROOT]
    kinds = ("sqlite", "mariadb") if args.db == "both" else (args.db,)
    print(f"gunicorn: {procfile_web()}; limit: p99 of guest requests <= {P99_LIMIT_MS:.0f} ms "
          "and no failed request")
    results = []
    for kind in kinds:
        for code in codes:
            print(f"\n== {kind}, code at {code}")
            results.append((kind, code, capacity(kind, code, args.max_tables, args.seconds,
                                                 args.start)))
    print("\n== tables one process holds in a lunch rush")
    for kind, code, held in results:
        print(f"{kind:>8}  {held:>4} tables  ({code})")


if __name__ == "__main__":
    main()
