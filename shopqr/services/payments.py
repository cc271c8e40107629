"""KHQR payments: one dynamic QR per order (a new one when it expires), verified by polling
Bakong. A payment counts only when Bakong reports it and amount and currency match."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shopqr.models import Order, Shop, Transaction, User
from shopqr.models.base import epoch_ms
from shopqr.models.tenancy import CURRENCIES
from shopqr.services import DomainError, attention, clean_text
from shopqr.services.audit import audit
from shopqr.services.bakong import (
    BakongClient,
    BakongError,
    CheckResult,
    CheckStatus,
    client_from_config,
)
from shopqr.services.events import Event, EventBus, publish_after_commit
from shopqr.services.khqr import KHQR, KHQRAccount, build_khqr, fit
from shopqr.services.money import parse_amount, quantize
from shopqr.services.receipts import paper_width

log = logging.getLogger(__name__)

POLLED_STATUSES = ("pending", "superseded")


ACCOUNT_ID = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$")


def save_settings(db: Session, shop: Shop, form: Mapping[str, str], *, by: User) -> None:
    """The owner's payment settings: the Bakong account KHQR pays into, the name and city on
    the QR, the currency (not while orders wait for payment; prices follow on open menus) and
    the riel rate. Every field is checked before any is changed."""
    account = clean_text(form.get("bakong_account_id"), _l("Bakong account ID"), 32,
                         required=False)
    if account and not ACCOUNT_ID.match(account):
        raise DomainError(_l("A Bakong account ID looks like name@bank."))
    kind = form.get("bakong_account_type", "individual")
    if kind not in ("individual", "merchant"):
        raise DomainError(_l("Account type must be individual or merchant."))
    merchant_id = clean_text(form.get("bakong_merchant_id"), _l("Merchant ID"), 32,
                             required=kind == "merchant")
    bank = clean_text(form.get("bakong_bank"), _l("Bank"), 32, required=kind == "merchant")
    name = clean_text(form.get("khqr_merchant_name"), _l("Merchant name"), 25, required=True)
    city = clean_text(form.get("khqr_merchant_city"), _l("Merchant city"), 15, required=True)
    currency = form.get("currency", shop.currency)
    if currency not in CURRENCIES:
        raise DomainError(_l("Currency must be USD or KHR."))
    if currency != shop.currency and db.scalar(select(func.count(Order.id)).where(
            Order.shop_id == shop.id, Order.payment_status.in_(("pending", "mismatch")))):
        raise DomainError(_l("Settle the unpaid orders before changing the currency."))
    rate = parse_amount(form.get("khr_per_usd"), "KHR", field=_l("Riel per dollar"))
    if not Decimal("1000") <= rate <= Decimal("10000"):
        raise DomainError(_l("Riel per dollar should be between 1,000 and 10,000."))
    shop.bakong_account_id, shop.bakong_account_type = account, kind
    shop.bakong_merchant_id, shop.bakong_bank = merchant_id, bank
    shop.khqr_merchant_name, shop.khqr_merchant_city = name, city or "Phnom Penh"
    # a new currency or rate bumps the menu version (models.tenancy: prices show in it)
    shop.currency, shop.khr_per_usd = currency, rate
    shop.round_riel_change = form.get("round_riel_change") == "1"
    shop.khqr_deeplinks = form.get("khqr_deeplinks") == "1"
    shop.print_receipt_after_cash = form.get("print_receipt_after_cash") == "1"
    shop.receipt_paper_mm = paper_width(form.get("receipt_paper_mm"), shop.receipt_paper_mm)
    audit(db, shop, by, "settings.payments", account)


def shop_account(shop: Shop) -> KHQRAccount:
    if not shop.bakong_account_id:
        raise DomainError(_l("This shop has no Bakong account set up for KHQR."))
    if shop.bakong_account_type == "merchant":
        return KHQRAccount("merchant", shop.bakong_account_id, merchant_id=shop.bakong_merchant_id,
                           acquiring_bank=shop.bakong_bank)
    return KHQRAccount("individual", shop.bakong_account_id,
                       acquiring_bank=shop.bakong_bank or None)


# The merchant category of every shop's KHQR: restaurants and cafes.
MERCHANT_CATEGORY = "5814"


def khqr_for_shop(shop: Shop, *, currency: str, amount: Decimal, bill_number: str,
                  created_ms: int, expires_ms: int, terminal_label: str | None = None) -> KHQR:
    """A dynamic KHQR paying ``shop``: its Bakong account, merchant name and city, store label
    and category come from the shop's settings (cut to what KHQR allows), the rest from the
    caller. Raises DomainError (no Bakong account) or KHQRError (a field KHQR refuses)."""
    return build_khqr(
        account=shop_account(shop),
        merchant_name=fit(shop.khqr_merchant_name or shop.name, 25),
        merchant_city=fit(shop.khqr_merchant_city or "Phnom Penh", 15),
        currency=currency,
        amount=amount,
        bill_number=bill_number,
        store_label=fit(shop.name, 25),
        terminal_label=fit(terminal_label, 25) if terminal_label else None,
        merchant_category_code=MERCHANT_CATEGORY,
        created_ms=created_ms,
        expires_ms=expires_ms,
    )


def sample_khqr(shop: Shop, now: datetime) -> KHQR:
    """The owner's test: a KHQR for a small amount from the saved settings, valid 10 minutes."""
    created = epoch_ms(now)
    return khqr_for_shop(shop, currency=shop.currency,
                         amount=Decimal("1.00") if shop.currency == "USD" else Decimal("100"),
                         bill_number="TEST-0001", created_ms=created,
                         expires_ms=created + 600000)


