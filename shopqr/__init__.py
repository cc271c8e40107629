"""shopqr: QR table ordering with self-confirming Bakong KHQR payments."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from shopqr import db as database
from shopqr.config import Defaults, env_overrides, finish_config, speedups_off


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The app factory, laid out as Flask's tutorial (flaskr) lays out its own."""
    app = Flask(__name__, instance_relative_config=True)

    # Settings: the defaults, then instance/config.py and the environment, or for a test only
    # the mapping it passes. finish_config refuses unsafe production settings and derives the
    # rest (the database and its engine options, the Redis channel prefix).
    app.config.from_object(Defaults)
    app.config["SPEEDUPS_OFF"] = speedups_off(os.environ)  # bench/run.py's on/off rows
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(env_overrides(os.environ))
    else:
        app.config.update(test_config)
    finish_config(app)

    _init_extensions(app)
    _register_blueprints(app)
    _init_responses(app)
    return app


def _init_extensions(app: Flask) -> None:
    from shopqr import csrf_signing, extensions, filters, i18n, media
    from shopqr.services import events, poller, telegram
    from shopqr.web import init_app as init_id_converter

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,
                                x_host=hops)
    init_id_converter(app)  # before any route is added: <int:...> ids are ASCII, 1..2**63-1
    database.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=_migrations_dir())
    extensions.sock.init_app(app)
    extensions.csrf.init_app(app)
    csrf_signing.install("csrf_signing" not in app.config["SPEEDUPS_OFF"])
    from shopqr.services.hotpath import Read

    Read.enabled = "raw_reads" not in app.config["SPEEDUPS_OFF"]
    extensions.limiter.init_app(app)
    if "limiter_hook" not in app.config["SPEEDUPS_OFF"]:
        _limit_per_route_only(app)
    i18n.init_app(app)
    filters.init_app(app)
    media.init_app(app)
    events.init_app(app)
    poller.init_app(app)
    telegram.init_app(app)


def _register_blueprints(app: Flask) -> None:
    """The screens, the command-line tools and the error pages."""
    from shopqr import cli, ops, telegram_webhook
    from shopqr.admin import bp as admin_bp
    from shopqr.admin import cli as admin_cli
    from shopqr.guest import bp as guest_bp
    from shopqr.kitchen import bp as kitchen_bp
    from shopqr.pos import bp as pos_bp
    from shopqr.settings import bp as settings_bp
    from shopqr.staff import bp as staff_bp

    app.register_blueprint(ops.bp)  # /healthz, /readyz
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
    telegram_webhook.init_app(app)
    if app.config["TELEGRAM_FAKE"]:
        from shopqr.telegram_fake import bp as telegram_fake_bp

        app.register_blueprint(telegram_fake_bp)
    ops.register_error_handlers(app)
    cli.init_app(app)


def _init_responses(app: Flask) -> None:
    """The headers every response carries."""
    from shopqr import security_headers

    security_headers.init_app(app)

    @app.after_request
    def _vary_on_htmx(response):
        if "Vary" in response.headers:
            response.vary.add("HX-Request")
        else:  # the common case, without parsing a header set
            response.headers["Vary"] = "HX-Request"
        if request.path.startswith("/s/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


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


def _migrations_dir() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
