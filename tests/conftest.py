"""Fixtures shared by every test.

The suite runs on SQLite (a temporary file) by default and on MariaDB when
SHOPQR_TEST_DATABASE_URL is set (e.g. mysql+pymysql://root@127.0.0.1:3306/shopqr_test).
The schema is built once per run by the migrations; every test starts with empty tables.

Requests run as in production: each request made with the test client (and each command run
with the CLI runner) gets its own app context (its own ``g``, language, CSRF token and database
session, closed at its end), also while the test holds one. The ``app`` fixture pushes no
context; a test that works with the database itself (the factories, queries, services) asks for
``ctx``: an app context for the test's own session, like a second process looking at the same
database. After each request or command that session forgets what it had loaded, so the test
reads what was committed; and a request made while the test has changes it did not commit is
an error (the request could not see them, and on MariaDB would wait for their locks)."""

from __future__ import annotations

import contextvars
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from babel.messages.pofile import read_po
from click.testing import Result
from flask import Flask, current_app, has_app_context
from flask.testing import FlaskClient, FlaskCliRunner
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from shopqr import create_app
from shopqr.extensions import db
from shopqr.models import Base

MARIADB_URL = os.environ.get("SHOPQR_TEST_DATABASE_URL", "")
T = TypeVar("T")
KHMER_PO = Path(__file__).resolve().parents[1] / "shopqr/translations/km/LC_MESSAGES/messages.po"


def pytest_report_header(config: pytest.Config) -> str:
    return f"shopqr database: {'MariaDB ' + MARIADB_URL if MARIADB_URL else 'SQLite'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _share_browser_tests(config, items)
    if MARIADB_URL:
        return
    skip = pytest.mark.skip(reason="MariaDB only: set SHOPQR_TEST_DATABASE_URL")
    for item in items:
        if "mariadb" in item.keywords:
            item.add_marker(skip)


def _share_browser_tests(config: pytest.Config, items: list[pytest.Item]) -> None:
    """SHOPQR_BROWSER_SHARE=k/n (scripts/test.sh): keep the browser tests of every n-th browser
    test module, starting with the k-th, and deselect the others. The script's two passes (SQLite
    and MariaDB) each take one half, so every browser test runs once per run, on one database or
    the other, and CI stays within its time; every other test runs on both. Unset: all run."""
    share = os.environ.get("SHOPQR_BROWSER_SHARE", "")
    if not share:
        return
    k, n = (int(part) for part in share.split("/"))
    modules = sorted({item.nodeid.split("::")[0] for item in items
                      if "browser" in item.keywords})
    mine = {module for i, module in enumerate(modules) if i % n == k - 1}
    dropped = [item for item in items
               if "browser" in item.keywords and item.nodeid.split("::")[0] not in mine]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def _in_a_context_of_its_own(app: Flask, run: Callable[[], T]) -> T:
    """Run a request or a command as production does: in an app context of its own, even
    while the test holds one (Flask would reuse that). The test's own session must have no
    uncommitted changes, and forgets what it loaded afterwards, so it reads what was
    committed."""
    mine = db.session if has_app_context() and current_app._get_current_object() is app \
        else None
    if mine is not None and (mine.new or mine.dirty or mine.deleted):
        raise AssertionError(
            "the test has database changes it did not commit; commit them before a request "
            f"(new {list(mine.new)}, changed {list(mine.dirty)}, deleted {list(mine.deleted)})")
    # An empty contextvars context holds no app context, so Flask pushes a fresh one.
    result = contextvars.Context().run(run)
    if mine is not None:
        mine.expire_all()
    return result


class CSRFClient(FlaskClient):
    """A test client that sends a valid CSRF token header with every POST, like htmx does
    (pass ``csrf=False`` to send none), and runs every request in an app context of its own."""

    def open(self, *args: Any, **kwargs: Any):
        return _in_a_context_of_its_own(self.application,
                                        lambda: super(CSRFClient, self).open(*args, **kwargs))

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        app = self.application
        return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any):
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
        # one PBKDF2 round, not scrypt: the tests hash and check hundreds of PINs and passwords
        # (a stored hash names its method; test_sign_in checks that the default is scrypt)
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
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


# Set once a test's teardown has emptied every table, so the next test need not do it again
# (on MariaDB emptying them costs about as much as a short test).
_tables_known_empty = False


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
    app.test_cli_runner_class = CLIRunner
    return app


@pytest.fixture
def app_settings() -> dict[str, Any]:
    """Settings a test module adds to the app (override it in the module, e.g. the Telegram
    tests' fake Bot API)."""
    return {}


@pytest.fixture
def app(database_url: str, app_settings: dict[str, Any]) -> Iterator[Flask]:
    """The app on empty tables. No app context is pushed: requests push their own; a test
    that uses the database itself asks for ``ctx`` too."""
    global _tables_known_empty
    app = build_app(database_url, **app_settings)
    with app.app_context():
        if not _tables_known_empty:  # the last test's teardown did not finish emptying them
            _empty_all_tables()
        _tables_known_empty = False
    yield app
    with app.app_context():
        _empty_all_tables()
        _tables_known_empty = True
        db.engine.dispose()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context for the test's own database work (factories, queries, services); the
    test client's requests never share it. Yields the app."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture(scope="session")
def khmer() -> dict[str, str]:
    """The Khmer catalog, English msgid -> Khmer: tests look texts up here instead of copying
    them."""
    with KHMER_PO.open("rb") as f:
        return {m.id: m.string for m in read_po(f, locale="km") if m.id and m.context is None}


@pytest.fixture
def client(app: Flask) -> CSRFClient:
    return app.test_client()


ADMIN_PASSWORD = "platform-admin-pass"


@pytest.fixture
def admin_client(app: Flask) -> CSRFClient:
    """A client signed in as the platform admin root@shopqr.example (ADMIN_PASSWORD)."""
    from shopqr.models import AdminUser
    from shopqr.services.shops import hash_secret

    with app.app_context():
        db.session.add(AdminUser(email="root@shopqr.example",
                                 password_hash=hash_secret(ADMIN_PASSWORD)))
        db.session.commit()
    client: CSRFClient = app.test_client()
    response = client.post("/admin/login", data={"email": "root@shopqr.example",
                                                 "password": ADMIN_PASSWORD})
    assert response.status_code == 303
    return client


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


class CLIRunner(FlaskCliRunner):
    """Runs a command as ``flask --app app <command>`` does: in an app context of its own."""

    def invoke(self, cli: Any = None, args: Any = None, **kwargs: Any) -> Result:
        def run() -> Result:
            with self.app.app_context():
                return super(CLIRunner, self).invoke(cli, args, **kwargs)

        return _in_a_context_of_its_own(self.app, run)


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
