"""Liveness (/healthz) and readiness (/readyz) checks, and the friendly error pages.

/healthz: the process is up and its database answers. A supervisor restarts a process that
fails it. /readyz: the database also holds this code's schema (it is at the newest migration
of migrations/) and the poller's lease table answers. A load balancer sends guests only to a
process that passes it: a fresh database whose release step (`flask db upgrade`) has not run
yet answers /healthz but fails /readyz, where every page would fail with "no such table"."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from shopqr import db_pool
from shopqr.extensions import db
from shopqr.services import DomainError

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    # the dialect's own liveness check on a pooled connection, as pool_pre_ping makes it:
    # COM_PING on MariaDB (no statement, no result to parse, no transaction to roll back),
    # SELECT 1 on SQLite. The probe is polled; README "Benchmark" has its cost.
    try:
        raw = db.engine.raw_connection()
    except Exception as exc:  # report, don't crash
        return jsonify(status="error", database=type(exc).__name__), 503
    try:
        db.engine.dialect.do_ping(raw.dbapi_connection)
        raw.info[db_pool.ENDED] = True  # a ping opens no transaction: nothing to roll back
    except Exception as exc:
        raw.invalidate()  # a connection that failed is not handed out again
        return jsonify(status="error", database=type(exc).__name__), 503
    finally:
        raw.close()
    return jsonify(status="ok", database="ok")


@bp.get("/readyz")
def readyz():
    report = readiness()
    return jsonify(report), 200 if report["status"] == "ready" else 503


UPGRADE = "run `flask --app app db upgrade` (the release step)"


@dataclass(frozen=True)
class Migrations:
    heads: frozenset[str]  # the newest revision(s) of migrations/
    known: frozenset[str]  # every revision in migrations/


@functools.lru_cache(maxsize=4)
def migrations(directory: str) -> Migrations:
    """The revisions of the Alembic scripts in `directory`, read once per process (reading
    them imports every script)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    scripts = ScriptDirectory.from_config(config)
    return Migrations(frozenset(scripts.get_heads()),
                      frozenset(r.revision for r in scripts.walk_revisions()))


def readiness() -> dict[str, Any]:
    """{"status": "ready"} if the database is at this code's newest migration and the poller's
    lease table answers, else {"status": "not ready", "reason": ...}. Two small queries; call it
    inside an app context.

    A database at a revision these scripts do not know was migrated by newer code (its release
    step runs before the old processes stop): the old processes stay ready, or a load balancer
    would take every one of them out of service during each deploy."""
    scripts = migrations(current_app.extensions["migrate"].directory)
    head = ", ".join(sorted(scripts.heads))
    report: dict[str, Any] = {"status": "not ready", "head": head}
    try:
        found = set(db.session.execute(text("SELECT version_num FROM alembic_version"))
                    .scalars())
    except SQLAlchemyError as exc:
        db.session.rollback()
        if "alembic_version" in str(exc):
            report["reason"] = f"the database has no schema yet: {UPGRADE}"
        else:
            report["reason"] = f"the database does not answer ({type(exc).__name__})"
        return report
    report["database"] = ", ".join(sorted(found)) or None
    if not found:
        report["reason"] = f"the database has no migration applied: {UPGRADE}"
        return report
    if found != scripts.heads and found <= scripts.known:
        report["reason"] = (f"the database is at {report['database']}, this code needs {head}: "
                            f"{UPGRADE}")
        return report
    try:
        db.session.execute(text("SELECT 1 FROM poller_leases LIMIT 1")).all()
    except SQLAlchemyError as exc:
        db.session.rollback()
        report["reason"] = f"the poller's lease table does not answer ({type(exc).__name__})"
        return report
    report["status"] = "ready"
    if found != scripts.heads:
        report["note"] = "the database is at a newer migration than this code knows"
    return report


# The guest's entry points: when they fail, the menu is no way back (it would fail the same).
GUEST_ENTRY = frozenset({"guest.menu", "guest.scan"})


def _guest_shop() -> Any:
    """On a guest page (/s/<slug>/...), the shop of the URL (for its name, a link back to its
    menu and the language switch), else None. Loaded here only if the view had not yet."""
    if request.blueprint != "guest":
        return None
    shop = getattr(g, "shop", None)
    slug = getattr(g, "shop_slug", None)
    if shop is None and slug:
        from shopqr.models import Shop

        try:
            shop = db.session.scalar(select(Shop).where(Shop.slug == slug))
        except SQLAlchemyError:
            db.session.rollback()
            return None
    return shop


def error_page(status: int, title: str, message: str):
    shop = _guest_shop()
    context = {"title": title, "message": message, "status": status, "shop": shop}
    if shop is not None:
        menu = url_for("guest.menu", slug=shop.slug)
        context.update(
            menu_url=None if request.endpoint in GUEST_ENTRY else menu,
            # the language switch leads to the menu (this URL may be a POST's, or another
            # shop's order token typed under this shop's address)
            lang_next=menu,
            # a table session that ended: the menu link joins the table's new one
            restart_url=menu if status == 410 and request.endpoint not in GUEST_ENTRY else None)
    if request.headers.get("HX-Request"):
        # Shown in the page's toast region, whatever element made the request.
        body = render_template("_error_fragment.html", **context)
        return body, status, {"HX-Retarget": "#toast", "HX-Reswap": "innerHTML"}
    template = "guest/error.html" if shop is not None else "error.html"
    return render_template(template, **context), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        return error_page(exc.status, _("Sorry"), exc.message)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_page(
            400, _("Please try again"), _("This page was open too long. Reload it and try again.")
        )

    @app.errorhandler(404)
    def _not_found(exc: HTTPException):
        return error_page(
            404,
            _("Not found"),
            exc.description if getattr(exc, "shopqr_message", False) else _(
                "We could not find that page. If you scanned a table's QR code, ask the staff "
                "for help."
            ),
        )

    @app.errorhandler(413)
    def _too_large(exc: HTTPException):
        # A request over MAX_CONTENT_LENGTH: in practice an image upload (photo, logo).
        return error_page(413, _("Too large"), _(
            "That file is too large (4 MB at most). Choose a smaller image and try again."))

    @app.errorhandler(429)
    def _too_many(exc: HTTPException):
        return error_page(429, _("Slow down"), _("Too many requests. Wait a moment and retry."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = exc.code or 500
        if code >= 500:
            return exc
        return error_page(code, exc.name, exc.description or exc.name)
