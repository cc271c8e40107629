"""The kitchen's queue: paid orders move queued -> preparing -> ready -> served."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from shopqr.cache import app_cache
from shopqr.models import Category, Order, OrderLine, Product, Shop, Station, User
from shopqr.services import DomainError, get_for_shop, tables
from shopqr.services.audit import audit
from shopqr.services.events import Event, EventBus, publish_after_commit

FLOW = ("queued", "preparing", "ready", "served")
STAMP = {"preparing": "preparing_at", "ready": "ready_at", "served": "served_at"}
RECENT_SERVED = 8
LABELS = {"queued": _l("Queued"), "preparing": _l("Preparing"), "ready": _l("Ready"),
          "served": _l("Served")}


@dataclass
class Board:
    """What one kitchen screen shows: the whole kitchen (``station`` None) or one station.

    ``rail``: the open orders (queued, preparing, ready), oldest payment first, each with its
    status on the card; on a station's screen only orders with a line for that station.
    ``lines``: the lines each order shows here (a station sees its own lines and the lines of
    categories no station makes). ``served``: the recall list, last served first.
    ``all_day``: how many of each item are still to make (lines not ticked, orders queued or
    preparing), most first."""

    station: Station | None = None
    stations: list[StationRef] = field(default_factory=list)
    rail: list[Order] = field(default_factory=list)
    rail_ids: list[int] = field(default_factory=list)
    served: list[Order] = field(default_factory=list)
    lines: dict[int, list[OrderLine]] = field(default_factory=dict)
    line_station: dict[int, int | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    all_day: list[tuple[str, int]] = field(default_factory=list)
    warn_minutes: int = 5
    late_minutes: int = 10

    def part_done(self, order: Order) -> bool:
        """Whether every line this screen shows of ``order`` is ticked."""
        return all(line.done for line in self.lines.get(order.id, ()))

    def waiting_for(self, order: Order) -> list[str]:
        """The stations (by name) that still have an unticked line of ``order``."""
        names = {s.id: s.name for s in self.stations}
        return sorted({names[sid] for line in order.lines if not line.done
                       and (sid := self.line_station.get(line.id)) in names})


def order_label(order: Order) -> str:
    """What a card and the new-order banner call an order: "Table 5", "Counter #12"."""
    if order.source == "pos":
        return str(_l("Counter #%(seq)s", seq=order.seq))
    if order.source == "takeaway":  # issue 13's takeaway orders, when they come
        return str(_l("Takeaway #%(seq)s", seq=order.seq))
    name = order.table_name or ""
    if name.isdigit():
        return str(_l("Table %(name)s", name=name))
    return name or str(_l("Counter #%(seq)s", seq=order.seq))


def list_stations(db: Session, shop: Shop) -> list[Station]:
    return list(db.scalars(select(Station).where(Station.shop_id == shop.id)
                           .order_by(Station.sort_order, Station.id)))


def load_station(db: Session, shop: Shop, raw_id: object) -> Station | None:
    """The screen's station from a query parameter: None (or "all") for the whole kitchen;
    another shop's or an unknown id is a 404."""
    if raw_id in (None, "", "all"):
        return None
    return get_for_shop(db, Station, shop, raw_id, message=_l("Station not found."))


@dataclass(frozen=True)
class StationRef:
    """A station as the board shows it (plain values: kept in a cache between requests)."""

    id: int
    name: str


@dataclass(frozen=True)
class Layout:
    """The shop's stations and which one makes each product (None: no station)."""

    stations: tuple[StationRef, ...]
    by_product: dict[int, int | None]

    def station_of(self, product_id: int | None) -> int | None:
        """The station that makes the product; None: none of the shop's stations."""
        sid = self.by_product.get(product_id) if product_id else None
        return sid if any(s.id == sid for s in self.stations) else None


def load_layout(db: Session, shop_id: int) -> Layout:
    stations = tuple(StationRef(s.id, s.name) for s in db.execute(
        select(Station.id, Station.name).where(Station.shop_id == shop_id)
        .order_by(Station.sort_order, Station.id)))
    by_product = dict(db.execute(
        select(Product.id, Category.station_id)
        .join(Category, Product.category_id == Category.id)
        .where(Product.shop_id == shop_id)).all())
    return Layout(stations, by_product)


