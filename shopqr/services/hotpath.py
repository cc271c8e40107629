"""The guest hot paths at the floor of the stack: the scan, the menu, the cart badge and panel,
adding and changing cart lines, the order status poll.

Every guest request runs these, so they skip what the ORM adds per object (identity map, unit
of work, attribute instrumentation): the statements are SQLAlchemy Core, built once at import
(the compiled cache then serves every request), and return plain frozen snapshots. Where the
objects are really needed (a product with its option groups, to check the guest's choices with
``cart.choose_options``) the ORM statement is still built once here. Everything runs on the
request's Session connection, so the transaction, the SQLite writer order and
``publish_after_commit`` work as for any other service. README "Benchmark" has the figures;
tests/guest/test_hotpath.py proves these answer what the ORM code answers.

Writers change the cart in three steps: bump the table session's ``cart_version`` first (that
UPDATE takes the session's row lock on MariaDB and the writer lock on SQLite, so two phones
changing one cart queue here and no update is lost), then change the lines, and the caller
commits before it reads anything back or renders (no lock is held while templates render).
An add moves the version from the one it read the cart at (``add_item``): when that works,
what it read with the session still holds, and it writes without reading again.

Each phone of a table's group has its own row (``TableSessionPhone``, docs/phones.md), named by
a token in the phone's own cookie: the guest statement reads it with the session, so a cart line
records its phone without another query.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, CursorResult, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, scoped_session
from sqlalchemy.sql import Select
from sqlalchemy.sql.expression import FromClause, Join

from shopqr.cache import MenuCache, app_cache
from shopqr.i18n import localized
from shopqr.models import (
    CartItem,
    CartItemOption,
    Option,
    OptionGroup,
    Order,
    Product,
    Shop,
    ShopTable,
    TableSession,
    TableSessionPhone,
    Transaction,
    utcnow,
)
from shopqr.models.tenancy import GUEST_COLUMNS
from shopqr.services import DomainError, NotFound, availability, charges, parse_id, sanitize
from shopqr.services.cart import (
    MAX_LINES,
    MAX_QUANTITY,
    NOT_ON_MENU,
    choose_options,
    clean_note,
    parse_quantity,
)
from shopqr.services.events import Event, EventBus, publish_after_commit

shops = Shop.__table__
sessions = TableSession.__table__
tables = ShopTable.__table__
items = CartItem.__table__
item_options = CartItemOption.__table__
options = Option.__table__
products = Product.__table__
orders = Order.__table__
transactions = Transaction.__table__
phones = TableSessionPhone.__table__


def _conn(db: Session) -> Connection:
    return db.connection()


def _plain(db: Session | scoped_session) -> Session:
    """The Session itself (Flask-SQLAlchemy's ``db.session`` is a scoped session)."""
    return db() if isinstance(db, scoped_session) else db


class Read:
    """A prebuilt SELECT compiled once per dialect and run on the DBAPI cursor of the request's
    connection (its transaction, its SQLite writer order), with the columns' own result types
    applied (Decimal, dates, booleans). It skips SQLAlchemy's per-execution machinery (cache
    key, execution context, result object): about 0.1 ms a statement, the largest cost left on
    the menu (README "Benchmark", the "raw reads" rows). Listeners of the engine's cursor events
    (the benchmark's query count, tests) still see every statement; an error of the driver is
    re-raised through SQLAlchemy, which recognises a lost connection and replaces it."""

    enabled = True  # off: through Connection.execute, for the benchmark's comparison row

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        # rows are tuples that also answer to the columns' names (``row.total``)
        self.row = namedtuple("Row", [c.key for c in statement.selected_columns], rename=True)
        self._by_dialect: dict[tuple[str, str], tuple[str, tuple, list, bool]] = {}

    def _prepared(self, dialect: Dialect) -> tuple[str, tuple, list, bool]:
        key = (dialect.name, dialect.driver)  # (PyMySQL and mysqlclient may convert apart)
        prepared = self._by_dialect.get(key)
        if prepared is None:
            compiled = self.statement.compile(dialect=dialect)
            processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                          for column in self.statement.selected_columns]
            # the statement's own literals (SUM(...) * 100, COALESCE(..., 0)) are binds too;
            # positional for SQLite's "?", by name for PyMySQL's "%(name)s"
            names = compiled.positiontup if compiled.positiontup is not None \
                else list(compiled.binds)
            binds = tuple((name, compiled.escaped_bind_names.get(name, name),
                           compiled.binds[name].effective_value) for name in names)
            prepared = (compiled.string, binds, processors, compiled.positiontup is not None)
            self._by_dialect[key] = prepared
        return prepared

    def rows(self, db: Session, params: Mapping[str, object]) -> list[tuple]:
        conn = _conn(db)
        if not self.enabled:
            return [self.row._make(row) for row in conn.execute(self.statement, dict(params))]
        sql, names, processors, positional = self._prepared(conn.dialect)
        if positional:
            values = tuple(params.get(name, default) for name, _, default in names)
        else:
            values = {key: params.get(name, default) for name, key, default in names}
        cursor = conn.connection.cursor()
        try:
            if conn._has_events or conn.engine._has_events:  # (as Connection.execute asks)
                conn.dispatch.before_cursor_execute(conn, cursor, sql, values, None, False)
            cursor.execute(sql, values)
            raw = cursor.fetchall()
        except conn.dialect.loaded_dbapi.Error:
            cursor.close()  # through SQLAlchemy: it wraps the error, invalidates a dead link
            return [self.row._make(row) for row in conn.execute(self.statement, dict(params))]
        cursor.close()
        make = self.row._make
        return [make(value if process is None else process(value)
                     for process, value in zip(processors, row, strict=True)) for row in raw]

    def first(self, db: Session, params: Mapping[str, object]) -> tuple | None:
        rows = self.rows(db, params)
        return rows[0] if rows else None


