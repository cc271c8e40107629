"""The app factory: configuration layering, production safety, MariaDB options, health check,
error pages and the headers every response carries."""

from __future__ import annotations

import importlib.util
import logging

import pytest
from sqlalchemy import text

from shopqr import create_app
from shopqr.config import ENV_SETTINGS, Defaults, env_overrides

# Settings the environment may carry on a developer's machine or CI; cleared for these tests.
ENV_NAMES = tuple(ENV_SETTINGS)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No shopqr settings in the environment, a throw-away database, no scheduler thread."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite")
    monkeypatch.setenv("SCHEDULER_ENABLED", "0")
    monkeypatch.setenv("SHOPQR_ENV", "development")  # the tests of production unset it
    return monkeypatch


def test_an_empty_environment_is_production_and_will_not_start_without_a_secret_key(clean_env):
    clean_env.delenv("DATABASE_URL")
    clean_env.delenv("SHOPQR_ENV")
    with pytest.raises(RuntimeError, match="SECRET_KEY") as refused:
        create_app()
    assert "./scripts/demo.sh" in str(refused.value)  # the message says what to do


def test_production_defaults_expose_no_simulator_and_poll_nothing(clean_env, caplog):
    """A deployment that forgets SHOPQR_ENV: production, so no "mark as paid" button, no
    simulator routes, and with no BAKONG_API_URL a poller that checks nothing and says so."""
    clean_env.delenv("SHOPQR_ENV")
    clean_env.setenv("SECRET_KEY", "a-real-production-secret")
    app = create_app()
    assert app.config["SHOPQR_ENV"] == "production"
    assert app.config["BAKONG_SIMULATOR"] is False and "bakong_sim" not in app.blueprints
    assert not any(rule.rule.startswith("/_bakong") for rule in app.url_map.iter_rules())
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["KHQR_TTL_SECONDS"] <= 600  # NBC: a KHQR lives at most 10 minutes
    client = app.test_client()
    for path in ("/_bakong/pay", "/_bakong/faults", "/_bakong/v1/check_transaction_by_md5"):
        assert client.post(path, json={"md5": "0" * 32}).status_code == 404
        assert client.get(path).status_code == 404

    from shopqr.services import bakong
    from shopqr.services.poller import PollerThread

    assert not bakong.configured(app.config)
    with pytest.raises(bakong.BakongError, match="BAKONG_API_URL"):
        bakong.client_from_config(app.config)
    poller = PollerThread(app)
    # Alembic's logging set-up (migrations/env.py) disables loggers that exist when it runs
    clean_env.setattr(logging.getLogger("shopqr.services.poller"), "disabled", False)
    with caplog.at_level("WARNING"):
        poller.tick()
        poller.tick()  # said once, not every second
    warnings = [r.getMessage() for r in caplog.records if "BAKONG_API_URL" in r.getMessage()]
    assert len(warnings) == 1


def test_development_settings_use_sqlite_in_the_instance_folder(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    app = create_app({"TESTING": True, "SHOPQR_ENV": "development"})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri == "sqlite:///" + app.instance_path + "/shopqr.sqlite"
    assert app.config["SESSION_COOKIE_SECURE"] is False
    # the simulator only when asked for, even in development
    assert app.config["BAKONG_SIMULATOR"] is False and "bakong_sim" not in app.blueprints
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["check_same_thread"] is False


def test_the_test_mapping_overrides_defaults_and_ignores_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATABASE_URL", "mysql+pymysql://nobody@db.invalid/never")
    app = create_app({"TESTING": True, "SECRET_KEY": "from-the-mapping",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/mapped.sqlite",
                      "KHQR_TTL_SECONDS": 300})
    assert app.config["SECRET_KEY"] == "from-the-mapping"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/mapped.sqlite"
    assert app.config["KHQR_TTL_SECONDS"] == 300
    assert app.config["PAYMENT_GRACE_SECONDS"] == Defaults.PAYMENT_GRACE_SECONDS


def test_the_environment_overrides_defaults(clean_env, tmp_path):
    clean_env.setenv("SECRET_KEY", "from-env")
    clean_env.setenv("PUBLIC_BASE_URL", "https://order.example.com")
    clean_env.setenv("BAKONG_API_URL", "https://api-bakong.nbc.gov.kh")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/env.sqlite"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["PUBLIC_BASE_URL"] == "https://order.example.com"
    assert app.config["BAKONG_API_URL"] == "https://api-bakong.nbc.gov.kh"
    assert app.config["SCHEDULER_ENABLED"] is False
    # an app built from the environment serves requests against that database
    assert app.test_client().get("/healthz").json == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("true", True), ("TRUE", True), ("yes", True), (" on ", True),
    ("0", False), ("false", False), ("no", False), ("off", False), ("maybe", False),
])
def test_boolean_settings_from_the_environment(raw, expected):
    assert env_overrides({"BAKONG_SIMULATOR": raw}) == {"BAKONG_SIMULATOR": expected}


