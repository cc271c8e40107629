"""CPU per request of the guest hot paths, in one process and one thread: prints figures,
asserts nothing. Where wrk (bench/run.py) measures the whole server, this isolates the
application's own cost (no sockets, no gunicorn), which is what a change to a view or a query
moves. The write floor (bench/floor_app.py: one INSERT and COMMIT) is a row too.
``--profile PATH`` prints the top of a cProfile of that path instead (SORT=tottime orders it by
own time, CALLERS=<function> adds its callers, GROUP=1 or GROUP=2 sums own time by package or
by function). ``--statements`` (MariaDB) prints instead what each path sends the database server
a request, counted at the driver: the round trips, and each statement's kind with the columns
of its result (PyMySQL parses a column definition per column in Python).

    .venv/bin/python bench/cpu.py [--db sqlite|mariadb] [--n 2000] [--profile menu]
    .venv/bin/python bench/cpu.py --db mariadb --statements
    .venv/bin/python bench/cpu.py --qr     # the order page's KHQR drawing, two ways
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from werkzeug.test import EnvironBuilder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

SLUG = "cpu-60"


def call(app, method: str, path: str, headers: dict[str, str], data: str = "") -> tuple:
    environ = EnvironBuilder(path=path, method=method, headers=headers, data=data,
                             content_type="application/x-www-form-urlencoded"
                             if data else None).get_environ()
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    return status[0], body


def checked_call(app, req: tuple) -> None:
    """One request of a path; a path that fails stops the benchmark."""
    status, _ = call(app, *req)
    if not status.startswith(("2", "3")):
        raise SystemExit(f"{req[:2]} answered {status}")


def per_request(app, requests_: list[tuple], n: int) -> float:
    """CPU milliseconds per request, the requests sent in turn (after a warm-up round)."""
    for req in requests_:
        call(app, *req)
    start = time.process_time()
    for i in range(n):
        checked_call(app, requests_[i % len(requests_)])
    return (time.process_time() - start) * 1000 / n


def qr_rows(n: int) -> None:
    """CPU per KHQR code drawn for the order page (each a new string, as each order's is):
    qrcode's SVG path image (a square per module) against shopqr.filters (a run per row)."""
    import qrcode
    import qrcode.constants
    import qrcode.image.svg

    from shopqr.filters import _qr_svg

    khqr = ("00020101021229370016rasmey@aclb0113855123456780204shop52045999530384054041.255802KH"
            "5914Cafe Lucky One6010Phnom Penh62270107ORD{:05d}0812table 5 x9917001317829000"
            "00000063041234")

    def squares(data: str) -> str:
        return qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10,
                           border=2, error_correction=qrcode.constants.ERROR_CORRECT_M
                           ).to_string(encoding="unicode")

    print(f"{'KHQR drawn by':<28}{'CPU ms':>8}{'bytes':>8}")
    for name, draw in (("qrcode SvgPathImage", squares), ("shopqr.filters (runs)", _qr_svg)):
        start = time.process_time()
        for i in range(n):
            draw(khqr.format(i + (0 if draw is squares else n)))
        print(f"{name:<28}{(time.process_time() - start) * 1000 / n:>8.2f}"
              f"{len(draw(khqr.format(2 * n))):>8}")


def count_round_trips() -> list[str]:
    """Record, from now on, every round trip PyMySQL makes: a statement as its first word and
    its result's column count ("SELECT/13"), a many-row INSERT once, COMMIT, ROLLBACK, PING."""
    import pymysql.connections
    import pymysql.cursors

    sent: list[str] = []
    cursor, connection = pymysql.cursors.Cursor, pymysql.connections.Connection
    execute, executemany = cursor.execute, cursor.executemany

    def counted_execute(self, query, args=None):
        result = execute(self, query, args)
        if not getattr(self, "_in_executemany", False):
            columns = len(self.description or ())
            sent.append(str(query).split(None, 1)[0].upper() + (f"/{columns}" if columns else ""))
        return result

    def counted_executemany(self, query, args):
        if not pymysql.cursors.RE_INSERT_VALUES.match(query):  # one round trip per row
            return executemany(self, query, args)
        sent.append(str(query).split(None, 1)[0].upper() + " (many rows)")  # one statement
        self._in_executemany = True
        try:
            return executemany(self, query, args)
        finally:
            self._in_executemany = False

    def ending(name: str, method):
        def ended(self, *args, **kwargs):
            sent.append(name)
            return method(self, *args, **kwargs)
        return ended

    cursor.execute, cursor.executemany = counted_execute, counted_executemany
    connection.commit = ending("COMMIT", connection.commit)
    connection.rollback = ending("ROLLBACK", connection.rollback)
    connection.ping = ending("PING", connection.ping)
    return sent


def print_statements(sent: list[str], name: str, app, requests_: list[tuple]) -> None:
    """Send the requests once each and print the round trips and statements a request."""
    sent.clear()
    for req in requests_:
        checked_call(app, req)
    n = len(requests_)
    kinds = ", ".join(f"{what} {count / n:.2g}" for what, count in Counter(sent).items())
    print(f"{name:<20}{len(sent) / n:>12.2f}  {kinds}")


