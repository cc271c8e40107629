"""The migrations build an EMPTY database to exactly the models' schema (`flask db check`), and
go down to nothing and up again. SQLite by default; MariaDB when SHOPQR_TEST_DATABASE_URL is set
(in a database of its own, `<test database>_migrations`, created and dropped here: several
checkouts may test on one server at once, each with its own test database)."""

from __future__ import annotations

import os

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import Migrate
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from shopqr import create_app
from shopqr.extensions import db
from shopqr.models import Base

MIGRATIONS_SUFFIX = "_migrations"


@pytest.fixture
def empty_database_url(tmp_path):
    mariadb = os.environ.get("SHOPQR_TEST_DATABASE_URL")
    if not mariadb:
        yield f"sqlite:///{tmp_path}/empty.sqlite"
        return
    base = make_url(mariadb)
    name = f"{base.database}{MIGRATIONS_SUFFIX}"
    url = base.set(database=name)
    server = create_engine(url.set(database=""))
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                          "COLLATE utf8mb4_unicode_ci"))
    yield url.render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    server.dispose()


@pytest.fixture
def migrating_app(empty_database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SCHEDULER_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def flask_db(app: Flask, *args: str) -> None:
    """`flask db <args>` as the release step runs it; fails the test on a non-zero exit."""
    result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0, (args, result.output, result.exception)


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_upgrade_from_empty_reaches_the_models_with_no_drift(migrating_app):
    assert table_names() == set()
    flask_db(migrating_app, "upgrade")
    assert set(Base.metadata.tables) <= table_names()
    flask_db(migrating_app, "check")  # "No new upgrade operations detected."


def test_db_check_notices_a_schema_that_differs_from_the_models(migrating_app):
    """The check above can fail: a stray table makes `flask db check` exit non-zero."""
    flask_db(migrating_app, "upgrade")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE stray_table (id INTEGER PRIMARY KEY)"))
    result = migrating_app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code != 0
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE stray_table"))
    flask_db(migrating_app, "check")  # the stray table was the only difference


def test_downgrade_to_base_and_upgrade_again(migrating_app):
    flask_db(migrating_app, "upgrade")
    flask_db(migrating_app, "downgrade", "base")
    assert table_names() <= {"alembic_version"}
    flask_db(migrating_app, "upgrade")
    assert set(Base.metadata.tables) <= table_names()
    flask_db(migrating_app, "check")


def test_the_migrations_are_one_straight_line(migrating_app):
    migrate: Migrate = migrating_app.extensions["migrate"]
    scripts = ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))
    assert len(scripts.get_heads()) == 1
    assert len(scripts.get_bases()) == 1