SESSION_ENDED = _l("This table's session has ended. Scan the QR code on your table to start "
                   "again.")
ITEM_GONE = _l("That item is no longer in the cart.")


@dataclass(frozen=True, slots=True)
class GuestShop:
    """What the guest pages read of a shop (the same names as ``Shop``)."""

    id: int
    slug: str
    name: str
    name_km: str | None
    currency: str
    khr_per_usd: Decimal
    menu_version: int
    bakong_account_id: str | None
    khqr_merchant_name: str | None
    is_active: bool
    subscription_expires_on: date | None
    # taxes and charges (services/charges.py reads them by these names)
    service_on: bool
    service_name: str
    service_name_km: str | None
    service_rate: Decimal
    service_included: bool
    vat_on: bool
    vat_name: str
    vat_name_km: str | None
    vat_rate: Decimal
    vat_included: bool
    charge_rounding: str

    def subscription_ok(self, today: date) -> bool:
        return self.is_active and (self.subscription_expires_on is None
                                   or self.subscription_expires_on >= today)

    @property
    def khqr_ready(self) -> bool:
        return bool(self.bakong_account_id)


@dataclass(frozen=True, slots=True)
class GuestTable:
    id: int
    name: str
    name_km: str | None


@dataclass(frozen=True, slots=True)
class GuestPhone:
    """One phone of the table's group: its number in the order phones joined, and the name it
    gave (None: shown as "Phone 2")."""

    id: int
    seq: int
    name: str | None


@dataclass(frozen=True, slots=True)
class GuestSession:
    """A table session (or a takeaway phone's own session: no table) as one phone's request
    sees it."""

    id: int
    shop_id: int
    table_id: int | None
    is_active: bool
    cart_version: int
    table: GuestTable | None
    service_calls: int = 0  # the open service requests' kinds, as bits (SERVICE_KINDS)
    # False until the session's first checkout (checkout_version is bumped in the transaction
    # that makes each of its orders, and only a checkout gives an order a session): the menu
    # then skips the query for the table's orders
    has_orders: bool = True
    phone: GuestPhone | None = None  # this phone's row, once it joined the session

    @property
    def is_takeaway(self) -> bool:
        """Ordered at the counter's QR code: a private cart, picked up at the counter."""
        return self.table_id is None


@dataclass(frozen=True, slots=True)
class Badge:
    """The cart button: how many items and the total (with the shop's added taxes and
    charges: what the order will cost), at ``cart_version``."""

    cart_version: int
    count: int
    total: Decimal


_SHOP_COLUMNS = tuple(shops.c[name] for name in GUEST_COLUMNS)
# What a guest statement reads of the shop: its id and menu_version, and the rest comes from
# ``_shop`` (MariaDB sends a column definition with each column of a result, which PyMySQL
# parses in Python: 20 columns fewer in every guest read; README "Benchmark")
_SHOP_KEY = (shops.c.id, shops.c.menu_version)
_N_SHOP = len(_SHOP_KEY)
_SHOP = Read(select(*_SHOP_COLUMNS).where(shops.c.id == bindparam("shop_id")))


def _shop(db: Session, shop_id: int, menu_version: int) -> GuestShop:
    """The shop as at ``menu_version``: from this process's cache, or read (and kept when the
    read found that version). Every change to a column of ``GuestShop`` bumps menu_version
    (``models.tenancy.GUEST_COLUMNS``), so a kept shop is never stale."""
    cache = app_cache(current_app, "shopqr_guest_shops")
    key = (shop_id, menu_version)
    shop = cache.peek(key)
    if shop is None:
        shop = GuestShop(*_SHOP.first(db, {"shop_id": shop_id}))
        if shop.menu_version == menu_version:
            cache.put(key, shop)
    return shop


# the cart's line count (a new line must fit MAX_LINES) and the cart's lines of one product
# with their options (an identical line is merged): what an add decides on, read with the
# session (``guest_adding``) or, when the cart moved since, after the add took its lock
_COUNTED = items.alias("counted")
_LINE_COLUMNS = (
    select(func.count()).select_from(_COUNTED)
    .where(_COUNTED.c.session_id == sessions.c.id).scalar_subquery(),
    items.c.id, items.c.quantity, items.c.note, items.c.phone_id, item_options.c.option_id,
)


