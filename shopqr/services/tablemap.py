"""The POS table map (docs/tablemap.md): each table's time since the group's first order, the
amount still open and what needs a person; and the table sheet's actions: move the group to
another table, close the table.

The group at a table is its active ``TableSession``. Moving it changes that one row's
``active_table_id`` (unique: one active session per table), guarded by the table it was at, so
a group is never on two tables and two groups never share one, however many cashiers tap at
once. The caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from shopqr.models import CartItem, Order, ServiceRequest, Shop, ShopTable, TableSession, User
from shopqr.services import DomainError, attention, pos, tables
from shopqr.services.audit import audit
from shopqr.services.events import Event, EventBus, publish_after_commit
from shopqr.services.money import format_money

OPEN_STATUSES = ("pending", "mismatch")  # ordered, not paid: the money still open
MOVED = "table.moved"


@dataclass
class TableSummary:
    """One tile of the map: the table's state (``pos.TableState``) and what the tile adds."""

    state: pos.TableState
    since: datetime | None  # the group's first order (None: no order yet)
    open_amount: Decimal  # orders not paid yet (pending, or a payment to check), shop currency
    open_orders: int
    awaiting_cash: int  # cash orders waiting for the cashier
    due_payments: int  # KHQR payments that need a person (refund due, wrong amount)

    @property
    def table(self) -> ShopTable:
        return self.state.table

    @property
    def attention(self) -> int:
        """The needs-attention badge: open guest requests, payments to check, cash to take."""
        return len(self.state.requests) + self.due_payments + self.awaiting_cash


def summarize(state: pos.TableState, due: set[int]) -> TableSummary:
    orders = state.orders
    open_orders = [o for o in orders if o.payment_status in OPEN_STATUSES]
    return TableSummary(
        state=state,
        since=min((o.created_at for o in orders), default=None),
        open_amount=sum((o.total for o in open_orders), start=Decimal("0")),
        open_orders=len(open_orders),
        awaiting_cash=sum(1 for o in open_orders
                          if o.payment_status == "pending" and o.payment_method == "cash"),
        due_payments=sum(1 for o in orders if o.id in due or o.payment_status == "mismatch"),
    )


def table_map(db: Session, shop: Shop) -> list[TableSummary]:
    """Every active table of the shop with its tile's figures, in the map's order."""
    due = attention.due_order_ids(db, shop)
    return [summarize(state, due) for state in pos.table_states(db, shop)]


def table_summary(db: Session, shop: Shop, table_id: object) -> TableSummary:
    """One table of this shop (404 for another shop's) with its orders and their lines."""
    table = tables.load_table(db, shop, table_id)
    for summary in table_map(db, shop):
        if summary.table.id == table.id:
            ids = [o.id for o in summary.state.orders]
            if ids:  # the sheet lists the lines: load them in one statement
                db.scalars(select(Order).where(Order.id.in_(ids))
                           .options(selectinload(Order.lines))).all()
            return summary
    raise DomainError(tables.TABLE_NOT_FOUND, 404)  # pragma: no cover - load_table found it


def free_tables(db: Session, shop: Shop) -> list[ShopTable]:
    """Active tables with no group: where a group can move."""
    busy = select(TableSession.active_table_id).where(
        TableSession.shop_id == shop.id, TableSession.active_table_id.is_not(None))
    return list(db.scalars(
        select(ShopTable).where(ShopTable.shop_id == shop.id, ShopTable.is_active.is_(True),
                                ShopTable.id.not_in(busy))
        .order_by(ShopTable.sort_order, ShopTable.id)))


def _busy(target: ShopTable) -> DomainError:
    return DomainError(_l("%(table)s is not free: another group sits there.",
                          table=target.name), 409)


def _changed_meanwhile(table: ShopTable) -> DomainError:
    return DomainError(_l("%(table)s changed a moment ago: look at the map again.",
                          table=table.name), 409)


