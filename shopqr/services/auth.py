"""Sign-in: PINs on the shop's device, passwords for owners and platform admins.

The rules (the README's security section says them for people):
- Failures are counted in the database per person and per device (client address), each with
  its own back-off: three free tries, then 2, 4, 8 ... seconds between tries.
- Counting is atomic: an attempt first claims its turn with a compare-and-set
  ``UPDATE ... SET n = n + 1 WHERE n = <what it read>``, committed before the secret is checked.
  Of parallel attempts that read the same count, one gets the turn and the others are refused
  unchecked, so a burst cannot try more secrets than the back-off allows.
- Ten wrong PINs in a row lock the PIN path of that person. A PIN lock never blocks the owner's
  password sign-in, and a good password lifts it; the owner lifts a staff member's lock, and the
  platform admin can lift any. Passwords are never locked, only slowed, so a stranger cannot
  lock an owner out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from shopqr.models import AdminUser, AuditLog, LoginSession, Shop, ThrottleCounter, User
from shopqr.services import DomainError, NotFound, logins
from shopqr.services.events import EventBus
from shopqr.services.shops import check_secret, hash_secret, load_staff

LOCK_AFTER = 10  # wrong PINs in a row lock that person's PIN
FREE_TRIES = 3  # failures before delays start
MAX_DELAY = 300  # seconds, per device
# A person's password is slowed for at most this long, whoever fails it: enough to make
# guessing hopeless, short enough that a stranger's failures cannot keep the owner out.
PASSWORD_MAX_DELAY = 60

ROLE_SCREENS = {
    "owner": {"pos", "kitchen", "settings"},
    "cashier": {"pos", "kitchen"},
    "barista": {"kitchen"},
}


def can_use(role: str, screen: str) -> bool:
    return screen in ROLE_SCREENS.get(role, set())


class SignInError(DomainError):
    """Generic on purpose: it never tells which part was wrong."""


def delay_for(failures: int, cap: int = MAX_DELAY) -> int:
    """Seconds to wait after `failures` consecutive failures: 0, 0, 0, 2, 4, 8, ... cap."""
    if failures < FREE_TRIES:
        return 0
    return min(cap, 2 ** min(failures - FREE_TRIES + 1, 16))


def _remaining(failures: int, last: datetime | None, now: datetime, cap: int = MAX_DELAY) -> int:
    wait = delay_for(failures, cap)
    if not wait or last is None:
        return 0
    left = (last + timedelta(seconds=wait) - now).total_seconds()
    return max(0, int(left + 0.999))


@dataclass
class _Counter:
    """One failure counter (a column pair on some row) as read before the attempt."""

    model: Any
    key: ColumnElement[bool]
    count: InstrumentedAttribute[int]
    last: InstrumentedAttribute[datetime | None]
    seen: int
    seen_at: datetime | None
    cap: int = MAX_DELAY

    def wait(self, now: datetime) -> int:
        return _remaining(self.seen, self.seen_at, now, self.cap)

    def claim(self, db: Session, now: datetime) -> bool:
        """Count this attempt, if nobody counted one since we read the counter."""
        return db.execute(
            update(self.model).where(self.key, self.count == self.seen)
            .values({self.count.key: self.count + 1, self.last.key: now})
            .execution_options(synchronize_session=False)
        ).rowcount == 1

    def clear(self, db: Session) -> None:
        db.execute(update(self.model).where(self.key)
                   .values({self.count.key: 0, self.last.key: None})
                   .execution_options(synchronize_session=False))


def _device(db: Session, scope: str, device: str) -> _Counter:
    """The counter of one device (client address) for one sign-in form, created on first use."""
    key = device[:120]
    where = (ThrottleCounter.scope == scope) & (ThrottleCounter.key == key)
    row = db.scalar(select(ThrottleCounter).where(where))
    if row is None:
        try:
            with db.begin_nested():
                db.add(ThrottleCounter(scope=scope, key=key, failures=0))
        except IntegrityError:  # a parallel attempt created it
            pass
        row = db.scalar(select(ThrottleCounter).where(where))
        assert row is not None
    return _Counter(ThrottleCounter, ThrottleCounter.id == row.id, ThrottleCounter.failures,
                    ThrottleCounter.last_failed_at, row.failures, row.last_failed_at)


def _take_turn(db: Session, counters: list[_Counter], now: datetime, too_many: Any) -> None:
    """Check the back-off of every counter, then count this attempt on all of them and commit,
    before the secret is checked. A parallel attempt that got there first refuses this one."""
    wait = max(c.wait(now) for c in counters)
    if wait:
        db.rollback()
        raise SignInError(too_many(wait), 429)
    if not all(c.claim(db, now) for c in counters):
        db.rollback()
        raise SignInError(too_many(1), 429)
    # The attempt must count even if this request dies while the (slow) secret is checked.
    db.commit()


def _pin_wait(seconds: int) -> Any:
    return _l("Too many wrong PINs. Wait %(seconds)s seconds and try again.", seconds=seconds)


def _password_wait(seconds: int) -> Any:
    return _l("Too many failed sign-ins. Wait %(seconds)s seconds and try again.",
              seconds=seconds)


def pin_locked_message(user: User) -> Any:
    if user.role == "owner":
        return _l("Your PIN is locked after too many wrong tries. Sign in with your email and "
                  "password to unlock it.")
    return _l("This account is locked after too many wrong PINs. Ask the owner to unlock it.")


def sign_in_with_pin(db: Session, bus: EventBus, shop: Shop, user_id: object, pin: str, *,
                     device: str, now: datetime) -> User:
    """The staff member whose PIN this is, or SignInError. Commits the counted attempt itself
    (see _take_turn); the caller commits what follows either way."""
    try:
        user = load_staff(db, shop, user_id)
    except NotFound:
        raise SignInError(_l("Choose your name first."), 422) from None
    if user.locked_at is not None:
        raise SignInError(pin_locked_message(user), 423)
    person = _Counter(User, User.id == user.id, User.failed_pin_attempts, User.last_failed_at,
                      user.failed_pin_attempts, user.last_failed_at)
    counters = [person, _device(db, f"pin:{shop.id}", device)]
    _take_turn(db, counters, now, _pin_wait)
    if check_secret(user.pin_hash, (pin or "").strip()):
        for counter in counters:
            counter.clear(db)
        db.add(AuditLog(shop_id=shop.id, user_id=user.id, action="staff.sign_in",
                        subject=user.role, detail=f"device {device[:60]}"))
        return user
    if person.seen + 1 >= LOCK_AFTER:
        lock_pin(db, bus, user, now=now, failures=person.seen + 1, device=device)
        raise SignInError(pin_locked_message(user), 423)
    raise SignInError(_l("That PIN did not work. Try again."), 401)


def lock_pin(db: Session, bus: EventBus, user: User, *, now: datetime, failures: int,
             device: str) -> None:
    """Lock a person's PIN path (once, whatever runs in parallel) and end their PIN sessions."""
    locked = db.execute(update(User).where(User.id == user.id, User.locked_at.is_(None))
                        .values(locked_at=now).execution_options(synchronize_session=False))
    if locked.rowcount == 1:
        db.add(AuditLog(shop_id=user.shop_id, user_id=user.id, action="staff.locked",
                        detail=f"{failures} wrong PINs, last from device {device[:60]}"))
        logins.end_all(db, bus, user, reason="PIN locked", now=now, kinds=("staff",))
    db.refresh(user)


