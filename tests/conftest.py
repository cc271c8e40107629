"""Fixtures shared by every test.

The suite runs on SQLite (a temporary file) by default and on MariaDB when
SHOPQR_TEST_DATABASE_URL is set (e.g. mysql+pymysql://root@127.0.0.1:3306/shopqr_test).
The schema is built once per run by the migrations; every test starts with empty tables."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask, g
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from shopqr import create_app
from shopqr.extensions import db
from shopqr.models import Base

MARIADB_URL = os.environ.get("SHOPQR_TEST_DATABASE_URL", "")
KHMER_PO = Path(__file__).resolve().parents[1] / "shopqr/translations/km/LC_MESSAGES/messages.po"


def pytest_report_header(config: pytest.Config) -> str:
    return f"shopqr database: {'MariaDB ' + MARIADB_URL if MARIADB_URL else 'SQLite'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if MARIADB_URL:
        return
    skip = pytest.mark.skip(reason="MariaDB only: set SHOPQR_TEST_DATABASE_URL")
    for item in items:
        if "mariadb" in item.keywords:
            item.add_marker(skip)


class CSRFClient(FlaskClient):
    """A test client that sends a valid CSRF token header with every POST, like htmx does.
    Pass ``csrf=False`` to send none."""

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        app = self.application
        return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any):  # type: ignore[override]
        if csrf:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return super().post(*args, **kwargs)


def settings_for(database_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        # Production is the default; tests choose development and the simulator explicitly,
        # as scripts/demo.sh does.
        "SHOPQR_ENV": "development",
        "BAKONG_SIMULATOR": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SCHEDULER_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        **extra,
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with the schema built by the migrations, once per test run."""
    if MARIADB_URL:
        url = make_url(MARIADB_URL)
        server = create_engine(url.set(database=""))
        with server.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{url.database}`"))
            conn.execute(text(
                f"CREATE DATABASE `{url.database}` CHARACTER SET utf8mb4 "
                "COLLATE utf8mb4_unicode_ci"
            ))
        server.dispose()
        database = MARIADB_URL
    else:
        database = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
    app = create_app(settings_for(database))
    with app.app_context():
        from shopqr.cli import upgrade_database

        upgrade_database()
        db.engine.dispose()
    yield database


def _empty_all_tables() -> None:
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "mysql":
            conn.execute(text("SET SESSION lock_wait_timeout = 10"))
            conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))


def build_app(database_url: str, **extra: Any) -> Flask:
    app = create_app(settings_for(database_url, **extra))
    app.test_client_class = CSRFClient

    @app.before_request
    def _choose_the_language_again() -> None:
        """In production every request has its own app context, so Flask-Babel (which keeps
        the chosen locale on ``g``) chooses again for each one. Tests hold one app context
        around many requests; without this, a test's first request would fix the language of
        all that follow (a switch, a cookie or Accept-Language set later would be ignored)."""
        g.pop("_flask_babel", None)

    return app


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = build_app(database_url)
    with app.app_context():
        _empty_all_tables()
        yield app
        _empty_all_tables()
        db.engine.dispose()


@pytest.fixture(scope="session")
def khmer() -> dict[str, str]:
    """The Khmer catalog, English msgid -> Khmer: tests look texts up here instead of copying
    them."""
    with KHMER_PO.open("rb") as f:
        return {m.id: m.string for m in read_po(f, locale="km") if m.id}


@pytest.fixture
def client(app: Flask) -> CSRFClient:
    return app.test_client()  # type: ignore[return-value]


ADMIN_PASSWORD = "platform-admin-pass"


@pytest.fixture
def admin_client(app: Flask) -> CSRFClient:
    """A client signed in as the platform admin root@shopqr.example (ADMIN_PASSWORD)."""
    from shopqr.models import AdminUser
    from shopqr.services.shops import hash_secret

    db.session.add(AdminUser(email="root@shopqr.example",
                             password_hash=hash_secret(ADMIN_PASSWORD)))
    db.session.commit()
    client: CSRFClient = app.test_client()  # type: ignore[assignment]
    response = client.post("/admin/login", data={"email": "root@shopqr.example",
                                                 "password": ADMIN_PASSWORD})
    assert response.status_code == 303
    return client


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


class LiveServer:
    """The app served over real HTTP on loopback, in a background thread."""

    def __init__(self, app: Flask, port: int = 0) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """Serve the test app on a real port; PUBLIC_BASE_URL points at it."""
    server = LiveServer(app)
    app.config["PUBLIC_BASE_URL"] = server.url
    server.start()
    yield server
    server.stop()