def _lines_join(left: FromClause) -> Join:
    return (left.outerjoin(items, and_(items.c.session_id == sessions.c.id,
                                       items.c.product_id == bindparam("product_id")))
            .outerjoin(item_options, item_options.c.cart_item_id == items.c.id))


def _guest_select(*, lines: bool) -> Select:
    """Shop + the phone's table session + its table + the phone's row, in one statement (the
    session, table and phone are NULL when the cookies name none of this shop); with
    ``lines``, the cart's lines of a product too (one row per line and option)."""
    joined = (shops
              .outerjoin(sessions, and_(sessions.c.shop_id == shops.c.id,
                                        sessions.c.token == bindparam("token")))
              .outerjoin(tables, tables.c.id == sessions.c.table_id)
              .outerjoin(phones, and_(phones.c.session_id == sessions.c.id,
                                      phones.c.token == bindparam("phone"))))
    return (select(*_SHOP_KEY, sessions.c.id, sessions.c.table_id, sessions.c.active_table_id,
                   sessions.c.cart_version, tables.c.name, tables.c.name_km,
                   sessions.c.service_calls, sessions.c.checkout_version, phones.c.id,
                   phones.c.seq, phones.c.name, *(_LINE_COLUMNS if lines else ()))
            .select_from(_lines_join(joined) if lines else joined)
            .where(shops.c.slug == bindparam("slug")))


_GUEST = Read(_guest_select(lines=False))
_GUEST_ADDING = Read(_guest_select(lines=True))
_N_GUEST = len(_GUEST.statement.selected_columns)


# a table's QR code: the shop, the table, and its active session's id and token if a group sits
# there, and whether this phone already joined that session
_SCAN = Read(
    select(*_SHOP_KEY, tables.c.id, sessions.c.id, sessions.c.token, phones.c.id)
    .select_from(shops)
    .join(tables, and_(tables.c.shop_id == shops.c.id, tables.c.qr_token == bindparam("qr"),
                       tables.c.is_active.is_(True)))
    .outerjoin(sessions, sessions.c.active_table_id == tables.c.id)
    .outerjoin(phones, and_(phones.c.session_id == sessions.c.id,
                            phones.c.token == bindparam("phone")))
    .where(shops.c.slug == bindparam("slug"))
)


@dataclass(frozen=True, slots=True)
class Scanned:
    """What a scan of a table's QR code found: the table, and its active session (None: the
    first phone of a group starts one) with whether this phone already joined it."""

    shop: GuestShop
    table_id: int
    session_id: int | None
    token: str | None
    joined: bool


def guest(db: Session, slug: str, token: str | None,
          phone: str | None = None) -> tuple[GuestShop | None, GuestSession | None]:
    """The shop named in the URL and the table session named by the phone's cookie, with this
    phone's row in it (``phone``: the token of the phone's own cookie)."""
    row = _GUEST.first(db, {"slug": slug, "token": token or "", "phone": phone or ""})
    return (None, None) if row is None else _guest_of(db, row)


def _guest_of(db: Session, row: tuple) -> tuple[GuestShop, GuestSession | None]:
    shop = _shop(db, *row[:_N_SHOP])
    session_id, table_id, active_table_id, cart_version, table_name, table_km, calls, \
        checkouts, phone_id, phone_seq, phone_name = row[_N_SHOP:_N_GUEST]
    if session_id is None:
        return shop, None
    table = GuestTable(table_id, table_name, table_km) if table_id is not None else None
    return shop, GuestSession(session_id, shop.id, table_id, active_table_id is not None,
                              cart_version, table, calls, checkouts > 0,
                              None if phone_id is None else GuestPhone(phone_id, phone_seq,
                                                                       phone_name))


class CartLines(NamedTuple):
    """The cart's line count and its lines of one product (id: quantity, note, phone, option
    ids), as they were at the ``cart_version`` of the session read with them."""

    product_id: int | None
    count: int
    lines: dict[int, tuple[int, str | None, int | None, list[int]]]


def _cart_lines(product_id: int | None, rows: list[tuple], start: int) -> CartLines:
    """``_LINE_COLUMNS`` (from column ``start`` on) of a statement's rows."""
    lines: dict[int, tuple[int, str | None, int | None, list[int]]] = {}
    for row in rows:
        item_id, item_qty, item_note, item_phone, option_id = row[start + 1:start + 6]
        if item_id is None:  # the cart has no line of this product
            continue
        line = lines.setdefault(item_id, (item_qty, item_note, item_phone, []))
        if option_id is not None:
            line[3].append(option_id)
    return CartLines(product_id, rows[0][start] if rows else 0,
                     dict(sorted(lines.items())))


