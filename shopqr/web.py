"""Helpers the screens share: shop loading, htmx detection, rendering partials."""

from __future__ import annotations

from flask import abort, get_template_attribute, make_response, request
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import Shop


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


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
