"""Languages: English and Khmer, chosen per phone (a cookie) or by the browser."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale
from flask_babel import gettext as _

from shopqr.extensions import babel


def select_locale() -> str:
    """The phone's choice, else the browser's; the default outside a request (CLI, poller)."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(current_app.config["LANG_COOKIE_NAME"])
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


def localized(obj: object, attr: str) -> str:
    """obj.<attr>_km in Khmer when it has one, else obj.<attr>."""
    if str(get_locale()) == "km":
        value = getattr(obj, f"{attr}_km", None)
        if value:
            return value
    return getattr(obj, attr) or ""


def role_label(role: str) -> str:
    return {"owner": _("Owner"), "cashier": _("Cashier"), "barista": _("Barista")}.get(role, role)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["localized"] = localized
    app.jinja_env.globals["role_label"] = role_label
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