def print_groups(stats: pstats.Stats, *, by_function: bool, n: int) -> None:
    """The profile's own time summed by installed package (or by its functions) and by file
    of shopqr or the standard library, largest first, per request."""
    groups: dict[str, float] = {}
    for (file, _line, function), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        package_path = file.partition("site-packages/")[2]
        if not package_path:
            key = file.replace(str(ROOT) + "/", "")
        elif by_function:
            key = f"{package_path}:{function}"
        else:
            key = package_path.split("/")[0]
        groups[key] = groups.get(key, 0.0) + own
    total = sum(groups.values())
    for key, own in sorted(groups.items(), key=lambda kv: -kv[1])[:25]:
        print(f"{key:<50}{own * 1000 / n:8.3f} ms/req {own / total:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "mariadb"], default="sqlite")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--profile",
                        choices=["menu", "add", "status", "health", "badge", "write"])
    parser.add_argument("--qr", action="store_true",
                        help="only the KHQR drawing: qrcode's SVG image against shopqr's")
    parser.add_argument("--statements", action="store_true",
                        help="MariaDB's round trips and statements per request of each path")
    args = parser.parse_args()
    if args.statements and args.db != "mariadb":
        parser.error("--statements counts MariaDB's round trips: add --db mariadb")
    if args.qr:
        qr_rows(min(args.n, 200))
        return
    tmp = tempfile.mkdtemp()
    if args.db == "sqlite":
        url = f"sqlite:///{tmp}/cpu.sqlite"
    else:
        subprocess.run(["mysql", "-h127.0.0.1", "-uroot", "-e",
                        "DROP DATABASE IF EXISTS shopqr_cpu; CREATE DATABASE shopqr_cpu "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"], check=True)
        url = "mysql+pymysql://root@127.0.0.1:3306/shopqr_cpu"
    os.environ.update(DATABASE_URL=url, SECRET_KEY="bench-secret", SHOPQR_ENV="development",
                      BAKONG_SIMULATOR="1", SCHEDULER_ENABLED="0")
    subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), SLUG, "60"], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    from hello import app as hello_app
    from run import product_ids, table_tokens

    from shopqr import create_app

    app = create_app()
    tokens, products = table_tokens(url, SLUG), product_ids(url, SLUG)
    phones = []
    for token in tokens[:20]:
        client = app.test_client()
        client.get(f"/s/{SLUG}/t/{token}")
        menu_page = client.get(f"/s/{SLUG}/menu").get_data()
        csrf = re.search(rb'"X-CSRFToken": "([^"]+)"', menu_page).group(1).decode()
        cookie = "; ".join(f"{c.key}={c.value}" for c in client._cookies.values())
        phones.append({"Cookie": cookie, "X-CSRFToken": csrf})
    menu = [("GET", f"/s/{SLUG}/menu", p) for p in phones]
    badge = [("GET", f"/s/{SLUG}/cart/badge", {**p, "HX-Request": "true"}) for p in phones]
    add = [("POST", f"/s/{SLUG}/cart/items", {**p, "HX-Request": "true"},
            f"product_id={product}&quantity=1") for product in products for p in phones]
    # one order, and its status fragment
    call(app, "POST", f"/s/{SLUG}/cart/items", phones[0], f"product_id={products[0]}")
    status, body = call(app, "POST", f"/s/{SLUG}/checkout", phones[0],
                     "method=cash&checkout_key=cpu-status-000000000000")
    if not status.startswith("3"):
        raise SystemExit(f"checkout answered {status}")
    with app.test_request_context():
        from sqlalchemy import text

        from shopqr.extensions import db
        public = db.session.execute(text("SELECT public_token FROM orders")).scalar()
    # polled as the page polls: with the fingerprint of what it shows (``v``)
    _, page = call(app, "GET", f"/s/{SLUG}/orders/{public}", {})
    poll = re.search(rb'hx-get="([^"]+/status[^"]*)"', page).group(1).decode().replace("&amp;", "&")
    order_status = [("GET", poll, {"HX-Request": "true"})]
    paths = {"health": [("GET", "/healthz", {})], "menu": menu, "badge": badge,
             "status": order_status, "add": add}
    from floor_app import app as floor_app  # the write floor: one INSERT and COMMIT
    apps = {"write": floor_app}
    paths["write"] = [("POST", "/_bench/write", {})]
    if args.statements:
        sent = count_round_trips()
        print(f"{'path':<20}{'round trips':>12}  sent a request "
              "(SELECT/13: a result of 13 columns)")
        for name in ("health", "menu", "badge", "status"):
            print_statements(sent, name, app, paths[name] * 2)
        # products the phones have not added yet: each add makes a line, then the same adds
        # again merge into those lines (as wrk's add-to-cart rotation does after its first pass)
        fresh = add[len(phones):len(phones) * 3]
        print_statements(sent, "add (new line)", app, fresh)
        print_statements(sent, "add (merge)", app, fresh)
        print_statements(sent, "write", floor_app, paths["write"] * 20)
        return
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        per_request(apps.get(args.profile, app), paths[args.profile], args.n)
        profiler.disable()
        out = io.StringIO()
        order = os.environ.get("SORT", "cumulative")  # or tottime
        stats = pstats.Stats(profiler, stream=out).sort_stats(order)
        stats.print_stats(45)
        if os.environ.get("GROUP"):  # own time summed by package (1) or function (2)
            print_groups(stats, by_function=os.environ["GROUP"] == "2", n=args.n)
        if os.environ.get("CALLERS"):  # e.g. CALLERS=exceptions.py:214
            stats.print_callers(os.environ["CALLERS"])
        print(out.getvalue())
        return
    hello = per_request(hello_app, [("GET", "/", {})], args.n * 5)
    print(f"{'path':<16}{'CPU ms/req':>12}{'vs hello':>10}")
    print(f"{'bare hello':<16}{hello:>12.3f}{1:>10.0%}")
    for name, reqs in paths.items():
        ms = per_request(apps.get(name, app), reqs,
                         args.n if name != "add" else min(args.n, 1000))
        print(f"{name:<16}{ms:>12.3f}{hello / ms:>10.1%}")


if __name__ == "__main__":
    main()