def test_empty_or_unknown_environment_variables_are_ignored():
    assert env_overrides({"SECRET_KEY": "", "NOT_A_SETTING": "x", "HOME": "/root"}) == {}


def test_production_refuses_the_default_secret_key(clean_env):
    clean_env.setenv("SHOPQR_ENV", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SHOPQR_ENV": "production"})


def test_production_refuses_the_simulator(clean_env):
    clean_env.setenv("SHOPQR_ENV", "production")
    clean_env.setenv("SECRET_KEY", "a-real-production-secret")
    clean_env.setenv("BAKONG_SIMULATOR", "true")
    with pytest.raises(RuntimeError, match="BAKONG_SIMULATOR is for development"):
        create_app()


def test_an_unknown_environment_name_is_refused(clean_env):
    clean_env.setenv("SHOPQR_ENV", "staging")
    with pytest.raises(RuntimeError, match="SHOPQR_ENV must be production or development"):
        create_app()


def test_development_serves_the_simulator_when_asked(clean_env):
    clean_env.setenv("SHOPQR_ENV", "development")
    clean_env.setenv("BAKONG_SIMULATOR", "1")
    app = create_app()
    assert "bakong_sim" in app.blueprints
    assert any(rule.rule.startswith("/_bakong/") for rule in app.url_map.iter_rules())


NEEDS_MYSQLDB = pytest.mark.skipif(
    importlib.util.find_spec("MySQLdb") is None,
    reason="mysqlclient is not installed: pip install -e '.[mysqlclient]'")


@pytest.mark.parametrize(("url", "expected"), [
    ("mysql+pymysql://u:p@db.example/shopqr",
     "mysql+pymysql://u:p@db.example/shopqr?charset=utf8mb4"),
    ("mysql+pymysql://u:p@db.example/shopqr?ssl_ca=/ca.pem",
     "mysql+pymysql://u:p@db.example/shopqr?ssl_ca=/ca.pem&charset=utf8mb4"),
    ("mysql+pymysql://u:p@db.example/shopqr?charset=utf8mb4",
     "mysql+pymysql://u:p@db.example/shopqr?charset=utf8mb4"),
    # mysqlclient, the optional extra (tests/test_mysqlclient.py): the app loads its driver
    pytest.param("mysql+mysqldb://u:p@db.example/shopqr",
                 "mysql+mysqldb://u:p@db.example/shopqr?charset=utf8mb4", marks=NEEDS_MYSQLDB),
    pytest.param("mysql://u:p@db.example/shopqr", "mysql://u:p@db.example/shopqr?charset=utf8mb4",
                 marks=NEEDS_MYSQLDB),
])
def test_mariadb_urls_get_utf8mb4_and_idle_pings(url, expected):
    app = create_app({"TESTING": True, "SHOPQR_ENV": "development", "DATABASE_URL": url})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    # shopqr.db_pool pings idle connections and resets once (tests/test_db_pool.py)
    assert options["pool_pre_ping"] is False and options["pool_reset_on_return"] is None
    assert app.config["DB_PING_IDLE_SECONDS"] == 10
    assert options["isolation_level"] == "READ COMMITTED"
    assert 0 < options["pool_recycle"] < 8 * 3600  # below MariaDB's wait_timeout


def test_mariadb_from_the_environment(clean_env):
    clean_env.setenv("DATABASE_URL", "mysql+pymysql://shop:pw@10.0.0.5:3306/shopqr")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/shopqr?charset=utf8mb4")
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["isolation_level"] == "READ COMMITTED"


def test_idle_ping_age_from_the_environment(clean_env):
    clean_env.setenv("DB_PING_IDLE_SECONDS", "0")
    assert create_app().config["DB_PING_IDLE_SECONDS"] == 0
    clean_env.setenv("DB_PING_IDLE_SECONDS", "soon")
    with pytest.raises(RuntimeError, match="DB_PING_IDLE_SECONDS must be a whole number"):
        create_app()


def test_pool_size_from_the_environment(clean_env):
    clean_env.setenv("DB_POOL_SIZE", "48")
    with create_app().app_context():
        from shopqr.extensions import db

        assert db.engine.pool.size() == 48


def test_a_pool_size_that_is_not_a_number_is_refused(clean_env):
    clean_env.setenv("DB_POOL_SIZE", "many")
    with pytest.raises(RuntimeError, match="DB_POOL_SIZE must be a whole number"):
        create_app()


def test_healthz_reports_a_working_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json and response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_broken_database_as_503(tmp_path):
    app = create_app({"TESTING": True, "SHOPQR_ENV": "development", "SCHEDULER_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.sqlite"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"


@pytest.mark.parametrize("path", ["/no-such-page", "/s/no-such-shop/menu",
                                  "/s/no-such-shop/t/abc"])
def test_unknown_pages_get_a_friendly_html_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<html" in response.text and "We could not find that page" in response.text
    assert "Traceback" not in response.text and "werkzeug" not in response.text.lower()


def test_an_htmx_404_is_a_toast_fragment(client):
    response = client.get("/s/no-such-shop/menu", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.text and "We could not find that page" in response.text
    assert response.headers["HX-Retarget"] == "#toast"


def test_method_not_allowed_is_a_friendly_page(client):
    response = client.post("/healthz")
    assert response.status_code == 405 and "<html" in response.text


@pytest.mark.parametrize("path", ["/healthz", "/no-such-page", "/s/no-such-shop/menu"])
def test_responses_vary_on_hx_request(client, path):
    response = client.get(path)
    assert "HX-Request" in response.headers.get("Vary", "")


def test_a_response_that_used_the_session_varies_on_cookie_and_hx_request(app):
    @app.get("/_session_probe")
    def probe() -> str:
        from flask import session

        session["seen"] = True
        return "ok"

    vary = app.test_client().get("/_session_probe").headers["Vary"]
    assert {v.strip() for v in vary.split(",")} == {"HX-Request", "Cookie"}


def test_session_cookies_follow_the_secret_key(app):
    """Rotating SECRET_KEY signs everyone out, unless the old key is kept as a fallback."""
    from flask import session

    @app.get("/_session_set")
    def set_value() -> str:
        session["who"] = "cashier"
        return "ok"

    @app.get("/_session_get")
    def get_value() -> str:
        return session.get("who", "nobody")

    client = app.test_client()
    client.get("/_session_set")
    assert client.get("/_session_get").text == "cashier"
    old = app.secret_key
    app.secret_key = "rotated-secret"
    assert client.get("/_session_get").text == "nobody"
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get("/_session_get").text == "cashier"


def test_shop_pages_are_not_cached(client):
    assert client.get("/s/no-such-shop/menu").headers["Cache-Control"] == "no-store"


def test_the_benchmark_leaves_out_the_speed_ups_it_names_and_no_others(clean_env):
    """bench/run.py's on/off rows (README "Hand-made speed-ups"): SHOPQR_SPEEDUPS_OFF, read
    when the app is created, switches off the named speed-ups only; a name it does not know
    is refused, so a typo cannot measure the same code twice."""
    from shopqr.extensions import limiter

    clean_env.delenv("SHOPQR_SPEEDUPS_OFF", raising=False)
    # the one Limiter keeps RATELIMIT_ENABLED from the last app; the tests' apps turn it off
    clean_env.setattr(limiter, "enabled", True)
    on = create_app()
    assert "factory" in on.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    assert limiter._check_request_limit not in on.before_request_funcs.get(None, [])
    clean_env.setenv("SHOPQR_SPEEDUPS_OFF", "sqlite_writers, limiter_hook")
    off = create_app()
    assert "factory" not in off.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    assert limiter._check_request_limit in off.before_request_funcs[None]
    clean_env.setenv("DATABASE_URL", "mysql+pymysql://u:p@db.example/shopqr")
    clean_env.setenv("SHOPQR_SPEEDUPS_OFF", "db_pool")
    options = create_app().config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True and "pool_reset_on_return" not in options
    assert options["isolation_level"] == "READ COMMITTED"
    clean_env.setenv("SHOPQR_SPEEDUPS_OFF", "sessions")  # deleted: Flask's own is used
    with pytest.raises(RuntimeError, match="SHOPQR_SPEEDUPS_OFF: unknown"):
        create_app()


def test_sqlite_connections_have_foreign_keys_wal_and_the_writer_queue(clean_env):
    """The pragmas reach the connections of shopqr.sqlite_writers' connection class too (they
    did not while the listener looked for sqlite3's own class by module name: SQLite then ran
    without foreign keys, and in rollback-journal mode, where readers and writers block each
    other)."""
    from shopqr.extensions import db

    app = create_app()
    with app.app_context():
        assert type(db.session.connection().connection.dbapi_connection).__name__ \
            == "QueuedWriterConnection"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert db.session.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar_one() == 15000
        db.session.remove()
        db.engine.dispose()
