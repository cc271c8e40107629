"""Kitchen websocket fan-out with a busy board: old code and new code in one run.

For each checkout of shopqr given (default: the old code at /work/old-7801393 if it exists,
then this checkout), it seeds a SQLite shop, puts ``--board`` paid orders of two items each on
the kitchen board, opens ``--sockets`` kitchen websockets on one gunicorn process, and then pays
``--rounds`` more orders one at a time at the POS: the time from each payment until every
socket has received the new card (first: the median over rounds of the first socket's time,
which is the POS request and one render; the rest is the fan-out), and the size of the
messages. Prints one row per code. The sockets' client threads run in this process, on the
same machine, so they count in the figures (for the old and the new code alike).

    .venv/bin/python bench/kitchen_fanout.py [--code DIR ...] [--sockets 200] [--board 50]

The old code (before per-card updates) re-sends the whole board to every socket per event.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402
    ROOT,
    app_env,
    cookie_header,
    csrf_of,
    guest,
    gunicorn,
    kitchen_socket,
    open_drawer,
    product_ids,
    staff_session,
    table_tokens,
)

SLUG = "bench-60"
OLD = Path("/work/old-7801393")


def prepare(code: Path, workdir: Path, tables: int) -> str:
    url = f"sqlite:///{workdir / 'fanout.sqlite'}"
    env = {**os.environ, **app_env(url, workdir), "PYTHONPATH": str(code)}
    subprocess.run([sys.executable, str(code / "bench" / "seed.py"), SLUG, "60", str(tables)],
                   cwd=code, env=env, check=True, stdout=subprocess.DEVNULL)
    return url


def place_order(base: str, token: str, products: list[int], n: int) -> str:
    """A guest orders two items for cash; returns the order id."""
    s, csrf = guest(base, SLUG, token)
    for p in (products[n % 60], products[(n * 7 + 3) % 60]):
        s.post(f"{base}/s/{SLUG}/cart/items", data={"product_id": p, "quantity": "1"},
               headers={"X-CSRFToken": csrf}, timeout=30).raise_for_status()
    page = s.post(f"{base}/s/{SLUG}/checkout", headers={"X-CSRFToken": csrf}, timeout=30,
                  data={"method": "cash", "checkout_key": f"bench-kfan-{n:012d}"})
    return re.search(r'id="order-status-(\d+)"', page.text).group(1)


def measure(code: Path, sockets: int, board: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = prepare(code, workdir, board + rounds)
        tokens = table_tokens(url, SLUG)
        products = product_ids(url, SLUG)
        env = {**app_env(url, workdir), "PYTHONPATH": str(code)}
        with gunicorn("app:app", env, cwd=code, threads=sockets + 64) as base:
            cashier = staff_session(base, SLUG, "Cashier", "481516")
            open_drawer(cashier, base, SLUG)
            pos_csrf = csrf_of(cashier.get(f"{base}/s/{SLUG}/pos/", timeout=30).text)

            def pay(order_id: str) -> None:
                cashier.post(f"{base}/s/{SLUG}/pos/orders/{order_id}/cash", data={"usd": "20"},
                             headers={"X-CSRFToken": pos_csrf}, timeout=60).raise_for_status()

            for n in range(board):
                pay(place_order(base, tokens[n], products, n))
            waiting = [place_order(base, tokens[board + n], products, board + n)
                       for n in range(rounds)]
            barista = staff_session(base, SLUG, "Barista", "271828")
            cookie = cookie_header(barista)
            clients, snapshot_sizes = [], []
            for _ in range(sockets):
                ws = kitchen_socket(base, SLUG, cookie)
                snapshot_sizes.append(len(ws.receive(timeout=60).encode()))
                clients.append(ws)
            delays: list[float] = []
            firsts: list[float] = []
            sizes: list[int] = []
            for order_id in waiting:
                arrivals: list[float] = []
                lock = threading.Lock()
                go = threading.Event()

                def wait(ws, order_id: str = order_id, arrivals: list[float] = arrivals,
                         lock: threading.Lock = lock, go: threading.Event = go) -> None:
                    go.wait()
                    while True:
                        message = ws.receive(timeout=60)
                        if message is None:
                            return
                        if f"kitchen-order-{order_id}" in message:
                            with lock:
                                arrivals.append(time.perf_counter())
                                sizes.append(len(message.encode()))
                            return

                threads = [threading.Thread(target=wait, args=(ws,)) for ws in clients]
                for t in threads:
                    t.start()
                go.set()
                start = time.perf_counter()
                pay(order_id)
                for t in threads:
                    t.join(timeout=120)
                delays += [a - start for a in arrivals]
                if arrivals:
                    firsts.append(min(arrivals) - start)
                time.sleep(0.5)
            for ws in clients:
                ws.close()
    delays.sort()
    return {"held": len(clients), "received": len(delays), "rounds": rounds,
            "snapshot": statistics.median(snapshot_sizes) / 1024,
            "message": statistics.median(sizes) / 1024 if sizes else float("nan"),
            "first": statistics.median(firsts) if firsts else float("nan"),
            "p50": statistics.median(delays) if delays else float("nan"),
            "p99": delays[max(0, int(len(delays) * 0.99) - 1)] if delays else float("nan"),
            "max": delays[-1] if delays else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", action="append", type=Path)
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--board", type=int, default=50, help="paid orders on the board")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    codes = args.code or ([OLD] if OLD.exists() else []) + [ROOT]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; SQLite; one gunicorn process")
    rows = []
    for code in codes:
        print(f"... {code}", flush=True)
        rows.append((code, measure(code, args.sockets, args.board, args.rounds)))
    print(f"\nkitchen fan-out: {args.board} orders on the board, {args.sockets} sockets, "
          f"{args.rounds} paid orders one at a time")
    print(f"{'code':<28}{'snapshot KiB':>13}{'event KiB':>10}{'deliveries':>11}"
          f"{'first ms':>9}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}")
    for code, r in rows:
        print(f"{str(code)[-28:]:<28}{r['snapshot']:>13.1f}{r['message']:>10.1f}"
              f"{r['received']:>5}/{r['held'] * r['rounds']:<5}{r['first'] * 1000:>9.0f}"
              f"{r['p50'] * 1000:>8.0f}"
              f"{r['p99'] * 1000:>8.0f}{r['max'] * 1000:>8.0f}")


if __name__ == "__main__":
    main()
