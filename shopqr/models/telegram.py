"""Telegram notifications: a shop's linked chat with its choices, and the outbox of messages
to send (one row per event, so each event is sent at most once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopqr.models.base import Base, utcnow

# The kinds of message an owner can choose, in the order the settings page lists them.
KINDS = ("paid", "attention", "shift", "daily")


class TelegramLink(Base):
    """One per shop: the chat the shop's messages go to (None until the owner presses Start in
    Telegram, and again after Unlink), the pending one-time link code, and the owner's
    choices."""

    __tablename__ = "telegram_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"),
                                         unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    chat_title: Mapped[str | None] = mapped_column(String(120))
    linked_at: Mapped[datetime | None]
    # sha256 of the one-time code in the t.me/<bot>?start=<code> link; cleared when used
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime | None]
    language: Mapped[str] = mapped_column(String(5), default="en")
    notify_paid: Mapped[bool] = mapped_column(default=True)
    notify_attention: Mapped[bool] = mapped_column(default=True)
    notify_shift: Mapped[bool] = mapped_column(default=True)
    notify_daily: Mapped[bool] = mapped_column(default=True)
    # The daily summary goes out at this local time (HH:MM in the shop's zone)
    daily_at: Mapped[str] = mapped_column(String(5), default="22:00")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TelegramMessage(Base):
    """A message for a shop's chat. (shop, kind, event key) is unique: an event seen twice,
    or by two processes, makes one row, and one row is sent at most once."""

    __tablename__ = "telegram_outbox"
    __table_args__ = (
        UniqueConstraint("shop_id", "kind", "event_key"),
        Index("ix_telegram_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    event_key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # pending -> sending -> sent; or failed (gave up), skipped (unlinked or turned off)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
