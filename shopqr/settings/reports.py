"""Sales reports for the owner, with charts and a CSV export for the accountant."""

from __future__ import annotations

from flask import Response, g, request

from shopqr.extensions import db
from shopqr.models import utcnow
from shopqr.services import reports as report_service
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import page


@bp.get("/reports")
@owner_required
def reports() -> tuple[str, int]:
    range_ = report_service.parse_range(request.args.get("range"))
    report = report_service.build(db.session, g.shop, range_, utcnow())
    peak = max(report.by_hour) if any(report.by_hour) else 1
    top = max((p[1] for p in report.top_products), default=1)
    from shopqr.settings.shifts import money_report

    return page("settings/reports.html", report=report, peak=peak, top=top,
                money=money_report(g.shop, report.start, report.end))


@bp.get("/reports.csv")
@owner_required
def reports_csv() -> Response:
    range_ = report_service.parse_range(request.args.get("range"))
    body = report_service.orders_csv(db.session, g.shop, range_, utcnow())
    filename = f"{g.shop.slug}-orders-{range_}-{utcnow():%Y%m%d}.csv"
    # content_type, not mimetype: Werkzeug appends "; charset=utf-8" to a mimetype itself.
    return Response(body, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
