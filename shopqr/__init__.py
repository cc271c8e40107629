"""shopqr: QR table ordering with self-confirming Bakong KHQR payments."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from shopqr.config import DEVELOPMENT_SECRET_KEY, Defaults, env_overrides
from shopqr.sessions import CachedSerializerSessionInterface


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """App factory: defaults, then instance/config.py, then the environment or the test mapping."""
    app = Flask(__name__, instance_relative_config=True)
    app.session_interface = CachedSerializerSessionInterface()
    app.config.from_object(Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(env_overrides(os.environ))
    else:
        app.config.update(test_config)
    _finish_config(app)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops)

    from shopqr import cli, extensions, filters, i18n, media, ops
    from shopqr.services import events, poller
    from shopqr.web import init_app as init_id_converter

    init_id_converter(app)  # before any route is added: <int:...> ids are ASCII, 1..2**63-1
    extensions.db.init_app(app)
    _tune_pool(app)
    extensions.migrate.init_app(app, extensions.db, directory=_migrations_dir())
    extensions.sock.init_app(app)
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    _limit_per_route_only(app)
    i18n.init_app(app)
    filters.init_app(app)
    media.init_app(app)
    events.init_app(app)
    poller.init_app(app)

    from shopqr.admin import bp as admin_bp
    from shopqr.admin import cli as admin_cli
    from shopqr.guest import bp as guest_bp
    from shopqr.kitchen import bp as kitchen_bp
    from shopqr.pos import bp as pos_bp
    from shopqr.settings import bp as settings_bp
    from shopqr.staff import bp as staff_bp

    app.register_blueprint(ops.bp)
    app.register_blueprint(guest_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(kitchen_bp)
    app.register_blueprint(pos_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(admin_bp)
    admin_cli.init_app(app)
    if app.config["BAKONG_SIMULATOR"]:
        from shopqr.bakong_sim import bp as bakong_sim_bp

        app.register_blueprint(bakong_sim_bp)
    ops.register_error_handlers(app)
    cli.init_app(app)
    from shopqr import security_headers
    security_headers.init_app(app)

    @app.after_request
    def _vary_on_htmx(response):  # type: ignore[no-untyped-def]
        if "Vary" in response.headers:
            response.vary.add("HX-Request")
        else:  # the common case, without parsing a header set
            response.headers["Vary"] = "HX-Request"
        if request.path.startswith("/s/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _limit_per_route_only(app: Flask) -> None:
    """shopqr sets rate limits on a few routes only (sign-in forms). flask-limiter checks those
    inside the decorated view; its app-wide before_request hook would only look for default,
    application or blueprint limits, which shopqr does not use, on every request."""
    if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
        return
    from shopqr.extensions import limiter

    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:
        hooks.remove(limiter._check_request_limit)


def _tune_pool(app: Flask) -> None:
    """With the pool's own reset off (the MariaDB defaults above), shopqr.db_pool does it, and
    pings idle connections; whatever else instance/config.py changed in the engine options."""
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    if "pool_reset_on_return" in options and options["pool_reset_on_return"] is None:
        from shopqr import db_pool
        from shopqr.extensions import db

        with app.app_context():
            db_pool.tune(db.engine, ping_idle_seconds=app.config["DB_PING_IDLE_SECONDS"])


def _migrations_dir() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def _finish_config(app: Flask) -> None:
    cfg = app.config
    os.makedirs(app.instance_path, exist_ok=True)
    if cfg["SHOPQR_ENV"] not in ("production", "development"):
        raise RuntimeError(f"SHOPQR_ENV must be production or development, not "
                           f"{cfg['SHOPQR_ENV']!r}")
    if cfg["SHOPQR_ENV"] == "production":
        if not cfg.get("SECRET_KEY") or cfg["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY:
            raise RuntimeError(
                "shopqr runs as production unless SHOPQR_ENV=development, and production "
                "needs a secret SECRET_KEY (environment or instance/config.py), for example "
                "the output of: python3 -c 'import secrets; print(secrets.token_hex(32))'. "
                "For the demo, run ./scripts/demo.sh.")
        if cfg["BAKONG_SIMULATOR"]:
            raise RuntimeError("BAKONG_SIMULATOR is for development: in production anyone "
                               "could mark orders paid through it. Unset it, or set "
                               "SHOPQR_ENV=development on a machine that takes no real money.")
        cfg["SESSION_COOKIE_SECURE"] = True
    elif not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = DEVELOPMENT_SECRET_KEY
    if not isinstance(cfg["TRUSTED_PROXIES"], int) or cfg["TRUSTED_PROXIES"] < 0:
        raise RuntimeError("TRUSTED_PROXIES must be a whole number of proxies, 0 or more")
    uri = cfg.get("SQLALCHEMY_DATABASE_URI") or cfg.get("DATABASE_URL")
    if not uri:
        uri = "sqlite:///" + os.path.join(app.instance_path, "shopqr.sqlite")
    pool = {"pool_size": cfg["DB_POOL_SIZE"], "max_overflow": cfg["DB_POOL_SIZE"]}
    if uri.startswith("mysql"):
        if "charset=" not in uri:
            uri += ("&" if "?" in uri else "?") + "charset=utf8mb4"
        # READ COMMITTED: a statement that waited for a row lock sees what the other
        # transaction committed (checkout and numbering rely on it).
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **pool,
            # shopqr.db_pool pings idle connections only and resets each connection once
            "pool_pre_ping": False,
            "pool_reset_on_return": None,
            "pool_recycle": 1800,
            "isolation_level": "READ COMMITTED",
            **cfg.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        }
    elif uri.startswith("sqlite"):
        from shopqr.sqlite_writers import connection_factory

        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **({} if uri in ("sqlite://", "sqlite:///:memory:") else pool),
            "connect_args": {"timeout": 15, "check_same_thread": False,
                             "factory": connection_factory()},
            **cfg.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        }
    cfg["SQLALCHEMY_DATABASE_URI"] = uri
    if cfg.get("REDIS_URL") and cfg["RATELIMIT_STORAGE_URI"] == "memory://":
        cfg["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"]


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # type: ignore[no-untyped-def]
    """Foreign keys on, WAL so guests' reads never wait on a writer."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()
