"""Helpers the screens share: shop loading, htmx detection, rendering partials."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    g,
    get_template_attribute,
    make_response,
    redirect,
    request,
    session,
)
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import Shop
from shopqr.services import ID_PATTERN, MAX_ID


class IdConverter(IntegerConverter):
    """The app's ``int`` converter (``<int:order_id>``), with the rule of ``services.parse_id``:
    ASCII digits only (Werkzeug's ``\\d+`` also matches "١" or "១" and int() reads them as 1),
    no leading zero, 1..MAX_ID (SQLite cannot bind a larger value). Anything else matches no
    route: a 404, and the view never runs. ``<int(min=0):index>`` for a list position also
    takes 0. Other limits (``max``, ``fixed_digits``) are checked after the match, as
    Werkzeug does."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int = 1,
                 max: int | None = None, signed: bool = False) -> None:
        if signed or min < 0:
            raise ValueError("ids are never negative")
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)
        self.regex = ID_PATTERN if min >= 1 else f"(?:0|{ID_PATTERN})"


def init_app(app: Flask) -> None:
    """Install the id converter; before any blueprint is registered (rules compile then)."""
    app.url_map.converters["int"] = IdConverter


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def send_to_sign_in(target: str) -> Response:
    """Someone who must sign in first: htmx requests are told to load the sign-in page, page
    loads are redirected to it, and other requests are refused (401) without acting."""
    if is_htmx():
        return Response(status=401, headers={"HX-Redirect": target})
    if request.method != "GET":
        abort(401)
    return redirect(target, 303)


def safe_next(target: str | None, prefix: str) -> str | None:
    """Where to go after a form (a sign-in, the language switch): a path on this site under
    `prefix`, else None. No scheme or host, no `//` or backslash (a browser reads those as
    another host), no control characters (a CR/LF cannot go into a Location header)."""
    if not target or not target.startswith(prefix) or not target.isprintable():
        return None
    if "//" in target or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not (parts.scheme or parts.netloc) else None


def rotate_csrf_token() -> None:
    """A new CSRF token after a sign-in: one seen before it (say, on a shared device) no longer
    works. Flask-WTF makes the new one on its next use."""
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)


def load_shop(slug: str) -> Shop:
    """The shop named in the URL, or 404."""
    shop = db.session.scalar(select(Shop).where(Shop.slug == slug))
    if shop is None:
        abort(404)
    return shop


def partial(template: str, name: str, /, **context: object) -> Markup:
    """Render one macro of a `_partials.html` file: the same markup the full page includes."""
    return Markup(get_template_attribute(template, name)(**context))


def fragments(*parts: Markup, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = make_response(Markup("").join(parts), status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def shop_blueprint(name: str, import_name: str, prefix: str = "") -> Blueprint:
    """A blueprint under /s/<slug><prefix>: the shop is loaded into ``g.shop`` (404 if unknown)
    and ``url_for`` inside the shop's pages fills in the slug."""
    bp = Blueprint(name, import_name, url_prefix=f"/s/<slug>{prefix}")

    @bp.url_value_preprocessor
    def _pull_shop(endpoint: str | None, values: dict | None) -> None:
        g.shop = load_shop(values.pop("slug")) if values else None

    @bp.url_defaults
    def _add_slug(endpoint: str, values: dict) -> None:
        if "slug" not in values and getattr(g, "shop", None) is not None:
            values["slug"] = g.shop.slug

    return bp
