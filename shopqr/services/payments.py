"""KHQR payments: one dynamic QR per order (a new one when it expires), verified by polling
Bakong. A payment counts only when Bakong reports it and amount and currency match."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shopqr.models import Order, Shop, Transaction
from shopqr.models.base import epoch_ms
from shopqr.services import DomainError
from shopqr.services.bakong import CheckResult, CheckStatus
from shopqr.services.events import Event, EventBus, publish_after_commit
from shopqr.services.khqr import KHQRAccount, build_khqr, fit
from shopqr.services.money import format_money, quantize

log = logging.getLogger(__name__)

POLLED_STATUSES = ("pending", "superseded")


def shop_account(shop: Shop) -> KHQRAccount:
    if not shop.bakong_account_id:
        raise DomainError(_l("This shop has no Bakong account set up for KHQR."))
    if shop.bakong_account_type == "merchant":
        return KHQRAccount("merchant", shop.bakong_account_id, merchant_id=shop.bakong_merchant_id,
                           acquiring_bank=shop.bakong_bank)
    return KHQRAccount("individual", shop.bakong_account_id,
                       acquiring_bank=shop.bakong_bank or None)


def create_khqr(
    db: Session, shop: Shop, order: Order, *, now: datetime, ttl_seconds: int, grace_seconds: int
) -> Transaction:
    """A dynamic KHQR for the order's exact total; its string and md5 are stored for polling."""
    if order.payment_method != "khqr" or order.payment_status != "pending":
        raise DomainError(_l("This order is not waiting for a KHQR payment."), 409)
    now = now.replace(microsecond=(now.microsecond // 1000) * 1000)
    expires = now + timedelta(seconds=ttl_seconds)
    qr = build_khqr(
        account=shop_account(shop),
        merchant_name=fit(shop.khqr_merchant_name or shop.name, 25),
        merchant_city=fit(shop.khqr_merchant_city or "Phnom Penh", 15),
        currency=order.currency,
        amount=order.total,
        bill_number=order.number,
        store_label=fit(shop.name, 25),
        terminal_label=fit(order.table_name, 25) if order.table_name else None,
        merchant_category_code="5814",
        created_ms=epoch_ms(now),
        expires_ms=epoch_ms(expires),
    )
    txn = Transaction(
        shop_id=shop.id,
        order_id=order.id,
        md5=qr.md5,
        qr_string=qr.qr,
        amount=order.total,
        currency=order.currency,
        bill_number=order.number,
        to_account=shop.bakong_account_id or "",
        status="pending",
        created_at=now,
        expires_at=expires,
        give_up_at=expires + timedelta(seconds=grace_seconds),
        next_check_at=now,
    )
    db.add(txn)
    db.flush()
    return txn


def latest_transaction(db: Session, order: Order) -> Transaction | None:
    return db.scalar(
        select(Transaction)
        .where(Transaction.order_id == order.id)
        .order_by(Transaction.created_at.desc(), Transaction.id.desc())
        .limit(1)
    )


def regenerate(
    db: Session, shop: Shop, order: Order, *, now: datetime, ttl_seconds: int, grace_seconds: int
) -> Transaction:
    """A fresh QR once the current one expired. The old md5 keeps being polled until its
    grace period ends, so a guest who pays the old QR late is still seen."""
    current = latest_transaction(db, order)
    if current is not None and current.expires_at > now and current.status == "pending":
        return current
    if current is not None and current.status == "pending":
        current.status = "superseded"
    return create_khqr(db, shop, order, now=now, ttl_seconds=ttl_seconds,
                       grace_seconds=grace_seconds)


def next_delay(txn: Transaction, now: datetime) -> float:
    """Seconds to the next check of an unpaid md5: fast while the QR is fresh, slower later."""
    age = (now - txn.created_at).total_seconds()
    if now >= txn.expires_at:
        return 30.0
    if age < 180:
        return 2.0
    if age < 420:
        return 4.0
    return 8.0


def error_delay(error_count: int) -> float:
    """Back off on outages: 2, 4, 8, ... up to 60 seconds."""
    return float(min(60, 2 ** min(error_count, 6)))


def amounts_match(txn: Transaction, amount: Decimal, currency: str) -> bool:
    if currency != txn.currency:
        return False
    return quantize(amount, currency) == quantize(txn.amount, txn.currency) and amount == quantize(
        amount, currency
    )


def apply_result(
    db: Session, bus: EventBus, txn: Transaction, result: CheckResult, now: datetime
) -> str:
    """Record one Bakong answer for a transaction. Returns what happened: "paid", "mismatch",
    "duplicate", "waiting", "error" or "abandoned". Idempotent: the order is marked paid with
    ``UPDATE ... WHERE payment_status = 'pending'``, so two pollers can never pay it twice."""
    txn.last_checked_at = now
    txn.check_count += 1
    if result.status is CheckStatus.PAID and result.payment is not None:
        return _record_payment(db, bus, txn, result, now)
    if result.retryable:
        txn.error_count += 1
        txn.last_error = f"{result.status.name}: {result.message}"[:200]
        txn.next_check_at = now + timedelta(seconds=error_delay(txn.error_count))
        outcome = "error"
    else:
        txn.error_count = 0
        if result.status is CheckStatus.FAILED:
            txn.last_error = "Bakong reported a failed attempt"
        elif result.status is CheckStatus.STATIC_QR:
            txn.last_error = "Bakong says this is a static QR"
        txn.next_check_at = now + timedelta(seconds=next_delay(txn, now))
        outcome = "waiting"
    if now >= txn.give_up_at:
        txn.status = "abandoned"
        outcome = "abandoned"
    return outcome


def _record_payment(
    db: Session, bus: EventBus, txn: Transaction, result: CheckResult, now: datetime
) -> str:
    paid = result.payment
    assert paid is not None
    txn.bakong_hash = paid.hash
    txn.bakong_from_account = paid.from_account
    txn.bakong_to_account = paid.to_account
    txn.bakong_amount = paid.amount
    txn.bakong_currency = paid.currency
    txn.bakong_created_ms = paid.created_ms
    txn.bakong_acknowledged_ms = paid.acknowledged_ms
    txn.paid_at = now
    if paid.to_account and paid.to_account != txn.to_account:
        log.warning("md5 %s paid to %s, shop account is %s", txn.md5, paid.to_account,
                    txn.to_account)
    if not amounts_match(txn, paid.amount, paid.currency):
        txn.status = "mismatch"
        reason = (
            f"Bakong reported {format_money(paid.amount, paid.currency)} {paid.currency} "
            f"for a {format_money(txn.amount, txn.currency)} order"
        )
        flagged = db.execute(
            update(Order)
            .where(Order.id == txn.order_id, Order.payment_status == "pending")
            .values(payment_status="mismatch", flag_reason=reason[:200])
            .execution_options(synchronize_session="fetch")
        )
        if flagged.rowcount == 1:
            publish_after_commit(db, bus, Event(txn.shop_id, "order.flagged",
                                                {"order_id": txn.order_id}))
        return "mismatch"
    txn.status = "paid"
    marked = db.execute(
        update(Order)
        .where(Order.id == txn.order_id, Order.payment_status == "pending")
        .values(payment_status="paid", paid_at=now, kitchen_status="queued")
        .execution_options(synchronize_session="fetch")
    )
    if marked.rowcount == 1:
        publish_after_commit(db, bus, Event(txn.shop_id, "order.paid", {"order_id": txn.order_id}))
        return "paid"
    order = db.get(Order, txn.order_id)
    if order is not None:
        # Paid twice (an old QR and a new one), or paid after a cancel: the cashier refunds it.
        what = "A second KHQR payment" if order.is_paid else (
            f"A KHQR payment for this {order.payment_status} order")
        order.flag_reason = f"{what} arrived (Bakong hash {paid.hash}): refund it"[:200]
        publish_after_commit(db, bus, Event(txn.shop_id, "order.flagged", {"order_id": order.id}))
    return "duplicate"
