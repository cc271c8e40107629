"""The cashier's work: table states, cash payments, manual orders, voids, closing tables. Every
action is written to the audit log. Payments that need attention: ``services.attention``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_FLOOR, Decimal

from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shopqr.models import (
    CartItem,
    Order,
    ServiceRequest,
    Shop,
    ShopTable,
    TableSession,
    Transaction,
    User,
)
from shopqr.services import DomainError, get_for_shop, sanitize, service_requests, tables
from shopqr.services.audit import audit
from shopqr.services.events import Event, EventBus, publish_after_commit
from shopqr.services.money import format_money, parse_amount, quantize, usd_to_khr
from shopqr.services.receipts import Tender

MAX_REASON = 200
ORDER_NOT_FOUND = _l("Order not found.")
# An order's payment status as staff screens say it (the kitchen's: services/kitchen.LABELS)
PAYMENT_LABELS = {"pending": _l("Awaiting payment"), "paid": _l("Paid"),
                  "mismatch": _l("Mismatch"), "cancelled": _l("Cancelled")}


def payment_status_label(status: str) -> str:
    return str(PAYMENT_LABELS.get(status, status))


@dataclass
class TableState:
    table: ShopTable
    state: str  # free | ordering | awaiting | paid | attention
    session: TableSession | None = None
    cart_count: int = 0
    orders: list[Order] = field(default_factory=list)
    requests: list[ServiceRequest] = field(default_factory=list)  # open: call staff, bill


def table_states(db: Session, shop: Shop) -> list[TableState]:
    """Every table with what is happening at it, from the active session's orders."""
    shop_tables = db.scalars(
        select(ShopTable).where(ShopTable.shop_id == shop.id, ShopTable.is_active.is_(True))
        .order_by(ShopTable.sort_order, ShopTable.id)
    ).all()
    sessions = {
        s.table_id: s for s in db.scalars(
            select(TableSession).where(TableSession.shop_id == shop.id,
                                       TableSession.active_table_id.is_not(None),
                                       TableSession.table_id.is_not(None))  # not takeaway
        )
    }
    session_ids = [s.id for s in sessions.values()]
    # Orders with a KHQR payment waiting for a person (refund due), voided ones included.
    due = set(db.scalars(select(Transaction.order_id).where(
        Transaction.shop_id == shop.id, Transaction.attention == "due")))
    orders_by_session: dict[int, list[Order]] = {}
    carts: dict[int, int] = {}
    if session_ids:
        for order in db.scalars(select(Order).where(Order.session_id.in_(session_ids))
                                .order_by(Order.id)):
            orders_by_session.setdefault(order.session_id or 0, []).append(order)
        carts = {session_id: count for session_id, count in db.execute(
            select(CartItem.session_id, func.coalesce(func.sum(CartItem.quantity), 0))
            .where(CartItem.session_id.in_(session_ids)).group_by(CartItem.session_id)
        )}
    calls = service_requests.open_requests(db, shop)
    result = []
    for table in shop_tables:
        session = sessions.get(table.id)
        if session is None:
            result.append(TableState(table, "free", requests=calls.get(table.id, [])))
            continue
        every = orders_by_session.get(session.id, [])
        orders = [o for o in every if o.payment_status != "cancelled" or o.id in due]
        if any(o.payment_status == "mismatch" or o.id in due for o in every):
            state = "attention"
        elif any(o.payment_status == "pending" for o in orders):
            state = "awaiting"
        elif any(o.is_paid and o.kitchen_status != "served" for o in orders):
            state = "paid"
        else:
            state = "ordering"
        result.append(TableState(table, state, session, int(carts.get(session.id, 0)), orders,
                                 calls.get(table.id, [])))
    return result


