"""The shared readers of typed input: ids (services.parse_id and the URL converter built on the
same pattern) and text (services.sanitize, behind clean_text and clean_note)."""

from __future__ import annotations

import random
import re

import pytest

from shopqr.services import ID_PATTERN, MAX_ID, DomainError, clean_text, parse_id, sanitize
from shopqr.services import cart as cart_service
from shopqr.services.money import parse_amount
from shopqr.services.shops import validate_pin

OTHER_DIGITS = ["١", "١٢", "១", "១២", "１", "۱", "१", "²", "𝟙"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", 1), ("42", 42), (" 42 ", 42), ("42\n", 42), (str(MAX_ID), MAX_ID), (7, 7),
    (MAX_ID, MAX_ID),
])
def test_ids_that_are_read(raw, expected):
    assert parse_id(raw) == expected


@pytest.mark.parametrize("raw", [
    None, "", " ", "0", "00", "007", "-1", "+1", "1_0", "1.0", "1e3", "abc", "0x10", "1 2",
    str(MAX_ID + 1), str(2**64), "9" * 25, "9" * 5000, 0, -1, MAX_ID + 1, True, False, 1.0,
    b"1", ["1"], "\u00a01", "1\u2003", *OTHER_DIGITS,
])
def test_ids_that_are_refused(raw):
    assert parse_id(raw) is None


def test_the_id_pattern_is_exactly_1_to_max_id():
    pattern = re.compile(ID_PATTERN)
    edges = [1, 9, 10, 99, 10**17, 10**18 - 1, 10**18, MAX_ID - 1, MAX_ID, MAX_ID + 1,
             10**19 - 1, 10**19, 2**64]
    rng = random.Random(63)
    samples = edges + [rng.randrange(1, 2**65) for _ in range(20000)] + [
        rng.randrange(MAX_ID - 10**6, MAX_ID + 10**6) for _ in range(20000)]
    for n in samples:
        assert bool(pattern.fullmatch(str(n))) == (1 <= n <= MAX_ID), n
    assert not pattern.fullmatch("0") and not pattern.fullmatch("01")


def test_the_url_converter_uses_the_same_rule(app):
    adapter = app.url_map.bind("localhost")
    rule = "/s/x/pos/orders/{}"
    assert adapter.match(rule.format(MAX_ID), "GET")[1]["order_id"] == MAX_ID
    for bad in [str(MAX_ID + 1), "0", "01", "-1", *OTHER_DIGITS]:
        with pytest.raises(Exception) as caught:
            adapter.match(rule.format(bad), "GET")
        assert getattr(caught.value, "code", None) == 404, bad
    # a list position may be 0
    assert adapter.match("/s/x/pos/ticket/items/0/remove", "POST")[1]["index"] == 0


@pytest.mark.parametrize(("raw", "expected"), [
    (None, ""), ("  plain  ", "plain"), ("a\x00b", "ab"), ("a\x1bb", "ab"), ("a\x7fb", "ab"),
    ("a\x9fb", "ab"), ("a\x85b", "a b"), ("a\nb", "a b"), ("a\r\nb", "a b"), ("a\tb", "a b"),
    ("a\u2028b", "a b"), ("\u202eevil\u202c", "evil"), ("\u2066a\u2069\u2067b\u2068c\u2069", "abc"),
    ("\u200ea\u200fb\u061c", "ab"), ("\u202a\u202b\u202dx", "x"),
    # kept: Khmer letters, COENG and vowel signs, ZWSP, ZWNJ, ZWJ, no-break space, emoji
    ("ស្ករ\u200bតិច", "ស្ករ\u200bតិច"), ("a\u200cb\u200dc", "a\u200cb\u200dc"),
    ("1\u00a0kg", "1\u00a0kg"), ("☕️ x2", "☕️ x2"),
])
def test_sanitize_single_line(raw, expected):
    assert sanitize(raw) == expected


def test_sanitize_multiline_keeps_line_breaks():
    assert sanitize("one\r\ntwo\rthree\n\u202efour\x00\tfive ", multiline=True) == \
        "one\ntwo\nthree\nfour five"


def test_clean_text_and_clean_note_go_through_sanitize():
    assert clean_text("\u202eLatte\x00", "Name", 80, required=True) == "Latte"
    assert cart_service.clean_note("\u2066hot\u2069\nplease") == "hot please"
    with pytest.raises(DomainError, match="Name is required"):
        clean_text("\u202e\x00", "Name", 80, required=True)
    assert clean_text("x" * 80 + "\u202e" * 10, "Name", 80, required=True) == "x" * 80


@pytest.mark.parametrize("raw", ["២", "២៥០០", "٢٫٥", "٢.٥٠", "１", "2\u00a0500"])
def test_amounts_are_ascii_digits_only(raw):
    with pytest.raises(DomainError, match="must be written with the digits 0-9"):
        parse_amount(raw, "KHR", field="Price")


@pytest.mark.parametrize("raw", ["១២៣៤៥៦", "١٢٣٤٥٦", "１２３４５６", "12345²"])
def test_pins_are_ascii_digits_only(app, ctx, raw):
    from tests.factories import make_shop

    with pytest.raises(DomainError, match="A PIN must be 6 digits"):
        validate_pin(make_shop(), raw)


@pytest.mark.parametrize("raw", ["១", "٣", "１", "²"])
def test_quantities_are_ascii_digits_only(raw):
    with pytest.raises(DomainError, match="whole number"):
        cart_service.parse_quantity(raw)
