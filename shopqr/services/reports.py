"""Sales reports for the owner: a period in the shop's time zone, the report's sections
(totals, sales by hour and by day, top products, sales by category and by payment method,
voids, the KHQR reconciliation) and the CSV exports (orders, lines). Also the POS's list of
today's orders.

Totals and breakdowns are aggregated in SQL (GROUP BY); hours and days are bucketed in the
shop's time zone in Python over the period's paid orders (SQLite and MariaDB disagree on
time-zone functions). A sale belongs to the period, hour and day its order was placed in
(``Order.created_at``), so every chart adds up to the revenue. See docs/reports.md."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session, selectinload

from shopqr.models import Category, Order, OrderLine, Product, Refund, Shop, Transaction
from shopqr.services import DomainError, attention, charges, refunds, shifts
from shopqr.services.charts import Bar, Chart, bar_chart, column_chart
from shopqr.services.money import format_money, quantize
from shopqr.services.numbering import SHOP_TZ, UTC, business_date, day_bounds, shop_time

# --- the period ---------------------------------------------------------------------------

PRESETS = ("today", "yesterday", "7d", "30d", "month")
MAX_DAYS = 366
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Orders count as sales when paid; cancelled orders are the voids.
PAID, VOID = "paid", "cancelled"


def local_midnight(day: date) -> datetime:
    """Naive UTC of 00:00 in the shop's zone on ``day``."""
    return datetime.combine(day, time(), tzinfo=SHOP_TZ).astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Period:
    """Whole days in the shop's zone, ``first`` to ``last`` inclusive; ``start``/``end`` are
    the naive-UTC bounds (end exclusive) that queries use."""

    key: str  # one of PRESETS, or "custom"
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def query(self) -> dict[str, str]:
        """The URL query that names this period (the page's and the CSV links')."""
        if self.key == "custom":
            return {"range": "custom", "from": self.first.isoformat(),
                    "to": self.last.isoformat()}
        return {"range": self.key}

    @property
    def slug(self) -> str:
        """For a file name: 2026-12-04 or 2026-11-01_2026-11-30."""
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()}_{self.last.isoformat()}"

    def contains(self, moment_utc: datetime) -> bool:
        return self.start <= moment_utc < self.end


def preset(key: str, now: datetime) -> Period:
    """A named period around ``now`` (naive UTC)."""
    today = business_date(now)
    if key == "today":
        return Period(key, today, today)
    if key == "yesterday":
        return Period(key, today - timedelta(days=1), today - timedelta(days=1))
    if key in ("7d", "30d"):  # today and the days before it
        return Period(key, today - timedelta(days=int(key[:-1]) - 1), today)
    if key == "month":
        return Period(key, today.replace(day=1), today)
    raise DomainError(_l("Range must be today, yesterday, 7d, 30d, month or custom."), 400)


def _parse_day(raw: str | None, which: str) -> date:
    text = (raw or "").strip()
    if not text:
        raise DomainError(_l("Pick both a start and an end date."), 400)
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise DomainError(_l("%(which)s is not a date. Use the form YYYY-MM-DD, for example "
                             "2026-12-31.", which=which), 400) from None
    if not EARLIEST <= day <= LATEST:
        raise DomainError(_l("Pick dates between 2000-01-01 and 2099-12-31."), 400)
    return day


def custom(first_raw: str | None, last_raw: str | None) -> Period:
    first = _parse_day(first_raw, _("The start date"))
    last = _parse_day(last_raw, _("The end date"))
    if first > last:
        raise DomainError(_l("The start date must be on or before the end date."), 400)
    if (last - first).days + 1 > MAX_DAYS:
        raise DomainError(_l("A range can be at most %(days)s days.", days=MAX_DAYS), 400)
    return Period("custom", first, last)


def parse_range(args: Mapping[str, str], now: datetime) -> Period:
    """The period a reports URL asks for: ``range`` (default today) or ``range=custom`` with
    ``from`` and ``to`` (YYYY-MM-DD, the shop's days, both included). Bad input is a 400
    DomainError that says what to fix."""
    key = (args.get("range") or "").strip()
    if key == "custom" or (not key and (args.get("from") or args.get("to"))):
        return custom(args.get("from"), args.get("to"))
    return preset(key or "today", now)


def local_hour(moment: datetime) -> int:
    return shop_time(moment).hour


# --- the report and its sections ----------------------------------------------------------

@dataclass
class TopProduct:
    name: str
    quantity: int
    revenue: Decimal


