"""Order numbers: a per-shop, per-day counter, safe under concurrent checkouts."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopqr.models import OrderCounter

SHOP_TZ = ZoneInfo("Asia/Phnom_Penh")


def business_date(now_utc: datetime) -> date:
    """The shop's local calendar day for a naive-UTC instant."""
    return now_utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(SHOP_TZ).date()


def next_seq(db: Session, shop_id: int, day: date) -> int:
    """Increment and return the day's counter. The UPDATE holds the row lock until commit,
    so concurrent checkouts of one shop queue here and each gets its own number."""
    for _ in range(3):
        bumped = db.execute(
            update(OrderCounter)
            .where(OrderCounter.shop_id == shop_id, OrderCounter.business_date == day)
            .values(last_value=OrderCounter.last_value + 1)
            .execution_options(synchronize_session=False)
        )
        if bumped.rowcount == 1:
            return db.scalar(
                select(OrderCounter.last_value).where(
                    OrderCounter.shop_id == shop_id, OrderCounter.business_date == day
                ).execution_options(populate_existing=True)
            )
        try:
            with db.begin_nested():
                db.add(OrderCounter(shop_id=shop_id, business_date=day, last_value=1))
            return 1
        except IntegrityError:  # another checkout created today's counter first
            continue
    raise RuntimeError("could not allocate an order number")


def format_number(day: date, seq: int) -> str:
    return f"{day:%y%m%d}-{seq:03d}"
