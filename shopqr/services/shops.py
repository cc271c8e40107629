"""Creating shops, their tables and staff (used by the CLI, the demo and the admin screens)."""

from __future__ import annotations

import re
import secrets
from datetime import date
from decimal import Decimal

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from shopqr.config import Defaults
from shopqr.models import Product, Shop, ShopTable, User
from shopqr.models.tenancy import CURRENCIES, ROLES
from shopqr.services import DomainError, get_for_shop, sanitize, tables
from shopqr.services.audit import audit
from shopqr.services.tables import new_token

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,46}[a-z0-9])$")
RESERVED_SLUGS = {"admin", "static", "healthz", "api", "_bakong", "www", "s"}


def validate_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug) or "--" in slug:
        raise DomainError(
            _l("The web address must be 3–48 lower-case letters, digits or single hyphens.")
        )
    if slug in RESERVED_SLUGS:
        raise DomainError(_l("That web address is reserved."))
    return slug


def create_shop(
    db: Session,
    *,
    slug: str,
    name: str,
    currency: str = "USD",
    subscription_expires_on: date | None = None,
) -> Shop:
    slug = validate_slug(slug)
    name = sanitize(name)
    if not 1 <= len(name) <= 80:
        raise DomainError(_l("The shop name must be 1–80 characters."))
    if currency not in CURRENCIES:
        raise DomainError(_l("Currency must be USD or KHR."))
    if db.scalar(select(Shop.id).where(Shop.slug == slug)) is not None:
        raise DomainError(_l("That web address is taken."))
    shop = Shop(
        slug=slug,
        name=name,
        currency=currency,
        khqr_merchant_name=name[:25],
        khr_per_usd=Decimal("4100"),
        subscription_expires_on=subscription_expires_on,
    )
    db.add(shop)
    db.flush()
    return shop


def table_name(db: Session, shop: Shop, raw: str | None, *,
               table: ShopTable | None = None) -> str:
    """A new name for ``table`` (or for a new table): 1-40 characters, unique in the shop."""
    name = sanitize(raw)
    if not 1 <= len(name) <= 40:
        raise DomainError(_l("A table name must be 1–40 characters."))
    clash = select(ShopTable.id).where(ShopTable.shop_id == shop.id, ShopTable.name == name)
    if table is not None:
        clash = clash.where(ShopTable.id != table.id)
    if db.scalar(clash) is not None:
        raise DomainError(_l("There is already a table called %(name)s.", name=name))
    return name


def table_name_km(raw: str | None) -> str | None:
    """A table's optional Khmer label: up to 40 characters."""
    name = sanitize(raw)
    if len(name) > 40:
        raise DomainError(_l("A table name must be 1–40 characters."))
    return name or None


def removed_name(name: str, row_id: int, limit: int) -> str:
    """The name a removed table or staff member keeps: freed for a new one, and within the
    column's ``limit`` (MariaDB refuses a longer value)."""
    suffix = f" (removed {row_id})"
    return name[:max(0, limit - len(suffix))] + suffix


def add_table(db: Session, shop: Shop, name: str, sort_order: int = 0, *,
              name_km: str | None = None) -> ShopTable:
    name = table_name(db, shop, name)
    table = ShopTable(shop_id=shop.id, name=name, name_km=table_name_km(name_km),
                      qr_token=new_token(), sort_order=sort_order)
    db.add(table)
    db.flush()
    return table


def counts(db: Session, shop: Shop) -> dict[str, int]:
    """How many products (not deleted), tables and staff (not removed) the shop has."""
    return {
        "products": db.scalar(select(func.count(Product.id)).where(
            Product.shop_id == shop.id, Product.is_deleted.is_(False))) or 0,
        "tables": db.scalar(select(func.count(ShopTable.id)).where(
            ShopTable.shop_id == shop.id, ShopTable.is_active.is_(True))) or 0,
        "staff": db.scalar(select(func.count(User.id)).where(
            User.shop_id == shop.id, User.is_active.is_(True))) or 0,
    }


def active_tables(db: Session, shop: Shop) -> list[ShopTable]:
    """The shop's tables in their order (removed ones left out)."""
    return list(db.scalars(select(ShopTable).where(
        ShopTable.shop_id == shop.id, ShopTable.is_active.is_(True))
        .order_by(ShopTable.sort_order, ShopTable.id)))


