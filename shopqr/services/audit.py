"""The audit log: who did what in a shop (staff actions, settings changes, payments)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shopqr.models import AuditLog, Shop, User


def audit(db: Session, shop: Shop, user: User | None, action: str, subject: str | None = None,
          detail: str | None = None) -> None:
    """Add an entry for ``shop`` (the caller commits): ``user`` did ``action`` to
    ``subject``; ``user`` None for the system or the platform admin.

    The changes made so far are written first: an action that changes the shop's own row
    (a setting) then takes that row's lock before the entry's foreign key locks it for sharing.
    Two such actions at once on MariaDB otherwise each hold the shared lock and wait for the
    other's (a deadlock)."""
    db.flush()
    db.add(AuditLog(shop_id=shop.id, user_id=user.id if user else None, action=action,
                    subject=subject, detail=detail))
