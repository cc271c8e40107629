"""The owner's taxes and charges (docs/taxes.md): a service charge and VAT, each off, added to
the prices or included in them, and how charge lines are rounded."""

from __future__ import annotations

from decimal import Decimal

from flask import g, request
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.services import charges as charge_service
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import attempt, page

EXAMPLE = {"USD": Decimal("10.00"), "KHR": Decimal("40000")}  # the example bill on the page


def charges_page(error: str | None = None, status: int = 200,
                 form: dict[str, str] | None = None) -> tuple[str, int]:
    shop = g.shop
    return page("settings/charges.html", status=status,
                errors=error.split("\n") if error else [], form=form,
                example=charge_service.totals_for(shop, EXAMPLE[shop.currency]))


@bp.get("/charges")
@owner_required
def charges() -> tuple[str, int]:
    return charges_page()


@bp.post("/charges")
@owner_required
def save_charges() -> Response | tuple[str, int]:
    form = request.form.to_dict()
    return attempt(lambda: charge_service.save_settings(db.session, g.shop, form, by=g.owner),
                   lambda message, status: charges_page(message, status, form),
                   "settings.charges")