def move_group(db: Session, bus: EventBus, shop: Shop, from_table_id: object,
               to_table_id: object, *, by: User) -> tuple[ShopTable, ShopTable]:
    """Move the group at one table (its session: cart, orders, open calls) to a free table.
    404 for a table of another shop, 409 when the group has left or the target is busy."""
    source = tables.load_table(db, shop, from_table_id)
    if not to_table_id:
        raise DomainError(_l("Choose the table to move to."))
    target = tables.load_table(db, shop, to_table_id)
    if target.id == source.id:
        raise DomainError(_l("The group is already at %(table)s.", table=source.name))
    group = tables.active_session(db, source)
    if group is None:
        raise DomainError(_l("%(table)s is free: there is no group to move.",
                             table=source.name), 409)
    if tables.active_session(db, target) is not None:
        raise _busy(target)
    # Only while the group is still at the source table; the unique active_table_id refuses
    # a target another group took a moment ago. The first write of the request: a refusal
    # rolls the whole transaction back.
    try:
        moved = db.execute(
            update(TableSession)
            .where(TableSession.id == group.id, TableSession.active_table_id == source.id)
            .values(active_table_id=target.id, table_id=target.id,
                    cart_version=TableSession.cart_version + 1)
            .execution_options(synchronize_session=False))
    except IntegrityError:
        db.rollback()
        raise _busy(target) from None
    except OperationalError as exc:  # MariaDB: a deadlock with a crossing move; none applied
        if not _is_lock_conflict(exc):
            raise
        db.rollback()
        raise _changed_meanwhile(source) from None
    if moved.rowcount != 1:
        db.rollback()
        raise _changed_meanwhile(source)
    # The group's open calls follow it (one open request per table and kind; the target had
    # no group, so none of its own is open).
    db.execute(
        update(ServiceRequest)
        .where(ServiceRequest.session_id == group.id, ServiceRequest.open_table_id.is_not(None))
        .values(open_table_id=target.id, table_id=target.id)
        .execution_options(synchronize_session=False))
    # Orders not finished yet carry the new table (kitchen cards, receipts, the bill).
    db.execute(
        update(Order)
        .where(Order.session_id == group.id, Order.payment_status != "cancelled",
               (Order.payment_status != "paid") | (Order.kitchen_status != "served"))
        .values(table_id=target.id, table_name=target.name)
        .execution_options(synchronize_session=False))
    db.expire_all()
    audit(db, shop, by, "pos.move_table", source.name, f"to {target.name}")
    # No order id: the kitchen redraws its board (the cards' table names), the POS its map.
    publish_after_commit(db, bus, Event(shop.id, "order.status",
                                        {"moved": True, "table_id": target.id}))
    return source, target


def _is_lock_conflict(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "args", (None,))[0]
    return code in (1205, 1213)  # lock wait timeout, deadlock


def close_group(db: Session, bus: EventBus, shop: Shop, table_id: object, *, by: User,
                unpaid_ok: bool) -> ShopTable:
    """End the table's session (the next scan starts an empty one). With orders still unpaid
    it is refused (409, saying how much) unless the cashier confirmed (``unpaid_ok``): those
    orders stay on the "awaiting payment" list."""
    table = tables.load_table(db, shop, table_id, removed=True)
    group = tables.active_session(db, table)
    if group is None:
        raise DomainError(_l("%(table)s is already free.", table=table.name), 409)
    # Take the session's row first: a checkout into it waits, and sees it ended.
    locked = db.execute(
        update(TableSession)
        .where(TableSession.id == group.id, TableSession.active_table_id == table.id)
        .values(cart_version=TableSession.cart_version + 1)
        .execution_options(synchronize_session=False))
    if locked.rowcount != 1:
        raise _changed_meanwhile(table)
    count, amount = db.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.total), 0))
        .where(Order.session_id == group.id, Order.payment_status.in_(OPEN_STATUSES))).one()
    if count and not unpaid_ok:
        raise DomainError(_l("%(table)s still has %(count)s unpaid order(s), %(amount)s. Take "
                             "the payment first, or close anyway.", table=table.name,
                             count=count, amount=format_money(amount, shop.currency)), 409)
    pos.close_table(db, bus, shop, table.id, by=by)
    if count:
        audit(db, shop, by, "pos.close_table_unpaid", table.name,
              f"{count} unpaid, {format_money(amount, shop.currency)}")
    return table


def cart_count(db: Session, session_id: int) -> int:
    return int(db.scalar(select(func.coalesce(func.sum(CartItem.quantity), 0))
                         .where(CartItem.session_id == session_id)) or 0)


def bound_session(db: Session, shop: Shop, session_id: object) -> TableSession:
    """The table group a till ticket is bound to ("Add items" on the table sheet), while it
    still sits at a table; else 409."""
    found = db.scalar(select(TableSession).where(TableSession.id == session_id,
                                                 TableSession.shop_id == shop.id)) \
        if isinstance(session_id, int) else None
    if found is None or not found.is_active or found.table_id is None:
        raise DomainError(_l("That table's group has left. Choose the table again."), 409)
    return found