@dataclass
class Voids:
    count: int = 0
    amount: Decimal = Decimal("0")
    orders: list[Order] = field(default_factory=list)  # newest first, at most VOID_LIST


VOID_LIST = 50


@dataclass
class Report:
    """What the reports page shows. ``sections`` names the page's partials in order
    (templates/settings/reports/_<name>.html); each is filled by a builder in BUILDERS."""

    period: Period
    currency: str
    km: bool = False  # category names in Khmer where the menu has them
    sections: list[str] = field(default_factory=list)
    # totals
    revenue: Decimal = Decimal("0")
    orders: int = 0
    # Every method is there, with (0, 0) when it has no paid orders in the period.
    by_method: dict[str, tuple[int, Decimal]] = field(default_factory=lambda: {
        "khqr": (0, Decimal("0")), "cash": (0, Decimal("0"))})
    charts: dict[str, Chart] = field(default_factory=dict)
    top_products: list[TopProduct] = field(default_factory=list)
    voids: Voids = field(default_factory=Voids)
    # Every KHQR payment Bakong reported in the period (each Bakong hash once), the ones that
    # paid their order and the extra ones (refund due, refunded, kept, accepted).
    khqr_payments: list[tuple[Order, Transaction]] = field(default_factory=list)
    refunds_due: int = 0
    # room for sections other modules add (their builder stores what its partial reads)
    extra: dict[str, Any] = field(default_factory=dict)
    refunded: Decimal = Decimal("0")  # refunds made in the range, already out of revenue

    @property
    def average(self) -> Decimal:
        if not self.orders:
            return Decimal("0")
        return quantize(self.revenue / self.orders, self.currency)

    @property
    def cancelled(self) -> int:
        return self.voids.count

    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.currency)


def in_period(shop: Shop, period: Period) -> ColumnElement[bool]:
    return and_(Order.shop_id == shop.id, Order.created_at >= period.start,
                Order.created_at < period.end)


def paid_in(shop: Shop, period: Period) -> ColumnElement[bool]:
    """The period's sales: its paid orders."""
    return and_(in_period(shop, period), Order.payment_status == PAID)


def _dec(value: object) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal("0")


def _totals(db: Session, shop: Shop, report: Report) -> None:
    for method, count, total in db.execute(
        select(Order.payment_method, func.count(Order.id), func.coalesce(func.sum(Order.total), 0))
        .where(paid_in(shop, report.period)).group_by(Order.payment_method)
    ):
        report.by_method[method] = (count, _dec(total))
        report.orders += count
        report.revenue += _dec(total)
    # refunds made in the period come off revenue and the methods' figures (docs/refunds.md)
    refunds.apply_to_report(db, shop, report)
    method_names = {"khqr": "KHQR", "cash": _("Cash")}
    report.charts["method"] = bar_chart(
        "chart-method", _("Sales by payment method"),
        _("Paid orders' total for each payment method, with the number of orders."),
        [Bar(method_names.get(m, m), total, report.money(total), count)
         for m, (count, total) in report.by_method.items()])


def _by_time(db: Session, shop: Shop, report: Report) -> None:
    """Sales by hour of the day and by day (by month for periods over 62 days), in the
    shop's zone; hours and days without sales are there with zero."""
    period = report.period
    hours = [Decimal("0")] * 24
    hour_counts = [0] * 24
    monthly = period.days > 62
    days: dict[date, Decimal] = {}
    day_counts: dict[date, int] = {}
    day = period.first
    while day <= period.last:
        key = day.replace(day=1) if monthly else day
        days.setdefault(key, Decimal("0"))
        day_counts.setdefault(key, 0)
        day += timedelta(days=1)
    for created_at, total in db.execute(
            select(Order.created_at, Order.total).where(paid_in(shop, period))):
        local = shop_time(created_at)
        key = local.date().replace(day=1) if monthly else local.date()
        hours[local.hour] += total
        hour_counts[local.hour] += 1
        days[key] += total
        day_counts[key] += 1
    money = report.money
    report.charts["hour"] = column_chart(
        "chart-hour", _("Sales by hour"),
        _("Paid orders' total for each hour of the day, Phnom Penh time, all days of the "
          "period together."),
        [Bar(f"{h:02d}:00", v, money(v), hour_counts[h]) for h, v in enumerate(hours)],
        fmt=money, x_label=_("Hour of the day (Phnom Penh time)"), y_label=_("Sales"),
        max_ticks=8)
    if monthly:
        title, x_label, fmt_day = _("Sales by month"), _("Month"), "%m/%Y"
        desc = _("Paid orders' total for each month of the period.")
    else:
        title, x_label, fmt_day = _("Sales by day"), _("Day"), "%d/%m"
        desc = _("Paid orders' total for each day of the period, Phnom Penh time.")
    report.charts["day"] = column_chart(
        "chart-day", title, desc,
        [Bar(d.strftime(fmt_day), v, money(v), day_counts[d]) for d, v in days.items()],
        fmt=money, x_label=x_label, y_label=_("Sales"))


