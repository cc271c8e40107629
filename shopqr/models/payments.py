"""KHQR transactions polled against Bakong, and the poller's lease."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopqr.models.base import Base, utcnow
from shopqr.models.ordering import Order
from shopqr.models.tenancy import AdminUser, User

# pending: waiting for Bakong; paid: Bakong reported it and it matched; mismatch: Bakong reported
# a different amount or currency; superseded: a newer QR replaced it (still polled until
# give_up_at, so a late payment is not lost); abandoned: past give_up_at with nothing found.
# "paid" and "mismatch" say what Bakong reported, not whether it paid the order: see attention.
TRANSACTION_STATUSES = ("pending", "paid", "mismatch", "superseded", "abandoned", "failed")
# attention: a payment a person must look at. None: nothing to do (not paid yet, or the payment
# that paid its order); "due": paid after a void, a second payment, or a wrong amount or currency
# (refund it, keep it, or for a wrong amount on an unpaid order accept it); then "refunded" (in
# the banking app), "kept" (the shop keeps the money; it does not pay the order) or "accepted"
# (a wrong amount the cashier took as the order's payment).
ATTENTION_STATES = ("due", "refunded", "kept", "accepted")
# Why it needs attention: the order had been cancelled, was already paid by cash or by another
# KHQR, or the amount or currency was wrong while the order was unpaid.
ATTENTION_KINDS = ("cancelled", "cash", "khqr", "amount")


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_due", "status", "next_check_at"),
        Index("ix_transactions_attention", "shop_id", "attention"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    md5: Mapped[str] = mapped_column(String(32), unique=True)
    qr_string: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    bill_number: Mapped[str] = mapped_column(String(25))
    to_account: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    give_up_at: Mapped[datetime]
    next_check_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_checked_at: Mapped[datetime | None]
    check_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    last_result: Mapped[str | None] = mapped_column(String(20))  # CheckStatus of the latest check
    # Bakong's "open in a banking app" short link for this QR, when the shop asks for one and
    # Bakong gave one (None otherwise: the guest saves the QR image instead).
    deeplink: Mapped[str | None] = mapped_column(String(255))
    # What Bakong reported
    bakong_hash: Mapped[str | None] = mapped_column(String(128))
    bakong_from_account: Mapped[str | None] = mapped_column(String(64))
    bakong_to_account: Mapped[str | None] = mapped_column(String(64))
    bakong_amount: Mapped[Decimal | None]
    bakong_currency: Mapped[str | None] = mapped_column(String(3))
    bakong_created_ms: Mapped[int | None] = mapped_column(BigInteger)
    bakong_acknowledged_ms: Mapped[int | None] = mapped_column(BigInteger)
    paid_at: Mapped[datetime | None]
    # A payment that needs a person (see ATTENTION_STATES); who settled it, when and why.
    attention: Mapped[str | None] = mapped_column(String(10))
    attention_kind: Mapped[str | None] = mapped_column(String(10))
    attention_reason: Mapped[str | None] = mapped_column(String(200))  # English, as detected
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    resolution_note: Mapped[str | None] = mapped_column(String(200))

    order: Mapped[Order] = relationship()
    resolved_by: Mapped[User | None] = relationship()

    @property
    def received(self) -> bool:
        """Bakong reported money for this QR (the right amount or not)."""
        return self.paid_at is not None

    @property
    def counts_for_order(self) -> bool:
        """This payment is the one that paid its order (at most one per order)."""
        return self.received and (
            (self.status == "paid" and self.attention is None) or self.attention == "accepted")


class PollerLease(Base):
    """Who runs the Bakong poller. One row per job name; the holder renews it every tick."""

    __tablename__ = "poller_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime]


class BakongTokenRenewal(Base):
    """A platform admin's renewal of the Bakong API token (``POST /v1/renew_token``), kept
    whether it worked or not. The newest token that worked is used when it outlives the one
    configured in BAKONG_TOKEN (services/bakong_token.py)."""

    __tablename__ = "bakong_token_renewals"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    admin_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(120))
    token: Mapped[str | None] = mapped_column(Text)  # None: the renewal failed
    expires_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(200))

    admin: Mapped[AdminUser | None] = relationship()
