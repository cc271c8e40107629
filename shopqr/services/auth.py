"""Staff sign-in: PINs on the shop's device, passwords for owners. Failures are counted in the
database per user and per shop device (IP), with growing delays and a lock-out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopqr.models import AuditLog, Shop, ThrottleCounter, User
from shopqr.services import DomainError
from shopqr.services.shops import check_secret

LOCK_AFTER = 10  # consecutive failures of one user
FREE_TRIES = 3  # failures before delays start
MAX_DELAY = 300  # seconds

ROLE_SCREENS = {
    "owner": {"pos", "kitchen", "settings"},
    "cashier": {"pos", "kitchen"},
    "barista": {"kitchen"},
}


def can_use(role: str, screen: str) -> bool:
    return screen in ROLE_SCREENS.get(role, set())


class SignInError(DomainError):
    """Generic on purpose: it never tells which part was wrong."""


@dataclass
class Throttle:
    wait_seconds: int = 0


def delay_for(failures: int) -> int:
    """Seconds to wait after `failures` consecutive failures: 0, 0, 0, 2, 4, 8, ... 300."""
    if failures < FREE_TRIES:
        return 0
    return min(MAX_DELAY, 2 ** (failures - FREE_TRIES + 1))


def _counter(db: Session, scope: str, key: str) -> ThrottleCounter:
    counter = db.scalar(
        select(ThrottleCounter).where(ThrottleCounter.scope == scope, ThrottleCounter.key == key)
    )
    if counter is None:
        counter = ThrottleCounter(scope=scope, key=key, failures=0)
        try:
            with db.begin_nested():
                db.add(counter)
        except IntegrityError:
            counter = db.scalar(
                select(ThrottleCounter).where(ThrottleCounter.scope == scope,
                                              ThrottleCounter.key == key)
            )
            assert counter is not None
    return counter


def _remaining(failures: int, last: datetime | None, now: datetime) -> int:
    wait = delay_for(failures)
    if not wait or last is None:
        return 0
    left = (last + timedelta(seconds=wait) - now).total_seconds()
    return max(0, int(left + 0.999))


def device_wait(db: Session, shop: Shop, device: str, now: datetime) -> int:
    counter = db.scalar(
        select(ThrottleCounter).where(ThrottleCounter.scope == f"pin:{shop.id}",
                                      ThrottleCounter.key == device[:120])
    )
    if counter is None:
        return 0
    return _remaining(counter.failures, counter.last_failed_at, now)


def sign_in_with_pin(
    db: Session, shop: Shop, user_id: object, pin: str, *, device: str, now: datetime
) -> User:
    """The staff member whose PIN this is, or SignInError. The caller commits either way
    (failures must be stored)."""
    generic = _l("That PIN did not work. Try again.")
    device_counter = _counter(db, f"pin:{shop.id}", device[:120])
    wait = _remaining(device_counter.failures, device_counter.last_failed_at, now)
    try:
        uid = int(str(user_id))
    except ValueError:
        raise SignInError(_l("Choose your name first."), 422) from None
    user = db.scalar(
        select(User).where(User.id == uid, User.shop_id == shop.id, User.is_active.is_(True))
    )
    if user is None:
        raise SignInError(_l("Choose your name first."), 422)
    if user.locked_at is not None:
        raise SignInError(_l("This account is locked after too many wrong PINs. Ask the owner "
                             "to unlock it."), 423)
    wait = max(wait, _remaining(user.failed_pin_attempts, user.last_failed_at, now))
    if wait:
        raise SignInError(_l("Too many wrong PINs. Wait %(seconds)s seconds and try again.",
                             seconds=wait), 429)
    if check_secret(user.pin_hash, (pin or "").strip()):
        user.failed_pin_attempts = 0
        user.last_failed_at = None
        device_counter.failures = 0
        db.add(AuditLog(shop_id=shop.id, user_id=user.id, action="staff.sign_in",
                        subject=user.role, detail=f"device {device[:60]}"))
        return user
    user.failed_pin_attempts += 1
    user.last_failed_at = now
    device_counter.failures += 1
    device_counter.last_failed_at = now
    if user.failed_pin_attempts >= LOCK_AFTER:
        user.locked_at = now
        db.add(AuditLog(shop_id=shop.id, user_id=user.id, action="staff.locked",
                        detail=f"{user.failed_pin_attempts} wrong PINs"))
        raise SignInError(_l("This account is now locked after too many wrong PINs. Ask the "
                             "owner to unlock it."), 423)
    raise SignInError(generic, 401)


def sign_in_with_password(
    db: Session, shop: Shop, email: str, password: str, *, device: str, now: datetime
) -> User:
    """An owner of this shop by email and password; failures counted per user and device."""
    device_counter = _counter(db, f"password:{shop.id}", device[:120])
    wait = _remaining(device_counter.failures, device_counter.last_failed_at, now)
    user = db.scalar(
        select(User).where(User.shop_id == shop.id, User.email == (email or "").strip().lower(),
                           User.role == "owner", User.is_active.is_(True))
    )
    if user is not None:
        if user.locked_at is not None:
            raise SignInError(_l("This account is locked. Ask platform support to unlock it."),
                              423)
        wait = max(wait, _remaining(user.failed_password_attempts, user.last_failed_at, now))
    if wait:
        raise SignInError(_l("Too many failed sign-ins. Wait %(seconds)s seconds and try again.",
                             seconds=wait), 429)
    if user is not None and check_secret(user.password_hash, password or ""):
        user.failed_password_attempts = 0
        device_counter.failures = 0
        db.add(AuditLog(shop_id=shop.id, user_id=user.id, action="owner.sign_in",
                        detail=f"device {device[:60]}"))
        return user
    device_counter.failures += 1
    device_counter.last_failed_at = now
    if user is not None:
        user.failed_password_attempts += 1
        user.last_failed_at = now
    raise SignInError(_l("Email or password is wrong."), 401)


def unlock(db: Session, shop: Shop, user: User, *, by: User) -> None:
    if user.shop_id != shop.id:
        raise DomainError(_l("Not found"), 404)
    user.locked_at = None
    user.failed_pin_attempts = 0
    user.failed_password_attempts = 0
    user.last_failed_at = None
    db.add(AuditLog(shop_id=shop.id, user_id=by.id, action="staff.unlock", subject=user.name))