def _top_products(db: Session, shop: Shop, report: Report) -> None:
    report.top_products = [
        TopProduct(name, int(qty), _dec(revenue)) for name, qty, revenue in db.execute(
            select(OrderLine.product_name, func.sum(OrderLine.quantity),
                   func.sum(OrderLine.line_total))
            .join(Order, Order.id == OrderLine.order_id).where(paid_in(shop, report.period))
            .group_by(OrderLine.product_name)
            .order_by(func.sum(OrderLine.quantity).desc(), OrderLine.product_name)
            .limit(10))
    ]


def _by_category(db: Session, shop: Shop, report: Report) -> None:
    """Item sales (line totals) by the product's category as the menu has it now; items of a
    product without a category, or deleted from the menu, under "No category"."""
    rows = db.execute(
        select(Category.id, Category.name, Category.name_km, func.sum(OrderLine.quantity),
               func.sum(OrderLine.line_total))
        .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
        .outerjoin(Product, Product.id == OrderLine.product_id)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(paid_in(shop, report.period))
        .group_by(Category.id, Category.name, Category.name_km)
    ).all()
    named = sorted(((_dec(total), (km if report.km and km else name) or "", int(qty))
                    for cid, name, km, qty, total in rows if cid is not None),
                   key=lambda r: (-r[0], r[1]))
    bars = [Bar(name, total, report.money(total), qty) for total, name, qty in named]
    for cid, _name, _km, qty, total in rows:
        if cid is None:
            bars.append(Bar(_("No category"), _dec(total), report.money(_dec(total)), int(qty)))
    report.charts["category"] = bar_chart(
        "chart-category", _("Sales by category"),
        _("Item sales of paid orders for each menu category, with the number of items."), bars)


def _voids(db: Session, shop: Shop, report: Report) -> None:
    voided = and_(in_period(shop, report.period), Order.payment_status == VOID)
    count, amount = db.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.total), 0)).where(voided)).one()
    report.voids = Voids(count or 0, _dec(amount), list(db.scalars(
        select(Order).where(voided).order_by(Order.created_at.desc(), Order.id.desc())
        .limit(VOID_LIST))))


def _khqr(db: Session, shop: Shop, report: Report) -> None:
    period = report.period
    report.khqr_payments = [(o, t) for o, t in db.execute(
        select(Order, Transaction).join(Transaction, Transaction.order_id == Order.id)
        .where(Transaction.shop_id == shop.id, Order.shop_id == shop.id,
               Transaction.paid_at.is_not(None),
               Transaction.paid_at >= period.start, Transaction.paid_at < period.end)
        .order_by(Transaction.paid_at, Transaction.id)
    )]
    report.refunds_due = sum(1 for _o, t in report.khqr_payments if t.attention == "due")


@dataclass
class MoneyReport:
    """Refunds and closed shifts of a report's period (docs/refunds.md, docs/shifts.md)."""

    shifts: list[shifts.Summary]
    refunds: list[Refund]
    refunded: Decimal
    bank_refunds: list[Any]  # (Refund, Order, Transaction | None): KHQR refunded in the bank app


def _money(db: Session, shop: Shop, report: Report) -> None:
    """Refunds and closed shifts, with two charts: refunds against voids, and the cash each
    cashier took over the period's shifts (runs after "voids")."""
    start, end = report.period.start, report.period.end
    found = refunds.in_range(db, shop, start, end)
    money = MoneyReport(shifts.closed_shifts(db, shop, start, end), found,
                        sum((r.amount for r in found), Decimal("0")),
                        refunds.bank_refunds(db, shop, start, end))
    report.extra["money"] = money
    report.charts["refunds_voids"] = bar_chart(
        "chart-refunds-voids", _("Refunds and voids"),
        _("Money given back on paid orders, and orders cancelled before payment, with how "
          "many."),
        [Bar(_("Refunds"), money.refunded, report.money(money.refunded), len(found)),
         Bar(_("Voids"), report.voids.amount, report.money(report.voids.amount),
             report.voids.count)])
    by_cashier: dict[str, tuple[int, Decimal]] = {}
    for summary in money.shifts:  # the drawer's shifts: the cashier who opened each one
        opener = summary.shift.opened_by
        name = opener.name if opener is not None else "?"
        count, total = by_cashier.get(name, (0, Decimal("0")))
        by_cashier[name] = (count + 1, total + summary.cash_sales - summary.cash_refunds_total)
    report.charts["cashier"] = bar_chart(
        "chart-cashier", _("Cash by cashier"),
        _("Cash sales less cash refunds of the shifts closed in this period, by the cashier "
          "who opened each shift, with the number of shifts."),
        [Bar(name, total, report.money(total), count)
         for name, (count, total) in sorted(by_cashier.items(), key=lambda kv: -kv[1][1])])


