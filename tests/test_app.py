"""The app factory, configuration layering, health check and error pages."""

from __future__ import annotations

import pytest

from shopqr import create_app


def test_defaults_are_sqlite_in_instance_with_the_simulator(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "SHOPQR_ENV", "BAKONG_API_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/shopqr.sqlite")
    assert "bakong_sim" in app.blueprints
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("SCHEDULER_ENABLED", "false")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/env.sqlite"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SCHEDULER_ENABLED"] is False


def test_mariadb_url_gets_utf8mb4_and_pre_ping():
    app = create_app({"TESTING": True,
                      "DATABASE_URL": "mysql+pymysql://u:p@db.example/shopqr"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("?charset=utf8mb4")
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] and options["isolation_level"] == "READ COMMITTED"


def test_production_needs_a_secret_and_has_no_simulator():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SHOPQR_ENV": "production"})
    app = create_app({"SHOPQR_ENV": "production", "SECRET_KEY": "s3cret",
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert "bakong_sim" not in app.blueprints
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.test_client().post("/_bakong/v1/check_transaction_by_md5").status_code == 404


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_unknown_pages_get_a_friendly_404(client):
    response = client.get("/s/no-such-shop/menu")
    assert response.status_code == 404
    assert b"We could not find that page" in response.data and b"<html" in response.data


def test_responses_vary_on_hx_request(client):
    assert "HX-Request" in client.get("/healthz").headers["Vary"]


def test_vendored_htmx_is_served(client):
    for name in ("htmx-2.0.11.min.js", "htmx-ext-ws-2.0.4.min.js"):
        with client.get(f"/static/vendor/{name}") as response:
            assert response.status_code == 200 and b"htmx" in response.data
