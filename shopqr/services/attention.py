"""KHQR payments that need a person, one per Bakong payment (its ``Transaction``).

A payment that is not "the right amount, once, for an unpaid order" is marked ``attention =
'due'`` when the poller records it: paid after the order was voided, a second payment (the
order was already paid by cash or by another QR), or a wrong amount or currency. It stays on
the POS's "needs attention" list, on the order's page and in the reports until a cashier
records what was done: refunded in the banking app, kept, or (a wrong amount for an unpaid
order) accepted as the order's payment. Detection and resolution are both in the audit log.
Refunds themselves happen in the banking app; shopqr only records them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from shopqr.models import AuditLog, Order, Shop, Transaction, User
from shopqr.services import DomainError, NotFound, get_for_shop
from shopqr.services.audit import audit
from shopqr.services.events import Event, EventBus, publish_after_commit
from shopqr.services.money import format_money
from shopqr.services.pos import clean_reason

ACTIONS = ("refunded", "kept", "accept")

KIND_TEXT = {
    "cancelled": _l("Paid after the order was cancelled"),
    "cash": _l("Second payment: order already paid by cash"),
    "khqr": _l("Second payment: order already paid by KHQR"),
}


def wrong_amount_text(txn: Transaction) -> LazyString:
    return _l("Wrong amount: Bakong reported %(paid)s for a %(total)s order",
              paid=format_money(txn.bakong_amount, txn.bakong_currency or txn.currency),
              total=format_money(txn.amount, txn.currency))


def reason(txn: Transaction) -> str:
    """Why the payment needs attention, in the language of the screen."""
    if txn.attention_kind is None:
        return ""
    if txn.attention_kind == "amount":
        return str(wrong_amount_text(txn))
    parts = [str(KIND_TEXT[txn.attention_kind])]
    if txn.status == "mismatch":
        parts.append(str(wrong_amount_text(txn)))
    return " · ".join(parts)


STATE_TEXT = {
    "due": _l("Refund due"),
    "refunded": _l("Resolved: refunded"),
    "kept": _l("Resolved: kept"),
    "accepted": _l("Resolved: accepted as payment"),
}


def state_label(txn: Transaction) -> LazyString | str:
    """What became of a received payment: it paid the order, or its attention state."""
    if txn.attention in STATE_TEXT:
        return STATE_TEXT[txn.attention]
    if txn.received:
        return _l("Paid the order")
    return ""


def can_accept(txn: Transaction) -> bool:
    """A wrong amount that still holds its unpaid order can be accepted as its payment."""
    return (txn.attention == "due" and txn.attention_kind == "amount"
            and txn.order.payment_status == "mismatch")


def flag(db: Session, bus: EventBus, txn: Transaction, kind: str, now: datetime) -> None:
    """Mark a just-recorded payment for a person, write it to the audit log and tell the POS."""
    txn.attention = "due"
    txn.attention_kind = kind
    with force_locale("en"):
        txn.attention_reason = reason(txn)[:200]
        amount = format_money(txn.bakong_amount, txn.bakong_currency or txn.currency)
    order = db.get(Order, txn.order_id)
    db.add(AuditLog(
        shop_id=txn.shop_id, user_id=None, action="payment.attention",
        subject=f"order {order.number}" if order else None,
        detail=(f"{txn.attention_reason}; {amount} from {txn.bakong_from_account or '?'}; "
                f"Bakong hash {txn.bakong_hash or '?'}; md5 {txn.md5}"),
        created_at=now))
    publish_after_commit(db, bus, Event(txn.shop_id, "order.flagged",
                                        {"order_id": txn.order_id, "transaction_id": txn.id}))


def due_payments(db: Session, shop: Shop) -> list[Transaction]:
    """The shop's payments waiting for a person, oldest first (the POS list)."""
    return list(db.scalars(
        select(Transaction).where(Transaction.shop_id == shop.id, Transaction.attention == "due")
        .order_by(Transaction.paid_at, Transaction.id)
        .options(joinedload(Transaction.order).selectinload(Order.lines))
    ))


def awaiting(db: Session, shop: Shop) -> tuple[list[Transaction], list[Order]]:
    """What the cashier should act on: KHQR payments that need a person (refund due, or a
    wrong amount to accept), then unpaid orders (and a mismatched one with no payment left
    waiting, should there be one), oldest first."""
    due = due_payments(db, shop)
    held = {t.order_id for t in due}
    orders = [o for o in db.scalars(
        select(Order).where(Order.shop_id == shop.id,
                            Order.payment_status.in_(("pending", "mismatch")))
        .order_by(Order.id).options(selectinload(Order.lines))
    ) if o.id not in held]
    return due, orders