def create_khqr(
    db: Session, shop: Shop, order: Order, *, now: datetime, ttl_seconds: int, grace_seconds: int
) -> Transaction:
    """A dynamic KHQR for the order's exact total; its string and md5 are stored for polling."""
    if order.payment_method != "khqr" or order.payment_status != "pending":
        raise DomainError(_l("This order is not waiting for a KHQR payment."), 409)
    now = now.replace(microsecond=(now.microsecond // 1000) * 1000)
    expires = now + timedelta(seconds=ttl_seconds)
    qr = khqr_for_shop(shop, currency=order.currency, amount=order.total,
                       bill_number=order.number, terminal_label=order.table_name,
                       created_ms=epoch_ms(now), expires_ms=epoch_ms(expires))
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
    if current is not None and current.expires_at > now and current.status == "pending" \
            and current.paid_at is None:
        return current
    if current is not None and current.status == "pending":
        current.status = "superseded"
    return create_khqr(db, shop, order, now=now, ttl_seconds=ttl_seconds,
                       grace_seconds=grace_seconds)


# The check of an expired QR before a new one is offered: the guest is waiting for the page.
RECHECK_TIMEOUT = (2.0, 3.0)


def recheck_client(config: Mapping[str, Any]) -> BakongClient | None:
    """A Bakong client with a short timeout for the one check a guest waits for; None when
    Bakong is not configured (the check then counts as failed)."""
    try:
        client = client_from_config(config)
    except BakongError:
        return None
    client.timeout = (min(RECHECK_TIMEOUT[0], client.timeout[0]),
                      min(RECHECK_TIMEOUT[1], client.timeout[1]))
    return client


def still_checking(txn: Transaction | None, now: datetime) -> bool:
    """An expired, unpaid QR that the poller still asks Bakong about (a late payment of it
    would still be seen)."""
    return (txn is not None and txn.paid_at is None and txn.expires_at <= now
            and txn.status in POLLED_STATUSES)


def check_once_more(db: Session, bus: EventBus, txn: Transaction,
                    client: BakongClient | None, now: datetime) -> str:
    """Ask Bakong about an expired QR now, before the guest is given another one, and record
    the answer like the poller would (a payment found is recorded as paid). When Bakong cannot
    be asked or does not answer, the md5 stays polled (brought back if it had been given up)
    and the caller goes on: a hiccup never blocks the guest from paying."""
    if client is None:
        result = CheckResult(CheckStatus.NETWORK_ERROR, txn.md5, message="Bakong not configured")
    else:
        try:
            result = client.check_transaction_by_md5(txn.md5)
        except Exception as exc:  # the client reports trouble, but be sure
            log.warning("bakong recheck of %s failed: %s", txn.md5, type(exc).__name__)
            result = CheckResult(CheckStatus.NETWORK_ERROR, txn.md5, message=type(exc).__name__)
    if result.retryable:
        if txn.status not in POLLED_STATUSES:
            txn.status = "superseded"
        txn.give_up_at = max(txn.give_up_at, now)
    return apply_result(db, bus, txn, result, now)


def renew_khqr(
    db: Session, bus: EventBus, shop: Shop, order: Order, *, client: BakongClient | None,
    now: datetime, ttl_seconds: int, grace_seconds: int
) -> Transaction | None:
    """A new QR for an order whose QR expired or was used. The expired one is first checked
    once more: if the guest paid it after all, that payment is recorded and no new QR is made
    (None: the order is no longer waiting). The old md5 keeps being polled either way."""
    if order.payment_method != "khqr" or order.payment_status != "pending":
        raise DomainError(_l("This order is not waiting for a KHQR payment."), 409)
    current = latest_transaction(db, order)
    if current is not None and current.status == "pending" and current.expires_at > now \
            and current.paid_at is None:
        return current
    if current is not None and current.paid_at is None and current.status in (
            *POLLED_STATUSES, "abandoned"):
        check_once_more(db, bus, current, client, now)
        db.flush()
        db.refresh(order)
        if order.payment_status != "pending":
            return None
    return regenerate(db, shop, order, now=now, ttl_seconds=ttl_seconds,
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


FINAL_ERROR_WINDOW = timedelta(hours=6)


def apply_result(
    db: Session, bus: EventBus, txn: Transaction, result: CheckResult, now: datetime
) -> str:
    """Record one Bakong answer for a transaction. Returns what happened: "paid", "mismatch",
    "duplicate", "attention", "waiting", "error" or "abandoned". Idempotent: the order is marked
    paid with ``UPDATE ... WHERE payment_status IN ('pending', 'mismatch')``, so two pollers can
    never pay it twice, and any other payment for the order is marked for a person
    (``attention = 'due'``).

    Past ``give_up_at`` a transaction is abandoned only on an answer that says "not paid": an
    outage on the last check keeps it polled (with backoff, for up to ``FINAL_ERROR_WINDOW``
    more), so a payment is never lost to a Bakong hiccup at the wrong moment."""
    txn.last_checked_at = now
    txn.check_count += 1
    txn.last_result = result.status.value
    if result.status is CheckStatus.PAID and result.payment is not None:
        return _record_payment(db, bus, txn, result, now)
    if result.retryable:
        txn.error_count += 1
        txn.last_error = f"{result.status.name}: {result.message}"[:200]
        txn.next_check_at = now + timedelta(seconds=error_delay(txn.error_count))
        if now >= txn.give_up_at + FINAL_ERROR_WINDOW:
            txn.status = "abandoned"
            return "abandoned"
        return "error"
    txn.error_count = 0
    if result.status is CheckStatus.FAILED:
        txn.last_error = "Bakong reported a failed attempt"
    elif result.status is CheckStatus.STATIC_QR:
        txn.last_error = "Bakong says this is a static QR"
    txn.next_check_at = now + timedelta(seconds=next_delay(txn, now))
    if now >= txn.give_up_at:
        txn.status = "abandoned"
        return "abandoned"
    return "waiting"


def _record_payment(
    db: Session, bus: EventBus, txn: Transaction, result: CheckResult, now: datetime
) -> str:
    paid = result.payment
    assert paid is not None
    right = amounts_match(txn, paid.amount, paid.currency)
    # Claim the md5's payment: the poller and a guest's "new QR" recheck may both find it at
    # once, and it must be recorded (and counted, or flagged) exactly once.
    claimed = db.execute(
        update(Transaction).where(Transaction.id == txn.id, Transaction.paid_at.is_(None))
        .values(paid_at=now).execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        # The same payment seen again (another process recorded it first): already recorded.
        db.refresh(txn)
        txn.status = "paid" if amounts_match(
            txn, txn.bakong_amount or paid.amount, txn.bakong_currency or paid.currency
        ) else "mismatch"
        return "duplicate"
    txn.bakong_hash = paid.hash
    txn.bakong_from_account = paid.from_account
    txn.bakong_to_account = paid.to_account
    txn.bakong_amount = paid.amount
    txn.bakong_currency = paid.currency
    txn.bakong_created_ms = paid.created_ms
    txn.bakong_acknowledged_ms = paid.acknowledged_ms
    txn.paid_at = now
    txn.last_error = None
    if paid.to_account and paid.to_account != txn.to_account:
        log.warning("md5 %s paid to %s, shop account is %s", txn.md5, paid.to_account,
                    txn.to_account)
    if right:
        txn.status = "paid"
        # A right payment also settles an order held by an earlier wrong one (that one stays
        # due: the guest gets it back).
        marked = db.execute(
            update(Order)
            .where(Order.id == txn.order_id, Order.payment_status.in_(("pending", "mismatch")))
            # KHQR paid it, even if the guest had switched to cash at the counter meanwhile.
            .values(payment_status="paid", payment_method="khqr", paid_at=now,
                    kitchen_status="queued")
            .execution_options(synchronize_session="fetch")
        )
        if marked.rowcount == 1:
            publish_after_commit(db, bus, Event(txn.shop_id, "order.paid",
                                                {"order_id": txn.order_id}))
            return "paid"
    else:
        txn.status = "mismatch"
        held = db.execute(
            update(Order)
            .where(Order.id == txn.order_id, Order.payment_status == "pending")
            .values(payment_status="mismatch")
            .execution_options(synchronize_session="fetch")
        )
        if held.rowcount == 1:
            attention.flag(db, bus, txn, "amount", now)
            return "mismatch"
    # Not the order's payment: it was cancelled, already paid, or held by another wrong payment.
    order = db.get(Order, txn.order_id, populate_existing=True)
    if order is None:  # pragma: no cover - transactions go with their order
        return "duplicate"
    if order.payment_status == "cancelled":
        kind = "cancelled"
    elif order.payment_status == "paid":
        kind = "cash" if order.payment_method == "cash" else "khqr"
    else:  # mismatch: another wrong payment is already waiting for the cashier
        kind = "amount"
    attention.flag(db, bus, txn, kind, now)
    return "attention" if right else "mismatch"
