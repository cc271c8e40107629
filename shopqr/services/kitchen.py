"""The kitchen's queue: paid orders move queued -> preparing -> ready -> served."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from shopqr.models import Order, OrderLine, Shop, User
from shopqr.services import DomainError, get_for_shop, tables
from shopqr.services.audit import audit
from shopqr.services.events import Event, EventBus, publish_after_commit

FLOW = ("queued", "preparing", "ready", "served")
STAMP = {"preparing": "preparing_at", "ready": "ready_at", "served": "served_at"}
RECENT_SERVED = 8


@dataclass
class Board:
    columns: dict[str, list[Order]] = field(default_factory=dict)


def board(db: Session, shop: Shop) -> Board:
    """Every paid order the kitchen still has to make, plus the last few served."""
    options = (selectinload(Order.lines),)
    active = db.scalars(
        select(Order)
        .where(Order.shop_id == shop.id, Order.payment_status == "paid",
               Order.kitchen_status.in_(FLOW[:3]))
        .order_by(Order.paid_at, Order.id)
        .options(*options)
    ).all()
    served = db.scalars(
        select(Order)
        .where(Order.shop_id == shop.id, Order.payment_status == "paid",
               Order.kitchen_status == "served")
        .order_by(Order.served_at.desc(), Order.id.desc())
        .limit(RECENT_SERVED)
        .options(*options)
    ).all()
    result = Board({status: [] for status in FLOW})
    for order in active:
        result.columns[order.kitchen_status or "queued"].append(order)
    result.columns["served"] = list(served)
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
                                        {"order_id": order.id, "status": to}))
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


def toggle_line(db: Session, bus: EventBus, shop: Shop, line_id: object) -> OrderLine:
    line = get_for_shop(db, OrderLine, shop, line_id, Order.payment_status == "paid",
                        via=(Order,), message=_l("Line not found."))
    line.done = not line.done
    publish_after_commit(db, bus, Event(shop.id, "order.status",
                                        {"order_id": line.order_id, "status": "line"}))
    return line
