"""Availability windows (docs/availability.md): a category or a product may be offered only at
certain hours of certain days ("Breakfast 06:00-11:00, Mon-Fri"). Outside its hours an item
shows "from 6:00" and cannot be ordered; the rule is checked on the server, in the shop's time
zone (``numbering.SHOP_TZ``), by every path that puts an item in a cart, on a POS ticket or in
an order.

Each category and product stores its windows in one short column (``schedule``, empty: always
available), up to ``MAX_WINDOWS`` of them as ``"0600-1100/1111100"``: from, to, and the days
(Monday first) on which the window starts. A window whose end is earlier than its start runs
past midnight (22:00-02:00 on Friday is open until 2:00 on Saturday). A product in a category
with hours is available only while both allow it.

What is closed at a moment (``Slice``) is computed from the shop's hours (``MenuHours``, loaded
once per menu version and cached) and the local time; the guest menu's caches hold its ``key``,
so a window opening or closing is a new key and the cached menu never offers an item outside
its hours."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from shopqr.cache import MenuCache, app_cache
from shopqr.i18n import localized
from shopqr.models import Category, Product, utcnow
from shopqr.services import DomainError
from shopqr.services.numbering import shop_time

MAX_WINDOWS = 3
ALL_DAYS = 0b1111111
DAY_MINUTES = 24 * 60
_STORED = re.compile(r"^(\d{4})-(\d{4})/([01]{7})$")
_TYPED = re.compile(r"^(\d{1,2})[:.h]?(\d{2})$")


@dataclass(frozen=True, slots=True)
class Window:
    """From ``start`` to ``end`` (minutes after local midnight) on the days in ``days`` (bit 0:
    Monday), the days it starts on. ``end`` before ``start``: it runs past midnight."""

    start: int
    end: int
    days: int = ALL_DAYS

    def starts_on(self, weekday: int) -> bool:
        return bool(self.days >> weekday & 1)

    def covers(self, weekday: int, minute: int) -> bool:
        if self.start < self.end:
            return self.starts_on(weekday) and self.start <= minute < self.end
        # past midnight: the evening of a day it starts on, or the small hours after one
        return (self.starts_on(weekday) and minute >= self.start) or \
            (self.starts_on((weekday - 1) % 7) and minute < self.end)

    def text(self) -> str:
        return f"{clock(self.start)}–{clock(self.end)}"


def clock(minute: int) -> str:
    """Minutes after midnight as the owner and guests read them: "6:00", "22:30"."""
    return f"{minute // 60}:{minute % 60:02d}"


def clock_field(minute: int) -> str:
    """For an ``<input type="time">``: "06:00"."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse(text: str | None) -> tuple[Window, ...]:
    """The windows of a stored ``schedule`` (what ``dump`` wrote); a part it cannot read is left
    out, never an error on a guest's page."""
    windows = []
    for part in (text or "").split(";"):
        match = _STORED.match(part.strip())
        if match is None:
            continue
        start, end = int(match[1]), int(match[2])
        start, end = start // 100 * 60 + start % 100, end // 100 * 60 + end % 100
        days = sum(1 << i for i, bit in enumerate(match[3]) if bit == "1")
        if start < DAY_MINUTES and end < DAY_MINUTES and start != end and days:
            windows.append(Window(start, end, days))
    return tuple(windows[:MAX_WINDOWS])


def dump(windows: Iterable[Window]) -> str | None:
    parts = [f"{w.start // 60:02d}{w.start % 60:02d}-{w.end // 60:02d}{w.end % 60:02d}/"
             + "".join("1" if w.starts_on(i) else "0" for i in range(7)) for w in windows]
    return ";".join(parts) or None


def is_open(windows: tuple[Window, ...], weekday: int, minute: int) -> bool:
    """No windows: always available."""
    return not windows or any(w.covers(weekday, minute) for w in windows)


@dataclass(frozen=True, slots=True)
class Opening:
    """When a closed item can be ordered again: ``days`` after today (local) at ``minute``; or
    never within a week (``days`` None: its hours and its category's never meet)."""

    days: int | None
    minute: int = 0
    weekday: int = 0


NEVER = Opening(None)


