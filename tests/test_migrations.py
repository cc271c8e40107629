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


def script_directory(app: Flask) -> ScriptDirectory:
    migrate: Migrate = app.extensions["migrate"]
    return ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))


def test_the_migrations_are_one_straight_line(migrating_app):
    scripts = script_directory(migrating_app)
    assert len(scripts.get_heads()) == 1
    assert len(scripts.get_bases()) == 1


def readyz(app: Flask):
    response = app.test_client().get("/readyz")
    assert response.is_json
    return response


def test_readyz_is_503_with_a_reason_until_the_schema_is_built(migrating_app):
    """/healthz only says the database answers; /readyz says the release step has run."""
    assert migrating_app.test_client().get("/healthz").status_code == 200
    response = readyz(migrating_app)
    assert response.status_code == 503
    assert response.json["status"] == "not ready"
    assert "no schema" in response.json["reason"]
    assert "flask --app app db upgrade" in response.json["reason"]
    flask_db(migrating_app, "upgrade")
    response = readyz(migrating_app)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ready"
    assert response.json["database"] == response.json["head"]


def test_readyz_is_503_when_the_database_is_one_migration_behind(migrating_app):
    scripts = script_directory(migrating_app)
    head = scripts.get_current_head()
    previous = scripts.get_revision(head).down_revision
    flask_db(migrating_app, "upgrade", previous)
    response = readyz(migrating_app)
    assert response.status_code == 503
    assert (response.json["database"], response.json["head"]) == (previous, head)
    assert f"this code needs {head}" in response.json["reason"]
    flask_db(migrating_app, "upgrade")
    assert readyz(migrating_app).status_code == 200


def test_readyz_is_503_when_no_migration_is_recorded(migrating_app):
    flask_db(migrating_app, "upgrade")
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    response = readyz(migrating_app)
    assert response.status_code == 503 and "no migration applied" in response.json["reason"]


def test_readyz_is_503_when_the_poller_lease_table_does_not_answer(migrating_app):
    flask_db(migrating_app, "upgrade")
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE poller_leases"))
    response = readyz(migrating_app)
    assert response.status_code == 503
    assert "lease table" in response.json["reason"]


def test_readyz_stays_ready_when_newer_code_migrated_the_database(migrating_app):
    """During a deploy the release step migrates the database before the old processes stop;
    they must not all drop out of the load balancer meanwhile."""
    flask_db(migrating_app, "upgrade")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_a_newer_release'"))
    response = readyz(migrating_app)
    assert response.status_code == 200
    assert response.json["database"] == "from_a_newer_release"
    assert "newer" in response.json["note"]
