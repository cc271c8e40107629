"""The owner's view of past shifts and refunds (docs/shifts.md, docs/refunds.md): a section of
the reports page (``money_report``) and each shift's Z-report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import g, render_template, request, url_for

from shopqr.extensions import db
from shopqr.models import Refund, Shop, utcnow
from shopqr.services import refunds, shifts
from shopqr.settings import bp
from shopqr.settings.auth import owner_required


@dataclass
class MoneyReport:
    """Refunds and closed shifts of a report's range."""

    shifts: list[shifts.Summary]
    refunds: list[Refund]
    refunded: Decimal
    bank_refunds: list  # (Refund, Order, Transaction | None): for the KHQR reconciliation


def money_report(shop: Shop, start: datetime, end: datetime) -> MoneyReport:
    found = refunds.in_range(db.session, shop, start, end)
    return MoneyReport(shifts.closed_shifts(db.session, shop, start, end), found,
                       sum((r.amount for r in found), Decimal("0")),
                       refunds.bank_refunds(db.session, shop, start, end))


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