def due_order_ids(db: Session, shop: Shop) -> set[int]:
    return set(db.scalars(select(Transaction.order_id).where(
        Transaction.shop_id == shop.id, Transaction.attention == "due")))


def has_due(db: Session, order: Order) -> bool:
    return db.scalar(select(Transaction.id).where(Transaction.order_id == order.id,
                                                  Transaction.attention == "due").limit(1)) \
        is not None


def received_payments(db: Session, order_ids: Iterable[int]) -> dict[int, list[Transaction]]:
    """Every payment Bakong reported for these orders, by order, in the order they came."""
    ids = list(order_ids)
    found: dict[int, list[Transaction]] = {}
    if not ids:
        return found
    for txn in db.scalars(select(Transaction).where(
            Transaction.order_id.in_(ids), Transaction.paid_at.is_not(None))
            .order_by(Transaction.paid_at, Transaction.id)
            .options(selectinload(Transaction.resolved_by))):
        found.setdefault(txn.order_id, []).append(txn)
    return found


def order_state(payments: list[Transaction]) -> str | None:
    """One word for an order's extra payments: "due" while any waits, else "resolved" when
    any was settled by a person, else None."""
    states = {t.attention for t in payments}
    if "due" in states:
        return "due"
    if states & {"refunded", "kept", "accepted"}:
        return "resolved"
    return None


def load_payment(db: Session, shop: Shop, txn_id: object) -> Transaction:
    """A payment Bakong reported to this shop, else 404 (another shop's ids look exactly like
    missing ones, and so does a QR nobody paid)."""
    missing = _l("Payment not found.")
    txn = get_for_shop(db, Transaction, shop, txn_id, message=missing,
                       options=(joinedload(Transaction.order),))
    if not txn.received:
        raise NotFound(missing)
    return txn


def resolve(db: Session, bus: EventBus, shop: Shop, txn_id: object, *, action: str,
            note: str | None, by: User, now: datetime) -> Transaction:
    """Record what the cashier did about a payment that needed attention: ``refunded`` (in
    the banking app), ``kept``, or ``accept`` (a wrong amount taken as the unpaid order's
    payment: it goes to the kitchen). Conditional on ``attention = 'due'``, so two cashiers
    tapping at once record it once; the other is told it was already resolved."""
    txn = load_payment(db, shop, txn_id)
    if action not in ACTIONS:
        raise DomainError(_l("Unknown action."), 400)
    why = clean_reason(note)
    order = txn.order
    if txn.attention != "due":
        raise DomainError(_l("This payment was already resolved."), 409)
    if action == "accept" and not can_accept(txn):
        raise DomainError(_l("Only a wrong amount for an unpaid order can be accepted."), 409)
    state = "accepted" if action == "accept" else action
    # Always the payment's row first, then the order's: the same lock order everywhere.
    done = db.execute(
        update(Transaction)
        .where(Transaction.id == txn.id, Transaction.shop_id == shop.id,
               Transaction.attention == "due")
        .values(attention=state, resolved_at=now, resolved_by_id=by.id, resolution_note=why)
        .execution_options(synchronize_session="fetch")
    )
    if done.rowcount != 1:
        raise DomainError(_l("This payment was already resolved."), 409)
    if action == "accept":
        paid = db.execute(
            update(Order).where(Order.id == order.id, Order.payment_status == "mismatch")
            .values(payment_status="paid", paid_at=now, kitchen_status="queued")
            .execution_options(synchronize_session="fetch")
        )
        if paid.rowcount != 1:
            raise DomainError(_l("Order #%(number)s is not waiting for this payment any more.",
                                 number=order.seq), 409)
        publish_after_commit(db, bus, Event(shop.id, "order.paid", {"order_id": order.id}))
    else:
        # A wrong amount given back (or kept aside): the order waits for its payment again,
        # unless another wrong payment still holds it.
        other_wrong = exists().where(and_(Transaction.order_id == Order.id,
                                          Transaction.attention == "due",
                                          Transaction.attention_kind == "amount"))
        db.execute(
            update(Order).where(Order.id == order.id, Order.payment_status == "mismatch",
                                ~other_wrong)
            .values(payment_status="pending")
            .execution_options(synchronize_session="fetch")
        )
    with force_locale("en"):
        amount = format_money(txn.bakong_amount, txn.bakong_currency or txn.currency)
    audit(db, shop, by, f"payment.{state}", f"order {order.number}",
          f"{amount} Bakong hash {txn.bakong_hash or '?'}: {txn.attention_reason or ''} | {why}")
    publish_after_commit(db, bus, Event(shop.id, "order.status",
                                        {"order_id": order.id, "status": "resolved"}))
    return txn
