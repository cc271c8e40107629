"""The settings home: what the shop has, with links to each section, and the shop's profile:
its name and its logo (upload, replace, remove; docs/tables-and-qr.md)."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.media import upload_dir
from shopqr.services import shop_logo, shops
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import attempts, done, page


def index_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return page("settings/index.html", status=status, error=error,
                counts=shops.counts(db.session, g.shop))


@bp.get("/")
@owner_required
def index() -> tuple[str, int]:
    return index_page()


_profile_action = attempts(index_page, "settings.index")


@bp.post("/logo")
@owner_required
def upload_logo() -> Response | tuple[str, int]:
    """A new logo (or the first): checked, re-encoded, stored; a bad file says why (4xx)."""
    upload = request.files.get("logo")
    data = upload.read() if upload is not None and upload.filename else b""
    return _profile_action(lambda: shop_logo.set_logo(
        db.session, g.shop, data, upload_dir=upload_dir(current_app), by=g.owner))


@bp.post("/logo/remove")
@owner_required
def remove_logo() -> Response:
    shop_logo.remove_logo(db.session, g.shop, by=g.owner)
    return done("settings.index")
