"""shopqr benchmark: prints figures, asserts nothing. See README "Benchmark".

For SQLite and for MariaDB it starts shopqr under the Procfile's gunicorn set-up with a seeded
shop of 60 products, and the bare Flask app in bench/hello.py under the same set-up, drives
them with wrk, and prints req/s and p50/p99 latency for the menu page, the add-to-cart fragment
and the order status fragment, and for two floors: the health check (one SELECT 1 through the
whole stack) and the write floor (one INSERT and COMMIT through the whole stack,
bench/floor_app.py), each with its ratio to bare hello (with --rounds N, every row N times in
turn and each figure's median). In the same run, in turn with that
server: each hand-made speed-up switched off (SHOPQR_SPEEDUPS_OFF, see shopqr/config.py), on
MariaDB mysqlclient against PyMySQL, and with --old DIR another checkout of shopqr against this
one, with req/s, p99 and the server's CPU time per request of both sides. Then: SQL queries per
menu page at 10 and 60 products, payment->kitchen latency over 50 KHQR orders (simulator pays,
poller confirms, kitchen websocket receives the card), and websocket fan-out to 200 sockets
held by one process.

    .venv/bin/python bench/run.py [--quick] [--db sqlite|mariadb|both] [--old DIR]
        [--rounds N] [--speedups NAME,...] [--rows NAME,...] [--no-mysqlclient] [--http-only]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests
import simple_websocket

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # shopqr from this checkout, also where a venv installed another
VENV_BIN = Path(sys.executable).parent
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/shopqr_bench"
SLUG = "bench-60"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit("Procfile has no web line")


SERVERS: dict[str, int] = {}  # a running gunicorn's URL -> its master's pid (its session id)


def _cpu_seconds_of(wanted: Callable[[str, list[str]], bool]) -> float:
    """CPU time (user + system) used so far by the processes ``wanted(name, fields)`` picks,
    from /proc/<pid>/stat (``fields``: the ones after the name; fields[3] is the session id)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, _, rest = stat.read_text().rpartition(")")
        except OSError:  # the process ended meanwhile
            continue
        fields = rest.split()
        if wanted(head.partition("(")[2], fields):
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def db_server_seconds() -> float:
    """CPU time the MariaDB server on this machine has used so far (0 when none runs here):
    on this machine it shares the cores with the app and wrk."""
    return _cpu_seconds_of(lambda name, _fields: name in ("mariadbd", "mysqld"))


def cpu_seconds(url: str) -> float:
    """CPU time the gunicorn at `url` and its workers have used so far."""
    return _cpu_seconds_of(lambda _name, fields: int(fields[3]) == SERVERS[url])


def ms_per_request(seconds: float, requests_: float) -> float:
    return seconds * 1000 / max(1, requests_)


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], *, cwd: Path, threads: int = 64,
             port: int | None = None, code: Path = ROOT):
    """The Procfile's web command (bound to loopback) serving `app_spec`, with shopqr imported
    from the checkout `code` (this one, or --old's)."""
    port = port or free_port()
    command = procfile_web().replace("app:app", app_spec) \
        .replace("gunicorn.conf.py", str(code / "gunicorn.conf.py"))
    full_env = {**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1",
                "GUNICORN_THREADS": str(threads), "PYTHONPATH": str(code),
                "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=full_env,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        SERVERS[url] = proc.pid
        probe = url + ("/" if app_spec == "hello:app" else "/healthz")
        try:
            for _ in range(150):
                try:
                    requests.get(probe, timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.2)
            else:
                log.seek(0)
                raise SystemExit(f"gunicorn did not start: {log.read().decode()[-2000:]}")
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def wrk(url: str, *, duration: int, connections: int = 16, script: Path | None = None,
        headers: dict[str, str] | None = None) -> dict[str, float]:
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(pct: str) -> float:
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"rps": rps, "p50": latency("50"), "p99": latency("99"),
            "errors": int(errors.group(1)) if errors else 0,
            "requests": int(total.group(1)) if total else 0}


def csrf_of(html: str) -> str:
    return re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)


