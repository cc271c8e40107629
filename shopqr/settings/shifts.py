"""The owner's view of a past shift's Z-report (docs/shifts.md); the reports page lists the
shifts and refunds (services/reports.py, the "money" section)."""

from __future__ import annotations

from flask import g, render_template, request, url_for

from shopqr.extensions import db
from shopqr.models import Shop, utcnow
from shopqr.services import shifts
from shopqr.settings import bp
from shopqr.settings.auth import owner_required


@bp.get("/reports/shifts/<int:shift_id>")
@owner_required
def shift_report(shift_id: int) -> str:
    """A past shift's Z-report, printable as on the POS."""
    from shopqr.pos.shifts import z_paper

    shop: Shop = g.shop
    found = shifts.load(db.session, shop, shift_id)
    return render_template("pos/z_report.html", shop=shop, user=None,
                           summary=shifts.summarize(db.session, shop, found, utcnow()),
                           paper=z_paper(request.args.get("paper"), shop.receipt_paper_mm),
                           back=url_for("settings.reports"), endpoint="settings.shift_report")
