"""The cash drawer's shifts (docs/shifts.md): open with a counted float in dollars and riel,
cash in and out, close by counting again; the Z-report compares what should be in the drawer
with what was counted.

One drawer per shop: at most one open shift per shop (``Shift.open_shop_id`` is unique and set
only while open). Every cash-taking path (cash payments, cash refunds, cash in/out, closing)
locks the open shift's row first (``lock_open``), so cash taken while the shift closes is
counted by one shift or refused, never lost between two.

Expected cash, per currency (the drawer holds dollars and riel apart):
``float + (cash received - change given) - cash refunded + cash in - cash out``. Cash received
and change given come from each order's tender (services/receipts.Tender): dollars and riel as
handed over, change as given (whole dollars and riel)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shopqr.models import CashMovement, Order, Refund, Shift, Shop, User
from shopqr.models.cash import MOVEMENT_KINDS
from shopqr.services import DomainError, get_for_shop
from shopqr.services.audit import audit
from shopqr.services.events import Event, EventBus, publish_after_commit
from shopqr.services.money import format_money, parse_amount
from shopqr.services.pos import clean_reason
from shopqr.services.receipts import parse_tender

CURRENCIES = ("USD", "KHR")
NO_SHIFT = _l("No shift is open. Open a shift and count the float before taking cash.")
SHIFT_NOT_FOUND = _l("Shift not found.")


def current(db: Session, shop: Shop) -> Shift | None:
    """The shop's open shift, if any."""
    return db.scalar(select(Shift).where(Shift.open_shop_id == shop.id))


def lock_open(db: Session, shop: Shop, *, message: object = NO_SHIFT) -> Shift:
    """The open shift, held until the caller commits; else 409 with ``message``. A write (one
    that changes nothing) both checks that it is still open and takes the lock: its row lock
    on MariaDB (READ COMMITTED: what the holder reads next includes every cash payment that
    committed before), the writer lock on SQLite (services/sqlite_writers.py)."""
    shift_id = db.scalar(select(Shift.id).where(Shift.open_shop_id == shop.id))
    held = None if shift_id is None else db.execute(
        update(Shift).where(Shift.id == shift_id, Shift.open_shop_id == shop.id)
        .values(open_shop_id=Shift.open_shop_id).execution_options(synchronize_session=False))
    if held is None or held.rowcount != 1:
        raise DomainError(message, 409)  # type: ignore[arg-type]
    shift = db.get(Shift, shift_id, populate_existing=True)
    assert shift is not None
    return shift


def _count(raw: str | None, currency: str, field: object) -> Decimal:
    if not (raw or "").strip():
        return Decimal("0")
    return parse_amount(raw, currency, field=field)  # type: ignore[arg-type]


def open_shift(db: Session, bus: EventBus, shop: Shop, *, usd: str | None, khr: str | None,
               by: User, now: datetime) -> Shift:
    """Open the drawer with the float just counted (blank counts as none)."""
    float_usd = _count(usd, "USD", _l("US dollars in the drawer"))
    float_khr = _count(khr, "KHR", _l("Riel in the drawer"))
    already = _l("A shift is already open. Close it before opening another.")
    if current(db, shop) is not None:
        raise DomainError(already, 409)
    shift = Shift(shop_id=shop.id, open_shop_id=shop.id, opened_by_id=by.id, opened_at=now,
                  float_usd=float_usd, float_khr=float_khr)
    try:
        with db.begin_nested():
            db.add(shift)
    except IntegrityError:  # another device opened one at the same moment
        raise DomainError(already, 409) from None
    audit(db, shop, by, "pos.shift_open", f"shift {shift.id}",
          f"float {format_money(float_usd, 'USD')} + {format_money(float_khr, 'KHR')}")
    publish_after_commit(db, bus, Event(shop.id, "shift.opened", {"shift_id": shift.id}))
    return shift