def layout(db: Session, shop: Shop) -> Layout:
    """The shop's kitchen layout, from the app's cache under the shop's ``menu_version``:
    every change of stations or of a category's station bumps it (below), as every menu
    change does (services/menu_admin.py), so an entry is never stale. Every bump of a card
    used to read all the shop's products and stations for it (bench/rush.py)."""
    if not has_app_context():
        return load_layout(db, shop.id)
    cache = app_cache(current_app, "shopqr_kitchen", 256)
    return cache.get(("layout", shop.id, shop.menu_version), lambda: load_layout(db, shop.id))


def board(db: Session, shop: Shop, station: Station | None = None, *,
          only: int | None = None, with_served: bool = True) -> Board:
    """Every paid order the kitchen still has to make, plus the last few served.

    The counters, the all-day counts and the rail's order come from one light query of the
    open lines. With ``only`` (a per-card update), just that order is loaded for its card,
    ``rail`` holds it alone (if it is open here) and ``rail_ids`` gives its place; without
    ``with_served`` the recall list is not read."""
    shop_layout = layout(db, shop)
    station_of = shop_layout.station_of
    result = Board(station=station, stations=list(shop_layout.stations),
                   counts={status: 0 for status in FLOW[:3]},
                   warn_minutes=shop.kitchen_warn_minutes or 5,
                   late_minutes=shop.kitchen_late_minutes or 10)

    def shown_here(sid: int | None) -> bool:
        return station is None or sid is None or sid == station.id

    rows = db.execute(
        select(Order.id, Order.kitchen_status, OrderLine.product_id, OrderLine.product_name,
               OrderLine.quantity, OrderLine.done)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.shop_id == shop.id, Order.payment_status == "paid",
               Order.kitchen_status.in_(FLOW[:3]))
        .order_by(Order.paid_at, Order.id, OrderLine.id)
    ).all()
    all_day: dict[str, int] = {}
    for order_id, status, product_id, name, quantity, done in rows:
        if not shown_here(station_of(product_id)):
            continue
        if not result.rail_ids or result.rail_ids[-1] != order_id:
            result.rail_ids.append(order_id)
            result.counts[status or "queued"] += 1
        if status in ("queued", "preparing") and not done:
            all_day[name] = all_day.get(name, 0) + quantity
    result.all_day = sorted(all_day.items(), key=lambda item: (-item[1], item[0]))

    wanted = result.rail_ids if only is None else [i for i in result.rail_ids if i == only]
    options = (selectinload(Order.lines).selectinload(OrderLine.phone),)  # names on the card
    if only is None:
        loaded = {o.id: o for o in db.scalars(
            select(Order).where(Order.id.in_(wanted)).options(*options))} if wanted else {}
    else:  # one card: the order, its lines and their phones in one statement
        loaded = {o.id: o for o in db.scalars(
            select(Order).where(Order.id.in_(wanted))
            .options(joinedload(Order.lines).joinedload(OrderLine.phone))).unique()
        } if wanted else {}
    served = db.scalars(
        select(Order)
        .where(Order.shop_id == shop.id, Order.payment_status == "paid",
               Order.kitchen_status == "served")
        .order_by(Order.served_at.desc(), Order.id.desc())
        .limit(RECENT_SERVED)
        .options(*options)
    ).all() if with_served else []
    for order in [*(loaded[i] for i in wanted if i in loaded), *served]:
        shown = []
        for line in order.lines:
            sid = station_of(line.product_id)
            result.line_station[line.id] = sid
            if shown_here(sid):
                shown.append(line)
        if not shown:
            continue
        result.lines[order.id] = shown
        if order.kitchen_status == "served":
            result.served.append(order)
        else:
            result.rail.append(order)
    return result


def load_kitchen_order(db: Session, shop: Shop, order_id: object) -> Order:
    """A paid order of this shop that is in the kitchen's flow, else 404."""
    return get_for_shop(db, Order, shop, order_id, Order.payment_status == "paid",
                        Order.kitchen_status.is_not(None), message=_l("Order not found."))


