"""Refunds of paid orders on the POS (docs/refunds.md)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import User, utcnow
from shopqr.pos import bp
from shopqr.services import DomainError, NotFound, refunds
from shopqr.services.events import get_bus
from shopqr.services.money import format_money
from shopqr.staff.auth import staff_required


@bp.app_template_global()
def may_refund(user: User) -> bool:
    return refunds.may_refund(user)


@bp.app_template_global()
def refund_method_label(method: str) -> str:
    return refunds.method_label(method)


@bp.app_template_global()
def order_refunds(order: object) -> list:
    return refunds.for_order(db.session, order)  # type: ignore[arg-type]


@bp.post("/orders/<int:order_id>/refund")
@staff_required("pos")
def refund(order_id: int) -> Response | tuple[str, int]:
    """Give back a paid order, whole or by line; back to the order's page, which lists it."""
    from shopqr.pos.views import order_detail

    try:
        made = refunds.refund(db.session, get_bus(current_app), g.shop, order_id,
                              scope=request.form.get("scope", ""), form=request.form,
                              method=request.form.get("method"),
                              reason=request.form.get("reason"), by=g.staff, now=utcnow())
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()
        return order_detail(order_id, refund_error=exc.message), exc.status  # type: ignore[call-arg]
    db.session.commit()
    text = _("Refunded %(amount)s (%(method)s).", amount=format_money(made.amount, made.currency),
             method=refunds.method_label(made.method))
    if made.method == "cash":
        text += " " + _("Hand back %(cash)s.", cash=refunds_cash_text(made))
    flash(text)
    return redirect(url_for("pos.order_detail", order_id=order_id), 303)


def refunds_cash_text(made: object) -> str:
    parts = []
    if made.cash_usd:  # type: ignore[attr-defined]
        parts.append(format_money(made.cash_usd, "USD"))  # type: ignore[attr-defined]
    if made.cash_khr:  # type: ignore[attr-defined]
        parts.append(format_money(made.cash_khr, "KHR"))  # type: ignore[attr-defined]
    return " + ".join(parts) or format_money(0, made.currency)  # type: ignore[attr-defined]