def move_cash(db: Session, shop: Shop, *, kind: str, amount: str | None, currency: str | None,
              reason: str | None, by: User, now: datetime) -> CashMovement:
    """Cash put into the open shift's drawer or taken out of it, with why."""
    if kind not in MOVEMENT_KINDS:
        raise DomainError(_l("Unknown action."), 400)
    if currency not in CURRENCIES:
        raise DomainError(_l("Currency must be USD or KHR."), 400)
    value = parse_amount(amount, currency, field=_l("Amount"))
    if value <= 0:
        raise DomainError(_l("Enter an amount above zero."))
    why = clean_reason(reason)
    shift = lock_open(db, shop)
    movement = CashMovement(shop_id=shop.id, shift_id=shift.id, kind=kind, amount=value,
                            currency=currency, reason=why, created_at=now, created_by_id=by.id)
    db.add(movement)
    audit(db, shop, by, f"pos.cash_{kind}", f"shift {shift.id}",
          f"{format_money(value, currency)}: {why}")
    return movement


@dataclass
class Summary:
    """A shift's figures: the Z-report, and the close screen before the count."""

    shift: Shift
    currency: str  # the shop's
    cash_orders: int = 0
    cash_sales: Decimal = Decimal("0")  # in the shop's currency
    khqr_orders: int = 0
    khqr_sales: Decimal = Decimal("0")
    received: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(CURRENCIES,
                                                                               Decimal("0")))
    change: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(CURRENCIES,
                                                                             Decimal("0")))
    refunds: list[Refund] = field(default_factory=list)
    refunded_cash: dict[str, Decimal] = field(
        default_factory=lambda: dict.fromkeys(CURRENCIES, Decimal("0")))
    refunds_total: Decimal = Decimal("0")  # every method, in the shop's currency
    cash_refunds_total: Decimal = Decimal("0")  # cash back only, in the shop's currency
    voids: int = 0
    voided: Decimal = Decimal("0")
    movements: list[CashMovement] = field(default_factory=list)
    cash_in: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(CURRENCIES,
                                                                              Decimal("0")))
    cash_out: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(CURRENCIES,
                                                                               Decimal("0")))

    def float(self, currency: str) -> Decimal:
        return self.shift.float_usd if currency == "USD" else self.shift.float_khr

    def expected(self, currency: str) -> Decimal:
        return (self.float(currency) + self.received[currency] - self.change[currency]
                - self.refunded_cash[currency] + self.cash_in[currency]
                - self.cash_out[currency])

    def counted(self, currency: str) -> Decimal | None:
        return self.shift.counted_usd if currency == "USD" else self.shift.counted_khr

    def difference(self, currency: str) -> Decimal | None:
        """Counted minus expected: below zero the drawer is short, above it is over."""
        counted = self.counted(currency)
        return None if counted is None else counted - self.expected(currency)

    @property
    def net_sales(self) -> Decimal:
        return self.cash_sales + self.khqr_sales - self.refunds_total


