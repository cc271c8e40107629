"""Paying from the phone that shows the QR: the "open in a banking app" link (an extra, behind
the shop's setting), changing one's mind while unpaid (cash at the counter instead, or cancel),
and the e-receipt once paid.

A QR the guest gave up is not forgotten: it is checked with Bakong once more before the order
changes (a payment already made wins: the order is paid, nothing is switched or cancelled), and
it stays with the poller afterwards at the slow after-expiry pace until its usual give-up time,
so a payment the guest still makes with it pays the cash order or, for a cancelled one,
becomes a needs-attention item for the cashier (services/attention.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shopqr.models import Order, Shop, TableSession, Transaction
from shopqr.services import DomainError, NotFound, cart, payments
from shopqr.services.bakong import BakongClient, BakongError, client_from_config
from shopqr.services.events import Event, EventBus, publish_after_commit
from shopqr.services.money import quantize
from shopqr.services.receipts import Tender, parse_tender

log = logging.getLogger(__name__)

# The deeplink call happens while the guest waits for the payment page: short, and never more.
DEEPLINK_TIMEOUT = (2.0, 3.0)


def deeplink_client(config: Mapping[str, Any]) -> BakongClient | None:
    """A Bakong client with a short timeout for the deeplink call; None without a Bakong API."""
    try:
        client = client_from_config(config)
    except BakongError:
        return None
    client.timeout = (min(DEEPLINK_TIMEOUT[0], client.timeout[0]),
                      min(DEEPLINK_TIMEOUT[1], client.timeout[1]))
    return client


def attach_deeplink(shop: Shop, txn: Transaction | None, client: BakongClient | None, *,
                    callback: str, icon_url: str, now: datetime) -> str | None:
    """Ask Bakong for the "open in a banking app" link of a fresh QR and keep it on the
    transaction (the caller commits). Only for shops that turned the setting on, once per QR,
    never for an expired one. Any failure leaves the transaction without a link and never
    raises: the guest can always save the QR image instead."""
    if txn is None or not shop.khqr_deeplinks or txn.deeplink or client is None \
            or txn.paid_at is not None or txn.expires_at <= now:
        return None
    try:
        link = client.generate_deeplink(
            txn.qr_string, app_name=(shop.name or "shopqr")[:80], icon_url=icon_url,
            callback=callback)
    except Exception as exc:  # the client reports trouble as None; be sure anyway
        log.warning("deeplink for %s failed: %s", txn.md5, type(exc).__name__)
        link = None
    txn.deeplink = link
    return link


def card_transaction(db: Session, order: Order, md5: str, now: datetime) -> Transaction:
    """The order's QR named by ``md5``, while it can be paid: the one to draw as a card.
    Another order's md5 (or any other string) is a 404; a QR no longer offered a 410."""
    txn = db.scalar(select(Transaction).where(
        Transaction.order_id == order.id, Transaction.md5 == md5.lower()[:32])) \
        if len(md5) == 32 else None
    if txn is None:
        raise NotFound(_l("We could not find that QR code."))
    if order.payment_status != "pending" or order.payment_method != "khqr" \
            or txn.paid_at is not None or txn.expires_at <= now or txn.status != "pending":
        raise DomainError(_l("This QR code is no longer valid. Reload the order page."), 410)
    return txn


# --- changing one's mind while unpaid ---

NOT_PENDING = {
    "paid": _l("This order is already paid."),
    "mismatch": _l("A payment for this order needs checking. Please see the cashier."),
    "cancelled": _l("This order was cancelled."),
}


def _not_changeable(order: Order) -> DomainError:
    return DomainError(NOT_PENDING.get(order.payment_status,
                                       _l("This order can no longer be changed.")), 409)


def _check_qr_first(db: Session, bus: EventBus, order: Order, client: BakongClient | None,
                    now: datetime) -> None:
    """Before a KHQR order changes, ask Bakong once more about the QR the guest has: a payment
    already made is recorded (the order is then paid and the change refused). This also takes
    the transaction's row before the order's, the lock order the poller uses."""
    if order.payment_method != "khqr":
        return
    txn = payments.latest_transaction(db, order)
    if txn is None or txn.paid_at is not None or txn.status not in (
            *payments.POLLED_STATUSES, "abandoned"):
        return
    payments.check_once_more(db, bus, txn, client, now)
    db.flush()
    db.refresh(order)


def _lock_qrs(db: Session, order: Order) -> None:
    """Take the rows of the order's QRs before the order's own row: the poller records a
    payment in that order (the QR, then the order), so the two never wait on each other."""
    db.execute(select(Transaction.id).where(Transaction.order_id == order.id)
               .order_by(Transaction.id).with_for_update())


