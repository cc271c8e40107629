"""Shops, their staff and tables, platform admins, the audit trail."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopqr.models.base import Base, utcnow

ROLES = ("owner", "cashier", "barista")
CURRENCIES = ("USD", "KHR")


def new_qr_token() -> str:
    """A QR code's secret part: 256 bits, URL-safe (``services.tables.new_token``)."""
    return secrets.token_urlsafe(32)


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_km: Mapped[str | None] = mapped_column(String(80))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    khr_per_usd: Mapped[Decimal] = mapped_column(default=Decimal("4100"))
    round_riel_change: Mapped[bool] = mapped_column(default=True)
    allow_short_pins: Mapped[bool] = mapped_column(default=False)
    # Bumped on every menu change; open guest menus poll it to show sold-out items live.
    menu_version: Mapped[int] = mapped_column(default=0)
    # The counter's QR code (takeaway: order at the counter, pay, pick up): /s/<slug>/c/<token>.
    # Like a table's qr_token, secret and regenerable by the owner (docs/takeaway.md).
    counter_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_qr_token)
    # Kitchen cards turn yellow, then red, this many minutes after payment
    kitchen_warn_minutes: Mapped[int] = mapped_column(default=5, server_default="5")
    kitchen_late_minutes: Mapped[int] = mapped_column(default=10, server_default="10")
    # Bakong wallet that receives KHQR payments
    bakong_account_id: Mapped[str | None] = mapped_column(String(32))
    bakong_account_type: Mapped[str] = mapped_column(String(10), default="individual")
    bakong_merchant_id: Mapped[str | None] = mapped_column(String(32))
    bakong_bank: Mapped[str | None] = mapped_column(String(32))
    khqr_merchant_name: Mapped[str | None] = mapped_column(String(25))
    khqr_merchant_city: Mapped[str] = mapped_column(String(15), default="Phnom Penh")
    # Ask Bakong for an "open in a banking app" link with every KHQR (an extra; off by default).
    khqr_deeplinks: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The POS receipt (docs/receipts.md): printed once cash is taken, on 58 or 80 mm paper.
    print_receipt_after_cash: Mapped[bool] = mapped_column(default=True, server_default=true())
    receipt_paper_mm: Mapped[int] = mapped_column(default=80, server_default="80")
    # The shop's logo, "uploads/<name>.png" (services/logo.py, docs/tables-and-qr.md): on the
    # printed QR sheet, receipts and the KHQR payment page. None: those look as without one.
    logo: Mapped[str | None] = mapped_column(String(120))
    # Taxes and charges (docs/taxes.md): a service charge, then VAT, each off, added to the
    # prices or included in them; every charge line rounded to the currency's unit
    # (services/charges.py). Off by default. Saving them bumps ``menu_version``.
    service_on: Mapped[bool] = mapped_column(default=False, server_default=false())
    service_name: Mapped[str] = mapped_column(String(40), default="Service charge",
                                              server_default="Service charge")
    service_name_km: Mapped[str | None] = mapped_column(String(40))
    service_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"),
                                                  server_default="0")
    service_included: Mapped[bool] = mapped_column(default=False, server_default=false())
    vat_on: Mapped[bool] = mapped_column(default=False, server_default=false())
    vat_name: Mapped[str] = mapped_column(String(40), default="VAT", server_default="VAT")
    vat_name_km: Mapped[str | None] = mapped_column(String(40))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("10"),
                                              server_default="10")
    vat_included: Mapped[bool] = mapped_column(default=False, server_default=false())
    charge_rounding: Mapped[str] = mapped_column(String(8), default="nearest",
                                                 server_default="nearest")
    # Subscription
    subscription_expires_on: Mapped[date | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tables: Mapped[list[ShopTable]] = relationship(
        back_populates="shop", order_by="ShopTable.sort_order, ShopTable.id"
    )

    def subscription_ok(self, today: date) -> bool:
        """True while guests may order: active and not past the paid-up date."""
        if not self.is_active:
            return False
        return self.subscription_expires_on is None or self.subscription_expires_on >= today

    @property
    def khqr_ready(self) -> bool:
        return bool(self.bakong_account_id)


# What the guest pages show of a shop (services/hotpath.py ``GuestShop``, the same names in the
# same order). Each process keeps these under the shop's menu_version, so a change to any of
# them bumps menu_version in the same UPDATE (the listener below, for every ORM change; a Core
# UPDATE of the shops table must bump it itself). README "Benchmark"
GUEST_COLUMNS = ("id", "slug", "name", "name_km", "currency", "khr_per_usd", "menu_version",
                 "bakong_account_id", "khqr_merchant_name", "is_active",
                 "subscription_expires_on", "service_on", "service_name", "service_name_km",
                 "service_rate", "service_included", "vat_on", "vat_name", "vat_name_km",
                 "vat_rate", "vat_included", "charge_rounding")


@event.listens_for(Shop, "before_update")
def _bump_menu_version(mapper, connection, shop: Shop) -> None:
    state = inspect(shop)
    if any(state.attrs[name].history.has_changes() for name in GUEST_COLUMNS
           if name != "menu_version"):
        shop.menu_version = Shop.menu_version + 1  # in the UPDATE; the attribute then expires


class User(Base):
    """A member of a shop's staff. Owners also have email + password for the settings pages."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("shop_id", "name"),
        UniqueConstraint("email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(10))
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # The owner lets this cashier refund paid orders (owners always may; docs/refunds.md)
    can_refund: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The PIN path: wrong PINs in a row, the last one's time, and the PIN lock. A PIN lock
    # blocks the PIN pad only: never the owner's password sign-in, which lifts it.
    failed_pin_attempts: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime | None]
    locked_at: Mapped[datetime | None]
    # The owner's password path: wrong passwords in a row and the last one's time (back-off only)
    failed_password_attempts: Mapped[int] = mapped_column(default=0)
    password_failed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    shop: Mapped[Shop] = relationship()


class AdminUser(Base):
    """A platform administrator: not tied to any shop."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShopTable(Base):
    __tablename__ = "shop_tables"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    name_km: Mapped[str | None] = mapped_column(String(40))  # the label Khmer guests see
    qr_token: Mapped[str] = mapped_column(String(64), unique=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    shop: Mapped[Shop] = relationship(back_populates="tables")


class ThrottleCounter(Base):
    """Failed sign-in attempts counted per shop and per device/IP key (PIN pad, password form)."""

    __tablename__ = "throttle_counters"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120))
    failures: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime | None]


class LoginSession(Base):
    """One sign-in in one browser: the signed cookie carries only its id, so signing out, a PIN
    reset, a lock or a removal ends it on the server, and a copied cookie dies with it."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # staff (PIN) | owner (password) | admin
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    admin_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_shop_created", "shop_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(80))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()