def guest_adding(db: Session, slug: str, token: str | None, phone: str | None,
                 product_id: object) -> tuple[GuestShop | None, GuestSession | None,
                                              CartLines | None]:
    """``guest``, and the cart's lines of the product being added read in the same statement
    (at the session's ``cart_version``): an add then reads nothing more before it writes,
    unless the cart moved in between (``add_item``)."""
    wanted = parse_id(product_id)
    rows = _GUEST_ADDING.rows(db, {"slug": slug, "token": token or "", "phone": phone or "",
                                   "product_id": wanted if wanted is not None else 0})
    if not rows:
        return None, None, None
    shop, session = _guest_of(db, rows[0])
    return shop, session, None if session is None else _cart_lines(wanted, rows, _N_GUEST)


def scan(db: Session, slug: str, qr_token: str, phone: str | None = None) -> Scanned | None:
    """The table behind a QR code (only if the code belongs to the shop named in the URL) and
    its active session (None: the first phone of a group starts one with
    ``tables.join_or_start``); None for an unknown code."""
    row = _SCAN.first(db, {"slug": slug, "qr": qr_token, "phone": phone or ""})
    if row is None:
        return None
    table_id, session_id, token, phone_id = row[_N_SHOP:]
    return Scanned(_shop(db, *row[:_N_SHOP]), table_id, session_id, token,
                   phone_id is not None)


# --- the phones of a table's group ---

PHONE_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
MAX_PHONE_NAME = 24
_PHONE_JOINS = (
    update(sessions)
    .where(sessions.c.id == bindparam("session_id"))
    .values(phone_count=sessions.c.phone_count + 1)
)
_PHONE_COUNT = select(sessions.c.phone_count).where(sessions.c.id == bindparam("session_id"))
_NEW_PHONE = insert(phones)
_PHONE_OF = (
    select(phones.c.id, phones.c.seq, phones.c.name)
    .where(phones.c.session_id == bindparam("session_id"), phones.c.token == bindparam("token"))
    .with_for_update()  # the latest committed row on MariaDB, whatever this transaction read
)
_NAME_PHONE = (
    update(phones)
    .where(phones.c.id == bindparam("phone_id"), phones.c.session_id == bindparam("sid"))
    .values(name=bindparam("new_name"))
)


def is_phone_token(token: str | None) -> bool:
    """A phone cookie this app could have set (anything else is replaced, never stored)."""
    return bool(token) and PHONE_TOKEN.fullmatch(token) is not None


def join_phone(db: Session, session_id: int, token: str) -> GuestPhone:
    """This phone's row in a table session, numbered next when it joins (the caller commits).
    Raising the session's ``phone_count`` takes the session's row lock, so phones joining at
    once queue there and get distinct numbers; a phone that joins twice at once (two tabs)
    keeps one row."""
    if not is_phone_token(token):
        raise ValueError("not a phone token")
    conn = _conn(db)
    try:
        with db.begin_nested():
            conn.execute(_PHONE_JOINS, {"session_id": session_id})
            seq = conn.execute(_PHONE_COUNT, {"session_id": session_id}).scalar_one()
            new_id = conn.execute(_NEW_PHONE, {"session_id": session_id, "seq": seq,
                                               "token": token, "name": None,
                                               "created_at": utcnow()}).inserted_primary_key[0]
            return GuestPhone(new_id, seq, None)
    except IntegrityError:  # this phone joined a moment ago (its other tab)
        row = conn.execute(_PHONE_OF, {"session_id": session_id, "token": token}).first()
        if row is None:
            raise
        return GuestPhone(*row)


def phone_for(db: Session, session: GuestSession, token: str | None) -> GuestPhone | None:
    """This phone's row, joined now if it has none yet (a phone that joined before phones were
    recorded). None without a phone token (a caller that is not a phone)."""
    if session.phone is not None:
        return session.phone
    if not is_phone_token(token):
        return None
    return join_phone(db, session.id, str(token))


def clean_phone_name(raw: object) -> str | None:
    """A name a guest gives their phone: one line, trimmed, at most MAX_PHONE_NAME characters;
    empty: no name."""
    if raw is not None and not isinstance(raw, str):
        raise DomainError(_l("Please type a name."), 400)
    name = sanitize(raw)
    if len(name) > MAX_PHONE_NAME:
        raise DomainError(_l("A name can be at most %(count)s characters.",
                             count=MAX_PHONE_NAME), 400)
    return name or None


def name_phone(db: Session, bus: EventBus, session: GuestSession, token: str | None,
               raw_name: object) -> GuestPhone:
    """Give this phone a name (or take it away), shown on the lines it added. The lines are
    part of the cart panel, cached on the cart's version: the version is bumped in this
    transaction, as for any change to the cart. The caller commits."""
    name = clean_phone_name(raw_name)
    if not is_phone_token(token) and session.phone is None:
        raise DomainError(_l("Scan the QR code on your table to start ordering."), 403)
    bump_cart_version(db, session.id)
    phone = phone_for(db, session, token)
    assert phone is not None
    _conn(db).execute(_NAME_PHONE, {"phone_id": phone.id, "sid": session.id, "new_name": name})
    _changed(db, bus, session)
    return GuestPhone(phone.id, phone.seq, name)


