"""The database engine: which database, the engine and pool options for SQLite and MariaDB, and
what shopqr adds to SQLAlchemy's pool (``shopqr.db_pool``, ``shopqr.sqlite_writers``)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import PurePath
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url


def database_uri(config: dict[str, Any], instance_path: str) -> str:
    """SQLALCHEMY_DATABASE_URI, else DATABASE_URL, else SQLite in the instance folder; MariaDB
    URLs get utf8mb4 unless they name a charset."""
    uri = config.get("SQLALCHEMY_DATABASE_URI") or config.get("DATABASE_URL")
    if not uri:
        uri = "sqlite:///" + os.path.join(instance_path, "shopqr.sqlite")
    if uri.startswith("mysql") and "charset=" not in uri:
        uri += ("&" if "?" in uri else "?") + "charset=utf8mb4"
    return uri


def database_name(uri: str) -> str:
    """A short name for the database: MariaDB's database name, or the SQLite file's stem."""
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return "memory"
        return PurePath(url.database).stem
    return url.database or "default"


def engine_options(uri: str, config: dict[str, Any]) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS for the database at `uri`; options set in the config (for
    example in instance/config.py) win over these."""
    pool = {"pool_size": config["DB_POOL_SIZE"], "max_overflow": config["DB_POOL_SIZE"]}
    given = config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
    off = config.get("SPEEDUPS_OFF", frozenset())
    if uri.startswith("mysql") and "db_pool" in off:  # SQLAlchemy's stock ping and reset
        return {**pool, "pool_pre_ping": True, "pool_recycle": 1800,
                "isolation_level": "READ COMMITTED", **given}
    if uri.startswith("mysql"):
        return {
            **pool,
            # shopqr.db_pool pings idle connections only and resets each connection once
            "pool_pre_ping": False,
            "pool_reset_on_return": None,
            "pool_recycle": 1800,
            # READ COMMITTED: a statement that waited for a row lock sees what the other
            # transaction committed (checkout and numbering rely on it).
            "isolation_level": "READ COMMITTED",
            **given,
        }
    if uri.startswith("sqlite"):
        from shopqr.sqlite_writers import connection_factory

        factory = {} if "sqlite_writers" in off else {"factory": connection_factory()}
        return {
            **({} if uri in ("sqlite://", "sqlite:///:memory:") else pool),
            "connect_args": {"timeout": 15, "check_same_thread": False, **factory},
            **given,
        }
    return given


def init_app(app: Flask) -> None:
    """Bind Flask-SQLAlchemy to the app, then tune the pool of a database server."""
    from shopqr.extensions import db

    db.init_app(app)
    _tune_pool(app)


def _tune_pool(app: Flask) -> None:
    """With the pool's own reset off (the MariaDB options above), shopqr.db_pool does it, and
    pings idle connections; whatever else instance/config.py changed in the engine options."""
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    if "pool_reset_on_return" in options and options["pool_reset_on_return"] is None:
        from shopqr import db_pool
        from shopqr.extensions import db

        with app.app_context():
            db_pool.tune(db.engine, ping_idle_seconds=app.config["DB_PING_IDLE_SECONDS"])


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Foreign keys on, WAL so guests' reads never wait on a writer (also on the connections of
    shopqr.sqlite_writers' subclass)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()
