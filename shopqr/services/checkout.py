"""Checkout: the shared cart becomes one order with snapshot lines and a server-computed total."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from shopqr.models import (
    Option,
    Order,
    OrderLine,
    Product,
    Shop,
    ShopTable,
    TableSession,
    utcnow,
)
from shopqr.services import DomainError, numbering
from shopqr.services.cart import clean_note, summarize, unit_price
from shopqr.services.money import MAX_AMOUNT, quantize

METHODS = ("khqr", "cash")


def validate_method(shop: Shop, method: str | None) -> str:
    if method not in METHODS:
        raise DomainError(_l("Choose how you will pay: KHQR or cash."))
    if method == "khqr" and not shop.khqr_ready:
        raise DomainError(_l("This shop does not take KHQR yet. Please pay cash at the counter."))
    return method


OUT_OF_DATE = _l("This checkout form is out of date. Please reload and try again.")


def clean_key(raw: str | None) -> str:
    key = (raw or "").strip()
    compact = key.replace("-", "").replace("_", "")
    if not (16 <= len(key) <= 64) or not (compact.isascii() and compact.isalnum()):
        raise DomainError(OUT_OF_DATE, 400)
    return key


def order_by_key(db: Session, key: str, *, shop: Shop,
                 session: TableSession | None) -> Order | None:
    """The order an earlier submit of this checkout form made, or None if there is none yet.

    The key is bound to where the form was shown: a guest's checkout key only ever finds an
    order of the same shop and table session; with ``session`` None (the POS ticket) only a
    POS order of the shop. A key that made any other order (another table's, another shop's,
    a guest's at the POS) is refused with 409 and never leads to that order."""
    order = db.scalar(select(Order).where(Order.checkout_key == key))
    if order is None:
        return None
    if session is not None:
        own = order.session_id == session.id and order.source == "table"
    else:
        own = order.session_id is None and order.source == "pos"
    if order.shop_id != shop.id or not own:
        raise DomainError(OUT_OF_DATE, 409)
    return order


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
    existing = order_by_key(db, key, shop=shop, session=session)
    if existing is not None:
        return existing
    if locked.rowcount != 1:
        raise DomainError(_l("This table's session has ended. Scan the QR code again."), 409)
    db.expire(session, ["cart_items"])
    cart = summarize(db, session)
    if not cart.lines:
        raise DomainError(_l("Your cart is empty."))
    for line in cart.lines:
        if line.product.is_deleted:
            raise DomainError(_l("%(name)s is no longer on the menu. Remove it to go on.",
                                  name=line.product.name))
        if not line.product.is_available:
            raise DomainError(_l("Sorry, %(name)s just sold out. Remove it to go on.",
                                  name=line.product.name))
    order = create_order(
        db, shop,
        items=[OrderItem(line.product, line.options, line.item.quantity, line.item.note)
               for line in cart.lines],
        method=pay_method, key=key, note=order_note, table=session.table, session=session,
    )
    for line in cart.lines:
        db.delete(line.item)
    db.flush()
    return order


@dataclass
class OrderItem:
    """A line to order: product and options from the database, never prices from a browser."""

    product: Product
    options: list[Option]
    quantity: int
    note: str | None = None


def create_order(
    db: Session,
    shop: Shop,
    *,
    items: list[OrderItem],
    method: str,
    key: str | None,
    note: str | None = None,
    table: ShopTable | None = None,
    session: TableSession | None = None,
    source: str = "table",
) -> Order:
    """A pending order with snapshot lines, numbered, priced from the database."""
    if not items:
        raise DomainError(_l("Your cart is empty."))
    # Amounts are stored as NUMERIC(10, 2): a larger total (60 lines of 50 in riel can reach
    # it) would be a database error on MariaDB. Checked before a number is taken.
    if sum((unit_price(i.product, i.options) * i.quantity for i in items),
           Decimal("0")) > MAX_AMOUNT:
        raise DomainError(_l("This order is too large for one bill. Please split it into "
                             "smaller orders."))
    now = utcnow()
    day = numbering.business_date(now)
    seq = numbering.next_seq(db, shop.id, day)
    order = Order(
        shop_id=shop.id,
        table_id=table.id if table else None,
        session_id=session.id if session else None,
        table_name=table.name if table else None,
        number=numbering.format_number(day, seq),
        seq=seq,
        public_token=secrets.token_urlsafe(24),
        checkout_key=key,
        source=source,
        payment_method=method,
        payment_status="pending",
        currency=shop.currency,
        note=note,
        created_at=now,
    )
    total = Decimal("0")
    for item in items:
        price = unit_price(item.product, item.options)
        line_total = price * item.quantity
        total += line_total
        order.lines.append(OrderLine(
            product_id=item.product.id,
            product_name=item.product.name,
            product_name_km=item.product.name_km,
            base_price=item.product.price,
            unit_price=price,
            quantity=item.quantity,
            line_total=line_total,
            options=[
                {"group": o.group.name, "group_km": o.group.name_km or "", "option": o.name,
                 "option_km": o.name_km or "", "extra": str(o.extra_price)}
                for o in item.options
            ],
            note=item.note,
        ))
    order.total = quantize(total, shop.currency)
    db.add(order)
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
