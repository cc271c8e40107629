"""shopqr through mysqlclient (``mysql+mysqldb://``, the optional extra
``pip install -e '.[mysqlclient]'``) against the MariaDB test database: a guest orders, and a
connection the server dropped is replaced. CI runs MariaDB with PyMySQL only, so these run
where mysqlclient is installed and SHOPQR_TEST_DATABASE_URL is set."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from shopqr.extensions import db
from shopqr.models import Order
from tests.conftest import MARIADB_URL, build_app
from tests.factories import make_product, make_shop, make_table

pytestmark = [
    pytest.mark.mariadb,
    pytest.mark.skipif(importlib.util.find_spec("MySQLdb") is None,
                       reason="mysqlclient is not installed: pip install -e '.[mysqlclient]'"),
]


def mysqldb(url: str) -> str:
    return make_url(url).set(drivername="mysql+mysqldb").render_as_string(hide_password=False)


def _app(database_url: str, **extra: object) -> Iterator[Flask]:
    app = build_app(mysqldb(database_url), **extra)
    with app.app_context():
        assert db.engine.dialect.driver == "mysqldb"
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def mysqldb_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """The same database as ``app`` (whose fixture empties the tables), through mysqlclient."""
    yield from _app(database_url)


def test_a_guest_adds_to_the_cart_and_checks_out_through_mysqlclient(
    app: Flask, ctx: Flask, mysqldb_app: Flask
) -> None:
    shop = make_shop("mysqldb-cafe")
    table = make_table(shop, "Table 1")
    tea = make_product(shop, "Bubble tea 🧋 តែគុជ", "2.25")  # a 4-byte character: utf8mb4
    phone = mysqldb_app.test_client()
    assert phone.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    assert "Bubble tea 🧋 តែគុជ" in phone.get(f"/s/{shop.slug}/menu").text
    for _ in range(2):
        assert phone.post(f"/s/{shop.slug}/cart/items",
                          data={"product_id": tea.id}).status_code == 303
    placed = phone.post(f"/s/{shop.slug}/checkout",
                        data={"method": "cash", "checkout_key": "mysqldb-key-000000001"})
    assert placed.status_code == 303
    page = phone.get(placed.headers["Location"])
    assert page.status_code == 200 and "Bubble tea 🧋 តែគុជ" in page.text
    order = db.session.scalar(select(Order))  # read back through PyMySQL
    assert order.total == Decimal("4.50") and order.table_id == table.id


def test_an_idle_connection_that_is_alive_is_pinged_and_kept_through_mysqlclient(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """shopqr.db_pool pings with the driver's own ping (no deprecated reconnect flag, which
    mysqlclient warns about): the connection answers and is used again, not replaced."""
    import MySQLdb.connections

    pings = []
    ping = MySQLdb.connections.Connection.ping
    monkeypatch.setattr(MySQLdb.connections.Connection, "ping",
                        lambda conn, *args: pings.append(args) or ping(conn, *args))
    for app in _app(database_url, DB_PING_IDLE_SECONDS=0):
        ids = []
        for _ in range(3):
            with app.app_context():
                ids.append(db.session.execute(text("SELECT CONNECTION_ID()")).scalar_one())
        assert ids[0] == ids[1] == ids[2]
        assert pings == [(), ()]  # the second and third checkout, without arguments


def test_an_idle_connection_the_server_dropped_is_replaced_through_mysqlclient(
    database_url: str,
) -> None:
    """The pool's ping works with mysqlclient's connection too (DB_PING_IDLE_SECONDS=0: the
    pool pings every connection it hands out)."""
    for app in _app(database_url, DB_PING_IDLE_SECONDS=0):
        client = app.test_client()
        assert client.get("/healthz").json == {"status": "ok", "database": "ok"}
        with app.app_context():
            connection_id = db.session.execute(text("SELECT CONNECTION_ID()")).scalar_one()
        admin = create_engine(make_url(MARIADB_URL))
        with admin.connect() as conn:
            conn.execute(text(f"KILL {int(connection_id)}"))
        admin.dispose()
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json == {"status": "ok", "database": "ok"}