def guest(base: str, slug: str, qr_token: str) -> tuple[requests.Session, str]:
    """A phone that scanned a table: its session and CSRF token."""
    s = requests.Session()
    menu = s.get(f"{base}/s/{slug}/t/{qr_token}", timeout=10)
    menu.raise_for_status()
    return s, csrf_of(menu.text)


def cookie_header(s: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


def lua_rotation(path: Path, requests_: list[tuple[str, str, dict[str, str], str]],
                 threads: int = 1) -> Path:
    """A wrk script that sends the given requests in turn. With ``threads`` (wrk's -t), each
    of wrk's threads takes its own share, every ``threads``-th request: a table whose adds
    are all in one share never has two of them at once, as no phone sends two adds at once."""
    def lua(text: str) -> str:
        return json.dumps(text)

    lines = ["local shares = {}"]
    for share in range(threads):
        lines.append(f"shares[{share + 1}] = {{}}")
        for i, (method, target, headers, body) in enumerate(requests_[share::threads], 1):
            h = ", ".join(f"[{lua(k)}] = {lua(v)}" for k, v in headers.items())
            lines.append(f"shares[{share + 1}][{i}] = wrk.format({lua(method)}, {lua(target)},"
                         f" {{{h}}}, {lua(body) if body else 'nil'})")
    lines += ["local made = 0", "setup = function(thread)",
              f"  thread:set('share', made % {threads} + 1)", "  made = made + 1", "end",
              "local reqs, i = nil, 0", "init = function(args)",
              "  reqs = shares[share or 1]", "end",
              "request = function()", "  i = i + 1",
              "  return reqs[(i % #reqs) + 1]", "end"]
    path.write_text("\n".join(lines))
    return path


def app_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "SECRET_KEY": "bench-secret",
            "SHOPQR_ENV": "development", "BAKONG_SIMULATOR": "1", "SCHEDULER_ENABLED": "0",
            **extra}


def prepare_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite'}"
    else:
        subprocess.run(["mysql", "-h127.0.0.1", "-uroot", "-e",
                        "DROP DATABASE IF EXISTS shopqr_bench; CREATE DATABASE shopqr_bench "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"], check=True)
        url = MARIADB_URL
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret",
           "SHOPQR_ENV": "development", "BAKONG_SIMULATOR": "1", "PYTHONPATH": str(ROOT)}
    for slug, count in ((SLUG, 60), ("bench-10", 10)):
        subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), slug, str(count),
                        str(TABLES)],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return url


