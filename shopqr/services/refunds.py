"""Refunds of paid orders (docs/refunds.md): whole or by line, with a reason and a method:
cash back from the drawer, or "refunded in the bank app" for a KHQR payment (the money goes
back in the shop's banking app; shopqr records it).

Only an owner, or a cashier the owner allowed (``User.can_refund``), may refund. A refund never
gives back more than was paid minus earlier refunds: one conditional UPDATE raises
``orders.refunded_total`` only while the sum stays within the total, and each line's
``refunded_qty`` within its quantity, so refunds sent at the same moment cannot add up to more.
The order stays "paid" (it was paid; the kitchen keeps it); reports, the CSV and the shift
subtract its refunds. Every refund is in the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session, selectinload

from shopqr.models import Order, OrderLine, Refund, RefundLine, Shop, Transaction, User
from shopqr.models.cash import REFUND_METHODS
from shopqr.services import DomainError, get_for_shop, parse_id, shifts
from shopqr.services.audit import audit
from shopqr.services.events import Event, EventBus, publish_after_commit
from shopqr.services.money import format_money, quantize, usd_to_khr
from shopqr.services.pos import ORDER_NOT_FOUND, clean_reason

METHOD_LABELS = {"cash": _l("Cash back"), "bank_app": _l("Refunded in the bank app")}
MAX_QTY = 1000


def method_label(method: str) -> str:
    return str(METHOD_LABELS.get(method, method))


def may_refund(user: User) -> bool:
    """Owners always; a cashier when the owner allowed it."""
    return user.is_active and (user.role == "owner" or (user.role == "cashier"
                                                         and bool(user.can_refund)))


def cash_split(shop: Shop, amount: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """How a cash refund leaves the drawer, as change is given: a USD amount in whole dollars
    and the rest in riel (to the shop's riel step); a riel amount in riel."""
    if currency == "KHR":
        return Decimal("0"), amount
    step = 100 if shop.round_riel_change else 1
    whole = amount.to_integral_value(rounding=ROUND_DOWN)
    return whole, usd_to_khr(amount - whole, shop.khr_per_usd, round_to=step)


def parse_lines(order: Order, form: Mapping[str, str]) -> dict[int, int]:
    """``qty-<line id>`` fields: how many of each line to give back (blank or 0: none)."""
    wanted: dict[int, int] = {}
    by_id = {line.id: line for line in order.lines}
    for key, raw in form.items():
        if not key.startswith("qty-"):
            continue
        line_id = parse_id(key[4:])
        if line_id is None or line_id not in by_id:
            raise DomainError(_l("That line is not on this order."), 400)
        text = (raw or "").strip()
        if not text:
            continue
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_QTY:
            raise DomainError(_l("A quantity must be a whole number."), 400)
        if int(text):
            wanted[line_id] = int(text)
    if not wanted:
        raise DomainError(_l("Choose what to refund: at least one item."))
    return wanted


def refund(db: Session, bus: EventBus, shop: Shop, order_id: object, *, scope: str,
           form: Mapping[str, str], method: str | None, reason: str | None, by: User,
           now: datetime) -> Refund:
    """Give back a paid order, whole (``scope`` "all": what is left of it) or by line
    (``scope`` "lines": the ``qty-<line id>`` fields of ``form``)."""
    if not may_refund(by):
        raise DomainError(_l("Only the owner, or a cashier the owner allows, can refund."), 403)
    order = get_for_shop(db, Order, shop, order_id, message=ORDER_NOT_FOUND,
                         options=(selectinload(Order.lines),))
    if not order.is_paid:
        raise DomainError(_l("Only a paid order can be refunded."), 409)
    if method not in REFUND_METHODS:
        raise DomainError(_l("Choose how the money goes back."), 400)
    if method == "bank_app" and order.payment_method != "khqr":
        raise DomainError(_l("Only a KHQR payment can be refunded in the bank app."), 409)
    if scope not in ("all", "lines"):
        raise DomainError(_l("Unknown action."), 400)
    why = clean_reason(reason)
    if scope == "all":
        wanted = {line.id: line.quantity - line.refunded_qty for line in order.lines
                  if line.quantity > line.refunded_qty}
        amount = order.total - order.refunded_total
    else:
        wanted = parse_lines(order, form)
        lines = {line.id: line for line in order.lines}
        amount = sum((lines[i].unit_price * q for i, q in wanted.items()), Decimal("0"))
        items = order.items_total
        if items and order.total != items:
            # charges added to the prices (docs/taxes.md): a line gives back its share of them
            amount = amount * order.total / items
    amount = quantize(amount, order.currency)
    left = order.total - order.refunded_total
    if scope == "lines" and all(
            wanted.get(line.id, 0) == line.quantity - line.refunded_qty for line in order.lines):
        amount = left  # the last of the order: exactly what is left, no cent lost to rounding
    if amount <= 0:
        raise DomainError(_l("Order #%(number)s was refunded in full already.",
                             number=order.seq), 409)
    # A cash refund comes out of the open shift's drawer (its row locked first, as for cash
    # payments); a bank-app refund is counted by the shift that is open, if any.
    shift = shifts.lock_open(db, shop, message=_l(
        "No shift is open. A cash refund comes out of the drawer: open a shift first.")) \
        if method == "cash" else shifts.current(db, shop)
    raised = db.execute(
        update(Order).where(Order.id == order.id, Order.shop_id == shop.id,
                            Order.payment_status == "paid",
                            Order.refunded_total + amount <= Order.total)
        .values(refunded_total=Order.refunded_total + amount)
        .execution_options(synchronize_session=False))
    if raised.rowcount != 1:
        raise DomainError(_l("That is more than is left to refund on order #%(number)s "
                             "(%(left)s).", number=order.seq,
                             left=format_money(max(left, Decimal("0")), order.currency)), 409)
    for line_id, qty in wanted.items():
        done = db.execute(
            update(OrderLine).where(OrderLine.id == line_id, OrderLine.order_id == order.id,
                                    OrderLine.refunded_qty + qty <= OrderLine.quantity)
            .values(refunded_qty=OrderLine.refunded_qty + qty)
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise DomainError(_l("That is more of an item than is left to refund."), 409)
    cash_usd, cash_khr = cash_split(shop, amount, order.currency) if method == "cash" \
        else (Decimal("0"), Decimal("0"))
    made = Refund(shop_id=shop.id, order_id=order.id, shift_id=shift.id if shift else None,
                  amount=amount, currency=order.currency, method=method, cash_usd=cash_usd,
                  cash_khr=cash_khr, reason=why, created_at=now, created_by_id=by.id,
                  lines=[RefundLine(order_line_id=i, quantity=q) for i, q in wanted.items()])
    db.add(made)
    db.flush()
    with force_locale("en"):
        audit(db, shop, by, "pos.refund", f"order {order.number}",
              f"{format_money(amount, order.currency)} {method}"
              + (f" ({format_money(cash_usd, 'USD')} + {format_money(cash_khr, 'KHR')})"
                 if method == "cash" else "")
              + f", {'whole' if scope == 'all' else 'by line'}: {why}")
    publish_after_commit(db, bus, Event(shop.id, "order.refunded",
                                        {"order_id": order.id, "refund_id": made.id}))
    db.expire(order)
    return made


def for_order(db: Session, order: Order) -> list[Refund]:
    return list(db.scalars(select(Refund).where(Refund.order_id == order.id)
                           .order_by(Refund.id)
                           .options(selectinload(Refund.lines), selectinload(Refund.created_by))))


def in_range(db: Session, shop: Shop, start: datetime, end: datetime) -> list[Refund]:
    return list(db.scalars(select(Refund).where(
        Refund.shop_id == shop.id, Refund.created_at >= start, Refund.created_at < end)
        .order_by(Refund.created_at, Refund.id)))


def totals(db: Session, shop: Shop, start: datetime, end: datetime) -> dict[str, Decimal]:
    """Refunded in [start, end) by the order's payment method, in the shop's currency."""
    found = {"khqr": Decimal("0"), "cash": Decimal("0")}
    for method, total in db.execute(
            select(Order.payment_method, func.coalesce(func.sum(Refund.amount), 0))
            .join(Order, Order.id == Refund.order_id)
            .where(Refund.shop_id == shop.id, Refund.created_at >= start,
                   Refund.created_at < end).group_by(Order.payment_method)):
        found[method] = found.get(method, Decimal("0")) + Decimal(total)
    return found


def apply_to_report(db: Session, shop: Shop, report: object) -> None:
    """Subtract the refunds made in a sales report's range from its revenue and its figures by
    method (services/reports.build calls this)."""
    by_method = totals(db, shop, report.period.start,  # type: ignore[attr-defined]
                       report.period.end)  # type: ignore[attr-defined]
    report.refunded = sum(by_method.values(), Decimal("0"))  # type: ignore[attr-defined]
    report.revenue -= report.refunded  # type: ignore[attr-defined]
    for method, amount in by_method.items():
        count, total = report.by_method.get(method, (0, Decimal("0")))  # type: ignore[attr-defined]
        report.by_method[method] = (count, total - amount)  # type: ignore[attr-defined]


def bank_refunds(db: Session, shop: Shop, start: datetime, end: datetime
                 ) -> list[tuple[Refund, Order, Transaction | None]]:
    """KHQR payments given back in the bank app in [start, end), each with its order and the
    payment that paid it: the reconciliation lists them as resolved refunds."""
    rows = db.execute(
        select(Refund, Order).join(Order, Order.id == Refund.order_id)
        .where(Refund.shop_id == shop.id, Refund.method == "bank_app",
               Refund.created_at >= start, Refund.created_at < end)
        .order_by(Refund.created_at, Refund.id)).all()
    paying: dict[int, Transaction] = {}
    ids = [order.id for _r, order in rows]
    if ids:
        for txn in db.scalars(select(Transaction).where(
                and_(Transaction.order_id.in_(ids), Transaction.paid_at.is_not(None)))):
            if txn.counts_for_order:
                paying[txn.order_id] = txn
    return [(r, order, paying.get(order.id)) for r, order in rows]
