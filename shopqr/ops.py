"""Liveness check and the friendly error pages."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from shopqr.extensions import db
from shopqr.services import DomainError

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - report, don't crash
        return jsonify(status="error", database=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")


def error_page(status: int, title: str, message: str):  # type: ignore[no-untyped-def]
    if request.headers.get("HX-Request"):
        # Shown in the page's toast region, whatever element made the request.
        body = render_template("_error_fragment.html", title=title, message=message)
        return body, status, {"HX-Retarget": "#toast", "HX-Reswap": "innerHTML"}
    return render_template("error.html", title=title, message=message, status=status), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):  # type: ignore[no-untyped-def]
        return error_page(exc.status, _("Sorry"), exc.message)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):  # type: ignore[no-untyped-def]
        return error_page(
            400, _("Please try again"), _("This page was open too long. Reload it and try again.")
        )

    @app.errorhandler(404)
    def _not_found(exc: HTTPException):  # type: ignore[no-untyped-def]
        return error_page(
            404,
            _("Not found"),
            exc.description if getattr(exc, "shopqr_message", False) else _(
                "We could not find that page. If you scanned a table's QR code, ask the staff "
                "for help."
            ),
        )

    @app.errorhandler(429)
    def _too_many(exc: HTTPException):  # type: ignore[no-untyped-def]
        return error_page(429, _("Slow down"), _("Too many requests. Wait a moment and retry."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = exc.code or 500
        if code >= 500:
            return exc
        return error_page(code, exc.name, exc.description or exc.name)