def shop_column(database_url: str, sql: str, slug: str) -> list:
    """One column of a seeded shop's rows (e.g. its tables' QR tokens), in id order."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text(sql), {"slug": slug}).all()
    engine.dispose()
    return [r[0] for r in rows]


def table_tokens(database_url: str, slug: str) -> list[str]:
    return shop_column(database_url, "SELECT t.qr_token FROM shop_tables t JOIN shops s ON "
                       "s.id = t.shop_id WHERE s.slug = :slug ORDER BY t.id", slug)


def product_ids(database_url: str, slug: str) -> list[int]:
    return shop_column(database_url, "SELECT p.id FROM products p JOIN shops s ON "
                       "s.id = p.shop_id WHERE s.slug = :slug ORDER BY p.id", slug)


HEALTH, MENU, ADD, STATUS, WRITE = ("health check (1 query)", "menu page",
                                    "add-to-cart fragment", "order status fragment",
                                    "write floor (1 insert)")
ENDPOINTS = (HEALTH, MENU, ADD, STATUS, WRITE)
# Each hand-made speed-up (shopqr.config.SPEEDUPS): the databases it applies to and the rows it
# should move. The app leaves out the ones SHOPQR_SPEEDUPS_OFF names.
SPEEDUP_ROWS = {
    "sqlite_writers": (("sqlite",), (ADD, WRITE)),  # concurrent writes of one process
    "db_pool": (("mariadb",), ENDPOINTS),  # a ping and a rollback per request
    "limiter_hook": (("sqlite", "mariadb"), ENDPOINTS),  # every request
    "csrf_signing": (("sqlite", "mariadb"), (MENU, ADD)),  # a page's token, a POST's check
    "raw_reads": (("sqlite", "mariadb"), (MENU, STATUS)),  # the guest hot paths' SELECTs
}
OLD_ENDPOINTS = (HEALTH, MENU, ADD, STATUS)
SHORT = {"health": HEALTH, "menu": MENU, "add": ADD, "status": STATUS, "write": WRITE}
GUEST_TABLES = slice(0, 21)  # 20 phones of this code and, at the last table, its order
OLD_TABLES = slice(30, 51)  # --old's: other tables, so neither code sees the other's carts
TABLES = 60
WRK_THREADS = 2


class Workload:
    """One shopqr server (and its write floor) with what wrk sends it: the menu and
    add-to-cart rotations of 20 phones and the status fragment of one placed order."""

    def __init__(self, name: str, base: str, floor: str | None, database_url: str,
                 scripts: dict[str, Path], status_path: str) -> None:
        self.name, self.base, self.floor, self.database_url = name, base, floor, database_url
        self.scripts, self.status_path = scripts, status_path

    @classmethod
    def build(cls, name: str, base: str, floor: str | None, database_url: str, workdir: Path,
              tables: slice, like: Workload | None = None) -> Workload:
        """Scan the tables, write the wrk scripts, place the order; `like`: another server of
        this code on the same database, whose phones and order this one reuses."""
        if like is not None:
            return cls(name, base, floor, database_url, like.scripts, like.status_path)
        tokens = table_tokens(database_url, SLUG)[tables]
        products = product_ids(database_url, SLUG)
        guests = [guest(base, SLUG, t) for t in tokens[:-1]]
        menu_reqs, adds_by_table = [], []
        for n, (s, token) in enumerate(guests):
            headers = {"Cookie": cookie_header(s)}
            menu_reqs.append(("GET", f"/s/{SLUG}/menu", headers, ""))
            adds_by_table.append([("POST", f"/s/{SLUG}/cart/items", {
                **headers, "X-CSRFToken": token, "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded"},
                f"product_id={p}&quantity=1") for p in products[n % 3::3]])
        # the tables take turns, one add each, as in a café where every table orders at once
        # (not one table's twenty adds in a row: wrk's connections would all hit one cart);
        # each wrk thread has its own half of the tables
        add_reqs = [adds[k] for k in range(max(map(len, adds_by_table)))
                    for adds in adds_by_table if k < len(adds)]
        tag = re.sub(r"\W+", "-", name)
        scripts = {MENU: lua_rotation(workdir / f"menu-{tag}.lua", menu_reqs),
                   ADD: lua_rotation(workdir / f"add-{tag}.lua", add_reqs,
                                     threads=WRK_THREADS),
                   WRITE: lua_rotation(workdir / f"write-{tag}.lua",
                                       [("POST", "/_bench/write", {}, "")])}
        # one order, then its status fragment (what every guest's order page polls)
        s, token = guest(base, SLUG, tokens[-1])
        s.post(f"{base}/s/{SLUG}/cart/items", data={"product_id": products[0]},
               headers={"X-CSRFToken": token})
        placed = s.post(f"{base}/s/{SLUG}/checkout", headers={"X-CSRFToken": token},
                        data={"method": "cash", "checkout_key": f"bench-status-{tag}-0000000"})
        placed.raise_for_status()
        # polled as the page polls: the URL in its hx-get (with the fingerprint of what it
        # shows, where the code sends one: then an unchanged order answers an empty 204)
        poll = re.search(r'hx-get="([^"]+/status[^"]*)"', placed.text)
        return cls(name, base, floor, database_url, scripts,
                   poll.group(1).replace("&amp;", "&") if poll
                   else placed.url[len(base):] + "/status")

    def run(self, endpoint: str, duration: int) -> dict[str, float]:
        """wrk's figures, and the server's CPU time per request (ms): less sensitive than
        req/s to whatever else the machine runs."""
        server = self.floor if endpoint == WRITE else self.base
        if endpoint == ADD:
            empty_carts(self.database_url)
        before, db_before = cpu_seconds(server), db_server_seconds()
        row = self._wrk(endpoint, duration)
        row["cpu_ms"] = ms_per_request(cpu_seconds(server) - before, row["requests"])
        row["db_cpu_ms"] = ms_per_request(db_server_seconds() - db_before, row["requests"])
        return row

    def _wrk(self, endpoint: str, duration: int) -> dict[str, float]:
        if endpoint == HEALTH:
            return wrk(self.base + "/healthz", duration=duration)
        if endpoint == STATUS:
            return wrk(self.base + self.status_path, duration=duration,
                       headers={"HX-Request": "true"})
        if endpoint == WRITE:
            assert self.floor, f"{self.name} has no write floor"
            return wrk(self.floor, duration=duration, script=self.scripts[WRITE])
        return wrk(self.base, duration=duration, script=self.scripts[endpoint])


def empty_carts(database_url: str) -> None:
    """Every add-to-cart run starts from empty carts: the same work for each side of a pair,
    and no line reaches the cart's limit of 50 (a 4xx) however many runs there are."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM cart_item_options"))
        conn.execute(text("DELETE FROM cart_items"))
        # as every cart change does: the cached cart fragments are keyed on it
        conn.execute(text("UPDATE table_sessions SET cart_version = cart_version + 1"))
    engine.dispose()


