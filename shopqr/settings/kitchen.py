"""The owner's kitchen settings: stations, which station makes each category, and when a
card turns yellow and red."""

from __future__ import annotations

from flask import g, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import Category
from shopqr.services import kitchen as kitchen_service
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import attempts, page


def kitchen_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    categories = db.session.scalars(select(Category).where(Category.shop_id == g.shop.id)
                                    .order_by(Category.sort_order, Category.id)).all()
    return page("settings/kitchen.html", status=status, error=error, categories=categories,
                stations=kitchen_service.list_stations(db.session, g.shop))


@bp.get("/kitchen")
@owner_required
def kitchen() -> tuple[str, int]:
    return kitchen_page()


_action = attempts(kitchen_page, "settings.kitchen")


@bp.post("/kitchen/thresholds")
@owner_required
def kitchen_thresholds() -> Response | tuple[str, int]:
    return _action(lambda: kitchen_service.set_thresholds(
        db.session, g.shop, request.form.get("warn", ""), request.form.get("late", "")))


@bp.post("/kitchen/stations")
@owner_required
def add_station() -> Response | tuple[str, int]:
    return _action(lambda: kitchen_service.add_station(db.session, g.shop,
                                                       request.form.get("name")))


@bp.post("/kitchen/stations/<int:station_id>/remove")
@owner_required
def remove_station(station_id: int) -> Response | tuple[str, int]:
    return _action(lambda: kitchen_service.remove_station(db.session, g.shop, station_id))


@bp.post("/kitchen/categories/<int:category_id>")
@owner_required
def assign_station(category_id: int) -> Response | tuple[str, int]:
    return _action(lambda: kitchen_service.assign_category(
        db.session, g.shop, category_id, request.form.get("station")))