def next_opening(schedules: Iterable[tuple[Window, ...]], local: datetime) -> Opening | None:
    """None while every schedule is open at ``local`` (the shop's time); else the next moment
    all of them are: always the start of one of their windows."""
    schedules = [s for s in schedules if s]
    weekday, minute = local.weekday(), local.hour * 60 + local.minute
    if all(is_open(s, weekday, minute) for s in schedules):
        return None
    starts = sorted({(day, w.start) for s in schedules for w in s for day in range(8)
                     if w.starts_on((weekday + day) % 7)
                     and (day, w.start) > (0, minute)})
    for day, start in starts:
        if all(is_open(s, (weekday + day) % 7, start) for s in schedules):
            return Opening(day, start, (weekday + day) % 7)
    return NEVER


def local_now() -> datetime:
    """The shop's local time now (tests move the clock by replacing ``utcnow`` here)."""
    return shop_time(utcnow())


def label(opening: Opening, today: date | None = None) -> str:
    """What a closed item says instead of its Add button: "from 6:00", "from tomorrow 6:00",
    "from Monday 6:00", in the request's language."""
    if opening.days is None:
        return _("Not available now")
    if opening.days == 0:
        return _("from %(time)s", time=clock(opening.minute))
    if opening.days == 1:
        return _("from tomorrow %(time)s", time=clock(opening.minute))
    day = (today or local_now().date()) + timedelta(days=opening.days)
    return _("from %(day)s %(time)s", day=format_date(day, "EEEE"), time=clock(opening.minute))


@dataclass(frozen=True)
class Slice:
    """What is closed at one moment: product and category ids with their openings. ``key`` is
    equal for equal slices (the cache keys of the guest menu hold it); ``stamp`` is a short
    form of it for the open menus' poll."""

    products: Mapping[int, Opening] = field(default_factory=dict)
    categories: Mapping[int, Opening] = field(default_factory=dict)
    today: date | None = None

    @property
    def key(self) -> tuple:
        if not self.products and not self.categories:
            return ()
        return (tuple(sorted(self.products.items(), key=lambda kv: kv[0])),
                tuple(sorted(self.categories.items(), key=lambda kv: kv[0])), self.today)

    def stamp(self, menu_version: int) -> str:
        key = self.key
        if not key:
            return str(menu_version)
        return f"{menu_version}-{zlib.crc32(repr(key).encode()):08x}"

    def product_label(self, product_id: int) -> str | None:
        opening = self.products.get(product_id)
        return None if opening is None else label(opening, self.today)

    def category_label(self, category_id: int) -> str | None:
        opening = self.categories.get(category_id)
        return None if opening is None else label(opening, self.today)


OPEN = Slice()


@dataclass(frozen=True)
class MenuHours:
    """A shop's hours as the menu needs them: the categories with hours, and every live
    product that has hours or is in a category with hours (its category id, its windows)."""

    categories: Mapping[int, tuple[Window, ...]]
    products: Mapping[int, tuple[int | None, tuple[Window, ...]]]

    def product_opening(self, product_id: int, local: datetime) -> Opening | None:
        """None while the product can be ordered (as far as hours go)."""
        entry = self.products.get(product_id)
        if entry is None:
            return None
        category_id, windows = entry
        return next_opening((self.categories.get(category_id, ()), windows), local)

    def at(self, local: datetime) -> Slice:
        if not self.products and not self.categories:
            return OPEN
        products = {pid: opening for pid in self.products
                    if (opening := self.product_opening(pid, local)) is not None}
        categories = {cid: opening for cid, windows in self.categories.items()
                      if (opening := next_opening((windows,), local)) is not None}
        return Slice(products, categories, local.date())


def load_hours(db: Session, shop_id: int) -> MenuHours:
    """One query: live products with hours of their own or of their category."""
    rows = db.execute(
        select(Product.id, Product.category_id, Product.schedule, Category.schedule)
        .outerjoin(Category, and_(Category.id == Product.category_id,
                                  Category.shop_id == shop_id))
        .where(Product.shop_id == shop_id, Product.is_deleted.is_(False),
               or_(Product.schedule.is_not(None), Category.schedule.is_not(None)))).all()
    categories: dict[int, tuple[Window, ...]] = {}
    products: dict[int, tuple[int | None, tuple[Window, ...]]] = {}
    for product_id, category_id, own, of_category in rows:
        if category_id is not None and of_category:
            windows = parse(of_category)
            if windows:
                categories[category_id] = windows
        products[product_id] = (category_id, parse(own))
    return MenuHours(categories, products)


def _cache() -> MenuCache:
    return app_cache(current_app, "shopqr_hours", 1024)