def _withdraw_qrs(db: Session, order: Order, now: datetime) -> None:
    """The order's QRs are no longer offered: each unpaid one counts as expired now and is
    polled at the after-expiry pace until its usual give-up time (a late payment is seen)."""
    for txn in db.scalars(select(Transaction).where(
            Transaction.order_id == order.id, Transaction.paid_at.is_(None),
            Transaction.status.in_(payments.POLLED_STATUSES))):
        txn.status = "superseded"
        txn.expires_at = min(txn.expires_at, now)
        txn.deeplink = None


def switch_to_cash(db: Session, bus: EventBus, order: Order, *, client: BakongClient | None,
                   now: datetime) -> bool:
    """The guest will pay cash at the counter instead of by KHQR. True when this call switched
    it; False when it was already switched (a double submit). Raises DomainError (409) when
    the order is paid (perhaps by the QR just now) or cancelled."""
    if order.payment_status == "pending" and order.payment_method == "cash":
        return False
    if order.payment_status != "pending":
        raise _not_changeable(order)
    _check_qr_first(db, bus, order, client, now)
    _lock_qrs(db, order)
    switched = db.execute(
        update(Order).where(Order.id == order.id, Order.payment_status == "pending",
                            Order.payment_method == "khqr")
        .values(payment_method="cash").execution_options(synchronize_session=False))
    db.refresh(order)
    if switched.rowcount != 1:
        if order.payment_status == "pending" and order.payment_method == "cash":
            return False
        raise _not_changeable(order)
    _withdraw_qrs(db, order, now)
    publish_after_commit(db, bus, Event(order.shop_id, "order.status",
                                        {"order_id": order.id, "status": "cash"}))
    return True


@dataclass
class Cancelled:
    """What a guest's cancel did: ``done`` False for a repeat of an earlier cancel;
    ``restored`` None when the table's session had ended (nothing went back to a cart)."""

    done: bool
    restored: cart.Restored | None = None


GUEST_CANCEL_REASON = "cancelled by the guest"


def cart_is_back(db: Session, order: Order) -> bool | None:
    """For an order the guests cancelled: True while its table's session (and so the cart its
    lines went back to) is still open, False once it ended; None for any other order."""
    if order.payment_status != "cancelled" or order.cancel_reason != GUEST_CANCEL_REASON:
        return None
    session = db.get(TableSession, order.session_id) if order.session_id else None
    return session is not None and session.is_active


def cancel_by_guest(db: Session, bus: EventBus, order: Order, *, client: BakongClient | None,
                    now: datetime) -> Cancelled:
    """The guest cancels an unpaid order: its lines go back into the table's cart (once, by
    the conditional update) and its QR is withdrawn. A repeat returns ``done`` False; a paid
    order (perhaps by the QR just now) raises DomainError (409)."""
    if order.payment_status == "cancelled":
        return Cancelled(False)
    if order.payment_status != "pending":
        raise _not_changeable(order)
    _check_qr_first(db, bus, order, client, now)
    _lock_qrs(db, order)
    cancelled = db.execute(
        update(Order).where(Order.id == order.id, Order.payment_status == "pending")
        .values(payment_status="cancelled", cancelled_at=now, cancel_reason=GUEST_CANCEL_REASON)
        .execution_options(synchronize_session=False))
    db.refresh(order)
    if cancelled.rowcount != 1:
        if order.payment_status == "cancelled":
            return Cancelled(False)
        raise _not_changeable(order)
    _withdraw_qrs(db, order, now)
    session = db.get(TableSession, order.session_id) if order.session_id else None
    restored = cart.restore_from_order(db, bus, session, order)
    publish_after_commit(db, bus, Event(order.shop_id, "order.status",
                                        {"order_id": order.id, "status": "cancelled"}))
    return Cancelled(True, restored)


# --- the e-receipt ---

@dataclass
class Receipt:
    order: Order
    payment: Transaction | None  # the KHQR payment that paid it (its Bakong hash)
    riel_total: Decimal | None  # USD shops: the total in riel at the shop's rate
    tender: Tender | None = None  # cash: what was handed over and the change (services/receipts)
    usd_total: Decimal | None = None  # riel shops: the total in dollars at the shop's rate


def paying_transaction(db: Session, order: Order) -> Transaction | None:
    """The KHQR payment that counts for the order, if it was paid by KHQR."""
    for txn in db.scalars(select(Transaction).where(
            Transaction.order_id == order.id, Transaction.paid_at.is_not(None))
            .order_by(Transaction.paid_at, Transaction.id)):
        if txn.counts_for_order:
            return txn
    return None


def receipt(db: Session, shop: Shop, order: Order) -> Receipt:
    """The e-receipt of a paid order; DomainError (404) while it is not paid."""
    if order.payment_status != "paid":
        raise DomainError(_l("The receipt is ready once the order is paid."), 404)
    riel = quantize(order.total * shop.khr_per_usd, "KHR") if order.currency == "USD" else None
    tender = parse_tender(order.cash_tendered) if order.payment_method == "cash" else None
    usd = quantize(order.total / shop.khr_per_usd, "USD") if order.currency == "KHR" else None
    return Receipt(order, paying_transaction(db, order), riel, tender, usd)
