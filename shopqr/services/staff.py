"""The owner's staff management: add, change a role, reset a PIN, unlock, remove. Every change
is in the audit log; a role change, a PIN reset or a removal reaches the person's open screens
at once (their login sessions end, or are checked again)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopqr.models import Shop, User
from shopqr.models.tenancy import ROLES
from shopqr.services import DomainError, auth, logins, shops
from shopqr.services.audit import audit
from shopqr.services.events import EventBus


def active_staff(db: Session, shop: Shop) -> list[User]:
    """The shop's staff who have not been removed, by role and name (the PIN pad's list)."""
    return list(db.scalars(select(User).where(
        User.shop_id == shop.id, User.is_active.is_(True)).order_by(User.role, User.name)))


def _other_owners(db: Session, shop: Shop, user: User) -> int:
    return sum(1 for u in active_staff(db, shop) if u.role == "owner" and u.id != user.id)


def add(db: Session, shop: Shop, *, name: str, role: str, pin: str, email: str | None,
        password: str | None, by: User) -> User:
    user = shops.add_staff(db, shop, name=name, role=role, pin=pin, email=email,
                           password=password)
    audit(db, shop, by, "settings.staff_added", user.name, user.role)
    return user


def change_role(db: Session, bus: EventBus, shop: Shop, user: User, role: str, *,
                by: User) -> None:
    """A new role; the person's open screens check at once whether they may stay."""
    if role not in ROLES:
        raise DomainError(_l("Role must be owner, cashier or barista."))
    if user.role == "owner" and role != "owner" and not _other_owners(db, shop, user):
        raise DomainError(_l("A shop needs at least one owner."))
    user.role = role
    logins.access_changed(db, bus, user)
    audit(db, shop, by, "settings.staff_role", user.name, role)


def reset_pin(db: Session, bus: EventBus, shop: Shop, user: User, pin: str, *, by: User,
              now: datetime) -> None:
    """A new PIN: the lock is lifted and the person's PIN sessions end."""
    pin = shops.validate_pin(shop, pin)
    if shops.pin_in_use(db, shop, pin, except_user_id=user.id):
        raise DomainError(_l("Another staff member already uses that PIN."))
    user.pin_hash = shops.hash_secret(pin)
    auth.unlock(db, shop, user, by=by)
    logins.end_all(db, bus, user, reason="PIN reset", now=now, kinds=("staff",))
    audit(db, shop, by, "settings.pin_reset", user.name)


def remove(db: Session, bus: EventBus, shop: Shop, user: User, *, by: User,
           now: datetime) -> None:
    """Remove a person: not yourself, not the last owner. Their name and email are freed and
    every login session of theirs ends (PIN and settings)."""
    if user.id == by.id:
        raise DomainError(_l("You cannot remove yourself."))
    if user.role == "owner" and not _other_owners(db, shop, user):
        raise DomainError(_l("A shop needs at least one owner."))
    user.is_active = False
    user.name = shops.removed_name(user.name, user.id, 60)
    user.email = None
    logins.end_all(db, bus, user, reason="removed", now=now)
    audit(db, shop, by, "settings.staff_removed", user.name)


def allow_short_pins(db: Session, shop: Shop, allow: bool, *, by: User) -> None:
    shop.allow_short_pins = allow
    audit(db, shop, by, "settings.short_pins", str(allow))


def allow_refunds(db: Session, shop: Shop, user: User, allow: bool, *, by: User) -> None:
    """Let a cashier refund paid orders, or stop it (owners always may; docs/refunds.md). The
    refund checks the person's row on every request, so a change holds at once."""
    if user.role != "cashier":
        raise DomainError(_l("Only a cashier needs this: owners can always refund."))
    user.can_refund = allow
    audit(db, shop, by, "settings.staff_refunds", user.name, str(allow))
