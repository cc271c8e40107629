"""Checkout: the shared cart becomes one order with snapshot lines and a server-computed total."""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from shopqr.models import Order, OrderLine, Shop, TableSession, utcnow
from shopqr.services import DomainError, numbering
from shopqr.services.cart import clean_note, summarize
from shopqr.services.money import quantize

METHODS = ("khqr", "cash")


def validate_method(shop: Shop, method: str | None) -> str:
    if method not in METHODS:
        raise DomainError("Choose how you will pay: KHQR or cash.")
    if method == "khqr" and not shop.khqr_ready:
        raise DomainError("This shop does not take KHQR yet. Please pay cash at the counter.")
    return method


def clean_key(raw: str | None) -> str:
    key = (raw or "").strip()
    if not (16 <= len(key) <= 64) or not key.replace("-", "").replace("_", "").isalnum():
        raise DomainError("This checkout form is out of date. Please reload and try again.", 400)
    return key


def order_by_key(db: Session, key: str) -> Order | None:
    return db.scalar(select(Order).where(Order.checkout_key == key))


def checkout(
    db: Session,
    shop: Shop,
    session: TableSession,
    *,
    method: str | None,
    checkout_key: str | None,
    note: str | None = None,
) -> Order:
    """Turn the session's cart into a pending order. Submitting the same form twice (same
    checkout key) returns the first order; nothing is written when anything is wrong."""
    key = clean_key(checkout_key)
    pay_method = validate_method(shop, method)
    order_note = clean_note(note)
    # Lock the session row: concurrent checkouts of one table queue here.
    locked = db.execute(
        update(TableSession)
        .where(TableSession.id == session.id, TableSession.active_table_id.is_not(None))
        .values(checkout_version=TableSession.checkout_version + 1)
        .execution_options(synchronize_session=False)
    )
    existing = order_by_key(db, key)
    if existing is not None:
        if existing.shop_id != shop.id:
            raise DomainError("This checkout form is out of date.", 400)
        return existing
    if locked.rowcount != 1:
        raise DomainError("This table's session has ended. Scan the QR code again.", 409)
    db.expire(session, ["cart_items"])
    cart = summarize(db, session)
    if not cart.lines:
        raise DomainError("Your cart is empty.")
    for line in cart.lines:
        if line.product.is_deleted:
            raise DomainError(f"{line.product.name} is no longer on the menu. Remove it to go on.")
        if not line.product.is_available:
            raise DomainError(f"Sorry, {line.product.name} just sold out. Remove it to go on.")
    now = utcnow()
    day = numbering.business_date(now)
    seq = numbering.next_seq(db, shop.id, day)
    order = Order(
        shop_id=shop.id,
        table_id=session.table_id,
        session_id=session.id,
        table_name=session.table.name,
        number=numbering.format_number(day, seq),
        seq=seq,
        public_token=secrets.token_urlsafe(24),
        checkout_key=key,
        payment_method=pay_method,
        payment_status="pending",
        currency=shop.currency,
        total=quantize(cart.total, shop.currency),
        note=order_note,
        created_at=now,
    )
    order.lines = [
        OrderLine(
            product_id=line.product.id,
            product_name=line.product.name,
            product_name_km=line.product.name_km,
            base_price=line.product.price,
            unit_price=line.unit_price,
            quantity=line.item.quantity,
            line_total=line.line_total,
            options=[
                {
                    "group": o.group.name,
                    "option": o.name,
                    "option_km": o.name_km or "",
                    "extra": str(o.extra_price),
                }
                for o in line.options
            ],
            note=line.item.note,
        )
        for line in cart.lines
    ]
    db.add(order)
    for line in cart.lines:
        db.delete(line.item)
    db.flush()
    return order


def load_order(db: Session, shop: Shop, public_token: str) -> Order | None:
    return db.scalar(
        select(Order)
        .where(Order.shop_id == shop.id, Order.public_token == public_token)
        .options(selectinload(Order.lines))
    )


def session_orders(db: Session, session: TableSession) -> list[Order]:
    return list(
        db.scalars(
            select(Order).where(Order.session_id == session.id).order_by(Order.id.desc())
        )
    )
