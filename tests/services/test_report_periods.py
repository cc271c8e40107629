"""Report periods in the shop's time zone (Asia/Phnom_Penh, UTC+7 all year): where each named
range starts and ends in UTC around local midnight and the first of the month, and what a
custom from-to range accepts."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from shopqr.services import DomainError
from shopqr.services.reports import parse_range


def utc(*args: int) -> datetime:
    return datetime(*args)  # naive UTC, as the app stores times


def bounds(args: dict[str, str], now: datetime) -> tuple[datetime, datetime]:
    period = parse_range(args, now)
    return period.start, period.end


# 23:59 on 4 Dec in Phnom Penh is 16:59 UTC; one minute later it is 5 Dec there.
BEFORE_MIDNIGHT = utc(2026, 12, 4, 16, 59, 59)
AFTER_MIDNIGHT = utc(2026, 12, 4, 17, 0, 0)


def test_today_starts_at_17_00_utc_the_day_before(ctx):
    assert bounds({"range": "today"}, BEFORE_MIDNIGHT) == (
        utc(2026, 12, 3, 17), utc(2026, 12, 4, 17))
    # One second later the shop's day has turned: "today" is the 5th.
    assert bounds({"range": "today"}, AFTER_MIDNIGHT) == (
        utc(2026, 12, 4, 17), utc(2026, 12, 5, 17))
    # Early morning in Phnom Penh is still the previous UTC date.
    assert bounds({}, utc(2026, 12, 4, 23, 30)) == (utc(2026, 12, 4, 17), utc(2026, 12, 5, 17))


def test_yesterday_and_the_last_days_around_midnight(ctx):
    assert bounds({"range": "yesterday"}, BEFORE_MIDNIGHT) == (
        utc(2026, 12, 2, 17), utc(2026, 12, 3, 17))
    assert bounds({"range": "yesterday"}, AFTER_MIDNIGHT) == (
        utc(2026, 12, 3, 17), utc(2026, 12, 4, 17))
    # 7 days: today and the six before it.
    assert bounds({"range": "7d"}, AFTER_MIDNIGHT) == (utc(2026, 11, 28, 17), utc(2026, 12, 5, 17))
    assert bounds({"range": "30d"}, BEFORE_MIDNIGHT) == (utc(2026, 11, 4, 17), utc(2026, 12, 4, 17))
    period = parse_range({"range": "30d"}, BEFORE_MIDNIGHT)
    assert period.days == 30 and period.last == date(2026, 12, 4)


def test_this_month_turns_at_local_midnight_on_the_first(ctx):
    # 30 Nov 23:30 in Phnom Penh (16:30 UTC): still November.
    november = parse_range({"range": "month"}, utc(2026, 11, 30, 16, 30))
    assert (november.first, november.last) == (date(2026, 11, 1), date(2026, 11, 30))
    assert (november.start, november.end) == (utc(2026, 10, 31, 17), utc(2026, 11, 30, 17))
    # 1 Dec 00:30 there (17:30 UTC on 30 Nov): December, one day long so far.
    december = parse_range({"range": "month"}, utc(2026, 11, 30, 17, 30))
    assert (december.first, december.last) == (date(2026, 12, 1), date(2026, 12, 1))
    assert (december.start, december.end) == (utc(2026, 11, 30, 17), utc(2026, 12, 1, 17))
    # New year: 1 Jan 00:05 local is 31 Dec 17:05 UTC.
    january = parse_range({"range": "month"}, utc(2026, 12, 31, 17, 5))
    assert january.first == date(2027, 1, 1) and january.start == utc(2026, 12, 31, 17)
    # "yesterday" on the first of the month is the last of the previous one.
    assert bounds({"range": "yesterday"}, utc(2026, 11, 30, 17, 30)) == (
        utc(2026, 11, 29, 17), utc(2026, 11, 30, 17))


def test_a_custom_range_covers_whole_local_days_both_included(ctx):
    period = parse_range({"range": "custom", "from": "2026-11-01", "to": "2026-11-30"},
                         BEFORE_MIDNIGHT)
    assert (period.start, period.end) == (utc(2026, 10, 31, 17), utc(2026, 11, 30, 17))
    assert period.days == 30
    assert period.query == {"range": "custom", "from": "2026-11-01", "to": "2026-11-30"}
    one_day = parse_range({"from": "2026-12-04", "to": "2026-12-04"}, BEFORE_MIDNIGHT)
    assert (one_day.start, one_day.end) == (utc(2026, 12, 3, 17), utc(2026, 12, 4, 17))
    assert one_day.key == "custom"
    # The longest range allowed: 366 days (a leap year).
    longest = parse_range({"range": "custom", "from": "2028-01-01", "to": "2028-12-31"},
                          BEFORE_MIDNIGHT)
    assert longest.days == 366


@pytest.mark.parametrize(("args", "message"), [
    ({"range": "1y"}, "Range must be today, yesterday, 7d, 30d, month or custom."),
    ({"range": "custom", "from": "2026-12-05", "to": "2026-12-04"},
     "The start date must be on or before the end date."),
    ({"range": "custom", "from": "2026-01-01", "to": "2027-01-02"},
     "A range can be at most 366 days."),
    ({"range": "custom", "from": "2026-02-30", "to": "2026-03-01"},
     "The start date is not a date. Use the form YYYY-MM-DD, for example 2026-12-31."),
    ({"range": "custom", "from": "2026-02-01", "to": "tomorrow"},
     "The end date is not a date. Use the form YYYY-MM-DD, for example 2026-12-31."),
    ({"range": "custom", "from": "20260201", "to": "2026-02-02"},
     "The start date is not a date. Use the form YYYY-MM-DD, for example 2026-12-31."),
    ({"range": "custom", "from": "2026-02-01"}, "Pick both a start and an end date."),
    ({"range": "custom", "from": "0001-01-01", "to": "0001-01-02"},
     "Pick dates between 2000-01-01 and 2099-12-31."),
    ({"range": "custom", "from": "9999-12-30", "to": "9999-12-31"},
     "Pick dates between 2000-01-01 and 2099-12-31."),
])
def test_bad_custom_ranges_are_400_with_a_message(ctx, args, message):
    with pytest.raises(DomainError) as caught:
        parse_range(args, BEFORE_MIDNIGHT)
    assert caught.value.status == 400
    assert str(caught.value.message) == message
