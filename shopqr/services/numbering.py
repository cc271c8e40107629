"""Order numbers: a per-shop, per-day counter, safe under concurrent checkouts; the shop's
time zone and business day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopqr.models import OrderCounter

# Every shop is in Cambodia, so the time zone is this one constant, not a setting: order
# numbers, the business day, reports and the times staff and guests see all use it.
# (Flask-Babel's BABEL_DEFAULT_TIMEZONE in config.py names the same zone for format_datetime;
# tests/services/test_numbering.py checks that the two agree.)
SHOP_TZ = ZoneInfo("Asia/Phnom_Penh")
UTC = ZoneInfo("UTC")


def business_date(now_utc: datetime) -> date:
    """The shop's local calendar day for a naive-UTC instant."""
    return now_utc.replace(tzinfo=UTC).astimezone(SHOP_TZ).date()


def shop_time(moment_utc: datetime) -> datetime:
    """A naive-UTC instant as an aware time in the shop's zone."""
    return moment_utc.replace(tzinfo=UTC).astimezone(SHOP_TZ)


def day_bounds(now: datetime, days: int = 1) -> tuple[datetime, datetime]:
    """Naive-UTC bounds of the shop's local day containing ``now`` (UTC) and the ``days - 1``
    days before it."""
    local_day = business_date(now) - timedelta(days=days - 1)
    start_local = datetime(local_day.year, local_day.month, local_day.day, tzinfo=SHOP_TZ)
    start = start_local.astimezone(UTC).replace(tzinfo=None)
    return start, start + timedelta(days=days)


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
        _create_counter(db, shop_id, day)
    raise RuntimeError("could not allocate an order number")


def _create_counter(db: Session, shop_id: int, day: date) -> None:
    """Make the day's counter row (at 0) so the UPDATE above finds it.

    On MariaDB it is inserted and committed on a connection of its own: two checkouts
    inserting the same new row inside their own transactions would deadlock on the unique
    key. SQLite has one writer at a time, so a savepoint in the same transaction is safe
    (and a second connection would wait for this transaction's write lock)."""
    bind = db.get_bind()
    if bind.dialect.name == "sqlite":
        try:
            with db.begin_nested():
                db.add(OrderCounter(shop_id=shop_id, business_date=day, last_value=0))
        except IntegrityError:
            pass
        return
    with bind.connect() as conn:
        try:
            conn.execute(insert(OrderCounter).values(shop_id=shop_id, business_date=day,
                                                     last_value=0))
            conn.commit()
        except IntegrityError:  # another checkout created it first
            conn.rollback()


def format_number(day: date, seq: int) -> str:
    return f"{day:%y%m%d}-{seq:03d}"
