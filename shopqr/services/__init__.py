"""The domain: plain arguments in, models out. No request or g; the caller commits."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.interfaces import ORMOption

    from shopqr.models import Shop

Row = TypeVar("Row")

MAX_ID = 2**63 - 1  # larger ids cannot exist, and SQLite refuses to bind them (OverflowError)


def _id_pattern(highest: int) -> str:
    """A regular expression for the numbers 1..highest in ASCII digits, no leading zero: in a
    URL rule the range must be in the pattern itself (a converter that refuses a value after
    the match makes Werkzeug answer 405, not 404, when another method has the same path)."""
    top = str(highest)
    shorter = f"[1-9][0-9]{{0,{len(top) - 2}}}" if len(top) > 1 else ""
    same_length = [top]  # numbers with as many digits as `highest`: equal up to a smaller digit
    for i, digit in enumerate(top):
        low, high = (1 if i == 0 else 0), int(digit) - 1
        if high >= low:
            rest = len(top) - i - 1
            same_length.append(f"{top[:i]}[{low}-{high}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(([shorter] if shorter else []) + same_length) + ")"


ID_PATTERN = _id_pattern(MAX_ID)  # an id as text: 1..MAX_ID in ASCII digits, no leading zero
_ID = re.compile(ID_PATTERN)


class DomainError(Exception):
    """Bad input or a state that forbids the action: the view answers with a 4xx and `message`.

    Messages are lazy translations (``lazy_gettext``): they take the language of the request
    that shows them."""

    status = 422

    def __init__(self, message: str | LazyString, status: int | None = None) -> None:
        super().__init__(message)
        self._message = message
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The message in the current language, as a plain str. Not the LazyString itself:
        Jinja takes a LazyString for safe markup (it has ``__html__``) and would not escape the
        names filled into it."""
        return str(self._message)


class NotFound(DomainError):
    status = 404


def parse_id(raw: object) -> int | None:
    """A database id from a form field, a query string or a URL, or None when it cannot be one:
    ASCII digits without a leading zero, 1..MAX_ID. ``int()`` alone would read "١"
    (Arabic-Indic) or "១" (Khmer) as 1, "1_0" as 10 and " -1 " as -1, and SQLite cannot bind a
    value above MAX_ID (OverflowError, a 500). The caller turns None into its own NotFound or
    DomainError.

    The URL converter of every ``<int:...>`` route (``shopqr.web.IdConverter``) follows the same
    rule."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _ID.fullmatch(text := raw.strip(" \t\r\n")):
        value = int(text)
    else:
        return None
    return value if 1 <= value <= MAX_ID else None


NOT_FOUND = _l("Not found")


def get_for_shop(db: Session, model: type[Row], shop: Shop, raw_id: object,
                 *where: ColumnElement[bool], message: str | LazyString = NOT_FOUND,
                 via: Iterable[type[Any]] = (), options: Iterable[ORMOption] = ()) -> Row:
    """The row of ``model`` with the id ``raw_id`` (read by ``parse_id``) that belongs to
    ``shop``, else ``NotFound(message)`` (a 404): another shop's ids look exactly like missing
    ones. ``where`` adds conditions (say, not deleted); ``options`` are loader options.

    The row's own ``shop_id`` decides. A child row without one (an option group, an option,
    an order line) names its parents in ``via``, nearest first: they are joined in that order
    and the last one's ``shop_id`` decides."""
    parents = list(via)
    owner = parents[-1] if parents else model
    return _one(db, model, raw_id, (owner.shop_id == shop.id, *where),
                message, parents, options)


def get_or_404(db: Session, model: type[Row], raw_id: object, *,
               message: str | LazyString = NOT_FOUND) -> Row:
    """The row of ``model`` with the id ``raw_id`` (read by ``parse_id``), else
    ``NotFound(message)``: for the platform admin, whose pages are not in one shop."""
    return _one(db, model, raw_id, (), message, [], ())


def _one(db: Session, model: type[Row], raw_id: object, where: Iterable[ColumnElement[bool]],
         message: str | LazyString, parents: list[type[Any]],
         options: Iterable[ORMOption]) -> Row:
    wanted = parse_id(raw_id)
    if wanted is None:
        raise NotFound(message)
    query = select(model)
    for parent in parents:
        query = query.join(parent)
    query = query.where(model.id == wanted, *where).options(*options)
    # unique(): a joinedload of a collection repeats the row once per child
    row = db.scalars(query).unique().first()
    if row is None:
        raise NotFound(message)
    return row


# --- text typed by people -----------------------------------------------------------------
#
# Every text a guest or staff member types goes through sanitize() (clean_text, cart.clean_note,
# pos.clean_reason and the shop, table and staff names call it) before it is checked and
# stored: control characters (NUL, escape, ...) and the invisible bidi controls, which reorder
# what the kitchen screen shows around them, never reach the database. Khmer needs neither:
# its combining marks, the zero-width space (U+200B, between words) and the zero-width
# (non-)joiners (U+200C, U+200D) are kept.

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines() breaks on
_CONTROLS = "".join(chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)))
_DROP = {ord(c): None for c in _CONTROLS + _BIDI_CONTROLS}
_SINGLE_LINE = {**_DROP, **{ord(c): " " for c in _LINE_BREAKS + "\t"}}
_MULTI_LINE = {**_DROP, **{ord(c): "\n" for c in _LINE_BREAKS}, ord("\t"): " "}


def sanitize(raw: str | None, *, multiline: bool = False) -> str:
    """Text typed by a person, safe to store and show: control characters (U+0000-U+001F,
    U+007F-U+009F) and bidi controls (U+200E, U+200F, U+061C, U+202A-U+202E, U+2066-U+2069)
    removed, line breaks and tabs turned into a space (or, with ``multiline``, line breaks
    into "\\n"), trimmed. Khmer text and its zero-width space and joiners are kept."""
    text = (raw if isinstance(raw, str) else "").replace("\r\n", "\n")
    return text.translate(_MULTI_LINE if multiline else _SINGLE_LINE).strip()


def clean_text(raw: str | None, label: str | LazyString, limit: int, *,
               required: bool, multiline: bool = False) -> str | None:
    """Text typed by staff: sanitized (see ``sanitize``), trimmed; None when empty. ``label``
    names the field in the message (a translation)."""
    value = sanitize(raw, multiline=multiline)
    if required and not value:
        raise DomainError(_l("%(label)s is required.", label=label))
    if len(value) > limit:
        raise DomainError(_l("%(label)s can be at most %(limit)s characters.", label=label,
                             limit=limit))
    return value or None