# the counter's QR code (takeaway): the shop, if the code is this shop's, and the token of
# the phone's own takeaway session if its cookie names an active one of this shop
_COUNTER = Read(
    select(*_SHOP_KEY, sessions.c.token)
    .select_from(shops)
    .outerjoin(sessions, and_(sessions.c.shop_id == shops.c.id,
                              sessions.c.token == bindparam("token"),
                              sessions.c.table_id.is_(None),
                              sessions.c.active_table_id.is_not(None)))
    .where(shops.c.slug == bindparam("slug"), shops.c.counter_token == bindparam("counter"))
)


def counter(db: Session, slug: str, counter_token: str,
            cookie: str | None) -> tuple[GuestShop, str | None] | None:
    """The shop behind a counter QR code (only if the code belongs to the shop named in the
    URL) and the token of the phone's active takeaway session there (None: the phone starts
    its own with ``tables.start_takeaway``); None for an unknown or old code."""
    row = _COUNTER.first(db, {"slug": slug, "counter": counter_token, "token": cookie or ""})
    if row is None:
        return None
    return _shop(db, *row[:_N_SHOP]), row[_N_SHOP]


# --- reading the cart ---

_EXTRAS_CENTS = (
    select(func.sum(func.round(options.c.extra_price * 100)))
    .select_from(item_options.join(options, options.c.id == item_options.c.option_id))
    .where(item_options.c.cart_item_id == items.c.id)
    .scalar_subquery()
)
# one statement, so the version and the sums are read at the same instant
# (and the shop's menu version, so the sums are known to be priced at that version)
_BADGE = Read(
    select(sessions.c.cart_version, shops.c.menu_version,
           func.coalesce(func.sum(items.c.quantity), 0),
           func.coalesce(func.sum(items.c.quantity * (func.round(products.c.price * 100)
                                                      + func.coalesce(_EXTRAS_CENTS, 0))), 0))
    .select_from(sessions)
    .join(shops, shops.c.id == sessions.c.shop_id)
    .outerjoin(items, items.c.session_id == sessions.c.id)
    .outerjoin(products, products.c.id == items.c.product_id)
    .where(sessions.c.id == bindparam("session_id"))
    .group_by(sessions.c.cart_version, shops.c.menu_version)
)


_SESSION_SHOP = Read(
    select(*_SHOP_KEY).select_from(sessions.join(shops, shops.c.id == sessions.c.shop_id))
    .where(sessions.c.id == bindparam("session_id"))
)


class CartSum(NamedTuple):
    """A cart's item count and subtotal in cents at ``cart_version``, priced at the shop's
    ``menu_version``."""

    cart_version: int
    menu_version: int
    count: int
    cents: int


def badge(db: Session, session_id: int, shop: GuestShop | Shop | None = None) -> Badge:
    """Count and total of a table's cart, priced from the database, summed in cents by SQL,
    with the shop's taxes and charges (``shop``: the session's shop, read here when not given).
    A read that starts a transaction of its own (after a commit: nothing uncommitted is in it)
    is remembered for the next add (``add_item``)."""
    fresh_transaction = not _plain(db).in_transaction()
    row = _BADGE.first(db, {"session_id": session_id})
    if row is None:
        return Badge(0, 0, Decimal("0.00"))
    version, menu_version, count, cents = row
    summed = CartSum(version, menu_version, int(count), int(round(cents)))
    if fresh_transaction:
        remember(session_id, summed)
    return badge_of(db, session_id, summed, shop)


def badge_of(db: Session, session_id: int, summed: CartSum,
             shop: GuestShop | Shop | None = None) -> Badge:
    if shop is None:
        shop = _shop(db, *_SESSION_SHOP.first(db, {"session_id": session_id}))
    subtotal = Decimal(summed.cents).scaleb(-2)
    return Badge(summed.cart_version, summed.count, charges.totals_for(shop, subtotal).total)


def _sums() -> MenuCache:
    """The cart sums last read or made per table session, under (session, cart version, menu
    version): what one add needs to know the cart's new count and subtotal without summing the
    cart again. Only committed states go in (a version that was rolled back could come again
    with other lines)."""
    return app_cache(current_app, "shopqr_cart_sums", 4096)


def remember(session_id: int, summed: CartSum) -> None:
    """Keep a committed cart sum for the next add of its table (see ``_sums``)."""
    _sums().put((session_id, summed.cart_version, summed.menu_version), summed)


_ORDERS = Read(
    select(orders.c.id, orders.c.seq, orders.c.total, orders.c.currency, orders.c.public_token,
           orders.c.payment_method, orders.c.payment_status, orders.c.kitchen_status)
    .where(orders.c.session_id == bindparam("session_id"))
    .order_by(orders.c.id.desc())
)


def session_orders(db: Session, session_id: int) -> list:
    """The orders of a table session, newest first, as rows with the fields the order strip
    shows (``id``, ``seq``, ``total``, ``currency``, ``public_token``, the statuses)."""
    return _ORDERS.rows(db, {"session_id": session_id})