def move(db: Session, bus: EventBus, shop: Shop, order_id: object, *, to: str, by: User,
         now: datetime, expect: str | None = None) -> Order:
    """Move an order to another kitchen status. ``expect`` guards against two screens
    tapping the same card: the move only happens from the status the screen showed."""
    if to not in FLOW:
        raise DomainError(_l("Unknown kitchen status."), 400)
    order = load_kitchen_order(db, shop, order_id)
    return _move(db, bus, shop, order, to=to, by=by, now=now,
                 source=expect or order.kitchen_status)


def _move(db: Session, bus: EventBus, shop: Shop, order: Order, *, to: str, by: User,
          now: datetime, source: str | None) -> Order:
    """Move a loaded order from ``source`` to ``to``, if no one moved it first."""
    values: dict[str, object] = {"kitchen_status": to}
    if to in STAMP:
        values[STAMP[to]] = now
    moved = db.execute(
        update(Order)
        .where(Order.id == order.id, Order.kitchen_status == source)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if moved.rowcount != 1:
        raise DomainError(_l("Someone else already moved this order."), 409)
    audit(db, shop, by, "kitchen.move", f"order {order.number}", f"{source} -> {to}")
    publish_after_commit(db, bus, Event(shop.id, "order.status",
                                        {"order_id": order.id, "status": to, "from": source}))
    if to == "served" and tables.maybe_finish_session(db, order.session_id):
        publish_after_commit(db, bus, Event(shop.id, "table.changed",
                                            {"table_id": order.table_id}))
    return order


def advance(db: Session, bus: EventBus, shop: Shop, order_id: object, *, by: User,
            now: datetime, expect: str | None = None) -> Order:
    order = load_kitchen_order(db, shop, order_id)
    current = expect or order.kitchen_status or "queued"
    if current not in FLOW or current == "served":
        raise DomainError(_l("This order has already been served."), 409)
    return _move(db, bus, shop, order, to=FLOW[FLOW.index(current) + 1], by=by, now=now,
                 source=current)


def step_back(db: Session, bus: EventBus, shop: Shop, order_id: object, *, by: User,
              now: datetime, expect: str | None = None) -> Order:
    """Undo: move an order one step back (recall a served order to Ready)."""
    order = load_kitchen_order(db, shop, order_id)
    current = expect or order.kitchen_status or "queued"
    if current not in FLOW or current == "queued":
        raise DomainError(_l("This order is already at the start of the queue."), 409)
    return _move(db, bus, shop, order, to=FLOW[FLOW.index(current) - 1], by=by, now=now,
                 source=current)


def recall_last_served(db: Session, bus: EventBus, shop: Shop, *, by: User,
                       now: datetime) -> Order:
    last = db.scalar(
        select(Order)
        .where(Order.shop_id == shop.id, Order.kitchen_status == "served")
        .order_by(Order.served_at.desc(), Order.id.desc())
        .limit(1)
    )
    if last is None:
        raise DomainError(_l("No served order to recall."), 409)
    return move(db, bus, shop, last.id, to="ready", by=by, now=now, expect="served")


def _check_station(line: OrderLine, line_station: int | None, station: Station | None) -> None:
    if station is not None and line_station is not None and line_station != station.id:
        raise DomainError(_l("This line is made at another station."), 403)


def toggle_line(db: Session, bus: EventBus, shop: Shop, line_id: object, *,
                station: Station | None = None, by: User | None = None,
                now: datetime | None = None) -> OrderLine:
    """Tick (or untick) a line. A station's screen may tick its own lines and lines no
    station makes. When the last line of an order is ticked, the order is ready: every
    station has finished its part."""
    line = get_for_shop(db, OrderLine, shop, line_id, Order.payment_status == "paid",
                        via=(Order,), message=_l("Line not found."))
    line_station = layout(db, shop).by_product.get(line.product_id) if line.product_id else None
    _check_station(line, line_station, station)
    order, lines = _lock_order(db, line.order_id)
    if order.kitchen_status not in ("queued", "preparing"):
        raise DomainError(_l("This order is no longer being made."), 409)
    line = next(candidate for candidate in lines if candidate.id == line.id)
    line.done = not line.done
    db.flush()
    publish_after_commit(db, bus, Event(shop.id, "order.status",
                                        {"order_id": line.order_id, "status": "line"}))
    _ready_when_all_done(db, bus, shop, order, lines, by=by, now=now)
    return line


def _lock_order(db: Session, order_id: int) -> tuple[Order, list[OrderLine]]:
    """The order and its lines, read as committed now and locked until the commit: two
    stations ticking their last lines at once take turns, so the second sees the first's
    ticks and moves the order to ready (exactly once)."""
    order = db.scalars(select(Order).where(Order.id == order_id).with_for_update()
                       .execution_options(populate_existing=True)).one()
    lines = list(db.scalars(select(OrderLine).where(OrderLine.order_id == order_id)
                            .order_by(OrderLine.id).with_for_update()
                            .execution_options(populate_existing=True)))
    return order, lines


def finish_station(db: Session, bus: EventBus, shop: Shop, order_id: object, *,
                   station: Station, by: User, now: datetime) -> Order:
    """A station's "Done": tick every line of the order that the station's screen shows."""
    order, lines = _lock_order(db, load_kitchen_order(db, shop, order_id).id)
    if order.kitchen_status not in ("queued", "preparing"):
        raise DomainError(_l("This order is no longer being made."), 409)
    station_of = layout(db, shop).station_of
    for line in lines:
        sid = station_of(line.product_id)
        if sid is None or sid == station.id:
            line.done = True
    db.flush()
    publish_after_commit(db, bus, Event(shop.id, "order.status",
                                        {"order_id": order.id, "status": "line"}))
    _ready_when_all_done(db, bus, shop, order, lines, by=by, now=now)
    return order


def _ready_when_all_done(db: Session, bus: EventBus, shop: Shop, order: Order,
                         lines: list[OrderLine], *, by: User | None,
                         now: datetime | None) -> None:
    if lines and all(line.done for line in lines) \
            and order.kitchen_status in ("queued", "preparing"):
        from shopqr.models import utcnow

        _move(db, bus, shop, order, to="ready", by=by, now=now or utcnow(),
              source=order.kitchen_status)


# The owner's kitchen settings: stations, which station makes each category, late thresholds.

def add_station(db: Session, shop: Shop, name: str | None) -> Station:
    clean = (name or "").strip()
    if not clean or len(clean) > 40:
        raise DomainError(_l("Give the station a name of up to 40 characters."), 400)
    stations = list_stations(db, shop)
    if any(s.name.lower() == clean.lower() for s in stations):
        raise DomainError(_l("There is already a station with this name."), 400)
    station = Station(shop_id=shop.id, name=clean, sort_order=len(stations) + 1)
    db.add(station)
    db.flush()
    _layout_changed(db, shop)
    return station


def remove_station(db: Session, shop: Shop, station_id: object) -> None:
    """Its categories go back to every station."""
    station = get_for_shop(db, Station, shop, station_id, message=_l("Station not found."))
    db.execute(update(Category).where(Category.shop_id == shop.id,
                                      Category.station_id == station.id)
               .values(station_id=None).execution_options(synchronize_session="fetch"))
    db.delete(station)
    _layout_changed(db, shop)


def assign_category(db: Session, shop: Shop, category_id: object, station_id: object) -> None:
    from shopqr.services.menu_admin import load_category

    category = load_category(db, shop, category_id)
    station = load_station(db, shop, station_id)
    category.station_id = station.id if station else None
    _layout_changed(db, shop)


def _layout_changed(db: Session, shop: Shop) -> None:
    """Stations are part of the menu's version: the kitchen's cached layout follows it."""
    from shopqr.services.menu_admin import bump

    bump(db, shop)


def set_thresholds(db: Session, shop: Shop, warn: object, late: object) -> None:
    """Minutes after payment when a card turns yellow (warn) and red (late)."""
    try:
        warn_minutes, late_minutes = int(str(warn)), int(str(late))
    except ValueError:
        raise DomainError(_l("Enter the minutes as whole numbers."), 400) from None
    if not (1 <= warn_minutes < late_minutes <= 240):
        raise DomainError(_l("Yellow must come before red, both between 1 and 240 minutes."),
                          400)
    shop.kitchen_warn_minutes, shop.kitchen_late_minutes = warn_minutes, late_minutes
