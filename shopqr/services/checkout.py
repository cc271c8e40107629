"""Checkout: the shared cart (or the POS ticket) becomes one order with snapshot lines and a
server-computed total; the shop's live screens hear of it after the commit."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from shopqr.i18n import localized
from shopqr.models import (
    CartItem,
    CartItemOption,
    Option,
    OptionGroup,
    Order,
    OrderLine,
    Product,
    Shop,
    ShopTable,
    TableSession,
    User,
    utcnow,
)
from shopqr.services import (
    DomainError,
    availability,
    charges,
    numbering,
    parse_id,
    payments,
    tables,
)
from shopqr.services.audit import audit
from shopqr.services.cart import clean_note, line_problem, summarize, unit_price
from shopqr.services.events import Event, EventBus, publish_after_commit
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
    POS order of the shop (at a table's session or not). A key that made any other order
    (another table's, another shop's, a guest's at the POS) is refused with 409 and never
    leads to that order."""
    order = db.scalar(select(Order).where(Order.checkout_key == key))
    if order is None:
        return None
    if session is not None:
        own = order.session_id == session.id and order.source in ("table", "takeaway")
    else:
        own = order.source == "pos"
    if order.shop_id != shop.id or not own:
        raise DomainError(OUT_OF_DATE, 409)
    return order


def order_after_race(db: Session, raw_key: str | None, *, shop: Shop,
                     session: TableSession | None) -> Order | None:
    """After the checkout key's unique index refused an order (the same form submitted twice
    at the same instant; the caller rolled back): the order the other submit made, if it was
    this place's (see ``order_by_key``: another's raises DomainError), else None."""
    return order_by_key(db, clean_key(raw_key), shop=shop, session=session)


def _created(db: Session, bus: EventBus, order: Order) -> None:
    """After the commit, tell the shop's live screens (the POS) about the new order."""
    publish_after_commit(db, bus, Event(order.shop_id, "order.created", {"order_id": order.id}))


def checkout(
    db: Session,
    bus: EventBus,
    shop: Shop,
    session: TableSession,
    *,
    method: str | None,
    checkout_key: str | None,
    note: str | None = None,
) -> Order:
    """Turn the session's cart into a pending order. Submitting the same form twice (same
    checkout key) returns the first order; nothing is written when anything is wrong. A
    takeaway phone's session (no table) makes a "takeaway" order: its short number (``seq``)
    is the pickup number, paid by KHQR or cash at the counter (docs/takeaway.md)."""
    key = clean_key(checkout_key)
    pay_method = validate_method(shop, method)
    order_note = clean_note(note)
    # Lock the session row: concurrent checkouts of one table queue here.
    locked = db.execute(
        update(TableSession)
        .where(TableSession.id == session.id, TableSession.active_table_id.is_not(None))
        .values(checkout_version=TableSession.checkout_version + 1,
                cart_version=TableSession.cart_version + 1)  # the cart is emptied below
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
                                  name=localized(line.product, "name")))
        if not line.product.is_available:
            raise DomainError(_l("Sorry, %(name)s just sold out. Remove it to go on.",
                                  name=localized(line.product, "name")))
        if line.problem:  # an option deleted or a group's rule changed since it was added
            raise DomainError(line.problem, 409)
    availability.check_lines(db, shop.id, [line.product for line in cart.lines])
    order = create_order(
        db, shop,
        items=[OrderItem(line.product, line.options, line.item.quantity, line.item.note,
                         phone_id=line.item.phone_id)
               for line in cart.lines],
        method=pay_method, key=key, note=order_note, table=session.table, session=session,
        source="takeaway" if session.table_id is None else "table",
    )
    _empty_cart(db, [line.item for line in cart.lines])
    _created(db, bus, order)
    return order


def _empty_cart(db: Session, items: list[CartItem]) -> None:
    """Delete the cart's lines and their options in two statements (the ORM deleted each row
    on its own: a round trip each on MariaDB, 25 or more for a table's cart). The session row
    is locked (the checkout's first update), so no phone adds a line in between."""
    db.flush()  # the order and its lines first
    ids = [item.id for item in items]
    db.execute(delete(CartItemOption).where(CartItemOption.cart_item_id.in_(ids))
               .execution_options(synchronize_session=False))
    db.execute(delete(CartItem).where(CartItem.id.in_(ids))
               .execution_options(synchronize_session=False))
    for item in items:
        for chosen in item.options:
            db.expunge(chosen)
        db.expunge(item)


# --- the POS ticket: a walk-in order (its lines are kept in the cashier's session cookie) ---