# --- changing the cart ---

_BUMP = (
    update(sessions)
    .where(sessions.c.id == bindparam("session_id"), sessions.c.active_table_id.is_not(None))
    .values(cart_version=sessions.c.cart_version + 1)
)
# the same, from the version the caller knows: no row when another change came first
_BUMP_FROM = _BUMP.where(sessions.c.cart_version == bindparam("from_version"))
# with the shop's menu version read in the same statement: the version it is priced at
_PRODUCT = (
    select(Product, shops.c.menu_version)
    .join(shops, shops.c.id == Product.shop_id)
    .where(Product.id == bindparam("product_id"), Product.shop_id == bindparam("shop_id"),
           Product.is_deleted.is_(False))
    .options(joinedload(Product.option_groups).joinedload(OptionGroup.options))
)
# what an add reads after it took the cart's lock, when the cart moved since the guest read
_SAME_PRODUCT = Read(
    select(*_LINE_COLUMNS)
    .select_from(_lines_join(sessions))
    .where(sessions.c.id == bindparam("session_id"))
)
_ADD_QUANTITY = (
    update(items).where(items.c.id == bindparam("item_id"))
    .values(quantity=items.c.quantity + bindparam("more"))
)
_NEW_LINE = insert(items)
_NEW_LINE_OPTION = insert(item_options)
# (bind names that are not column names: an UPDATE's own columns are reserved)
_SET_QUANTITY = (
    update(items)
    .where(items.c.id == bindparam("item_id"), items.c.session_id == bindparam("sid"))
    .values(quantity=bindparam("qty"))
)
_SET_NOTE = (
    update(items)
    .where(items.c.id == bindparam("item_id"), items.c.session_id == bindparam("sid"))
    .values(note=bindparam("text"))
)
_ADD_DELTA = (
    update(items)
    .where(items.c.id == bindparam("item_id"), items.c.session_id == bindparam("sid"))
    .values(quantity=items.c.quantity + bindparam("delta"))
)
_QUANTITY_OF = select(items.c.quantity).where(items.c.id == bindparam("item_id"),
                                              items.c.session_id == bindparam("sid"))
_REMOVE = delete(items).where(items.c.id == bindparam("item_id"),
                              items.c.session_id == bindparam("sid"))


def bump_cart_version(db: Session, session_id: int) -> None:
    """Mark a cart changed, in the caller's transaction; refuses an ended session (409). Call it
    before reading the lines to change: it takes the session's lock."""
    if _conn(db).execute(_BUMP, {"session_id": session_id}).rowcount != 1:
        raise DomainError(SESSION_ENDED, 409)


def _changed(db: Session, bus: EventBus, session: GuestSession) -> None:
    publish_after_commit(db, bus, Event(session.shop_id, "cart.changed",
                                        {"table_id": session.table_id}))


def orderable_product(db: Session, shop_id: int, product_id: object, *,
                      menu_version: int | None = None) -> Product:
    """A product of this shop on the menu, not sold out and within its hours, with its option
    groups and options, in one query. With the shop's ``menu_version`` (read in this request)
    the product comes from the app's cache of products, detached and fully loaded: every menu
    change (a price, an option, sold out, hours) bumps the version, so a cached product is never
    stale. It is only read (the guest's choices are checked against it), never changed."""
    product, _exact = _orderable(db, shop_id, product_id, menu_version)
    return product


def _orderable(db: Session, shop_id: int, product_id: object,
               menu_version: int | None) -> tuple[Product, bool]:
    """``orderable_product``, and whether the product is exactly as at ``menu_version`` (the
    version its statement read was that one)."""
    wanted = parse_id(product_id)
    if wanted is None:
        raise NotFound(NOT_ON_MENU)
    exact = False
    if menu_version is None:
        product, _seen = _load_product(db, shop_id, wanted)
    else:
        key = (shop_id, wanted, menu_version)
        product = _product_cache().peek(key)
        exact = product is not None
        if product is None:
            product, seen = _load_product(db, shop_id, wanted, detach=True)
            # only as read at that version: an owner's change since is the next version's
            exact = product is not None and seen == menu_version
            if exact:
                _product_cache().put(key, product)
    if product is None:
        raise NotFound(NOT_ON_MENU)
    if not product.is_available:
        raise DomainError(_l("Sorry, %(name)s is sold out.", name=localized(product, "name")),
                          status=409)
    # outside its hours or its category's, in the shop's time (docs/availability.md)
    availability.check_addable(db, product, menu_version=menu_version)
    return product, exact


def _load_product(db: Session, shop_id: int, product_id: int, *,
                  detach: bool = False) -> tuple[Product | None, int | None]:
    row = db.execute(_PRODUCT, {"product_id": product_id, "shop_id": shop_id}).unique().first()
    if row is None:
        return None, None
    product, seen = row
    if detach:
        db.expunge(product)  # with its groups and options (cascade): a commit never expires it
    return product, seen


