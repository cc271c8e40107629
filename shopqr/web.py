"""Helpers the screens share: shop loading, htmx detection, rendering partials."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
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
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import Shop


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
