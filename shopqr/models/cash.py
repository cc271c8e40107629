"""The cash drawer's shifts, cash put in or taken out during one, and refunds of paid orders
(docs/shifts.md, docs/refunds.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopqr.models.base import Base, utcnow
from shopqr.models.tenancy import User

MOVEMENT_KINDS = ("in", "out")
REFUND_METHODS = ("cash", "bank_app")


class Shift(Base):
    """One shop's cash drawer from the count at opening (the float) to the count at closing.

    One drawer per shop: ``open_shop_id`` is the shop's id only while the shift is open, so its
    unique constraint allows one open shift per shop (NULLs never clash), as
    ``TableSession.active_table_id`` does for tables. The expected amounts are written at close
    (float + cash sales - cash refunds + cash in - cash out, per currency)."""

    __tablename__ = "shifts"
    __table_args__ = (Index("ix_shifts_shop_opened", "shop_id", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    open_shop_id: Mapped[int | None] = mapped_column(unique=True)
    opened_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    float_usd: Mapped[Decimal]
    float_khr: Mapped[Decimal]
    counted_usd: Mapped[Decimal | None]
    counted_khr: Mapped[Decimal | None]
    expected_usd: Mapped[Decimal | None]
    expected_khr: Mapped[Decimal | None]
    note: Mapped[str | None] = mapped_column(String(200))

    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class CashMovement(Base):
    """Cash put into the drawer (``in``: more change) or taken out (``out``: a supplier paid,
    a bank deposit) during a shift, with why."""

    __tablename__ = "cash_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"),
                                          index=True)
    kind: Mapped[str] = mapped_column(String(3))  # MOVEMENT_KINDS
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()


class Refund(Base):
    """Money given back for a paid order, whole or by line: ``amount`` in the order's currency.
    A cash refund came out of the drawer of ``shift_id`` as ``cash_usd`` + ``cash_khr`` (whole
    dollars and riel, as change is given); a bank-app refund is a KHQR payment sent back in
    the shop's banking app (shopqr only records it)."""

    __tablename__ = "refunds"
    __table_args__ = (Index("ix_refunds_shop_created", "shop_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id", ondelete="SET NULL"),
                                                 index=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(10))  # REFUND_METHODS
    cash_usd: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    cash_khr: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()
    lines: Mapped[list[RefundLine]] = relationship(
        back_populates="refund", order_by="RefundLine.id", cascade="all, delete-orphan")


class RefundLine(Base):
    """How many of one order line a refund gave back."""

    __tablename__ = "refund_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id", ondelete="CASCADE"),
                                           index=True)
    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int]

    refund: Mapped[Refund] = relationship(back_populates="lines")
