"""Money: Decimal everywhere; USD has cents, KHR is whole riel; what guests and staff read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopqr.services import DomainError
from shopqr.services.money import format_money, parse_amount, quantize, usd_to_khr


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("2.5", "USD", "$2.50"),
    ("0", "USD", "$0.00"),
    ("1234.5", "USD", "$1,234.50"),
    ("2.345", "USD", "$2.35"),  # half up, never banker's rounding
    ("2.344", "USD", "$2.34"),
    ("-1", "USD", "-$1.00"),
    ("15000", "KHR", "15,000៛"),
    ("15000.4", "KHR", "15,000៛"),
    ("15000.5", "KHR", "15,001៛"),
    ("500", "KHR", "500៛"),
    ("0", "KHR", "0៛"),
    ("1234567", "KHR", "1,234,567៛"),
])
def test_format_money(amount, currency, expected):
    assert format_money(Decimal(amount), currency) == expected


@pytest.mark.parametrize("currency", ["USD", "KHR"])
def test_no_amount_formats_as_nothing(currency):
    assert format_money(None, currency) == ""


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("2.005", "USD", "2.01"), ("2.004", "USD", "2.00"), ("7.5", "KHR", "8"),
    ("7.49", "KHR", "7"), ("100", "KHR", "100"),
])
def test_quantize_to_the_currency_step(amount, currency, expected):
    result = quantize(Decimal(amount), currency)
    assert result == Decimal(expected) and str(result) == expected


@pytest.mark.parametrize(("raw", "currency", "expected"), [
    ("2.50", "USD", "2.50"), (" 3 ", "USD", "3.00"), ("1,250.75", "USD", "1250.75"),
    ("0", "USD", "0.00"), ("15000", "KHR", "15000"), ("15,000", "KHR", "15000"),
    ("99999999.99", "USD", "99999999.99"),
])
def test_prices_typed_by_staff(raw, currency, expected):
    assert parse_amount(raw, currency) == Decimal(expected)


@pytest.mark.parametrize(("raw", "currency", "message"), [
    ("", "USD", "must be a number"),
    (None, "USD", "must be a number"),
    ("abc", "USD", "must be a number"),
    ("$2", "USD", "must be a number"),
    ("-1", "USD", "between 0 and"),
    ("100000000", "USD", "between 0 and"),
    ("NaN", "USD", "between 0 and"),
    ("Infinity", "USD", "between 0 and"),
    ("2.555", "USD", "at most 2 decimals"),
    ("1500.5", "KHR", "whole riel"),
])
def test_bad_prices_are_refused_with_a_clear_message(raw, currency, message):
    with pytest.raises(DomainError, match=message):
        parse_amount(raw, currency, field="Price")


def test_the_field_name_is_in_the_message():
    with pytest.raises(DomainError, match="^Price must be a number"):
        parse_amount("x", "USD", field="Price")


@pytest.mark.parametrize(("usd", "rate", "round_to", "expected"), [
    ("2.50", "4100", 100, "10300"),  # 10,250 rounds half up to 10,300
    ("2.00", "4100", 100, "8200"),
    ("0.01", "4100", 100, "0"),
    ("7.75", "4000", 100, "31000"),
    ("1.23", "4100", 1, "5043"),
])
def test_usd_to_riel(usd, rate, round_to, expected):
    assert usd_to_khr(Decimal(usd), Decimal(rate), round_to=round_to) == Decimal(expected)