def _charges(db: Session, shop: Shop, report: Report) -> None:
    """The taxes and charges of the period's paid orders (docs/taxes.md), per charge."""
    report.extra["charge_totals"] = charges.paid_totals(db, shop, report.period.start,
                                                        report.period.end)


Builder = Callable[[Session, Shop, Report], None]
# (section name, builder): the page shows the sections in this order. A new section adds its
# builder here and templates/settings/reports/_<name>.html.
BUILDERS: list[tuple[str, Builder | None]] = [
    ("totals", _totals),
    ("charges", _charges),
    ("by_time", _by_time),
    ("top_products", _top_products),
    ("categories", _by_category),
    ("methods", None),  # drawn from what "totals" found
    ("voids", _voids),
    ("khqr", _khqr),
    ("money", _money),
]


def build(db: Session, shop: Shop, period: Period, *, km: bool = False) -> Report:
    report = Report(period, shop.currency, km=km)
    for name, builder in BUILDERS:
        if builder is not None:
            builder(db, shop, report)
        report.sections.append(name)
    return report


# --- CSV exports --------------------------------------------------------------------------

def _cell(value: object) -> str:
    """Text for a CSV cell. Text starting with = + - @ (or a tab or CR) would run as a
    formula in a spreadsheet: it gets a leading apostrophe. Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], object]


def write_csv(columns: list[Column], rows: list[Any]) -> str:
    """UTF-8 with a BOM (Excel reads Khmer names only with it), CRLF rows, every cell made
    formula-safe. A row is read through the columns, or is a dict by column header (cells it
    lacks are empty: a refund's row in the orders export)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([c.header for c in columns])
    with force_locale("en"):  # the export is English, like the audit log
        for row in rows:
            if isinstance(row, dict):
                writer.writerow([_cell(row.get(c.header, "")) for c in columns])
            else:
                writer.writerow([_cell(c.value(row)) for c in columns])
    return out.getvalue()


def _local(moment: datetime) -> str:
    return shop_time(moment).strftime("%Y-%m-%d %H:%M")


def _created(order: Order) -> str:
    return _local(order.created_at)


def _where(order: Order) -> str:
    return order.table_name or ("takeaway" if order.source == "takeaway" else "walk-in")


@dataclass
class OrderRow:
    order: Order
    payments: list[Transaction]  # the KHQR payments Bakong reported for it
    charge_lines: list[Any] = field(default_factory=list)  # its taxes and charges (OrderCharge)

    @property
    def paying(self) -> Transaction | None:
        return next((t for t in self.payments if t.counts_for_order), None)

    @cached_property
    def charge_cells(self) -> list[str]:
        """The charge columns' cells, made once for the row (not once per column)."""
        return charges.csv_cells(self.order, self.charge_lines)

    @property
    def needing_attention(self) -> str:
        return "; ".join(
            f"{attention.state_label(t)}: "
            f"{format_money(t.bakong_amount, t.bakong_currency or t.currency)} "
            f"(Bakong hash {t.bakong_hash or '?'})"
            for t in self.payments if t.attention is not None)


ORDER_COLUMNS: list[Column] = [
    Column("number", lambda r: r.order.number),
    Column("created (Phnom Penh)", lambda r: _created(r.order)),
    Column("table", lambda r: _where(r.order)),
    Column("method", lambda r: r.order.payment_method),
    Column("payment", lambda r: r.order.payment_status),
    Column("kitchen", lambda r: r.order.kitchen_status or ""),
    Column("items", lambda r: sum(line.quantity for line in r.order.lines)),
    Column("total", lambda r: r.order.total),
    Column("currency", lambda r: r.order.currency),
    Column("cancel reason", lambda r: r.order.cancel_reason or ""),
    Column("bakong hash", lambda r: r.paying.bakong_hash if r.paying else ""),
    Column("from account", lambda r: r.paying.bakong_from_account if r.paying else ""),
    Column("payments needing attention", lambda r: r.needing_attention),
    # the taxes and charges (docs/taxes.md): the subtotal, and the charge lines as text
    *[Column(header, lambda r, i=i: r.charge_cells[i])
      for i, header in enumerate(charges.CSV_HEADER)],
]


def _period_orders(db: Session, shop: Shop, period: Period) -> list[Order]:
    return list(db.scalars(select(Order).where(in_period(shop, period))
                           .order_by(Order.created_at, Order.id)
                           .options(selectinload(Order.lines))))


def orders_csv(db: Session, shop: Shop, period: Period) -> str:
    """Every order placed in the period (any payment state), one row each however many
    payments it received, then a row for each refund made in it."""
    orders = _period_orders(db, shop, period)
    received = attention.received_payments(db, [o.id for o in orders])
    charged = charges.of_orders(db, [o.id for o in orders])
    rows: list[Any] = [OrderRow(o, received.get(o.id, []), charged.get(o.id, []))
                       for o in orders]
    rows += _refund_rows(db, shop, period)
    return write_csv(ORDER_COLUMNS, rows)


def _refund_rows(db: Session, shop: Shop, period: Period) -> list[dict[str, object]]:
    """Each refund made in the period as a row of the orders export, by column header
    (docs/refunds.md): its order, when it was made, "refunded" as the payment, and the amount
    below zero (a number), so the total column adds up to net sales."""
    return [{"number": order.number, "created (Phnom Penh)": _local(r.created_at),
             "table": _where(order), "method": order.payment_method, "payment": "refunded",
             "total": -r.amount, "currency": r.currency,
             "payments needing attention": f"refund ({r.method}): {r.reason}"}
            for r, order in db.execute(
                select(Refund, Order).join(Order, Order.id == Refund.order_id)
                .where(Refund.shop_id == shop.id, Refund.created_at >= period.start,
                       Refund.created_at < period.end)
                .order_by(Refund.created_at, Refund.id)).all()]


@dataclass
class LineRow:
    order: Order
    line: OrderLine
    category: str


LINE_COLUMNS: list[Column] = [
    Column("order number", lambda r: r.order.number),
    Column("created (Phnom Penh)", lambda r: _created(r.order)),
    Column("table", lambda r: _where(r.order)),
    Column("method", lambda r: r.order.payment_method),
    Column("payment", lambda r: r.order.payment_status),
    Column("product", lambda r: r.line.product_name),
    Column("product (Khmer)", lambda r: r.line.product_name_km or ""),
    Column("category", lambda r: r.category),
    Column("options", lambda r: r.line.options_text),
    Column("note", lambda r: r.line.note or ""),
    Column("quantity", lambda r: r.line.quantity),
    Column("base price", lambda r: r.line.base_price),
    Column("unit price", lambda r: r.line.unit_price),
    Column("line total", lambda r: r.line.line_total),
    Column("currency", lambda r: r.order.currency),
]


def lines_csv(db: Session, shop: Shop, period: Period) -> str:
    """One row per ordered item of every order placed in the period, with its options."""
    orders = _period_orders(db, shop, period)
    product_ids = {line.product_id for o in orders for line in o.lines if line.product_id}
    categories: dict[int, str] = {}
    if product_ids:
        categories = {pid: name for pid, name in db.execute(
            select(Product.id, Category.name).join(Category, Category.id == Product.category_id)
            .where(Product.shop_id == shop.id, Product.id.in_(product_ids)))}
    return write_csv(LINE_COLUMNS, [
        LineRow(o, line, categories.get(line.product_id or 0, ""))
        for o in orders for line in o.lines])


# --- the POS's orders of the day --------------------------------------------------------

@dataclass
class DayReport:
    orders: list[Order]
    paid_total: Decimal  # net of refunds
    paid_count: int
    by_method: dict[str, Decimal]  # net of refunds
    refunded: Decimal = Decimal("0")  # given back of these orders


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
    for o in paid:  # net of what was refunded of each order (docs/refunds.md)
        by_method[o.payment_method] = by_method.get(o.payment_method, Decimal("0")) + _net(o)
    return DayReport(orders, sum((_net(o) for o in paid), Decimal("0")), len(paid), by_method,
                     sum((o.refunded_total or Decimal("0") for o in paid), Decimal("0")))


def _net(order: Order) -> Decimal:
    return order.total - (order.refunded_total or Decimal("0"))
