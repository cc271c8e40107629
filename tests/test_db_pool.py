"""MariaDB connections: one reset per request, a ping only after idling, dead ones replaced."""

from __future__ import annotations

from collections.abc import Iterator

import pymysql.connections
import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shopqr.extensions import db
from tests.conftest import MARIADB_URL, build_app

pytestmark = pytest.mark.mariadb


class Counter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.calls = 0
        original = getattr(pymysql.connections.Connection, name)

        def counting(conn, *args, **kwargs):
            self.calls += 1
            return original(conn, *args, **kwargs)

        monkeypatch.setattr(pymysql.connections.Connection, name, counting)


def _app(database_url: str, **extra: object) -> Iterator[Flask]:
    """No app context held around the test: each request gets its own, as in production,
    so its session ends and hands the connection back when the request ends."""
    app = build_app(database_url, **extra)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def hot_app(database_url: str) -> Iterator[Flask]:
    yield from _app(database_url)


@pytest.fixture
def pinging_app(database_url: str) -> Iterator[Flask]:
    """Pings every connection that leaves the pool (idle for 0 s or more)."""
    yield from _app(database_url, DB_PING_IDLE_SECONDS=0)


def _kill_pooled_connection(app: Flask) -> None:
    """Have the server drop the connection the app's pool holds (as a restart would)."""
    with app.app_context():
        connection_id = db.session.execute(text("SELECT CONNECTION_ID()")).scalar_one()
    # the app context ended: the connection is back in the pool
    admin = create_engine(make_url(MARIADB_URL))
    with admin.connect() as conn:
        conn.execute(text(f"KILL {int(connection_id)}"))
    admin.dispose()


def test_a_request_rolls_back_once_and_does_not_ping_a_connection_in_use(
    hot_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = hot_app.test_client()
    # a guest page: one read through the request's session (here: no such shop)
    assert client.get("/s/no-such-shop/menu").status_code == 404  # the pool holds a connection
    rollbacks, pings = Counter(monkeypatch, "rollback"), Counter(monkeypatch, "ping")
    for _ in range(10):
        assert client.get("/s/no-such-shop/menu").status_code == 404
    assert rollbacks.calls == 10  # stock SQLAlchemy: 20 (the session's, then the pool's)
    assert pings.calls == 0  # stock pool_pre_ping: 10


def test_the_health_check_is_one_ping_and_nothing_to_roll_back(
    hot_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = hot_app.test_client()
    assert client.get("/healthz").status_code == 200  # the pool now holds a connection
    rollbacks, pings = Counter(monkeypatch, "rollback"), Counter(monkeypatch, "ping")
    queries = Counter(monkeypatch, "query")
    for _ in range(10):
        assert client.get("/healthz").json == {"status": "ok", "database": "ok"}
    assert (pings.calls, queries.calls, rollbacks.calls) == (10, 0, 0)


@pytest.fixture(params=["defaults", "pre-ping from instance/config.py"])
def any_app(request: pytest.FixtureRequest, database_url: str) -> Iterator[Flask]:
    """shopqr's defaults, and an owner's instance/config.py that turns pool_pre_ping back on."""
    extra = {} if request.param == "defaults" else {
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}}
    yield from _app(database_url, **extra)


def test_a_connection_returned_mid_transaction_is_still_rolled_back(any_app: Flask) -> None:
    with any_app.app_context():
        engine = db.engine
    raw = engine.raw_connection()
    cur = raw.cursor()
    cur.execute("CREATE TEMPORARY TABLE pool_probe (n INT) ENGINE=InnoDB")
    cur.execute("INSERT INTO pool_probe VALUES (1)")  # no commit
    cur.close()
    raw.close()  # back to the pool with the transaction open

    raw = engine.raw_connection()  # the same connection (the only one in the pool)
    cur = raw.cursor()
    cur.execute("SELECT COUNT(*) FROM pool_probe")
    assert cur.fetchone()[0] == 0  # the pool rolled the insert back
    cur.close()
    raw.close()


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    pinging_app: Flask,
) -> None:
    client = pinging_app.test_client()
    assert client.get("/healthz").status_code == 200
    _kill_pooled_connection(pinging_app)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_a_connection_dropped_while_in_steady_use_fails_one_request_then_recovers(
    hot_app: Flask,
) -> None:
    """The price of not pinging hot connections: after a server restart within
    DB_PING_IDLE_SECONDS of a connection's last use, one request fails (503 here, where the
    health check reports it) and the pool replaces its connections for the next."""
    client = hot_app.test_client()
    assert client.get("/healthz").status_code == 200
    _kill_pooled_connection(hot_app)
    assert client.get("/healthz").status_code == 503
    assert client.get("/healthz").status_code == 200
