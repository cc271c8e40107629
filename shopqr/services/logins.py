"""Sign-ins kept on the server. The signed cookie holds only a login session's id; a session
counts while its row is open. Signing out ends that one; a PIN reset, a PIN lock or a removal
ends every session of the person, and open staff websockets hear it and close."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shopqr.models import AdminUser, LoginSession, User
from shopqr.services.events import Event, EventBus, publish_after_commit

KINDS = ("staff", "owner", "admin")
# Open staff websockets of the person named in this event check again whether they may stay.
ACCESS_CHANGED = "staff.access_changed"


def start(db: Session, kind: str, *, user: User | None = None,
          admin: AdminUser | None = None) -> str:
    """A new login session; its id goes into the signed cookie."""
    assert kind in KINDS and (user is None) != (admin is None)
    sid = secrets.token_urlsafe(32)
    db.add(LoginSession(id=sid, kind=kind, shop_id=user.shop_id if user else None,
                        user_id=user.id if user else None, admin_id=admin.id if admin else None))
    return sid


def live_user(db: Session, sid: object, kind: str, shop_id: int) -> User | None:
    """The active staff member of this shop whose open ``kind`` session this is, or None."""
    if not isinstance(sid, str):
        return None
    return db.scalar(
        select(User).join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.id == sid, LoginSession.kind == kind,
               LoginSession.ended_at.is_(None), User.shop_id == shop_id,
               User.is_active.is_(True))
    )


def live_admin(db: Session, sid: object) -> AdminUser | None:
    if not isinstance(sid, str):
        return None
    return db.scalar(
        select(AdminUser).join(LoginSession, LoginSession.admin_id == AdminUser.id)
        .where(LoginSession.id == sid, LoginSession.kind == "admin",
               LoginSession.ended_at.is_(None))
    )


def is_open(db: Session, sid: str) -> bool:
    return db.scalar(select(LoginSession.id).where(LoginSession.id == sid,
                                                   LoginSession.ended_at.is_(None))) is not None


def end(db: Session, sid: object, *, reason: str, now: datetime) -> None:
    """End one session (signing out). Unknown or already ended ids change nothing."""
    if isinstance(sid, str):
        db.execute(update(LoginSession).where(LoginSession.id == sid,
                                              LoginSession.ended_at.is_(None))
                   .values(ended_at=now, end_reason=reason[:40])
                   .execution_options(synchronize_session=False))


def end_all(db: Session, bus: EventBus | None, user: User, *, reason: str, now: datetime,
            kinds: tuple[str, ...] = ("staff", "owner")) -> int:
    """End every open session of a staff member, of the given kinds; their open websockets are
    told after the commit. Returns how many ended."""
    ended = db.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.kind.in_(kinds),
               LoginSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason[:40])
        .execution_options(synchronize_session=False)
    ).rowcount
    if bus is not None:
        access_changed(db, bus, user)
    return ended


def access_changed(db: Session, bus: EventBus, user: User) -> None:
    """After the commit, tell the person's open websockets to check their access again."""
    publish_after_commit(db, bus, Event(user.shop_id, ACCESS_CHANGED, {"user_id": user.id}))