@dataclass
class PasswordSignIn:
    user: User
    unlocked_pin: datetime | None  # when the PIN had been locked, if this sign-in lifted it


def sign_in_with_password(db: Session, shop: Shop, email: str, password: str, *, device: str,
                          now: datetime) -> PasswordSignIn:
    """An owner of this shop by email and password. A good password also lifts the owner's PIN
    lock. Commits the counted attempt itself (see _take_turn)."""
    counters = [_device(db, f"password:{shop.id}", device)]
    user = db.scalar(
        select(User).where(User.shop_id == shop.id, User.email == (email or "").strip().lower(),
                           User.role == "owner", User.is_active.is_(True))
    )
    if user is not None:
        counters.append(_Counter(User, User.id == user.id, User.failed_password_attempts,
                                 User.password_failed_at, user.failed_password_attempts,
                                 user.password_failed_at, cap=PASSWORD_MAX_DELAY))
    _check_password(db, counters, user.password_hash if user else None, password, now)
    assert user is not None
    db.add(AuditLog(shop_id=shop.id, user_id=user.id, action="owner.sign_in",
                    detail=f"device {device[:60]}"))
    db.refresh(user)
    locked_at = user.locked_at
    if locked_at is not None:
        clear_pin_lock(db, user)
        db.add(AuditLog(shop_id=shop.id, user_id=user.id, action="staff.unlock",
                        subject=user.name, detail="by the owner's password sign-in"))
    return PasswordSignIn(user, locked_at)