def ticket_items(db: Session, shop: Shop, ticket: Iterable[Mapping[str, Any]]) -> list[OrderItem]:
    """The lines of a POS ticket (``{"p": product id, "o": [option ids], "q": quantity,
    "n": note}``) as order items, priced from the database: every product with its option
    groups and options in one query. Lines of products that are gone are left out; a line
    whose options no longer fit the menu (an option deleted since) keeps the ones still there
    and carries a ``problem`` (checkout refuses it)."""
    entries = list(ticket)
    wanted = {pid for entry in entries if (pid := parse_id(entry.get("p"))) is not None}
    products = {p.id: p for p in db.scalars(
        select(Product).where(Product.shop_id == shop.id, Product.id.in_(wanted))
        .options(joinedload(Product.option_groups).joinedload(OptionGroup.options))
    ).unique()} if wanted else {}
    items = []
    for index, entry in enumerate(entries):
        product = products.get(parse_id(entry.get("p")))
        if product is None or product.is_deleted:
            continue
        raw = entry.get("o", [])
        chosen = [i for i in raw if isinstance(i, int)] if isinstance(raw, list) else []
        live = {o.id: o for group in product.option_groups for o in group.options}
        options = [live[i] for i in chosen if i in live]
        problem = None
        if len(options) != len(chosen) or len(chosen) != len(raw):
            problem = _l("The choices for %(name)s changed on the menu. Remove it and add it "
                         "again.", name=product.name)
        else:
            problem = line_problem(product, options)
        items.append(OrderItem(product, options, int(entry.get("q", 1)), entry.get("n"),
                               str(problem) if problem else None, index=index))
    return items


def checkout_ticket(
    db: Session,
    bus: EventBus,
    shop: Shop,
    ticket: Iterable[Mapping[str, Any]],
    *,
    checkout_key: str | None,
    method: str | None,
    table_id: object,
    note: str | None,
    by: User,
    now: datetime,
    ttl_seconds: int,
    grace_seconds: int,
    group_id: object = None,
) -> Order:
    """The POS ticket becomes a pending order, paid by cash or by a KHQR shown on the POS (made
    here), at a table (``table_id``) or a walk-in (empty). The same ticket submitted again (same
    checkout key) returns the first order; a key of any other order is refused (409). Nothing
    is written when anything is wrong. Two submits at the same instant: see
    ``order_after_race``.

    An order at a table joins the group sitting there (its session, started if the table was
    free), so the table map counts it. A ticket bound to a group ("Add items" on the table
    sheet, ``group_id``) goes to that group wherever it sits now; 409 once it has left
    (docs/tablemap.md)."""
    key = clean_key(checkout_key)
    existing = order_by_key(db, key, shop=shop, session=None)
    if existing is not None:
        return existing
    pay_method = validate_method(shop, method)
    table, group = _ticket_table(db, shop, table_id, group_id)
    items = ticket_items(db, shop, ticket)
    for item in items:
        if not item.product.orderable:
            raise DomainError(_l("%(name)s is sold out. Remove it to go on.",
                                 name=localized(item.product, "name")))
        if item.problem:
            raise DomainError(item.problem, 409)
    availability.check_lines(db, shop.id, [item.product for item in items])
    order = create_order(db, shop, items=items, method=pay_method, key=key,
                         note=clean_note(note), table=table, session=group, source="pos")
    if pay_method == "khqr":
        payments.regenerate(db, shop, order, now=now, ttl_seconds=ttl_seconds,
                            grace_seconds=grace_seconds)
    audit(db, shop, by, "pos.manual_order", f"order {order.number}",
          f"{pay_method}, {len(items)} lines")
    _created(db, bus, order)
    return order


def _ticket_table(db: Session, shop: Shop, table_id: object,
                  group_id: object) -> tuple[ShopTable | None, TableSession | None]:
    """The table and group (session) a POS ticket is for; (None, None) for a walk-in. The
    group's row is locked (a move or a close of it waits), and it must still be seated."""
    from shopqr.services import tablemap

    if group_id:
        group = tablemap.bound_session(db, shop, group_id)
    elif table_id:
        group = tables.join_or_start(db, tables.load_table(db, shop, table_id))
    else:
        return None, None
    locked = db.execute(
        update(TableSession)
        .where(TableSession.id == group.id, TableSession.active_table_id.is_not(None))
        .values(checkout_version=TableSession.checkout_version + 1)
        .execution_options(synchronize_session=False))
    db.refresh(group)  # where it sits now (a move a moment ago)
    if locked.rowcount != 1 or group.table_id is None or not group.is_active:
        raise DomainError(_l("That table's group has left. Choose the table again."), 409)
    return db.get(ShopTable, group.table_id), group


@dataclass
class OrderItem:
    """A line to order: product and options from the database, never prices from a browser."""

    product: Product
    options: list[Option]
    quantity: int
    note: str | None = None
    problem: str | None = None  # a POS ticket line that no longer fits the menu
    phone_id: int | None = None  # the guest's phone that added the cart line
    index: int = 0  # a POS ticket line's place on the ticket (its stepper and remove)


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
    # it) would be a database error on MariaDB. Checked before a number is taken, with the
    # shop's charges (docs/taxes.md) as they are now: the order keeps what it was charged.
    totals = charges.totals_for(shop, quantize(sum(
        (unit_price(i.product, i.options) * i.quantity for i in items), Decimal("0")),
        shop.currency))
    if totals.total > MAX_AMOUNT:
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
    for item in items:
        price = unit_price(item.product, item.options)
        line_total = price * item.quantity
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
            phone_id=item.phone_id,
        ))
    charges.snapshot(order, totals)  # subtotal, charge lines, total (the KHQR amount)
    db.add(order)
    db.flush()
    return order


def load_order(db: Session, shop: Shop, public_token: str) -> Order | None:
    return db.scalar(
        select(Order)
        .where(Order.shop_id == shop.id, Order.public_token == public_token)
        .options(selectinload(Order.lines))
    )