@contextmanager
def serve(name: str, database_url: str, workdir: Path, *, code: Path = ROOT,
          floor: bool = True, like: Workload | None = None, tables: slice = GUEST_TABLES,
          **env: str):
    """shopqr from `code` (and, with `floor`, bench/floor_app.py on the same code), started
    with the extra environment `env` (e.g. SHOPQR_SPEEDUPS_OFF), as a Workload."""
    app_environment = app_env(database_url, workdir, **env)
    with ExitStack() as stack:
        base = stack.enter_context(gunicorn("app:app", app_environment, cwd=code, code=code))
        floor_base = stack.enter_context(gunicorn(
            "floor_app:app", app_environment, cwd=ROOT / "bench", code=code)) if floor else None
        yield Workload.build(name, base, floor_base, database_url, workdir, tables, like)


def hello_run(hello_url: str, duration: int) -> dict[str, float]:
    before = cpu_seconds(hello_url)
    row = wrk(hello_url + "/", duration=duration)
    row["cpu_ms"] = ms_per_request(cpu_seconds(hello_url) - before, row["requests"])
    row["db_cpu_ms"] = 0.0
    return row


def http_figures(on: Workload, hello_url: str, duration: int, rounds: int) -> dict:
    """The main table: bare hello and each endpoint of this code with every speed-up on, after
    a 1 s warm-up of each (templates, caches, the pool's connections), `rounds` times in turn
    so that all rows see the same machine; each figure is its median over the rounds, and each
    ratio is of those medians. (One 3 s run of a row moved by a quarter from run to run here,
    and a ratio of two such runs by more.)"""
    wrk(hello_url + "/", duration=1)
    for endpoint in ENDPOINTS:
        on.run(endpoint, 1)
    runs: dict[str, list[dict[str, float]]] = {"bare hello": [], **{e: [] for e in ENDPOINTS}}
    for _ in range(rounds):
        runs["bare hello"].append(hello_run(hello_url, duration))
        for endpoint in ENDPOINTS:
            runs[endpoint].append(on.run(endpoint, duration))
    results = {name: median_run(row_runs) for name, row_runs in runs.items()}
    hello = results["bare hello"]
    for row in results.values():
        row["ratio"] = row["rps"] / hello["rps"] if hello["rps"] else 0.0
    return results