@dataclass
class Change:
    tendered: Decimal  # in the shop's currency
    change: Decimal  # in the shop's currency
    change_khr: Decimal  # all of the change in riel
    split_usd: Decimal  # USD shops: whole dollars of change ...
    split_khr: Decimal  # ... and the rest in riel

    def describe(self, currency: str) -> str:
        """For the audit log: summary() in English, whatever the screen's language."""
        with force_locale("en"):
            return str(self.summary(currency))

    def give(self, currency: str) -> str:
        """What to hand back, in the shop's rounding, zero parts left out: "$5.00 + 1,000៛",
        "$13.00" (not "$13.00 + 0៛"), "2,000៛" (not "$0.00 + 2,000៛"); "0" for none."""
        parts = []
        if currency == "USD" and self.split_usd:
            parts.append(format_money(self.split_usd, "USD"))
        if self.split_khr:
            parts.append(format_money(self.split_khr, "KHR"))
        return " + ".join(parts) or format_money(0, currency)

    @property
    def none_due(self) -> bool:
        """Nothing to hand back (exact money, or less than the smallest riel step)."""
        return not self.split_usd and not self.split_khr

    def alternative(self, currency: str) -> str | None:
        """A USD shop's change all in riel, when that is another way to give it."""
        if currency == "USD" and self.split_usd and self.change_khr:
            return format_money(self.change_khr, "KHR")
        return None

    def summary(self, currency: str) -> LazyString:
        """For the cashier, in the language of the screen: the change due, how to give it
        when that differs ("$2.25 = $2.00 + 1,000៛"), and all in riel as another way."""
        if self.none_due:
            return _l("no change")
        give, due = self.give(currency), format_money(self.change, currency)
        alternative = self.alternative(currency)
        if currency == "USD" and give != due:
            if alternative:
                return _l("change %(change)s = %(give)s (or %(all_khr)s)", change=due,
                          give=give, all_khr=alternative)
            return _l("change %(change)s = %(give)s", change=due, give=give)
        if alternative:
            return _l("change %(change)s (or %(all_khr)s)", change=give, all_khr=alternative)
        return _l("change %(change)s", change=give)

    def tender(self, usd: Decimal, khr: Decimal) -> Tender:
        return Tender(usd, khr, self.tendered, self.change, self.split_usd, self.split_khr)


@dataclass
class QuickCash:
    """A quick-cash button: sets (``usd``/``khr``) or adds to (``add_usd``/``add_khr``) the
    amounts received."""

    label: str
    kind: str  # exact | round | note
    usd: Decimal | None = None
    khr: Decimal | None = None
    add_usd: Decimal | None = None
    add_khr: Decimal | None = None


RIEL_NOTES = (Decimal("1000"), Decimal("5000"), Decimal("10000"), Decimal("20000"),
              Decimal("50000"))
USD_NOTES = (Decimal("1"), Decimal("5"), Decimal("10"), Decimal("20"))


def _next_round(total: Decimal, steps: tuple[int, ...], count: int) -> list[Decimal]:
    """The next amounts above ``total`` a guest is likely to hand over: the next multiple of
    each of ``steps`` above it, each once, smallest first."""
    found: list[Decimal] = []
    for step in steps:
        value = ((total / step).to_integral_value(rounding=ROUND_FLOOR) + 1) * step
        if value > total and value not in found:
            found.append(value)
    return sorted(found)[:count]


def quick_cash(shop: Shop, total: Decimal) -> list[QuickCash]:
    """The quick-cash buttons for an order of ``total``: exact, the next round amounts in the
    shop's currency, and the common notes of the other currency (added, so the cashier can mix
    dollars and riel)."""
    if shop.currency == "USD":
        buttons = [QuickCash(format_money(total, "USD"), "exact", usd=total, khr=Decimal("0"))]
        buttons += [QuickCash(format_money(v, "USD"), "round", usd=v, khr=Decimal("0"))
                    for v in _next_round(total, (1, 5, 10, 20, 50, 100), 4)]
        buttons += [QuickCash("+" + format_money(n, "KHR"), "note", add_khr=n)
                    for n in RIEL_NOTES]
        return buttons
    buttons = [QuickCash(format_money(total, "KHR"), "exact", usd=Decimal("0"), khr=total)]
    buttons += [QuickCash(format_money(v, "KHR"), "round", usd=Decimal("0"), khr=v)
                for v in _next_round(total, (1000, 5000, 10000, 20000, 50000, 100000), 4)]
    buttons += [QuickCash("+" + format_money(n, "USD"), "note", add_usd=n) for n in USD_NOTES]
    return buttons


def received(usd_raw: str | None, khr_raw: str | None) -> tuple[Decimal, Decimal]:
    """The dollars and riel the cashier typed (blank is none); at least one of them."""
    usd = parse_amount(usd_raw, "USD", field=_l("US dollars received")) if (usd_raw or "").strip() \
        else Decimal("0")
    khr = parse_amount(khr_raw, "KHR", field=_l("Riel received")) if (khr_raw or "").strip() \
        else Decimal("0")
    if usd == 0 and khr == 0:
        raise DomainError(_l("Enter the cash received (US dollars and/or riel)."))
    return usd, khr


