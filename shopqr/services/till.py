"""The walk-in till's ticket (docs/pos.md): lines kept in the cashier's signed session as
``{"p": product id, "o": [option ids], "q": quantity, "n": note}``, priced from the database
when shown (``checkout.ticket_items``). Adding the same product with the same options and note
again adds to that line; the -/+ stepper changes a line's quantity."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l

from shopqr.models import Option, Product
from shopqr.services import DomainError
from shopqr.services.cart import MAX_QUANTITY

MAX_TICKET_LINES = 40


def requires_choice(product: Product) -> bool:
    """The cashier must choose before the product can go on the ticket: a single-choice group
    without a default, or a multi-select group that needs at least one option. Other products
    go on at once with their defaults (the option sheet stays one tap away)."""
    for group in product.option_groups:
        if not group.options:
            continue
        if group.is_multi and group.low > 0:
            return True
        if not group.is_multi and group.default_option is None:
            return True
    return False


def _same(entry: dict[str, Any], product_id: int, option_ids: list[int],
          note: str | None) -> bool:
    raw = entry.get("o")
    return (entry.get("p") == product_id and isinstance(raw, list)
            and sorted(raw) == option_ids and (entry.get("n") or None) == note)


def add(ticket: list[dict[str, Any]], product: Product, options: Iterable[Option], quantity: int,
        note: str | None) -> list[dict[str, Any]]:
    """The ticket with ``quantity`` more of this line (options and note from the one parser,
    ``cart.choose_options`` and ``cart.clean_note``): merged into an equal line when there is
    one. Refuses a line past MAX_QUANTITY or a ticket past MAX_TICKET_LINES."""
    option_ids = sorted(o.id for o in options)
    for entry in ticket:
        if _same(entry, product.id, option_ids, note):
            _check_quantity(int(entry.get("q", 1)) + quantity)
            entry["q"] = int(entry.get("q", 1)) + quantity
            return ticket
    if len(ticket) >= MAX_TICKET_LINES:
        raise DomainError(_l("A ticket holds at most %(count)s lines.", count=MAX_TICKET_LINES))
    ticket.append({"p": product.id, "o": option_ids, "q": quantity, "n": note})
    return ticket


def step(ticket: list[dict[str, Any]], index: int, delta: object) -> list[dict[str, Any]]:
    """One more or one less of line ``index`` (``delta`` "1" or "-1"); at zero the line goes.
    A line that is not there: DomainError 404."""
    if not 0 <= index < len(ticket):
        raise DomainError(_l("That line is no longer on the ticket."), 404)
    if str(delta) not in ("1", "-1"):
        raise DomainError(_l("Quantity must be a whole number from %(low)s to %(high)s.",
                             low=0, high=MAX_QUANTITY))
    quantity = int(ticket[index].get("q", 1)) + int(str(delta))
    if quantity <= 0:
        ticket.pop(index)
        return ticket
    _check_quantity(quantity)
    ticket[index]["q"] = quantity
    return ticket


def _check_quantity(quantity: int) -> None:
    if quantity > MAX_QUANTITY:
        raise DomainError(_l("At most %(count)s of one item per order.", count=MAX_QUANTITY))
