"""The shared table cart: reading the choices and the quantity of a line, pricing it from the
database, the whole cart priced (``summarize``). The writes are the guest hot paths in
services/hotpath.py; every change is announced to the shop's live screens after the commit
("cart.changed")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from shopqr.i18n import localized
from shopqr.models import (
    CartItem,
    CartItemOption,
    Option,
    OptionGroup,
    Order,
    Product,
    Shop,
    TableSession,
)
from shopqr.services import MAX_ID as MAX_ID  # moved to services (parse_id); re-exported
from shopqr.services import DomainError, parse_id, sanitize
from shopqr.services.charges import ChargeLine, totals_for
from shopqr.services.events import Event, EventBus, publish_after_commit

if TYPE_CHECKING:
    from shopqr.services.hotpath import GuestSession, GuestShop

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
    problem: str | None = None  # why it cannot be ordered as it is (a choice changed)


@dataclass
class CartSummary:
    """The cart priced: ``subtotal`` the lines' sum, ``charges`` the shop's taxes and charges on
    it (services/charges.py), ``total`` what the order will cost (the subtotal plus the added
    charges)."""

    lines: list[PricedLine] = field(default_factory=list)
    total: Decimal = Decimal("0")
    subtotal: Decimal = Decimal("0")
    charges: tuple[ChargeLine, ...] = ()

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


def localized_name(obj: object) -> str:
    """A product's or group's name in the language of the request (Khmer when it has one)."""
    return localized(obj, "name")


MAX_CHOICE_FIELDS = 100  # more submitted choices than any product has: a forged form
BAD_CHOICE = _l("That choice is not available for this item.")


def form_choices(form: Mapping[str, Any]) -> dict[int, list[str]]:
    """The choices of a product form (the guest's sheet and the POS share it): its
    ``group-<group id>`` fields, group id -> the submitted option ids, checked by
    ``choose_options``. A multi-select group sends its field once per ticked option, so
    ``form`` is read as a MultiDict (``request.form``) when it has ``getlist``; a plain dict
    gives one value per group (or a list)."""
    chosen: dict[int, list[str]] = {}
    pairs: Iterable[tuple[str, Any]] = (
        form.lists() if hasattr(form, "lists") else form.items())  # type: ignore[attr-defined]
    count = 0
    for key, raw in pairs:
        if not isinstance(key, str) or not key.startswith("group-"):
            continue
        group_id = parse_id(key.removeprefix("group-"))
        if group_id is None:
            raise DomainError(BAD_CHOICE, 400)
        values = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        count += len(values)
        if count > MAX_CHOICE_FIELDS:
            raise DomainError(BAD_CHOICE, 400)
        chosen.setdefault(group_id, []).extend(
            v.strip() if isinstance(v, str) else v for v in values)
    return chosen


def _wanted_ids(raw: object) -> list[object]:
    """The submitted values of one group: a value or a list of them, blanks left out."""
    values = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    return [v for v in values if v not in (None, "")]


def choose_options(product: Product, chosen: Mapping[int, object]) -> list[Option]:
    """The options for one line of ``product``, checked against its groups' rules; the one
    parser of the guest's sheet and the POS.

    ``chosen`` maps option-group id to the submitted option id(s) (``form_choices``). A
    single-choice group takes exactly one option: the submitted one, or its default when none
    was submitted. A multi-select group takes between its ``low`` and ``high`` number of
    different options, exactly as submitted. A group or option that is not this product's
    (another product's, another shop's, deleted, not a number) is refused with a 400; a
    breach of a group's rules with a 422. Returns the options in menu order."""
    groups = {g.id: g for g in product.option_groups}
    if set(chosen) - set(groups):
        raise DomainError(BAD_CHOICE, 400)
    picked: list[Option] = []
    for group in product.option_groups:
        if not group.options:
            if _wanted_ids(chosen.get(group.id)):
                raise DomainError(BAD_CHOICE, 400)
            continue  # a group the owner has not filled yet asks nothing
        by_id = {o.id: o for o in group.options}
        wanted = [parse_id(raw) for raw in _wanted_ids(chosen.get(group.id))]
        if any(option_id not in by_id for option_id in wanted):
            raise DomainError(_l("Please pick a valid %(choice)s.", choice=localized_name(group)),
                              400)
        if len(set(wanted)) != len(wanted):
            raise DomainError(_l("Pick each %(choice)s only once.",
                                  choice=localized_name(group)), 400)
        if not group.is_multi:
            if len(wanted) > 1:
                raise DomainError(_l("Pick one %(choice)s.", choice=localized_name(group)))
            if not wanted:
                default = group.default_option
                if default is None:
                    raise DomainError(_l("Please choose a %(choice)s.",
                                         choice=localized_name(group)))
                picked.append(default)
                continue
        else:
            check_count(group, len(wanted))
        ids = set(wanted)
        picked.extend(o for o in group.options if o.id in ids)
    return picked


def check_count(group: OptionGroup, count: int) -> None:
    """A multi-select group's rule: between ``low`` and ``high`` options."""
    if count < group.low:
        raise DomainError(_l("Pick at least %(count)s for %(choice)s.", count=group.low,
                             choice=localized_name(group)))
    if count > group.high:
        raise DomainError(_l("Pick at most %(count)s for %(choice)s.", count=group.high,
                             choice=localized_name(group)))


def check_line(product: Product, options: Iterable[Option]) -> None:
    """A cart or ticket line made earlier still fits the menu: each option is live and this
    product's, and each group's rule holds (the owner may have deleted an option or changed a
    group since). Raises DomainError (409) naming the product."""
    chosen: dict[int, list[int]] = {}
    for option in options:
        chosen.setdefault(option.group_id, []).append(option.id)
    try:
        picked = choose_options(product, chosen)
    except DomainError:
        raise DomainError(_l("The choices for %(name)s changed on the menu. Remove it and add "
                             "it again.", name=localized_name(product)), 409) from None
    if sorted(o.id for o in picked) != sorted(o.id for o in options):
        # a single-choice group added since: the line never chose it
        raise DomainError(_l("The choices for %(name)s changed on the menu. Remove it and add "
                             "it again.", name=localized_name(product)), 409)


def line_problem(product: Product, options: Iterable[Option]) -> str | None:
    """Why a cart line cannot be ordered as it is (for the cart panel), or None."""
    try:
        check_line(product, options)
    except DomainError as exc:
        return exc.message
    return None


def in_menu_order(options: Iterable[Option]) -> list[Option]:
    """Options as the sheet lists them: by group, then within the group (a cart line stores
    them in any order)."""
    return sorted(options, key=lambda o: (o.group.sort_order, o.group_id, o.sort_order, o.id))


def grouped(options: Iterable[Option]) -> list[tuple[OptionGroup, list[Option]]]:
    """Options by group, in order: a multi-select group's options together."""
    result: list[tuple[OptionGroup, list[Option]]] = []
    for option in in_menu_order(options):
        if result and result[-1][0].id == option.group_id:
            result[-1][1].append(option)
        else:
            result.append((option.group, [option]))
    return result


def unit_price(product: Product, options: Iterable[Option]) -> Decimal:
    return product.price + sum((o.extra_price for o in options), Decimal("0"))


def initial_price(product: Product) -> Decimal:
    """The price the option sheet shows before the guest changes anything: the product with
    its preselected options (a default "Regular" that adds $0.50 included)."""
    return unit_price(product, [o for g in product.option_groups for o in g.initial_options])


def summarize(db: Session, session: TableSession | GuestSession,
              shop: Shop | GuestShop | None = None) -> CartSummary:
    """The cart priced from the database as it is now, with the shop's taxes and charges
    (``shop``: the session's shop, read here when not given)."""
    items = db.scalars(
        select(CartItem)
        .where(CartItem.session_id == session.id)
        .order_by(CartItem.id)
        .options(
            joinedload(CartItem.phone),  # "Added by Dara": in the same statement
            selectinload(CartItem.product).selectinload(Product.option_groups)
            .selectinload(OptionGroup.options),
            selectinload(CartItem.options).selectinload(CartItemOption.option)
            .selectinload(Option.group),
        )
    ).all()
    summary = CartSummary()
    for item in items:
        options = in_menu_order(io.option for io in item.options)
        price = unit_price(item.product, options)
        line = PricedLine(item, item.product, options, price, price * item.quantity,
                          line_problem(item.product, options))
        summary.lines.append(line)
        summary.subtotal += line.line_total
    if shop is None or shop.id != session.shop_id:
        shop = db.get(Shop, session.shop_id)
    totals = totals_for(shop, summary.subtotal)
    summary.charges, summary.total = totals.lines, totals.total
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
        if product is None or not product.orderable or options is None \
                or line_problem(product, options):
            restored.left_out.append(line.product_name)
            continue
        option_ids = sorted(o.id for o in options)
        same = next((i for i in items if i.product_id == product.id and i.note == line.note
                     and i.phone_id == line.phone_id
                     and sorted(io.option_id for io in i.options) == option_ids), None)
        if same is not None:
            same.quantity = min(MAX_QUANTITY, same.quantity + line.quantity)
        elif len(items) >= MAX_LINES:
            restored.left_out.append(line.product_name)
            continue
        else:
            item = CartItem(session_id=session.id, product=product,
                            quantity=min(MAX_QUANTITY, line.quantity), note=line.note,
                            phone_id=line.phone_id)  # back to the phone that added it
            item.options = [CartItemOption(option=o) for o in options]
            db.add(item)
            items.append(item)
        restored.count += line.quantity
    db.flush()
    if restored.count:
        publish_after_commit(db, bus, Event(session.shop_id, "cart.changed",
                                            {"table_id": session.table_id}))
    return restored