def summarize(db: Session, shop: Shop, shift: Shift, now: datetime) -> Summary:
    summary = Summary(shift, shop.currency)
    end = shift.closed_at or now
    for order in db.scalars(select(Order).where(
            Order.shift_id == shift.id, Order.payment_method == "cash",
            Order.payment_status == "paid")):
        summary.cash_orders += 1
        summary.cash_sales += order.total
        tender = parse_tender(order.cash_tendered)
        if tender is None:  # no tender kept: the total, in the order's currency
            summary.received[order.currency] += order.total
            continue
        summary.received["USD"] += tender.usd
        summary.received["KHR"] += tender.khr
        summary.change["USD"] += tender.change_usd
        summary.change["KHR"] += tender.change_khr
    count, total = db.execute(select(func.count(Order.id), func.coalesce(func.sum(Order.total), 0))
                              .where(Order.shop_id == shop.id, Order.payment_method == "khqr",
                                     Order.payment_status == "paid",
                                     Order.paid_at >= shift.opened_at, Order.paid_at < end)).one()
    summary.khqr_orders, summary.khqr_sales = int(count), Decimal(total)
    summary.refunds = list(db.scalars(
        select(Refund).where(Refund.shift_id == shift.id).order_by(Refund.id)
        .options(selectinload(Refund.created_by))))
    for refund in summary.refunds:
        summary.refunds_total += refund.amount
        if refund.method == "cash":
            summary.cash_refunds_total += refund.amount
            summary.refunded_cash["USD"] += refund.cash_usd
            summary.refunded_cash["KHR"] += refund.cash_khr
    count, total = db.execute(select(func.count(Order.id), func.coalesce(func.sum(Order.total), 0))
                              .where(Order.shop_id == shop.id,
                                     Order.payment_status == "cancelled",
                                     Order.cancelled_at >= shift.opened_at,
                                     Order.cancelled_at < end)).one()
    summary.voids, summary.voided = int(count), Decimal(total)
    summary.movements = list(db.scalars(
        select(CashMovement).where(CashMovement.shift_id == shift.id)
        .order_by(CashMovement.id).options(selectinload(CashMovement.created_by))))
    for m in summary.movements:
        (summary.cash_in if m.kind == "in" else summary.cash_out)[m.currency] += m.amount
    return summary


def close_shift(db: Session, bus: EventBus, shop: Shop, *, usd: str | None, khr: str | None,
                note: str | None, by: User, now: datetime) -> Summary:
    """Close the open shift with the drawer counted again: the expected amounts are kept with
    it, the owner gets the Telegram message if chosen (event ``shift.closed``)."""
    counted_usd = _count(usd, "USD", _l("US dollars counted"))
    counted_khr = _count(khr, "KHR", _l("Riel counted"))
    if not (usd or "").strip() and not (khr or "").strip():
        raise DomainError(_l("Count the drawer: enter the US dollars and riel in it."))
    text = (note or "").strip()
    why = clean_reason(text) if text else None
    shift = lock_open(db, shop, message=_l("No shift is open."))
    summary = summarize(db, shop, shift, now)
    expected_usd, expected_khr = summary.expected("USD"), summary.expected("KHR")
    done = db.execute(
        update(Shift).where(Shift.id == shift.id, Shift.open_shop_id.is_not(None))
        .values(open_shop_id=None, closed_at=now, closed_by_id=by.id, counted_usd=counted_usd,
                counted_khr=counted_khr, expected_usd=expected_usd, expected_khr=expected_khr,
                note=why)
        .execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        raise DomainError(_l("This shift was closed a moment ago."), 409)
    db.refresh(shift)
    with force_locale("en"):
        audit(db, shop, by, "pos.shift_close", f"shift {shift.id}",
              f"expected {format_money(expected_usd, 'USD')} + "
              f"{format_money(expected_khr, 'KHR')}, counted "
              f"{format_money(counted_usd, 'USD')} + {format_money(counted_khr, 'KHR')}"
              + (f" | {why}" if why else ""))
    publish_after_commit(db, bus, Event(shop.id, "shift.closed", {"shift_id": shift.id}))
    return summarize(db, shop, shift, now)


def load(db: Session, shop: Shop, shift_id: object) -> Shift:
    return get_for_shop(db, Shift, shop, shift_id, message=SHIFT_NOT_FOUND)


def closed_shifts(db: Session, shop: Shop, start: datetime, end: datetime) -> list[Summary]:
    """Shifts closed in [start, end), newest first, with their figures (the owner's reports)."""
    found = db.scalars(select(Shift).where(
        and_(Shift.shop_id == shop.id, Shift.closed_at.is_not(None), Shift.closed_at >= start,
             Shift.closed_at < end)).order_by(Shift.closed_at.desc()).limit(100)
        .options(selectinload(Shift.opened_by), selectinload(Shift.closed_by)))
    return [summarize(db, shop, s, s.closed_at or end) for s in found]
