"""The owner's staff: add, change a role, reset a PIN, unlock, remove; short PINs."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import utcnow
from shopqr.services import auth, shops
from shopqr.services import staff as staff_service
from shopqr.services.events import get_bus
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import attempts, done, page


def staff_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return page("settings/staff.html", status=status, error=error,
                staff=staff_service.active_staff(db.session, g.shop))


@bp.get("/staff")
@owner_required
def staff() -> tuple[str, int]:
    return staff_page()


_staff_action = attempts(staff_page, "settings.staff")


@bp.post("/staff/add")
@owner_required
def add_staff() -> Response | tuple[str, int]:
    return _staff_action(lambda: staff_service.add(
        db.session, g.shop, name=request.form.get("name", ""), role=request.form.get("role", ""),
        pin=request.form.get("pin", ""), email=request.form.get("email") or None,
        password=request.form.get("password") or None, by=g.owner))


@bp.post("/staff/<int:user_id>/role")
@owner_required
def change_role(user_id: int) -> Response | tuple[str, int]:
    user = shops.load_staff(db.session, g.shop, user_id)
    return _staff_action(lambda: staff_service.change_role(
        db.session, get_bus(current_app), g.shop, user, request.form.get("role", ""),
        by=g.owner))


@bp.post("/staff/<int:user_id>/pin")
@owner_required
def reset_pin(user_id: int) -> Response | tuple[str, int]:
    user = shops.load_staff(db.session, g.shop, user_id)
    return _staff_action(lambda: staff_service.reset_pin(
        db.session, get_bus(current_app), g.shop, user, request.form.get("pin", ""),
        by=g.owner, now=utcnow()))


@bp.post("/staff/<int:user_id>/unlock")
@owner_required
def unlock_staff(user_id: int) -> Response:
    auth.unlock(db.session, g.shop, shops.load_staff(db.session, g.shop, user_id), by=g.owner)
    return done("settings.staff")


@bp.post("/staff/<int:user_id>/remove")
@owner_required
def remove_staff(user_id: int) -> Response | tuple[str, int]:
    user = shops.load_staff(db.session, g.shop, user_id)
    return _staff_action(lambda: staff_service.remove(
        db.session, get_bus(current_app), g.shop, user, by=g.owner, now=utcnow()))


@bp.post("/staff/short-pins")
@owner_required
def short_pins() -> Response:
    staff_service.allow_short_pins(db.session, g.shop, request.form.get("allow") == "1",
                                   by=g.owner)
    return done("settings.staff")


@bp.post("/staff/<int:user_id>/refunds")
@owner_required
def staff_refunds(user_id: int) -> Response | tuple[str, int]:
    """May this cashier refund paid orders (docs/refunds.md)?"""
    user = shops.load_staff(db.session, g.shop, user_id)
    return _staff_action(lambda: staff_service.allow_refunds(
        db.session, g.shop, user, request.form.get("allow") == "1", by=g.owner))
