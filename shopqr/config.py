"""Default settings. ``create_app`` layers instance/config.py and the environment on top."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

# Settings that may come from the environment, with their types.
ENV_SETTINGS: dict[str, type] = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "REDIS_PREFIX": str,
    "BAKONG_API_URL": str,
    "BAKONG_TOKEN": str,
    "BAKONG_EMAIL": str,
    "BAKONG_SIMULATOR": bool,
    "SCHEDULER_ENABLED": bool,
    "TELEGRAM_BOT_TOKEN": str,
    "TELEGRAM_BOT_USERNAME": str,
    "TELEGRAM_API_URL": str,
    "TELEGRAM_FAKE": bool,
    "TELEGRAM_WEBHOOK_SECRET": str,
    "SESSION_COOKIE_SECURE": bool,
    "PUBLIC_BASE_URL": str,
    "SHOPQR_ENV": str,
    "DB_POOL_SIZE": int,
    "DB_PING_IDLE_SECONDS": int,
    "TRUSTED_PROXIES": int,
}

# The key of the development settings (scripts/demo.sh, the tests). Production refuses it.
DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"


class Defaults:
    # Safe by default: "production" needs a real SECRET_KEY, forces secure cookies and refuses
    # the simulator. The demo and the tests choose "development" explicitly.
    SHOPQR_ENV = "production"
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = None  # filled from DATABASE_URL or instance/shopqr.sqlite
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Database connections one process keeps open (as many again may open under a burst). Kept
    # near the number of requests a worker serves at once, so a busy worker does not open and
    # close a connection per request.
    DB_POOL_SIZE = 32
    # A pooled MariaDB connection idle longer than this is pinged before use (and replaced if
    # the server dropped it); one in steady use is not, which saves a round trip per request.
    DB_PING_IDLE_SECONDS = 10
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    GUEST_COOKIE_NAME = "shopqr_table"
    # one phone of a table's group (its name and number on the cart lines it adds)
    PHONE_COOKIE_NAME = "shopqr_phone"
    LANG_COOKIE_NAME = "shopqr_lang"
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    # How staff PINs and passwords are hashed (werkzeug.security): scrypt, slow on purpose. The
    # tests use one PBKDF2 round instead (they hash and check hundreds of PINs); a stored hash
    # names its method, so any hash still checks whatever this says now.
    PASSWORD_HASH_METHOD = "scrypt"
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    BABEL_DEFAULT_LOCALE = "en"
    # Flask-Babel's zone for format_datetime: every shop is in Cambodia, the zone of
    # services.numbering.SHOP_TZ (one constant, not a setting).
    BABEL_DEFAULT_TIMEZONE = "Asia/Phnom_Penh"
    LANGUAGES = ("en", "km")
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    REDIS_URL = None
    # Names this deployment's Redis pub/sub channels (<prefix>shop:<id>). Pub/sub ignores the
    # Redis db number, so two deployments on one Redis server need different prefixes. None:
    # "shopqr:<database name>:" (MariaDB's database name, or the SQLite file's stem).
    REDIS_PREFIX = None
    # Bakong
    BAKONG_API_URL = None  # None: the built-in simulator at <PUBLIC_BASE_URL>/_bakong
    BAKONG_TOKEN = None
    BAKONG_EMAIL = None
    BAKONG_SIMULATOR = False  # the built-in simulator: development only, when set explicitly
    BAKONG_CONNECT_TIMEOUT = 3.0
    BAKONG_READ_TIMEOUT = 8.0
    KHQR_TTL_SECONDS = 600  # NBC: at most 10 minutes
    PAYMENT_GRACE_SECONDS = 30 * 60  # keep polling this long after a QR expires
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    # Telegram notifications (README "Telegram notifications"): the platform's one bot.
    TELEGRAM_BOT_TOKEN = None  # from @BotFather; None: no Telegram
    TELEGRAM_BOT_USERNAME = None  # None: asked from getMe
    TELEGRAM_API_URL = None  # None: https://api.telegram.org, or the fake at <base>/_telegram
    TELEGRAM_FAKE = False  # the built-in fake Bot API: development only, when set explicitly
    # Set: Telegram posts updates to /telegram/webhook with this secret (flask telegram-webhook
    # registers it); unset: the scheduler's Telegram job asks with getUpdates.
    TELEGRAM_WEBHOOK_SECRET = None
    TELEGRAM_CONNECT_TIMEOUT = 3.0
    TELEGRAM_READ_TIMEOUT = 10.0
    # How many reverse proxies in front of shopqr to believe (X-Forwarded-For/-Proto/-Host,
    # through Werkzeug's ProxyFix). 0: none, the client address is the connection's. Behind one
    # proxy that sets these headers, 1; never more than the proxies really there, or clients
    # can forge their address and escape the per-device sign-in limits.
    TRUSTED_PROXIES = 0
    SCHEDULER_ENABLED = True
    STAFF_IDLE_SECONDS = 30 * 60  # staff are signed out after this long without a request
    SOCK_SERVER_OPTIONS = {"ping_interval": 25, "max_message_size": 64 * 1024}
    SETTINGS_IDLE_SECONDS = 30 * 60  # owners re-enter the password after this long idle


# The hand-made speed-ups bench/run.py measures on and off in one run (README "Hand-made
# speed-ups"). SHOPQR_SPEEDUPS_OFF, read once when the app is created, names the ones to leave
# out, comma-separated; unset (always, outside the benchmark) all are on.
SPEEDUPS = ("sqlite_writers", "db_pool", "limiter_hook", "csrf_signing", "raw_reads")


def speedups_off(environ: os._Environ[str] | dict[str, str]) -> frozenset[str]:
    """The speed-ups SHOPQR_SPEEDUPS_OFF switches off; an unknown name is an error, so a typo
    in the benchmark cannot measure the same code twice."""
    names = frozenset(n.strip() for n in environ.get("SHOPQR_SPEEDUPS_OFF", "").split(",")
                      if n.strip())
    if names - set(SPEEDUPS):
        raise RuntimeError(f"SHOPQR_SPEEDUPS_OFF: unknown {sorted(names - set(SPEEDUPS))}; "
                           f"known: {', '.join(SPEEDUPS)}")
    return names


def env_overrides(environ: os._Environ[str] | dict[str, str]) -> dict[str, object]:
    """Read the settings named in ENV_SETTINGS from the environment."""
    out: dict[str, object] = {}
    for name, kind in ENV_SETTINGS.items():
        raw = environ.get(name)
        if raw is None or raw == "":
            continue
        if kind is bool:
            out[name] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif kind is int:
            try:
                out[name] = int(raw)
            except ValueError:
                raise RuntimeError(f"{name} must be a whole number, not {raw!r}") from None
        else:
            out[name] = raw
    return out


def finish_config(app: Flask) -> None:
    """Check the layered settings and fill in the ones derived from others: refuse unsafe
    production settings, pick the database and its engine options, name the Redis channels."""
    from shopqr import db as database

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
        if cfg["TELEGRAM_FAKE"]:
            raise RuntimeError("TELEGRAM_FAKE is for development: in production anyone could "
                               "link a chat or read the shop's messages through it. Unset it.")
        cfg["SESSION_COOKIE_SECURE"] = True
    elif not cfg.get("SECRET_KEY"):
        cfg["SECRET_KEY"] = DEVELOPMENT_SECRET_KEY
    if not isinstance(cfg["TRUSTED_PROXIES"], int) or cfg["TRUSTED_PROXIES"] < 0:
        raise RuntimeError("TRUSTED_PROXIES must be a whole number of proxies, 0 or more")
    uri = database.database_uri(cfg, app.instance_path)
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(uri, cfg)
    cfg["SQLALCHEMY_DATABASE_URI"] = uri
    if not cfg.get("REDIS_PREFIX"):
        cfg["REDIS_PREFIX"] = f"shopqr:{database.database_name(uri)}:"
    if cfg.get("REDIS_URL") and cfg["RATELIMIT_STORAGE_URI"] == "memory://":
        cfg["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"]