def rename_table(db: Session, shop: Shop, table: ShopTable, name: str | None,
                 name_km: str | None = None) -> ShopTable:
    table.name = table_name(db, shop, name, table=table)
    table.name_km = table_name_km(name_km)
    return table


def remove_table(db: Session, shop: Shop, table: ShopTable, *, by: User) -> None:
    """Remove a table: its group's session ends, its name is freed and its printed QR code
    stops working (a new token)."""
    session = tables.active_session(db, table)
    if session is not None:
        tables.end_session(db, session, "table removed")
    table.is_active = False
    table.name = removed_name(table.name, table.id, 40)
    table.qr_token = tables.new_token()
    audit(db, shop, by, "settings.table_removed", table.name)


def new_qr_code(db: Session, shop: Shop, table: ShopTable, *, by: User) -> None:
    """A new QR code for a table: the printed one stops working."""
    table.qr_token = tables.new_token()
    audit(db, shop, by, "settings.qr_regenerated", table.name)


def new_counter_code(db: Session, shop: Shop, *, by: User) -> None:
    """A new counter QR code (takeaway): the printed one stops working. Phones that scanned the
    old one keep their carts and orders (their sessions do not depend on the code)."""
    shop.counter_token = tables.new_token()
    audit(db, shop, by, "settings.counter_qr_regenerated", shop.slug)


def hash_secret(secret: str) -> str:
    """A PIN or password, hashed with the app's PASSWORD_HASH_METHOD (scrypt)."""
    method = current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() \
        else Defaults.PASSWORD_HASH_METHOD
    return generate_password_hash(secret, method)


def check_secret(hashed: str | None, secret: str) -> bool:
    return bool(hashed) and check_password_hash(hashed, secret)


def validate_pin(shop: Shop, pin: str) -> str:
    pin = (pin or "").strip()
    lengths = (4, 6) if shop.allow_short_pins else (6,)
    # ASCII digits only: isdigit() alone also passes "១២៣៤៥៦" (Khmer) or "²"
    if not (pin.isascii() and pin.isdigit()) or len(pin) not in lengths:
        raise DomainError(_l("A PIN must be 4 or 6 digits.") if shop.allow_short_pins
                          else _l("A PIN must be 6 digits."))
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise DomainError(_l("That PIN is too easy to guess. Pick another."))
    return pin


def pin_in_use(db: Session, shop: Shop, pin: str, *, except_user_id: int | None = None) -> bool:
    """PINs are unique within a shop; hashed, so every staff hash is checked."""
    staff = db.scalars(select(User).where(User.shop_id == shop.id, User.is_active.is_(True)))
    return any(
        u.id != except_user_id and check_secret(u.pin_hash, pin) for u in staff
    )


def add_staff(
    db: Session,
    shop: Shop,
    *,
    name: str,
    role: str,
    pin: str,
    email: str | None = None,
    password: str | None = None,
) -> User:
    name = sanitize(name)
    if not 1 <= len(name) <= 60:
        raise DomainError(_l("A name must be 1–60 characters."))
    if role not in ROLES:
        raise DomainError(_l("Role must be owner, cashier or barista."))
    pin = validate_pin(shop, pin)
    if pin_in_use(db, shop, pin):
        raise DomainError(_l("Another staff member already uses that PIN."))
    if db.scalar(select(User.id).where(User.shop_id == shop.id, User.name == name)):
        raise DomainError(_l("There is already a staff member called %(name)s.", name=name))
    user = User(shop_id=shop.id, name=name, role=role, pin_hash=hash_secret(pin))
    if email:
        email = sanitize(email).lower()
        if "@" not in email or len(email) > 120:
            raise DomainError(_l("Enter a valid email address."))
        if db.scalar(select(User.id).where(User.email == email)):
            raise DomainError(_l("That email address is already in use."))
        user.email = email
    if password:
        if len(password) < 10:
            raise DomainError(_l("A password must be at least 10 characters."))
        user.password_hash = hash_secret(password)
    db.add(user)
    db.flush()
    return user


def load_staff(db: Session, shop: Shop, user_id: object) -> User:
    """A staff member of this shop who has not been removed, else 404."""
    return get_for_shop(db, User, shop, user_id, User.is_active.is_(True),
                        message=_l("Staff member not found."))


def random_pin() -> str:
    while True:
        pin = f"{secrets.randbelow(10**6):06d}"
        if len(set(pin)) > 2:
            return pin
