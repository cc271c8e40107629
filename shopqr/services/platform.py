"""The platform admin's work: the shops list (search, filters, 30-day figures), creating a shop
with its owner, subscriptions, and the owners' accounts. Every change is in the shop's audit
log with the admin's email (docs/admin.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shopqr.models import AuditLog, Order, Shop, ShopTable, User
from shopqr.services import DomainError, sanitize
from shopqr.services.shops import add_staff, add_table, create_shop, random_pin, validate_slug

STATUSES = ("active", "suspended")
EXPIRIES = ("expired", "soon", "ok")
# The one "expires soon" rule (docs/admin.md): from REMIND_DAYS before the paid-up date to the
# day itself. The reminders (staff screens, Telegram), the owner's settings banner, the admin's
# "Expiring within 7 days" filter and the "expires soon" status in the shops list all use it.
REMIND_DAYS = 7
PAGE_SIZE = 50
MIN_PASSWORD = 10


class FormErrors(DomainError):
    """Several fields are wrong at once: ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(_l("Please correct the marked fields."), 422)
        self.errors = {name: str(message) for name, message in errors.items()}


@dataclass
class ShopRow:
    shop: Shop
    status: str
    tables: int = 0
    staff: int = 0
    orders: int = 0  # paid orders in the last 30 days
    revenue: dict[str, Decimal] = field(default_factory=dict)  # per currency
    last_activity: datetime | None = None  # the latest order, any status


@dataclass
class ShopListing:
    rows: list[ShopRow]
    total: int
    page: int
    pages: int


def soon_until(today: date) -> date:
    """The last paid-up date that counts as "expires soon" today."""
    return today + timedelta(days=REMIND_DAYS)


def expires_soon(expires_on: date | None, today: date) -> bool:
    """The paid-up date is today or within REMIND_DAYS: the reminders are due."""
    return expires_on is not None and today <= expires_on <= soon_until(today)


def subscription_status(shop: Shop, today: date) -> str:
    if not shop.is_active:
        return "suspended"
    if shop.subscription_expires_on is None:
        return "active"
    if shop.subscription_expires_on < today:
        return "expired"
    if expires_soon(shop.subscription_expires_on, today):
        return "expires soon"
    return "active"


def days_to_expiry(shop: Shop, today: date) -> int | None:
    """Days left while the subscription ends within REMIND_DAYS (0: today is the last day);
    None when no reminder is due (no end date, already ended, or later)."""
    if not shop.is_active or not expires_soon(shop.subscription_expires_on, today):
        return None
    return (shop.subscription_expires_on - today).days


def reminder_text(shop: Shop, today: date) -> str | None:
    """The reminder for the staff screens and Telegram, when the end is within a week."""
    from flask_babel import gettext as _

    left = days_to_expiry(shop, today)
    if left is None:
        return None
    end = shop.subscription_expires_on.isoformat() if shop.subscription_expires_on else ""
    if left == 0:
        return _("%(shop)s: the shopqr subscription ends today (%(date)s). Renew it so guests "
                 "can keep ordering by QR code.", shop=shop.name, date=end)
    return _("%(shop)s: the shopqr subscription ends on %(date)s, in %(days)s days. Renew it so "
             "guests can keep ordering by QR code.", shop=shop.name, date=end, days=left)