def sign_in_admin(db: Session, email: str, password: str, *, device: str,
                  now: datetime) -> AdminUser:
    """A platform admin by email and password, counted like the owners' sign-in."""
    counters = [_device(db, "admin", device)]
    admin = db.scalar(select(AdminUser).where(AdminUser.email == (email or "").strip().lower()))
    if admin is not None:
        counters.append(_Counter(AdminUser, AdminUser.id == admin.id, AdminUser.failed_attempts,
                                 AdminUser.last_failed_at, admin.failed_attempts,
                                 admin.last_failed_at, cap=PASSWORD_MAX_DELAY))
    _check_password(db, counters, admin.password_hash if admin else None, password, now)
    assert admin is not None
    db.refresh(admin)
    return admin


def _check_password(db: Session, counters: list[_Counter], hashed: str | None, password: str,
                    now: datetime) -> None:
    """Take this attempt's turn, then check the password (an unknown email fails like a wrong
    password); a good one clears the counters."""
    _take_turn(db, counters, now, _password_wait)
    if hashed is None or not check_secret(hashed, password or ""):
        raise SignInError(_l("Email or password is wrong."), 401)
    for counter in counters:
        counter.clear(db)


def clear_pin_lock(db: Session, user: User) -> None:
    db.execute(update(User).where(User.id == user.id)
               .values(locked_at=None, failed_pin_attempts=0, last_failed_at=None)
               .execution_options(synchronize_session=False))
    db.refresh(user)


def unlock(db: Session, shop: Shop, user: User, *, by: User | None, by_admin: str | None = None
           ) -> None:
    """Lift a PIN lock and the back-offs of a person (the owner from settings, or the
    platform admin, named by ``by_admin``)."""
    if user.shop_id != shop.id:
        raise DomainError(_l("Not found"), 404)
    clear_pin_lock(db, user)
    db.execute(update(User).where(User.id == user.id)
               .values(failed_password_attempts=0, password_failed_at=None)
               .execution_options(synchronize_session=False))
    db.refresh(user)
    db.add(AuditLog(shop_id=shop.id, user_id=by.id if by else None, action="staff.unlock",
                    subject=user.name, detail=f"by platform admin {by_admin}" if by_admin
                    else None))


MIN_PASSWORD = 10


def set_admin_password(db: Session, email: str, password: str, *, now: datetime) -> bool:
    """Create the platform admin ``email`` (True), or give the existing one a new password
    (False): its back-off is cleared and its sessions end (someone may have learnt the old
    password). The caller checks the email and the password's length."""
    admin = db.scalar(select(AdminUser).where(AdminUser.email == email))
    if admin is None:
        db.add(AdminUser(email=email, password_hash=hash_secret(password)))
        return True
    admin.password_hash = hash_secret(password)
    admin.failed_attempts = 0
    admin.last_failed_at = None
    db.execute(update(LoginSession).where(LoginSession.admin_id == admin.id,
                                          LoginSession.ended_at.is_(None))
               .values(ended_at=now, end_reason="password reset"))
    return False


def reset_owner_password(db: Session, bus: EventBus, shop: Shop, user: User, password: str, *,
                         by_admin: str, now: datetime) -> None:
    """The platform admin sets a new password for an owner who lost theirs: the PIN lock and
    the back-offs are lifted, and the owner's open settings sessions end."""
    if user.shop_id != shop.id or user.role != "owner" or not user.is_active:
        raise DomainError(_l("Not found"), 404)
    if len(password or "") < MIN_PASSWORD:
        raise DomainError(_l("A password must be at least %(count)s characters.",
                             count=MIN_PASSWORD))
    user.password_hash = hash_secret(password)
    unlock(db, shop, user, by=None, by_admin=by_admin)
    logins.end_all(db, bus, user, reason="password reset", now=now, kinds=("owner",))
    db.add(AuditLog(shop_id=shop.id, action="owner.password_reset", subject=user.name,
                    detail=f"by platform admin {by_admin}"))
