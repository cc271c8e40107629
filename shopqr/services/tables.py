"""Tables and their sessions: one active session per table, joined by every phone that scans;
and takeaway sessions, one per phone that scans the counter's QR code (docs/takeaway.md)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from shopqr.models import Order, Shop, ShopTable, TableSession, utcnow
from shopqr.models.tenancy import new_qr_token
from shopqr.services import get_for_shop


def new_token() -> str:
    """256 bits, URL-safe."""
    return new_qr_token()


TABLE_NOT_FOUND = _l("Table not found.")


def load_table(db: Session, shop: Shop, table_id: object, *, removed: bool = False) -> ShopTable:
    """A table of this shop, else 404; a removed one only with ``removed``."""
    where = () if removed else (ShopTable.is_active.is_(True),)
    return get_for_shop(db, ShopTable, shop, table_id, *where, message=TABLE_NOT_FOUND)


def active_session(db: Session, table: ShopTable) -> TableSession | None:
    return db.scalar(select(TableSession).where(TableSession.active_table_id == table.id))


def join_or_start(db: Session, table: ShopTable) -> TableSession:
    """The table's active session, started if there is none. Safe when two phones race."""
    current = active_session(db, table)
    if current is not None:
        return current
    fresh = TableSession(
        shop_id=table.shop_id, table_id=table.id, active_table_id=table.id, token=new_token()
    )
    try:
        with db.begin_nested():
            db.add(fresh)
    except IntegrityError:  # another phone started it a moment ago
        current = active_session(db, table)
        if current is None:
            raise
        return current
    return fresh


def start_takeaway(db: Session, shop_id: int) -> TableSession:
    """A takeaway phone's own session (its private cart): no table, and active with minus its
    own id as ``active_table_id`` (see ``TableSession``), so it never clashes with a table's
    session or another phone's. The caller commits."""
    fresh = TableSession(shop_id=shop_id, table_id=None, token=new_token())
    db.add(fresh)
    db.flush()  # its id
    fresh.active_table_id = -fresh.id
    db.flush()
    return fresh


def session_by_token(db: Session, shop: Shop, token: str | None) -> TableSession | None:
    if not token:
        return None
    return db.scalar(
        select(TableSession)
        .where(TableSession.token == token, TableSession.shop_id == shop.id)
        .options(joinedload(TableSession.table))
    )


def end_session(db: Session, session: TableSession, reason: str) -> bool:
    """End a session (the next scan starts an empty one); its open service requests end with
    it. False if it had already ended."""
    from shopqr.services import service_requests

    now = utcnow()
    result = db.execute(
        update(TableSession)
        .where(TableSession.id == session.id, TableSession.active_table_id.is_not(None))
        .values(active_table_id=None, closed_at=now, closed_reason=reason, service_calls=0)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:
        return False
    service_requests.close_for_session(db, session.id, now)
    return True


def maybe_finish_session(db: Session, session_id: int | None) -> bool:
    """End a session whose orders are all paid and served and whose cart is empty."""
    if session_id is None:
        return False
    session = db.get(TableSession, session_id)
    if session is None or not session.is_active or session.cart_items:
        return False
    open_orders = db.scalar(
        select(func.count(Order.id)).where(
            Order.session_id == session.id,
            ~((Order.payment_status == "paid") & (Order.kitchen_status == "served")),
            Order.payment_status != "cancelled",
        )
    )
    any_orders = db.scalar(select(func.count(Order.id)).where(Order.session_id == session.id))
    if open_orders or not any_orders:
        return False
    return end_session(db, session, "finished")