def paired(a: Workload, b: Workload, endpoints: tuple[str, ...], duration: int,
           rounds: int) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """Each endpoint on `a` then on `b`, `rounds` times in turn (after a 1 s warm-up of each),
    so both see the same machine; per side each figure's median over the rounds."""
    out = {}
    for endpoint in endpoints:
        a.run(endpoint, 1)
        b.run(endpoint, 1)
        runs_a, runs_b = [], []
        for _ in range(rounds):
            runs_a.append(a.run(endpoint, duration))
            runs_b.append(b.run(endpoint, duration))
        out[endpoint] = (median_run(runs_a), median_run(runs_b))
    return out


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs (non-2xx responses: all of them)."""
    row = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    row["errors"] = sum(r["errors"] for r in runs)
    return row


def gain(on: dict[str, float], off: dict[str, float]) -> float:
    return on["rps"] / off["rps"] - 1 if off["rps"] else float("nan")


def cpu_gain(on: dict[str, float], off: dict[str, float]) -> float:
    """How much more CPU a request costs `off` than `on` (the req/s gain a CPU-bound server
    would see)."""
    return off["cpu_ms"] / on["cpu_ms"] - 1 if on["cpu_ms"] else float("nan")


def print_pairs(title: str, label: str, a: str, b: str,
                rows: list[tuple[str, str, dict[str, float], dict[str, float]]],
                hello_rps: float | None = None) -> None:
    """`a` vs `b` per row: req/s (and its ratio to bare hello), p99 and the server's CPU time
    per request of each, a's gain in req/s (a/b - 1) and in CPU (b's CPU / a's - 1)."""
    print(f"\n{title}")
    w = max(10, len(a), len(b)) + 1
    ratio = f"{'vs hello':>9}" if hello_rps else ""
    print(f"{label:<16}{'endpoint':<24}{a:>{w}}{ratio}{b:>{w}}{ratio}{'gain':>8}"
          f"{a:>{w + 2}}{b:>{w + 2}}{a:>{w + 2}}{b:>{w + 2}}{'CPU gain':>9}{'non-2xx':>9}")
    print(f"{'':<40}{'req/s':>{w}}{'':>{len(ratio)}}{'req/s':>{w}}{'':>{len(ratio)}}{'':>8}"
          f"{'p99':>{w + 2}}{'p99':>{w + 2}}{'CPU/req':>{w + 2}}{'CPU/req':>{w + 2}}")
    for name, endpoint, ra, rb in rows:
        ratios = ("", "")
        if hello_rps:
            ratios = (f"{ra['rps'] / hello_rps:>9.0%}", f"{rb['rps'] / hello_rps:>9.0%}")
        print(f"{name:<16}{endpoint:<24}{ra['rps']:>{w}.0f}{ratios[0]}{rb['rps']:>{w}.0f}"
              f"{ratios[1]}{gain(ra, rb):>+8.1%}{ra['p99']:>{w}.1f}ms{rb['p99']:>{w}.1f}ms"
              f"{ra['cpu_ms']:>{w}.2f}ms{rb['cpu_ms']:>{w}.2f}ms{cpu_gain(ra, rb):>+9.1%}"
              f"{ra['errors'] + rb['errors']:>9}", flush=True)


def comparisons(kind: str, url: str, workdir: Path, on: Workload, hello_rps: float,
                args: argparse.Namespace, duration: int) -> None:
    """In the same run as the main table: each speed-up off against all on, mysqlclient
    against PyMySQL, and the --old checkout against this code."""
    speedups = [s for s in args.speedups if kind in SPEEDUP_ROWS[s][0]]
    if speedups:
        rows = []
        for name in speedups:
            endpoints = tuple(e for e in SPEEDUP_ROWS[name][1] if e in args.rows)
            with serve(f"{name} off", url, workdir, like=on, floor=WRITE in endpoints,
                       SHOPQR_SPEEDUPS_OFF=name) as off:
                for endpoint, (ra, rb) in paired(on, off, endpoints, duration,
                                                 args.rounds).items():
                    rows.append((name, endpoint, ra, rb))
        print_pairs(f"== {kind}: hand-made speed-ups on and off, in turn, median of "
                    f"{args.rounds} (gain = on/off - 1)", "speed-up", "on", "off", rows)
    if kind == "mariadb" and args.mysqlclient:
        try:
            import MySQLdb  # noqa: F401
        except ImportError:
            print("\nmysqlclient: not installed (pip install -e '.[mysqlclient]'), no rows")
        else:
            mysqldb_url = url.replace("mysql+pymysql://", "mysql+mysqldb://")
            with serve("mysqlclient", mysqldb_url, workdir, like=on) as fast:
                rows = [("driver", endpoint, ra, rb) for endpoint, (ra, rb) in
                        paired(fast, on, tuple(e for e in ENDPOINTS if e in args.rows),
                               duration, args.rounds).items()]
            print_pairs(f"== {kind}: mysqlclient (mysql+mysqldb://) and PyMySQL, in turn, "
                        f"median of {args.rounds} (gain = mysqlclient/PyMySQL - 1)", "",
                        "mysqlclient", "PyMySQL", rows)
    if args.old:
        with serve("old", url, workdir, code=args.old, floor=False, tables=OLD_TABLES) as old:
            rows = [("", endpoint, ra, rb) for endpoint, (ra, rb) in
                    paired(on, old, tuple(e for e in OLD_ENDPOINTS if e in args.rows),
                           duration, args.rounds).items()]
        print_pairs(f"== {kind}: this code (new) and {args.old} (old), in turn, median of "
                    f"{args.rounds} (gain = new/old - 1)", "", "new", "old", rows, hello_rps)