def shop_list(db: Session, *, today: date, since: datetime, q: str = "", status: str = "",
              expiry: str = "", page: int = 1) -> ShopListing:
    """One page of shops by name, with their figures: the shops (last activity read through
    the (shop, created_at) index per shop in the same statement), then one aggregate over the
    page's shops' orders since ``since`` grouped by shop and currency, then counts of tables
    and staff."""
    where = []
    text = sanitize(q)[:80]
    if text:
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        where.append(or_(func.lower(Shop.name).like(like, escape="\\"),
                         Shop.slug.like(like, escape="\\")))
    if status == "active":
        where.append(Shop.is_active.is_(True))
    elif status == "suspended":
        where.append(Shop.is_active.is_(False))
    soon = soon_until(today)
    if expiry == "expired":
        where.append(Shop.subscription_expires_on < today)
    elif expiry == "soon":
        where.append(Shop.subscription_expires_on.between(today, soon))
    elif expiry == "ok":
        where.append(or_(Shop.subscription_expires_on.is_(None),
                         Shop.subscription_expires_on > soon))
    total = db.scalar(select(func.count(Shop.id)).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    last = (select(func.max(Order.created_at)).where(Order.shop_id == Shop.id)
            .correlate(Shop).scalar_subquery())
    found = db.execute(select(Shop, last).where(*where).order_by(Shop.name, Shop.id)
                       .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    rows = {shop.id: ShopRow(shop, subscription_status(shop, today), last_activity=latest)
            for shop, latest in found}
    ids = list(rows)
    if ids:
        paid = Order.payment_status == "paid"
        for shop_id, currency, count, revenue in db.execute(
                select(Order.shop_id, Order.currency, func.count(Order.id),
                       func.coalesce(func.sum(Order.total), 0))
                .where(Order.shop_id.in_(ids), Order.created_at >= since, paid)
                .group_by(Order.shop_id, Order.currency)):
            row = rows[shop_id]
            row.orders += count
            row.revenue[currency] = Decimal(revenue)
        for shop_id, tables, staff in db.execute(
                select(Shop.id,
                       select(func.count(ShopTable.id)).where(
                           ShopTable.shop_id == Shop.id, ShopTable.is_active.is_(True))
                       .correlate(Shop).scalar_subquery(),
                       select(func.count(User.id)).where(
                           User.shop_id == Shop.id, User.is_active.is_(True))
                       .correlate(Shop).scalar_subquery())
                .where(Shop.id.in_(ids))):
            rows[shop_id].tables, rows[shop_id].staff = tables or 0, staff or 0
    return ShopListing(list(rows.values()), total, page, pages)


def _tables(raw: str | None) -> int:
    text = (raw or "0").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 3 or not 0 <= int(text) <= 200:
        raise DomainError(_l("Tables must be a number from 0 to 200."))
    return int(text)


def parse_date(raw: str | None) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(_l("Dates look like 2026-12-31.")) from None


def valid_email(db: Session, raw: str | None, *, except_user_id: int | None = None) -> str:
    email = sanitize(raw).lower()
    local, _, domain = email.partition("@")
    if not email:
        raise DomainError(_l("The owner's email is required."))
    if (not local or "." not in domain or domain.startswith(".") or domain.endswith(".")
            or " " in email or "@" in domain or len(email) > 120):
        raise DomainError(_l("Enter a valid email address."))
    clash = select(User.id).where(User.email == email)
    if except_user_id is not None:
        clash = clash.where(User.id != except_user_id)
    if db.scalar(clash) is not None:
        raise DomainError(_l("That email address is already in use."))
    return email


def create_shop_with_owner(db: Session, form: dict[str, str], *, by_admin: str
                           ) -> tuple[Shop, str]:
    """A new shop with its tables and its owner (a random PIN, returned to show once). Every
    field is checked before anything is written, and all the wrong ones are reported at once
    (FormErrors)."""
    errors: dict[str, Any] = {}

    def check(name: str, run: Any) -> Any:
        try:
            return run()
        except DomainError as exc:
            errors[name] = exc.message
            return None

    name = sanitize(form.get("name"))
    if not 1 <= len(name) <= 80:
        errors["name"] = _l("The shop name must be 1–80 characters.")
    slug = check("slug", lambda: validate_slug(form.get("slug", "")))
    if slug and db.scalar(select(Shop.id).where(Shop.slug == slug)) is not None:
        errors["slug"] = _l("That web address is taken.")
    currency = form.get("currency", "USD")
    if currency not in ("USD", "KHR"):
        errors["currency"] = _l("Currency must be USD or KHR.")
    tables = check("tables", lambda: _tables(form.get("tables")))
    expires = check("expires", lambda: parse_date(form.get("expires")))
    owner = sanitize(form.get("owner_name"))
    if not 1 <= len(owner) <= 60:
        errors["owner_name"] = _l("A name must be 1–60 characters.")
    email = check("owner_email", lambda: valid_email(db, form.get("owner_email")))
    if len(form.get("owner_password") or "") < MIN_PASSWORD:
        errors["owner_password"] = _l("The owner's password must be at least 10 characters.")
    if errors:
        raise FormErrors(errors)
    shop = create_shop(db, slug=slug, name=name, currency=currency,
                       subscription_expires_on=expires)
    for i in range(1, (tables or 0) + 1):
        add_table(db, shop, f"Table {i}", sort_order=i)
    pin = random_pin()
    add_staff(db, shop, name=owner, role="owner", pin=pin, email=email,
              password=form.get("owner_password"))
    _audit(db, shop, "admin.shop_created", shop.slug, by_admin)
    return shop, pin


def set_subscription(db: Session, shop: Shop, *, expires: str | None, active: str | None,
                     by_admin: str) -> None:
    """A new paid-up date (empty: no end) and, when given ("1"/"0"), reactivate or suspend."""
    new_date = parse_date(expires)
    if new_date != shop.subscription_expires_on:
        _audit(db, shop, "admin.subscription", str(new_date or "no end"), by_admin,
               f"was {shop.subscription_expires_on or 'no end'}")
        shop.subscription_expires_on = new_date
    if active in ("0", "1") and (active == "1") != shop.is_active:
        shop.is_active = active == "1"
        _audit(db, shop, "admin.reactivated" if shop.is_active else "admin.suspended",
               shop.slug, by_admin)


def change_owner_email(db: Session, shop: Shop, user: User, raw: str | None, *,
                       by_admin: str) -> None:
    """An owner's new sign-in email: valid and not used by anyone else."""
    if user.shop_id != shop.id or user.role != "owner" or not user.is_active:
        raise DomainError(_l("Not found"), 404)
    email = valid_email(db, raw, except_user_id=user.id)
    if email != user.email:
        _audit(db, shop, "admin.owner_email", user.name, by_admin,
               f"{user.email or '-'} -> {email}")
        user.email = email


def recent_audit(db: Session, shop: Shop, limit: int = 20) -> list[AuditLog]:
    return list(db.scalars(select(AuditLog).where(AuditLog.shop_id == shop.id)
                           .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
                           .limit(limit)))


def _audit(db: Session, shop: Shop, action: str, subject: str, by_admin: str,
           detail: str | None = None) -> None:
    text = f"by platform admin {by_admin}" + (f"; {detail}" if detail else "")
    db.add(AuditLog(shop_id=shop.id, user_id=None, action=action, subject=subject[:80],
                    detail=text))

