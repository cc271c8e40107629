"""Sales reports: totals and breakdowns aggregated in SQL; hours bucketed in the shop's time
zone in Python (portable between SQLite and MariaDB, which disagree on time-zone functions).
Also the POS's list of today's orders."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, selectinload

from shopqr.models import Order, OrderLine, Shop, Transaction
from shopqr.services import DomainError, attention, refunds
from shopqr.services.money import format_money, quantize
from shopqr.services.numbering import day_bounds, shop_time

RANGES = {"today": 1, "7d": 7, "30d": 30}


@dataclass
class Report:
    range: str
    start: datetime
    end: datetime
    currency: str
    revenue: Decimal = Decimal("0")
    orders: int = 0
    cancelled: int = 0
    # Every method is there, with (0, 0) when it has no paid orders in the range.
    by_method: dict[str, tuple[int, Decimal]] = field(default_factory=lambda: {
        "khqr": (0, Decimal("0")), "cash": (0, Decimal("0"))})
    top_products: list[tuple[str, int, Decimal]] = field(default_factory=list)
    by_hour: list[Decimal] = field(default_factory=lambda: [Decimal("0")] * 24)
    # Every KHQR payment Bakong reported in the range (each Bakong hash once), the ones that
    # paid their order and the extra ones (refund due, refunded, kept, accepted).
    khqr_payments: list[tuple[Order, Transaction]] = field(default_factory=list)
    refunds_due: int = 0
    refunded: Decimal = Decimal("0")  # refunds made in the range, already out of revenue

    @property
    def average(self) -> Decimal:
        if not self.orders:
            return Decimal("0")
        return quantize(self.revenue / self.orders, self.currency)


def parse_range(raw: str | None) -> str:
    value = raw or "today"
    if value not in RANGES:
        raise DomainError(_l("Range must be today, 7d or 30d."), 400)
    return value


def local_hour(moment: datetime) -> int:
    return shop_time(moment).hour


def build(db: Session, shop: Shop, range_: str, now: datetime) -> Report:
    start, end = day_bounds(now, RANGES[range_])
    report = Report(range_, start, end, shop.currency)
    in_range = and_(Order.shop_id == shop.id, Order.created_at >= start, Order.created_at < end)
    paid = and_(in_range, Order.payment_status == "paid")
    for method, count, total in db.execute(
        select(Order.payment_method, func.count(Order.id), func.coalesce(func.sum(Order.total), 0))
        .where(paid).group_by(Order.payment_method)
    ):
        report.by_method[method] = (count, Decimal(total))
        report.orders += count
        report.revenue += Decimal(total)
    report.cancelled = db.scalar(select(func.count(Order.id)).where(
        in_range, Order.payment_status == "cancelled")) or 0
    report.top_products = [
        (name, int(qty), Decimal(revenue)) for name, qty, revenue in db.execute(
            select(OrderLine.product_name, func.sum(OrderLine.quantity),
                   func.sum(OrderLine.line_total))
            .join(Order, Order.id == OrderLine.order_id).where(paid)
            .group_by(OrderLine.product_name)
            .order_by(func.sum(OrderLine.quantity).desc(), OrderLine.product_name)
            .limit(10))
    ]
    for paid_at, total in db.execute(select(Order.paid_at, Order.total).where(paid)):
        if paid_at is not None:
            report.by_hour[local_hour(paid_at)] += total
    report.khqr_payments = [(o, t) for o, t in db.execute(
        select(Order, Transaction).join(Transaction, Transaction.order_id == Order.id)
        .where(Transaction.shop_id == shop.id, Transaction.paid_at.is_not(None),
               Transaction.paid_at >= start, Transaction.paid_at < end)
        .order_by(Transaction.paid_at, Transaction.id)
    )]
    report.refunds_due = sum(1 for _o, t in report.khqr_payments if t.attention == "due")
    refunds.apply_to_report(db, shop, report)  # docs/refunds.md
    return report


def _cell(value: object) -> str:
    """Text for a CSV cell; a leading = + - @ would run as a formula in a spreadsheet."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def orders_csv(db: Session, shop: Shop, range_: str, now: datetime) -> str:
    start, end = day_bounds(now, RANGES[range_])
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 (Khmer names) only with the BOM
    writer = csv.writer(out)
    writer.writerow(["number", "created (Phnom Penh)", "table", "method", "payment", "kitchen",
                     "total", "currency", "bakong hash", "from account",
                     "payments needing attention"])
    orders = list(db.scalars(
        select(Order)
        .where(Order.shop_id == shop.id, Order.created_at >= start, Order.created_at < end)
        .order_by(Order.id)))
    received = attention.received_payments(db, [o.id for o in orders])
    with force_locale("en"):
        for order in orders:  # one row per order, however many payments it received
            created = shop_time(order.created_at)
            txns = received.get(order.id, [])
            paying = next((t for t in txns if t.counts_for_order), None)
            extra = "; ".join(
                f"{attention.state_label(t)}: "
                f"{format_money(t.bakong_amount, t.bakong_currency or t.currency)} "
                f"(Bakong hash {t.bakong_hash or '?'})"
                for t in txns if t.attention is not None)
            writer.writerow([_cell(v) for v in (
                order.number, created.strftime("%Y-%m-%d %H:%M"), order.table_name or (
                    "takeaway" if order.source == "takeaway" else "walk-in"),
                order.payment_method, order.payment_status, order.kitchen_status or "",
                order.total, order.currency, paying.bakong_hash if paying else "",
                paying.bakong_from_account if paying else "", extra)])
    writer.writerows(refunds.csv_rows(db, shop, start, end, _cell))  # docs/refunds.md
    return out.getvalue()


# --- the POS's orders of the day --------------------------------------------------------

@dataclass
class DayReport:
    orders: list[Order]
    paid_total: Decimal
    paid_count: int
    by_method: dict[str, Decimal]


def todays_orders(db: Session, shop: Shop, *, now: datetime, payment: str | None = None,
                  method: str | None = None) -> DayReport:
    start, end = day_bounds(now)
    query = (select(Order).where(Order.shop_id == shop.id, Order.created_at >= start,
                                 Order.created_at < end)
             .order_by(Order.id.desc()).options(selectinload(Order.lines)))
    if payment in ("pending", "paid", "mismatch", "cancelled"):
        query = query.where(Order.payment_status == payment)
    elif payment == "attention":  # a KHQR payment of the order waits for a person
        query = query.where(Order.id.in_(select(Transaction.order_id).where(
            Transaction.shop_id == shop.id, Transaction.attention == "due")))
    if method in ("khqr", "cash"):
        query = query.where(Order.payment_method == method)
    orders = list(db.scalars(query))
    paid = [o for o in orders if o.is_paid]
    by_method: dict[str, Decimal] = {"khqr": Decimal("0"), "cash": Decimal("0")}
    for o in paid:
        by_method[o.payment_method] = by_method.get(o.payment_method, Decimal("0")) + o.total
    return DayReport(orders, sum((o.total for o in paid), Decimal("0")), len(paid), by_method)