def queries_per_menu(database_url: str) -> dict[str, int]:
    """Count SQL statements for one menu page in-process (10 vs 60 products)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["SCHEDULER_ENABLED"] = "0"  # no poller in this process: it would take the lease
    os.environ.update(SECRET_KEY="bench-secret", SHOPQR_ENV="development", BAKONG_SIMULATOR="1")
    from sqlalchemy import event

    from shopqr import create_app
    from shopqr.extensions import db

    app = create_app()
    counts: dict[str, int] = {}
    with app.app_context():
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a: statements.append(a[2]))
        for slug in ("bench-10", SLUG):
            client = app.test_client()
            token = table_tokens(database_url, slug)[-1]
            client.get(f"/s/{slug}/t/{token}")
            client.get(f"/s/{slug}/menu")  # warm
            statements.clear()
            assert client.get(f"/s/{slug}/menu").status_code == 200
            counts[slug] = len(statements)
        db.engine.dispose()
    return counts


def staff_session(base: str, slug: str, name: str, pin: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/s/{slug}/staff/", timeout=10).text
    user_id = re.search(rf'user=(\d+)[^"]*"[^>]*>\s*<strong>{name}</strong>', page).group(1)
    s.post(f"{base}/s/{slug}/staff/sign-in", data={"user_id": user_id, "pin": pin},
           headers={"X-CSRFToken": csrf_of(page)}, timeout=10).raise_for_status()
    return s


def open_drawer(session: requests.Session, base: str, slug: str) -> None:
    """Open the cash drawer's shift, so the POS takes cash (docs/shifts.md). Code from before
    shifts has no such page (404) and takes cash without one."""
    page = session.get(f"{base}/s/{slug}/pos/shift", timeout=30)
    if page.status_code == 404:
        return
    session.post(f"{base}/s/{slug}/pos/shift/open", data={"usd": "100", "khr": "0"},
                 headers={"X-CSRFToken": csrf_of(page.text)}, timeout=30).raise_for_status()


def kitchen_socket(base: str, slug: str, cookie: str) -> simple_websocket.Client:
    return simple_websocket.Client.connect(
        base.replace("http://", "ws://") + f"/s/{slug}/kitchen/ws", headers={"Cookie": cookie})


def payment_to_kitchen(database_url: str, workdir: Path, orders: int) -> list[float]:
    """Seconds from the simulator's payment to the kitchen socket receiving the card."""
    tokens = table_tokens(database_url, SLUG)
    products = product_ids(database_url, SLUG)
    port = free_port()
    # The poller finds the simulator through PUBLIC_BASE_URL: this very server.
    env = app_env(database_url, workdir, SCHEDULER_ENABLED="1",
                  PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    latencies: list[float] = []
    with gunicorn("app:app", env, cwd=ROOT, port=port) as base:
        barista = staff_session(base, SLUG, "Barista", "271828")
        ws = kitchen_socket(base, SLUG, cookie_header(barista))
        ws.receive(timeout=10)  # snapshot
        for n in range(orders):
            s, token = guest(base, SLUG, tokens[n % 20])
            s.post(f"{base}/s/{SLUG}/cart/items", data={"product_id": products[n % 60]},
                   headers={"X-CSRFToken": token})
            page = s.post(f"{base}/s/{SLUG}/checkout", headers={"X-CSRFToken": token},
                          data={"method": "khqr", "checkout_key": f"bench-pay-{n:06d}-xxxxxxx"})
            md5 = re.search(r'data-md5="([0-9a-f]{32})"', page.text).group(1)
            order_id = re.search(r'id="order-status-(\d+)"', page.text).group(1)
            amount = re.search(r'name="amount" value="([\d.]+)"', page.text).group(1)
            time.sleep(0.3 + (n % 7) * 0.25)  # the guest opens the banking app
            requests.post(f"{base}/_bakong/pay", json={"md5": md5, "amount": amount},
                          timeout=10).raise_for_status()
            start = time.perf_counter()
            while True:
                message = ws.receive(timeout=15)
                if message is None:
                    raise SystemExit(f"order {order_id} never reached the kitchen")
                if f"kitchen-order-{order_id}" in message:
                    latencies.append(time.perf_counter() - start)
                    break
        ws.close()
    return latencies


def fan_out(database_url: str, workdir: Path, sockets: int, rounds: int = 5) -> dict[str, float]:
    """Open `sockets` kitchen websockets on one process; `rounds` cash payments one after
    another; the time from each payment until each socket has the new card."""
    tokens = table_tokens(database_url, SLUG)
    products = product_ids(database_url, SLUG)
    env = app_env(database_url, workdir)
    delays: list[float] = []
    with gunicorn("app:app", env, cwd=ROOT, threads=sockets + 64) as base:
        barista = staff_session(base, SLUG, "Barista", "271828")
        cookie = cookie_header(barista)
        clients = []
        for _ in range(sockets):
            ws = kitchen_socket(base, SLUG, cookie)
            ws.receive(timeout=30)
            clients.append(ws)
        order_ids = []
        for n in range(rounds):
            s, token = guest(base, SLUG, tokens[29 - n])
            s.post(f"{base}/s/{SLUG}/cart/items", data={"product_id": products[1]},
                   headers={"X-CSRFToken": token})
            page = s.post(f"{base}/s/{SLUG}/checkout", headers={"X-CSRFToken": token},
                          data={"method": "cash", "checkout_key": f"bench-fanout-{n:012d}"})
            order_ids.append(re.search(r'id="order-status-(\d+)"', page.text).group(1))
        cashier = staff_session(base, SLUG, "Cashier", "481516")
        open_drawer(cashier, base, SLUG)
        for order_id in order_ids:
            arrivals: list[float] = []
            lock = threading.Lock()
            start_evt = threading.Event()

            def wait(ws: simple_websocket.Client, order_id: str = order_id,
                     arrivals: list[float] = arrivals, lock: threading.Lock = lock,
                     start_evt: threading.Event = start_evt) -> None:
                start_evt.wait()
                while True:
                    message = ws.receive(timeout=30)
                    if message is None:
                        return
                    if f"kitchen-order-{order_id}" in message:
                        with lock:
                            arrivals.append(time.perf_counter())
                        return

            threads = [threading.Thread(target=wait, args=(ws,)) for ws in clients]
            for t in threads:
                t.start()
            pos_page = cashier.get(f"{base}/s/{SLUG}/pos/", timeout=30).text
            start_evt.set()
            start = time.perf_counter()
            cashier.post(f"{base}/s/{SLUG}/pos/orders/{order_id}/cash", data={"usd": "20"},
                         headers={"X-CSRFToken": csrf_of(pos_page)},
                         timeout=30).raise_for_status()
            for t in threads:
                t.join(timeout=60)
            delays += [a - start for a in arrivals]
            time.sleep(0.5)  # let the sockets' other messages (e.g. the POS) settle
        for ws in clients:
            ws.close()
    delays.sort()
    return {"held": len(clients), "received": len(delays), "rounds": rounds,
            "p50": statistics.median(delays) if delays else float("nan"),
            "p99": delays[int(len(delays) * 0.99) - 1] if delays else float("nan"),
            "max": delays[-1] if delays else float("nan")}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def speedup_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = set(names) - set(SPEEDUP_ROWS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {sorted(unknown)}; "
                                         f"known: {', '.join(SPEEDUP_ROWS)}")
    return names


def rows_of(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if set(names) - set(SHORT):
        raise argparse.ArgumentTypeError(f"unknown {sorted(set(names) - set(SHORT))}; "
                                         f"known: {', '.join(SHORT)}")
    return [SHORT[n] for n in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "mariadb", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="shorter runs (3 s, 10 orders)")
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--old", type=Path, metavar="DIR",
                        help="another checkout of shopqr (e.g. `git worktree add /tmp/old REV`): "
                             "also its rows, against the same database, in turn with this "
                             "code's")
    parser.add_argument("--speedups", type=speedup_names, default=list(SPEEDUP_ROWS),
                        metavar="NAME,...", help="the hand-made speed-ups to measure on and "
                        f"off (default all: {','.join(SPEEDUP_ROWS)}; '' for none)")
    parser.add_argument("--no-mysqlclient", dest="mysqlclient", action="store_false",
                        help="leave out the mysqlclient rows")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each row, in turn (the main table's rows, and each on/off, "
                        "driver and new/old pair); the median counts")
    parser.add_argument("--rows", type=rows_of, default=list(ENDPOINTS), metavar="NAME,...",
                        help="the endpoints of the on/off, mysqlclient and --old rows "
                        f"(default all: {','.join(SHORT)})")
    parser.add_argument("--http-only", action="store_true",
                        help="only the wrk tables (no queries, payment or fan-out figures)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    if args.old and not (args.old / "shopqr" / "__init__.py").is_file():
        raise SystemExit(f"--old {args.old}: not a checkout of shopqr")
    duration = 3 if args.quick else 10
    orders = 10 if args.quick else 50
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.platform()}")
    print(f"gunicorn: {procfile_web()}")
    print(f"code: {ROOT} at {git_describe(ROOT)}"
          + (f"; old: {args.old} at {git_describe(args.old)}" if args.old else ""))
    for kind in (["sqlite", "mariadb"] if args.db == "both" else [args.db]):
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            url = prepare_database(kind, workdir)
            with serve("on", url, workdir) as on:
                with gunicorn("hello:app", {}, cwd=ROOT / "bench") as hello_url:
                    figures = http_figures(on, hello_url, duration, args.rounds)
                rounds = f", median of {args.rounds}" if args.rounds > 1 else ""
                print(f"\n== {kind}: wrk -t{WRK_THREADS} -c16 -d{duration}s{rounds}")
                # CPU/req: the server process's CPU time per request; db CPU/req: the MariaDB
                # server's, which runs on the same cores
                print(f"{'endpoint':<24}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs hello':>10}"
                      f"{'non-2xx':>9}{'CPU/req':>10}"
                      + (f"{'db CPU/req':>12}" if kind == "mariadb" else ""))
                for name, row in figures.items():
                    print(f"{name:<24}{row['rps']:>9.0f}{row['p50']:>9.2f}{row['p99']:>9.2f}"
                          f"{row['ratio']:>9.0%} {row['errors']:>8}{row['cpu_ms']:>8.2f}ms"
                          + (f"{row['db_cpu_ms']:>10.2f}ms" if kind == "mariadb" else ""),
                          flush=True)
                comparisons(kind, url, workdir, on, figures["bare hello"]["rps"], args,
                            duration)
            if args.http_only:
                continue
            counts = queries_per_menu(url)
            print(f"SQL queries per menu page: {counts['bench-10']} at 10 products, "
                  f"{counts[SLUG]} at 60 products")
            lat = payment_to_kitchen(url, workdir, orders)
            print(f"payment -> kitchen over {len(lat)} orders: p50 {pct(lat, 50):.2f} s, "
                  f"p99 {pct(lat, 99):.2f} s, max {max(lat):.2f} s")
            fan = fan_out(url, workdir, args.sockets)
            print(f"websockets held by one process: {fan['held']}; fan-out of {fan['rounds']} paid "
                  f"orders, one at a time ({fan['received']} deliveries): "
                  f"p50 {fan['p50'] * 1000:.0f} ms, "
                  f"p99 {fan['p99'] * 1000:.0f} ms, max {fan['max'] * 1000:.0f} ms")


def git_describe(code: Path) -> str:
    done = subprocess.run(["git", "-C", str(code), "describe", "--always", "--dirty"],
                          capture_output=True, text=True)
    return done.stdout.strip() or "?"


if __name__ == "__main__":
    main()