def _product_cache() -> MenuCache:
    return app_cache(current_app, "shopqr_products", 2048)


class Added(NamedTuple):
    """What ``add_item`` did: the product (for the "added" message), and the cart's new sums
    when it knew the cart before (None: the caller sums the cart after its commit)."""

    product: Product
    summed: CartSum | None


def add_item(db: Session, bus: EventBus, session: GuestSession, product_id: object,
             chosen: Mapping[int, object], quantity: object, note: str | None, *,
             menu_version: int | None = None, phone_token: str | None = None,
             seen: CartLines | None = None) -> Added:
    """Add to the table's cart, merging with an identical line of the same phone (same
    product, options and note). The line records the phone (``phone_token``: the token of its
    cookie; its row came with ``session``, or it joins now). Everything is checked before the
    cart is locked; the caller commits.

    The cart is locked by moving its version from the one ``session`` was read at to the next.
    When that works, nobody changed the cart in between (every change moves the version), so
    what was known of it at that version still holds:
    - ``seen``, its line count and lines of this product read with the session
      (``guest_adding``), decide between merging and a new line without reading them again;
    - the cart's sums (``remember``: the last committed add or badge of the table), if the
      product is exactly as at the request's menu version, plus this line are the new sums:
      an add does not sum the whole cart again (README "Benchmark").
    Otherwise the version is moved from whatever it is, the lines are read under that lock,
    and the caller sums the cart after its commit."""
    product, exact = _orderable(db, session.shop_id, product_id, menu_version)
    picked = choose_options(product, chosen)
    option_ids = sorted(o.id for o in picked)
    qty = parse_quantity(quantity)
    note_text = clean_note(note)
    conn = _conn(db)
    before = _sums().peek((session.id, session.cart_version, menu_version)) if exact else None
    if seen is not None and seen.product_id != product.id:
        seen = None
    known = before is not None or seen is not None
    if known and conn.execute(_BUMP_FROM, {
            "session_id": session.id, "from_version": session.cart_version}).rowcount == 1:
        summed = None if before is None else before._replace(
            cart_version=before.cart_version + 1, count=before.count + qty,
            cents=before.cents + qty * (_cents(product.price)
                                        + sum(_cents(o.extra_price) for o in picked)))
    else:
        bump_cart_version(db, session.id)
        summed = seen = None
    phone = phone_for(db, session, phone_token)
    phone_id = phone.id if phone is not None else None
    if seen is None:
        seen = _cart_lines(product.id, _SAME_PRODUCT.rows(
            db, {"session_id": session.id, "product_id": product.id}), 0)
    for item_id, (item_qty, item_note, item_phone, item_option_ids) in seen.lines.items():
        if item_note == note_text and item_phone == phone_id \
                and sorted(item_option_ids) == option_ids:
            if item_qty + qty > MAX_QUANTITY:
                raise DomainError(_l("At most %(count)s of one item per order.",
                                      count=MAX_QUANTITY))
            conn.execute(_ADD_QUANTITY, {"item_id": item_id, "more": qty})
            _changed(db, bus, session)
            return Added(product, summed)
    if seen.count >= MAX_LINES:
        raise DomainError(_l("A cart holds at most %(count)s different items.", count=MAX_LINES))
    new_id = conn.execute(_NEW_LINE, {  # created_at: the column's default, as with the ORM
        "session_id": session.id, "product_id": product.id, "quantity": qty,
        "note": note_text, "phone_id": phone_id}).inserted_primary_key[0]
    if option_ids:
        conn.execute(_NEW_LINE_OPTION, [{"cart_item_id": new_id, "option_id": option_id}
                                        for option_id in option_ids])
    _changed(db, bus, session)
    return Added(product, summed)


def _cents(price: Decimal) -> int:
    """A price in whole cents (riel: hundredths), rounded as the badge's SQL rounds it."""
    return int((Decimal(price) * 100).to_integral_value(rounding=ROUND_HALF_UP))


def badge_after_add(db: Session, session_id: int, shop: GuestShop, added: Added) -> Badge:
    """The cart's badge after an add, once the caller has committed it: from the sums the add
    made (now committed, they are remembered for the next add), else read and summed."""
    if added.summed is None:
        return badge(db, session_id, shop)
    remember(session_id, added.summed)
    return badge_of(db, session_id, added.summed, shop)


def _one_line(result: CursorResult) -> None:
    if result.rowcount != 1:
        raise NotFound(ITEM_GONE)


def set_quantity(db: Session, bus: EventBus, session: GuestSession, item_id: object,
                 quantity: object) -> None:
    """Set a line's quantity; 0 removes it. The caller commits."""
    wanted = parse_id(item_id)
    qty = parse_quantity(quantity, allow_zero=True)
    if wanted is None:
        raise NotFound(ITEM_GONE)
    bump_cart_version(db, session.id)
    params = {"item_id": wanted, "sid": session.id}
    if qty == 0:
        _one_line(_conn(db).execute(_REMOVE, params))
    else:
        _one_line(_conn(db).execute(_SET_QUANTITY, {**params, "qty": qty}))
    _changed(db, bus, session)


