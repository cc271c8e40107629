"""State of the built-in Bakong simulator (dev, demo, tests). Kept in the database so that
several processes sharing it agree."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from shopqr.models.base import Base, utcnow


class SimPayment(Base):
    """A payment a guest's (simulated) banking app made to a KHQR's md5."""

    __tablename__ = "sim_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    md5: Mapped[str] = mapped_column(String(32), unique=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    from_account: Mapped[str] = mapped_column(String(64))
    to_account: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(120))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    acknowledged_ms: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="SUCCESS")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SimFault(Base):
    """A failure the simulator plays for the next `remaining` API calls."""

    __tablename__ = "sim_faults"

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(20))
    remaining: Mapped[int]
    delay_seconds: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SimCall(Base):
    """Every API call the simulator answered (tests count checks per md5)."""

    __tablename__ = "sim_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(40))
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(20))
