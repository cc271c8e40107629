"""The settings home: what the shop has, with links to each section."""

from __future__ import annotations

from flask import g

from shopqr.extensions import db
from shopqr.services import shops
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import page


@bp.get("/")
@owner_required
def index() -> tuple[str, int]:
    return page("settings/index.html", counts=shops.counts(db.session, g.shop))