def step_quantity(db: Session, bus: EventBus, session: GuestSession, item_id: object,
                  delta: object) -> None:
    """One more or one less of a line (the cart's −/+): relative, so two phones tapping "+" at
    once make two more, never one. Down to 0 removes the line; at most MAX_QUANTITY."""
    wanted = parse_id(item_id)
    if wanted is None:
        raise NotFound(ITEM_GONE)
    if delta not in ("1", "-1", 1, -1):
        raise DomainError(_l("Tap − or + to change the quantity."))
    step = int(delta)
    bump_cart_version(db, session.id)  # the cart's lock: the read below is this line's latest
    params = {"item_id": wanted, "sid": session.id}
    current = _conn(db).execute(_QUANTITY_OF, params).scalar()
    if current is None:
        raise NotFound(ITEM_GONE)
    if current + step <= 0:
        _conn(db).execute(_REMOVE, params)
    elif current + step > MAX_QUANTITY:
        raise DomainError(_l("At most %(count)s of one item per order.", count=MAX_QUANTITY))
    else:
        _conn(db).execute(_ADD_DELTA, {**params, "delta": step})
    _changed(db, bus, session)


def set_note(db: Session, bus: EventBus, session: GuestSession, item_id: object,
             note: str | None) -> None:
    wanted = parse_id(item_id)
    note_text = clean_note(note)
    if wanted is None:
        raise NotFound(ITEM_GONE)
    bump_cart_version(db, session.id)
    _one_line(_conn(db).execute(_SET_NOTE, {"item_id": wanted, "sid": session.id,
                                            "text": note_text}))
    _changed(db, bus, session)


def remove_item(db: Session, bus: EventBus, session: GuestSession, item_id: object) -> None:
    wanted = parse_id(item_id)
    if wanted is None:
        raise NotFound(ITEM_GONE)
    bump_cart_version(db, session.id)
    _one_line(_conn(db).execute(_REMOVE, {"item_id": wanted, "sid": session.id}))
    _changed(db, bus, session)


# --- the order status poll ---

_LATEST_TXN = (
    select(transactions.c.id, transactions.c.expires_at, transactions.c.paid_at,
           transactions.c.status)
    .where(transactions.c.order_id == orders.c.id)
    .order_by(transactions.c.created_at.desc(), transactions.c.id.desc())
    .limit(1)
)
_DUE = (
    select(transactions.c.id)
    .where(transactions.c.order_id == orders.c.id, transactions.c.attention == "due")
    .exists()
)
_ORDER_STATE = Read(
    select(orders.c.id, orders.c.payment_method, orders.c.payment_status,
           orders.c.kitchen_status, _LATEST_TXN.with_only_columns(transactions.c.id)
           .scalar_subquery(),
           _LATEST_TXN.with_only_columns(transactions.c.expires_at).scalar_subquery(),
           _LATEST_TXN.with_only_columns(transactions.c.paid_at).scalar_subquery(),
           _LATEST_TXN.with_only_columns(transactions.c.status).scalar_subquery(), _DUE)
    .select_from(orders.join(shops, shops.c.id == orders.c.shop_id))
    .where(shops.c.slug == bindparam("slug"), orders.c.public_token == bindparam("token"))
)


class OrderState(NamedTuple):
    """What the order page's live regions show: ``fingerprint`` is short and equal for equal
    regions; ``counts_down`` says they hold a QR's countdown (which also depends on the time,
    so a copy rendered earlier would be off by its age)."""

    fingerprint: str
    counts_down: bool


def order_state(db: Session, slug: str, public_token: str, now: datetime) -> OrderState | None:
    """A short fingerprint of everything the order page's live regions show (statuses, which
    QR and whether it expired, whether the poller still checks it, a payment to look at), or
    None when the shop has no such order. Equal fingerprints mean equal regions."""
    from shopqr.services.payments import POLLED_STATUSES

    row = _ORDER_STATE.first(db, {"slug": slug, "token": public_token})
    if row is None:
        return None
    order_id, method, status, kitchen, txn_id, expires_at, paid_at, txn_status, due = row
    expired = txn_id is not None and (expires_at <= now or paid_at is not None)
    checking = (txn_id is not None and paid_at is None and expires_at <= now
                and txn_status in POLLED_STATUSES)
    return OrderState(
        "-".join(str(part) for part in (order_id, method, status, kitchen or "", txn_id or 0,
                                        int(expired), int(checking), int(bool(due)))),
        counts_down=method == "khqr" and status == "pending" and txn_id is not None
        and not expired)


def snapshot(session: TableSession) -> GuestSession:
    """The hot paths' view of an ORM table session (for code that holds one: tests, the POS)."""
    table = session.table
    return GuestSession(session.id, session.shop_id, session.table_id, session.is_active,
                        session.cart_version,
                        GuestTable(table.id, table.name, table.name_km) if table else None,
                        session.service_calls, session.checkout_version > 0)
