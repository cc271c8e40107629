"""A guest calls staff or asks for the bill; the POS shows it until a cashier marks it handled.

One open request per table and kind: the table session's row is updated first (its lock queues
two phones of one table; an ended session refuses), then the request is inserted, and a unique
constraint on (open_table_id, kind) refuses a second open one whatever the timing. The session's
``service_calls`` holds the open kinds as bits, changed in the same transaction, so the guest's
pages read them with the session in the statement they run anyway (services/hotpath.py)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopqr.models import SERVICE_KINDS, ServiceRequest, Shop, TableSession, User
from shopqr.services import DomainError, get_for_shop, sanitize
from shopqr.services.audit import audit
from shopqr.services.events import Event, EventBus, publish_after_commit
from shopqr.services.hotpath import SESSION_ENDED, GuestSession

MAX_NOTE = 120
REQUESTED = "service.requested"
HANDLED = "service.handled"
NOT_FOUND = _l("That request is no longer open.")
ALREADY_OPEN = {
    "staff": _l("You have already called staff: someone is on the way."),
    "bill": _l("You have already asked for the bill: it is on the way."),
}


def parse_kind(raw: object) -> str:
    if not isinstance(raw, str) or raw not in SERVICE_KINDS:
        raise DomainError(_l("Choose whether you need staff or the bill."))
    return raw


def clean_note(raw: str | None) -> str | None:
    note = sanitize(raw)
    if len(note) > MAX_NOTE:
        raise DomainError(_l("A note can be at most %(count)s characters.", count=MAX_NOTE))
    return note or None


def open_kinds(calls: int) -> list[str]:
    """The kinds named by a session's ``service_calls`` bits, in SERVICE_KINDS order."""
    return [kind for kind, bit in SERVICE_KINDS.items() if calls & bit]


def request_service(db: Session, bus: EventBus, session: GuestSession, kind: object,
                    note: str | None, *, now: datetime) -> ServiceRequest:
    """Open a request for the guest's table; 409 if one of this kind is open already, 410 if
    the table's session has ended. The caller commits."""
    wanted = parse_kind(kind)
    text = clean_note(note)
    if session.table_id is None:  # a takeaway phone: the staff are right at the counter
        raise DomainError(_l("You ordered at the counter: please ask the staff there."), 409)
    bit = SERVICE_KINDS[wanted]
    marked = db.execute(
        update(TableSession)
        .where(TableSession.id == session.id, TableSession.active_table_id.is_not(None))
        .values(service_calls=TableSession.service_calls.op("|")(bit))
        .execution_options(synchronize_session=False))
    if marked.rowcount != 1:
        raise DomainError(SESSION_ENDED, 410)
    fresh = ServiceRequest(shop_id=session.shop_id, table_id=session.table_id,
                           session_id=session.id, open_table_id=session.table_id, kind=wanted,
                           note=text, created_at=now)
    try:
        with db.begin_nested():
            db.add(fresh)
    except IntegrityError:  # this table already has an open one of this kind
        raise DomainError(ALREADY_OPEN[wanted], 409) from None
    publish_after_commit(db, bus, Event(session.shop_id, REQUESTED,
                                        {"table_id": session.table_id, "kind": wanted}))
    return fresh


def handle(db: Session, bus: EventBus, shop: Shop, request_id: object, *, by: User,
           now: datetime) -> ServiceRequest:
    """A cashier went to the table: the request is closed. 404 for another shop's request,
    409 if someone handled it a moment ago. The caller commits."""
    found = get_for_shop(db, ServiceRequest, shop, request_id, message=NOT_FOUND)
    done = db.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id == found.id, ServiceRequest.open_table_id.is_not(None))
        .values(open_table_id=None, handled_at=now, handled_by_id=by.id)
        .execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        raise DomainError(_l("Someone has already handled that request."), 409)
    bit = SERVICE_KINDS[found.kind]
    db.execute(
        update(TableSession)
        .where(TableSession.id == found.session_id,
               TableSession.service_calls.op("&")(bit) != 0)
        .values(service_calls=TableSession.service_calls - bit)
        .execution_options(synchronize_session=False))
    audit(db, shop, by, "pos.service_handled", found.table.name, found.kind)
    publish_after_commit(db, bus, Event(shop.id, HANDLED,
                                        {"table_id": found.table_id, "kind": found.kind}))
    return found


def close_for_session(db: Session, session_id: int, now: datetime) -> None:
    """The table's session ended: its open requests end with it (handled by nobody), so the
    next group can call again."""
    db.execute(
        update(ServiceRequest)
        .where(ServiceRequest.session_id == session_id,
               ServiceRequest.open_table_id.is_not(None))
        .values(open_table_id=None, handled_at=now)
        .execution_options(synchronize_session=False))


def open_requests(db: Session, shop: Shop) -> dict[int, list[ServiceRequest]]:
    """The shop's open requests by table id, oldest first (the POS table map)."""
    by_table: dict[int, list[ServiceRequest]] = {}
    for found in db.scalars(
            select(ServiceRequest)
            .where(ServiceRequest.shop_id == shop.id, ServiceRequest.open_table_id.is_not(None))
            .order_by(ServiceRequest.created_at, ServiceRequest.id)):
        by_table.setdefault(found.table_id, []).append(found)
    return by_table
