"""Sales reports for the owner, with charts, the KHQR reconciliation and two CSV exports
(orders, lines) for the accountant. The period is in the URL (GET only, nothing changes)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, g, request
from flask_babel import get_locale

from shopqr.extensions import db
from shopqr.models import Shop, utcnow
from shopqr.services import DomainError
from shopqr.services import reports as report_service
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import page

PRESET_LABELS = ("today", "yesterday", "7d", "30d", "month")


@bp.get("/reports")
@owner_required
def reports() -> tuple[str, int]:
    now = utcnow()
    # The picker shows what was typed, even when it was wrong.
    typed = {"from": request.args.get("from", "")[:20], "to": request.args.get("to", "")[:20]}
    try:
        period = report_service.parse_range(request.args, now)
    except DomainError as exc:
        return page("settings/reports.html", report=None, period=None, typed=typed,
                    status=exc.status, error=str(exc.message))
    if period.key != "custom":
        typed = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    report = report_service.build(db.session, g.shop, period,
                                  km=str(get_locale()) == "km")
    return page("settings/reports.html", report=report, period=period, typed=typed)


def _csv(kind: str, writer: Callable[..., str]) -> Response:
    shop: Shop = g.shop
    period = report_service.parse_range(request.args, utcnow())  # a bad period: 400 page
    body = writer(db.session, shop, period)
    filename = f"{shop.slug}-{kind}-{period.slug}.csv"
    # content_type, not mimetype: Werkzeug appends "; charset=utf-8" to a mimetype itself.
    return Response(body, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/reports.csv")
@owner_required
def reports_csv() -> Response:
    """The orders export: one row per order."""
    return _csv("orders", report_service.orders_csv)


@bp.get("/reports-lines.csv")
@owner_required
def reports_lines_csv() -> Response:
    """The lines export: one row per ordered item, with its options."""
    return _csv("lines", report_service.lines_csv)