def hours(db: Session, shop_id: int, menu_version: int | None = None) -> MenuHours:
    """The shop's hours; with the ``menu_version`` read in this request, from the app's cache
    (every edit of hours bumps the version, so a cached copy is never stale)."""
    if menu_version is None or not has_app_context():
        return load_hours(db, shop_id)
    return _cache().get(("hours", shop_id, menu_version), lambda: load_hours(db, shop_id))


def closed_now(db: Session, shop_id: int, menu_version: int | None = None,
               local: datetime | None = None) -> Slice:
    """What is closed in the shop right now (a shop without hours: nothing, at once)."""
    menu_hours = hours(db, shop_id, menu_version)
    if not menu_hours.products:
        return OPEN
    return menu_hours.at(local or local_now())


def check_lines(db: Session, shop_id: int, products: Iterable[Product], *,
                local: datetime | None = None) -> None:
    """At checkout: refuse (409) when an item of the cart or ticket left its hours since it
    was added, naming it (the cart stays as it is). Read fresh, not from the cache."""
    menu_hours = load_hours(db, shop_id)
    if not menu_hours.products:
        return
    moment = local or local_now()
    for product in products:
        opening = menu_hours.product_opening(product.id, moment)
        if opening is not None:
            raise DomainError(not_served(product, opening), 409)


def not_served(product: Product, opening: Opening) -> str:
    return _l("%(name)s is not served now (%(when)s). Remove it to go on, or order it later.",
              name=localized(product, "name"), when=label(opening))


def not_served_to_add(product: Product, opening: Opening) -> str:
    return _l("Sorry, %(name)s is not served now (%(when)s).",
              name=localized(product, "name"), when=label(opening))


def check_addable(db: Session, product: Product, *, menu_version: int | None = None,
                  local: datetime | None = None) -> None:
    """Refuse (409) adding a product outside its hours: "Sorry, Omelette is not served now
    (from 6:00)."""
    opening = hours(db, product.shop_id, menu_version).product_opening(
        product.id, local or local_now())
    if opening is not None:
        raise DomainError(not_served_to_add(product, opening), 409)


# --- the owner's form: up to MAX_WINDOWS rows of from, to and weekday boxes ---

DAY_NAMES = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


def _typed_time(raw: object) -> int | None:
    match = _TYPED.match(str(raw or "").strip())
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        return None
    return hour * 60 + minute


def read_form(form: Mapping[str, object]) -> tuple[Window, ...]:
    """The windows of the owner's hours form: rows ``w<i>-from``, ``w<i>-to`` and the ticked
    ``w<i>-day`` boxes (0 Monday .. 6 Sunday). A row with both times empty is unused; every
    problem of every row is reported at once (DomainError 422)."""
    getlist = getattr(form, "getlist", None)
    get = form.get
    errors: list[str] = []
    windows: list[Window] = []
    for i in range(MAX_WINDOWS):
        start_raw, end_raw = get(f"w{i}-from") or "", get(f"w{i}-to") or ""
        raw_days = getlist(f"w{i}-day") if getlist else get(f"w{i}-day") or []
        if isinstance(raw_days, str):
            raw_days = [raw_days]
        if not str(start_raw).strip() and not str(end_raw).strip():
            continue
        row = i + 1
        start, end = _typed_time(start_raw), _typed_time(end_raw)
        if start is None:
            errors.append(_("Hours %(row)s: type the start as hours:minutes, e.g. 06:00.",
                            row=row))
        if end is None:
            errors.append(_("Hours %(row)s: type the end as hours:minutes, e.g. 11:00.",
                            row=row))
        if start is not None and start == end:
            errors.append(_("Hours %(row)s: the start and the end must differ.", row=row))
        days = 0
        for value in raw_days:
            text = str(value).strip()
            if len(text) != 1 or text not in "0123456":
                errors.append(_("Hours %(row)s: that day is not a day of the week.", row=row))
                break
            days |= 1 << int(text)
        if not days:
            errors.append(_("Hours %(row)s: tick at least one day.", row=row))
        if start is not None and end is not None and start != end and days:
            windows.append(Window(start, end, days))
    if errors:
        raise DomainError(" ".join(errors), 422)
    return tuple(windows)


def describe(windows: tuple[Window, ...]) -> str:
    """The owner's summary: "6:00–11:00 Mon Tue Wed Thu Fri"; empty: always available."""
    if not windows:
        return _("Always available")
    parts = []
    for w in windows:
        days = "" if w.days == ALL_DAYS else " " + " ".join(
            str(DAY_NAMES[i]) for i in range(7) if w.starts_on(i))
        parts.append(w.text() + days)
    return ", ".join(parts)
