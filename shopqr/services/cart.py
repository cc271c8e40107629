"""The shared table cart: reading the choices and the quantity of a line, pricing it from the
database, the whole cart priced (``summarize``). The writes are the guest hot paths in
services/hotpath.py; every change is announced to the shop's live screens after the commit
("cart.changed")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from shopqr.models import (
    CartItem,
    CartItemOption,
    Option,
    OptionGroup,
    Order,
    Product,
    TableSession,
)
from shopqr.services import MAX_ID as MAX_ID  # moved to services (parse_id); re-exported
from shopqr.services import DomainError, parse_id, sanitize
from shopqr.services.events import Event, EventBus, publish_after_commit

if TYPE_CHECKING:
    from shopqr.services.hotpath import GuestSession

MAX_QUANTITY = 50
MAX_LINES = 60
MAX_NOTE = 200
NOT_ON_MENU = _l("That item is not on the menu.")


@dataclass
class PricedLine:
    item: CartItem
    product: Product
    options: list[Option]
    unit_price: Decimal
    line_total: Decimal


@dataclass
class CartSummary:
    lines: list[PricedLine] = field(default_factory=list)
    total: Decimal = Decimal("0")

    @property
    def count(self) -> int:
        return sum(line.item.quantity for line in self.lines)


def parse_quantity(raw: object, *, allow_zero: bool = False) -> int:
    """A whole number of items, 1..MAX_QUANTITY (0 allowed where it means remove)."""
    text = str(raw if raw is not None else "").strip()
    low = 0 if allow_zero else 1
    # ASCII digits only: str.isdigit() is also true for "²" or "٣", which int() rejects
    # or reads unexpectedly; and few of them (int() refuses more than 4300 digits: a 500).
    if not (text.isascii() and text.isdigit() and len(text) <= 6) \
            or not (low <= int(text) <= MAX_QUANTITY):
        raise DomainError(_l("Quantity must be a whole number from %(low)s to %(high)s.",
                              low=low, high=MAX_QUANTITY))
    return int(text)


def clean_note(raw: str | None) -> str | None:
    """A note for the kitchen (a cart line, an order, a POS ticket), one line, sanitized."""
    note = sanitize(raw)
    if len(note) > MAX_NOTE:
        raise DomainError(_l("Notes can be at most %(count)s characters.", count=MAX_NOTE))
    return note or None


def form_choices(form: Mapping[str, str]) -> dict[int, str]:
    """The choices of a product form: its ``group-<group id>`` fields, group id -> the
    submitted option id (checked by ``choose_options``)."""
    chosen: dict[int, str] = {}
    for key, value in form.items():
        if key.startswith("group-"):
            group_id = parse_id(key.removeprefix("group-"))
            if group_id is None:
                raise DomainError(_l("That choice is not available for this item."))
            chosen[group_id] = value
    return chosen


def choose_options(product: Product, chosen: Mapping[int, object]) -> list[Option]:
    """One option per group: the chosen one (must belong to that group) or the default.

    ``chosen`` maps option-group id to the submitted option id."""
    groups = {g.id: g for g in product.option_groups}
    unknown = set(chosen) - set(groups)
    if unknown:
        raise DomainError(_l("That choice is not available for this item."))
    picked: list[Option] = []
    for group in product.option_groups:
        raw = chosen.get(group.id)
        if raw in (None, ""):
            default = group.default_option
            if default is not None:
                picked.append(default)
            continue
        wanted = parse_id(raw)
        option = next((o for o in group.options if o.id == wanted), None)
        if option is None:
            raise DomainError(_l("Please pick a valid %(choice)s.", choice=group.name))
        picked.append(option)
    return picked


def unit_price(product: Product, options: Iterable[Option]) -> Decimal:
    return product.price + sum((o.extra_price for o in options), Decimal("0"))


def summarize(db: Session, session: TableSession | GuestSession) -> CartSummary:
    """The cart priced from the database as it is now."""
    items = db.scalars(
        select(CartItem)
        .where(CartItem.session_id == session.id)
        .order_by(CartItem.id)
        .options(
            selectinload(CartItem.product),
            selectinload(CartItem.options).selectinload(CartItemOption.option)
            .selectinload(Option.group),
        )
    ).all()
    summary = CartSummary()
    for item in items:
        options = [io.option for io in item.options]
        price = unit_price(item.product, options)
        line = PricedLine(item, item.product, options, price, price * item.quantity)
        summary.lines.append(line)
        summary.total += line.line_total
    return summary


@dataclass
class Restored:
    """What ``restore_from_order`` put back: how many items, and the names it could not."""

    count: int = 0
    left_out: list[str] = field(default_factory=list)


def _snapshot_options(product: Product,
                      snapshot: Iterable[Mapping[str, str]]) -> list[Option] | None:
    """The product's current options that an order line chose (by group and option name, as
    orders snapshot them); None when one of them is no longer on the menu."""
    picked: list[Option] = []
    for chosen in snapshot:
        option = next((o for g in product.option_groups if g.name == chosen.get("group")
                       for o in g.options if o.name == chosen.get("option")), None)
        if option is None:
            return None
        picked.append(option)
    return picked


def restore_from_order(db: Session, bus: EventBus, session: TableSession | None,
                       order: Order) -> Restored | None:
    """Put the lines of an order the guests cancelled back into their table's cart, priced
    from the menu as it is now (the cart always is). Lines of products that left the menu,
    sold out, or lost a chosen option are left out and named. None when the table's session
    has ended (a new group must never see them). The caller makes sure this runs once per
    order (the cancel's conditional update)."""
    if session is None or not session.is_active:
        return None
    # The cart changes: bump its version first, as every cart writer does (services/hotpath.py);
    # that also takes the session's lock and finds a session that ended meanwhile.
    bumped = db.execute(
        update(TableSession)
        .where(TableSession.id == session.id, TableSession.active_table_id.is_not(None))
        .values(cart_version=TableSession.cart_version + 1)
        .execution_options(synchronize_session=False))
    if bumped.rowcount != 1:
        return None
    wanted = {line.product_id for line in order.lines if line.product_id is not None}
    products = {p.id: p for p in db.scalars(
        select(Product).where(Product.shop_id == session.shop_id, Product.id.in_(wanted))
        .options(selectinload(Product.option_groups).selectinload(OptionGroup.options))
    )} if wanted else {}
    items = list(db.scalars(select(CartItem).where(CartItem.session_id == session.id)
                            .options(selectinload(CartItem.options))))
    restored = Restored()
    for line in order.lines:
        product = products.get(line.product_id) if line.product_id is not None else None
        options = _snapshot_options(product, line.options or []) if product else None
        if product is None or not product.orderable or options is None:
            restored.left_out.append(line.product_name)
            continue
        option_ids = sorted(o.id for o in options)
        same = next((i for i in items if i.product_id == product.id and i.note == line.note
                     and sorted(io.option_id for io in i.options) == option_ids), None)
        if same is not None:
            same.quantity = min(MAX_QUANTITY, same.quantity + line.quantity)
        elif len(items) >= MAX_LINES:
            restored.left_out.append(line.product_name)
            continue
        else:
            item = CartItem(session_id=session.id, product=product,
                            quantity=min(MAX_QUANTITY, line.quantity), note=line.note)
            item.options = [CartItemOption(option=o) for o in options]
            db.add(item)
            items.append(item)
        restored.count += line.quantity
    db.flush()
    if restored.count:
        publish_after_commit(db, bus, Event(session.shop_id, "cart.changed",
                                            {"table_id": session.table_id}))
    return restored
