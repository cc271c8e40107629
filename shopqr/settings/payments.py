"""The owner's payment settings: the Bakong account, the KHQR name and city, currency and
riel rate, and a test KHQR."""

from __future__ import annotations

from flask import g, request
from markupsafe import Markup
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import utcnow
from shopqr.services import DomainError
from shopqr.services import payments as payment_service
from shopqr.services.khqr import KHQRError, describe, verify_khqr
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import PARTIALS, attempt, page
from shopqr.web import partial


def payments_page(error: str | None = None, status: int = 200,
                  form: dict[str, str] | None = None) -> tuple[str, int]:
    return page("settings/payments.html", status=status, error=error, form=form or {})


@bp.get("/payments")
@owner_required
def payments() -> tuple[str, int]:
    return payments_page()


@bp.post("/payments")
@owner_required
def save_payments() -> Response | tuple[str, int]:
    form = request.form.to_dict()
    return attempt(lambda: payment_service.save_settings(db.session, g.shop, form, by=g.owner),
                   lambda message, status: payments_page(message, status, form),
                   "settings.payments")


@bp.post("/payments/test")
@owner_required
def test_khqr() -> Markup:
    """A sample dynamic KHQR from the saved settings, decoded back for the owner to check."""
    try:
        qr = payment_service.sample_khqr(g.shop, utcnow())
    except (DomainError, KHQRError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        return partial(PARTIALS, "khqr_preview", qr=None, info=None, ok=False, error=message)
    return partial(PARTIALS, "khqr_preview", qr=qr.qr, info=describe(qr.qr),
                   ok=verify_khqr(qr.qr), error=None)
