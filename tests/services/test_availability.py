"""The rule of availability hours (docs/availability.md): windows with their days, windows
past midnight, a product inside a category with hours, the next opening a closed item shows,
and the owner's form with every problem reported at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from shopqr.services import DomainError
from shopqr.services.availability import (
    ALL_DAYS,
    NEVER,
    MenuHours,
    Opening,
    Window,
    dump,
    is_open,
    label,
    next_opening,
    parse,
    read_form,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WEEKDAYS = 0b0011111  # Monday to Friday
BREAKFAST = (Window(6 * 60, 11 * 60),)
LATE = (Window(22 * 60, 2 * 60, 1 << FRI | 1 << SAT),)  # Fri and Sat nights till 2:00


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in the week of Monday 2026-11-30."""
    return datetime(2026, 11, 30, hour, minute) + timedelta(days=day)


def test_stored_hours_read_back_as_written_and_bad_parts_are_left_out():
    windows = (Window(6 * 60, 11 * 60, WEEKDAYS), Window(22 * 60 + 30, 2 * 60, 1 << SAT))
    text = dump(windows)
    assert text == "0600-1100/1111100;2230-0200/0000010"
    assert parse(text) == windows
    assert dump(()) is None and parse(None) == () and parse("") == ()
    # a hand-edited or damaged value never breaks a guest's page: the bad parts are skipped
    assert parse("0600-1100/1111111;junk;2500-0100/1111111;0700-0700/1111111;"
                  "0800-0900/0000000") == (Window(360, 660, ALL_DAYS),)


@pytest.mark.parametrize("moment, expected", [
    (at(MON, 5, 59), False), (at(MON, 6, 0), True), (at(MON, 10, 59), True),
    (at(MON, 11, 0), False), (at(SUN, 7), True),
])
def test_a_window_is_open_from_its_start_until_just_before_its_end(moment, expected):
    assert is_open(BREAKFAST, moment.weekday(), moment.hour * 60 + moment.minute) is expected


@pytest.mark.parametrize("moment, expected", [
    (at(FRI, 21, 59), False), (at(FRI, 22), True), (at(FRI, 23, 59), True),
    (at(SAT, 0, 30), True),   # the small hours after Friday
    (at(SAT, 1, 59), True), (at(SAT, 2), False), (at(SAT, 12), False),
    (at(SAT, 23), True), (at(SUN, 1), True),  # Saturday night runs into Sunday
    (at(SUN, 23), False), (at(MON, 1), False),  # Sunday is not one of its days
    (at(FRI, 1), False),  # Thursday night is not either
])
def test_a_window_past_midnight_belongs_to_the_day_it_starts(moment, expected):
    assert is_open(LATE, moment.weekday(), moment.hour * 60 + moment.minute) is expected


def test_no_windows_means_always_open():
    assert is_open((), MON, 0) and next_opening([(), ()], at(MON, 3)) is None


def test_the_next_opening_today_tomorrow_or_on_a_later_day():
    assert next_opening([BREAKFAST], at(MON, 8)) is None  # open now
    assert next_opening([BREAKFAST], at(MON, 5)) == Opening(0, 360, MON)
    assert next_opening([BREAKFAST], at(MON, 11)) == Opening(1, 360, TUE)
    weekdays = (Window(6 * 60, 11 * 60, WEEKDAYS),)
    assert next_opening([weekdays], at(FRI, 12)) == Opening(3, 360, MON)
    assert next_opening([LATE], at(SAT, 3)) == Opening(0, 22 * 60, SAT)
    assert next_opening([LATE], at(SUN, 3)) == Opening(5, 22 * 60, FRI)


def test_a_product_in_a_category_with_hours_opens_when_both_allow_it():
    lunch_specials = (Window(10 * 60, 14 * 60),)  # the product, inside Breakfast 6-11
    assert next_opening([BREAKFAST, lunch_specials], at(MON, 10, 30)) is None
    assert next_opening([BREAKFAST, lunch_specials], at(MON, 7)) == Opening(0, 600, MON)
    assert next_opening([BREAKFAST, lunch_specials], at(MON, 12)) == Opening(1, 600, TUE)
    # hours that never meet: never within the week
    assert next_opening([BREAKFAST, (Window(12 * 60, 13 * 60),)], at(MON, 7)) == NEVER


def test_the_menu_hours_slice_names_closed_products_and_categories():
    hours = MenuHours(categories={1: BREAKFAST},
                      products={10: (1, ()), 11: (1, (Window(9 * 60, 10 * 60),)),
                                12: (None, LATE)})
    early = hours.at(at(MON, 5))
    assert set(early.products) == {10, 11, 12} and set(early.categories) == {1}
    nine = hours.at(at(MON, 9, 15))
    assert set(nine.products) == {12} and not nine.categories
    assert early.key != nine.key and hours.at(at(MON, 5, 30)).key == early.key
    # the stamp the open menus poll with: the plain version while nothing is closed
    assert MenuHours({}, {}).at(at(MON, 5)).stamp(7) == "7"
    assert early.stamp(7).startswith("7-") and early.stamp(7) != nine.stamp(7)


def test_labels_read_from_a_time_in_english_and_khmer(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert label(Opening(0, 360, MON)) == "from 6:00"
        assert label(Opening(1, 390, TUE)) == "from tomorrow 6:30"
        assert label(Opening(3, 360, MON), at(FRI, 12).date()) == "from Monday 6:00"
        assert label(NEVER) == "Not available now"
    with app.test_request_context(headers={"Accept-Language": "km"}):
        text = label(Opening(0, 360, MON))
        assert "6:00" in text and "from" not in text
        assert "ច័ន្ទ" in label(Opening(3, 360, MON), at(FRI, 12).date())  # Monday in Khmer


def test_the_owners_form_reads_rows_and_skips_empty_ones():
    form = MultiDict([("w0-from", "06:00"), ("w0-to", "11:00"),
                      *[("w0-day", str(d)) for d in range(5)],
                      ("w1-from", ""), ("w1-to", ""), ("w1-day", "0"),
                      ("w2-from", "22:00"), ("w2-to", "2:00"), ("w2-day", "4"), ("w2-day", "5")])
    assert read_form(form) == (Window(360, 660, WEEKDAYS), LATE[0])
    assert read_form(MultiDict()) == ()  # every row empty: always available


def test_the_owners_form_reports_every_problem_at_once():
    form = MultiDict([("w0-from", "6am"), ("w0-to", "11:00"), ("w0-day", "0"),
                      ("w1-from", "09:00"), ("w1-to", "09:00"),
                      ("w2-from", "10:00"), ("w2-to", "24:30"), ("w2-day", "9")])
    with pytest.raises(DomainError) as caught:
        read_form(form)
    message = str(caught.value.message)
    assert caught.value.status == 422
    for part in ("Hours 1: type the start", "Hours 2: the start and the end must differ",
                 "Hours 2: tick at least one day", "Hours 3: type the end",
                 "Hours 3: that day is not a day of the week"):
        assert part in message
