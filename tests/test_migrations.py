"""The migrations build an empty database to the models' schema, on SQLite and MariaDB."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from shopqr import create_app
from shopqr.extensions import db
from shopqr.models import Base


@pytest.fixture
def empty_database_url(tmp_path):
    mariadb = os.environ.get("SHOPQR_TEST_DATABASE_URL")
    if not mariadb:
        yield f"sqlite:///{tmp_path}/empty.sqlite"
        return
    url = make_url(mariadb).set(database="shopqr_test_migrations")
    server = create_engine(url.set(database=""))
    with server.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS shopqr_test_migrations"))
        conn.execute(text("CREATE DATABASE shopqr_test_migrations CHARACTER SET utf8mb4"))
    yield url.render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS shopqr_test_migrations"))
    server.dispose()


def test_upgrade_from_empty_matches_the_models_and_downgrades(empty_database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url,
                      "SCHEDULER_ENABLED": False})
    with app.app_context():
        directory = app.extensions["migrate"].directory
        upgrade(directory=directory)
        tables = set(inspect(db.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []  # flask db check: no drift
        downgrade(directory=directory, revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=directory)
        assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()
