"""Order numbers: unique and sequential per shop and per business day (Phnom Penh time)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from shopqr.config import Defaults
from shopqr.extensions import db
from shopqr.models import Order, OrderCounter
from shopqr.services import numbering
from tests.factories import make_order, make_product, make_shop

DAY = date(2024, 11, 24)


@pytest.mark.parametrize(("utc", "local_day"), [
    (datetime(2024, 11, 24, 0, 0), date(2024, 11, 24)),
    (datetime(2024, 11, 24, 16, 59, 59), date(2024, 11, 24)),  # 23:59:59 in Phnom Penh
    (datetime(2024, 11, 24, 17, 0), date(2024, 11, 25)),  # midnight in Phnom Penh
    (datetime(2024, 12, 31, 17, 30), date(2025, 1, 1)),
])
def test_the_business_day_is_the_shops_local_day(utc, local_day):
    assert numbering.business_date(utc) == local_day


def test_one_time_zone_for_every_shop_and_for_babel():
    """Every shop is in Cambodia: one constant, and Flask-Babel formats times in the same zone."""
    assert numbering.SHOP_TZ.key == "Asia/Phnom_Penh" == Defaults.BABEL_DEFAULT_TIMEZONE
    assert not hasattr(Defaults, "SHOP_TIMEZONE")  # a setting nothing read; removed


@pytest.mark.parametrize(("day", "seq", "expected"), [
    (DAY, 1, "241124-001"), (DAY, 42, "241124-042"), (DAY, 999, "241124-999"),
    (DAY, 1000, "241124-1000"), (date(2025, 1, 5), 7, "250105-007"),
])
def test_order_numbers_read_well(day, seq, expected):
    assert numbering.format_number(day, seq) == expected


def test_the_counter_is_sequential_per_shop_and_day(app, ctx):
    shop = make_shop()
    seqs = [numbering.next_seq(db.session, shop.id, DAY) for _ in range(5)]
    db.session.commit()
    assert seqs == [1, 2, 3, 4, 5]
    assert numbering.next_seq(db.session, shop.id, DAY + timedelta(days=1)) == 1
    assert numbering.next_seq(db.session, shop.id, DAY) == 6
    db.session.commit()
    assert db.session.scalars(select(OrderCounter.last_value).order_by(OrderCounter.id)) \
        .all() == [6, 1]


def test_each_shop_has_its_own_counter(app, ctx):
    first, second = make_shop(), make_shop()
    assert [numbering.next_seq(db.session, first.id, DAY) for _ in range(3)] == [1, 2, 3]
    assert [numbering.next_seq(db.session, second.id, DAY) for _ in range(2)] == [1, 2]
    assert numbering.next_seq(db.session, first.id, DAY) == 4


def test_a_rolled_back_number_is_not_lost_from_the_committed_sequence(app, ctx):
    shop = make_shop()
    assert numbering.next_seq(db.session, shop.id, DAY) == 1
    db.session.commit()
    assert numbering.next_seq(db.session, shop.id, DAY) == 2
    db.session.rollback()  # a checkout that failed after taking a number
    assert numbering.next_seq(db.session, shop.id, DAY) == 2


def test_orders_get_unique_sequential_numbers_per_shop(app, ctx):
    first, second = make_shop(), make_shop()
    tea_1, tea_2 = make_product(first, "Tea", "1.00"), make_product(second, "Tea", "1.00")
    orders = [make_order(first, tea_1), make_order(second, tea_2), make_order(first, tea_1),
              make_order(first, tea_1), make_order(second, tea_2)]
    today = numbering.business_date(orders[0].created_at)
    assert [(o.shop_id, o.seq) for o in orders] == [
        (first.id, 1), (second.id, 1), (first.id, 2), (first.id, 3), (second.id, 2)]
    assert [o.number for o in orders if o.shop_id == first.id] == [
        numbering.format_number(today, n) for n in (1, 2, 3)]
    numbers = db.session.scalars(select(Order.number).where(Order.shop_id == first.id)).all()
    assert len(numbers) == len(set(numbers)) == 3