def compute_change(shop: Shop, total: Decimal, usd_raw: str | None, khr_raw: str | None) -> Change:
    usd, khr = received(usd_raw, khr_raw)
    rate = shop.khr_per_usd
    step = 100 if shop.round_riel_change else 1
    if shop.currency == "USD":
        tendered = usd + (khr / rate).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    else:
        tendered = usd * rate + khr
    tendered = quantize(tendered, shop.currency)
    if tendered < total:
        raise DomainError(_l("Not enough: %(short)s short of %(total)s.",
                             short=format_money(total - tendered, shop.currency),
                             total=format_money(total, shop.currency)))
    change = tendered - total
    if shop.currency == "USD":
        whole = change.to_integral_value(rounding=ROUND_DOWN)
        return Change(tendered, change, usd_to_khr(change, rate, round_to=step), whole,
                      usd_to_khr(change - whole, rate, round_to=step))
    riel = (change / step).quantize(Decimal("1"), rounding=ROUND_DOWN) * step
    return Change(tendered, change, riel, Decimal("0"), riel)


def confirm_cash(db: Session, bus: EventBus, shop: Shop, order_id: object, *, usd: str | None,
                 khr: str | None, by: User, now: datetime,
                 instead: bool = False) -> tuple[Order, Change]:
    """The cashier took the money: the order is paid and goes to the kitchen. What was handed
    over and the change are kept with the order for its receipt. An order waiting for a KHQR
    payment takes cash only when the cashier chose "take cash instead" (``instead``) and
    confirmed it: one stray tap must not record cash for it."""
    order = get_for_shop(db, Order, shop, order_id, message=ORDER_NOT_FOUND)
    if order.payment_status != "pending":
        raise DomainError(_l("Order #%(number)s is not waiting for payment.", number=order.seq),
                          409)
    if order.payment_method == "khqr" and not instead:
        raise DomainError(_l("Order #%(number)s waits for a KHQR payment. Tap “Take cash "
                             "instead” first.", number=order.seq), 409)
    usd_amount, khr_amount = received(usd, khr)
    change = compute_change(shop, order.total, usd, khr)
    from shopqr.services import shifts  # shifts uses this module's clean_reason

    # Cash goes into the open shift's drawer (its row locked first: docs/shifts.md).
    shift = shifts.lock_open(db, shop)
    marked = db.execute(
        update(Order).where(Order.id == order.id, Order.payment_status == "pending")
        .values(payment_status="paid", payment_method="cash", paid_at=now,
                kitchen_status="queued", shift_id=shift.id,
                cash_tendered=change.tender(usd_amount, khr_amount).to_json())
        .execution_options(synchronize_session="fetch")
    )
    if marked.rowcount != 1:
        raise DomainError(_l("Order #%(number)s was paid a moment ago.", number=order.seq), 409)
    audit(db, shop, by, "pos.cash_received", f"order {order.number}",
          f"total {format_money(order.total, order.currency)}, tendered "
          f"{format_money(change.tendered, shop.currency)}, {change.describe(shop.currency)}")
    publish_after_commit(db, bus, Event(shop.id, "order.paid", {"order_id": order.id}))
    return order, change


def clean_reason(raw: str | None) -> str:
    """Why an order was voided or a flag resolved: one line, sanitized, required."""
    reason = sanitize(raw)
    if not reason:
        raise DomainError(_l("Give a reason."))
    if len(reason) > MAX_REASON:
        raise DomainError(_l("A reason can be at most %(count)s characters.", count=MAX_REASON))
    return reason


def cancel_order(db: Session, bus: EventBus, shop: Shop, order_id: object, *, reason: str | None,
                 by: User, now: datetime) -> Order:
    """Void an unpaid order (a paid one needs a refund, not a void)."""
    order = get_for_shop(db, Order, shop, order_id, message=ORDER_NOT_FOUND)
    why = clean_reason(reason)
    done = db.execute(
        update(Order).where(Order.id == order.id,
                            Order.payment_status.in_(("pending", "mismatch")))
        .values(payment_status="cancelled", cancel_reason=why, cancelled_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if done.rowcount != 1:
        raise DomainError(_l("Order #%(number)s is paid or already cancelled; it cannot be "
                             "voided.", number=order.seq), 409)
    audit(db, shop, by, "pos.void", f"order {order.number}", why)
    publish_after_commit(db, bus, Event(shop.id, "order.status",
                                        {"order_id": order.id, "status": "cancelled"}))
    return order


def close_table(db: Session, bus: EventBus, shop: Shop, table_id: object, *, by: User) -> bool:
    table = tables.load_table(db, shop, table_id, removed=True)
    session = tables.active_session(db, table)
    if session is None:
        raise DomainError(_l("%(table)s is already free.", table=table.name), 409)
    tables.end_session(db, session, "closed by staff")
    audit(db, shop, by, "pos.close_table", table.name)
    publish_after_commit(db, bus, Event(shop.id, "table.changed", {"table_id": table.id}))
    return True
