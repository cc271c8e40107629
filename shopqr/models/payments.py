"""KHQR transactions polled against Bakong, and the poller's lease."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopqr.models.base import Base, utcnow
from shopqr.models.ordering import Order

# pending: waiting for Bakong; paid: Bakong reported it and it matched; mismatch: Bakong reported
# a different amount or currency; superseded: a newer QR replaced it (still polled until
# give_up_at, so a late payment is not lost); abandoned: past give_up_at with nothing found.
TRANSACTION_STATUSES = ("pending", "paid", "mismatch", "superseded", "abandoned", "failed")


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (Index("ix_transactions_due", "status", "next_check_at"),)

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
    # What Bakong reported
    bakong_hash: Mapped[str | None] = mapped_column(String(128))
    bakong_from_account: Mapped[str | None] = mapped_column(String(64))
    bakong_to_account: Mapped[str | None] = mapped_column(String(64))
    bakong_amount: Mapped[Decimal | None]
    bakong_currency: Mapped[str | None] = mapped_column(String(3))
    bakong_created_ms: Mapped[int | None] = mapped_column(BigInteger)
    bakong_acknowledged_ms: Mapped[int | None] = mapped_column(BigInteger)
    paid_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship()


class PollerLease(Base):
    """Who runs the Bakong poller. One row per job name; the holder renews it every tick."""

    __tablename__ = "poller_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime]
