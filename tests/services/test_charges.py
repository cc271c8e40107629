"""Taxes and charges (docs/taxes.md): the money (USD cents, KHR 100 riel, the three rounding
rules, added and included, VAT on the service charge), what an order keeps of them, the KHQR
amount, the receipt, the POS ticket, the report and the CSV."""

from __future__ import annotations

import csv
import io
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import Order, OrderCharge, utcnow
from shopqr.services import DomainError, charges, payments, reports
from shopqr.services.khqr import describe
from tests.factories import make_order, make_product, make_shop


def settings(*pairs: tuple[str, str, bool], rounding: str = "nearest") -> charges.Settings:
    """(kind, rate, included) in the order given."""
    return charges.Settings(tuple(charges.Charge(kind, kind.upper(), None, Decimal(rate), incl)
                                  for kind, rate, incl in pairs), rounding)


def amounts(totals: charges.Totals) -> list[Decimal]:
    return [line.amount for line in totals.lines]


# --- the money ----------------------------------------------------------------------------

def test_off_by_default_the_total_is_the_subtotal(app, ctx):
    shop = make_shop()
    assert (shop.service_on, shop.vat_on) == (False, False)
    totals = charges.totals_for(shop, Decimal("12.35"))
    assert totals.lines == () and totals.total == Decimal("12.35")


def test_usd_service_charge_then_vat_on_subtotal_plus_service_rounded_to_the_cent():
    # 10% service on $12.35 = 1.235 -> 1.24 (half up); VAT 10% on 13.59 = 1.359 -> 1.36
    totals = charges.compute(Decimal("12.35"), "USD", settings(("service", "10", False),
                                                                ("vat", "10", False)))
    assert amounts(totals) == [Decimal("1.24"), Decimal("1.36")]
    assert totals.total == Decimal("14.95") == totals.subtotal + sum(amounts(totals))


@pytest.mark.parametrize("rounding, service, vat", [
    ("nearest", "1.24", "1.36"), ("up", "1.24", "1.36"), ("down", "1.23", "1.35")])
def test_usd_rounding_rules(rounding, service, vat):
    totals = charges.compute(Decimal("12.35"), "USD", settings(
        ("service", "10", False), ("vat", "10", False), rounding=rounding))
    assert amounts(totals) == [Decimal(service), Decimal(vat)]


def test_usd_rounding_up_and_down_differ_only_below_the_cent():
    # 7.5% of $2.00 = 0.15 exactly: every rule agrees; of $2.01 = 0.15075: up 0.16, down 0.15
    exact = settings(("vat", "7.5", False), rounding="up")
    assert amounts(charges.compute(Decimal("2.00"), "USD", exact)) == [Decimal("0.15")]
    assert amounts(charges.compute(Decimal("2.01"), "USD", exact)) == [Decimal("0.16")]
    down = settings(("vat", "7.5", False), rounding="down")
    assert amounts(charges.compute(Decimal("2.01"), "USD", down)) == [Decimal("0.15")]


@pytest.mark.parametrize("rounding, service, vat, total", [
    # 5% service on 12,300 = 615 -> 600 / 700 / 600; VAT 10% on the subtotal + service
    ("nearest", "600", "1300", "14200"),   # VAT on 12,900 = 1,290 -> 1,300
    ("up", "700", "1300", "14300"),        # VAT on 13,000 = 1,300 exactly
    ("down", "600", "1200", "14100"),      # VAT on 12,900 = 1,290 -> 1,200
])
def test_khr_charges_round_to_100_riel(rounding, service, vat, total):
    totals = charges.compute(Decimal("12300"), "KHR", settings(
        ("service", "5", False), ("vat", "10", False), rounding=rounding))
    assert amounts(totals) == [Decimal(service), Decimal(vat)]
    assert totals.total == Decimal(total)


def test_khr_half_way_rounds_up_to_the_next_100_riel():
    # 10% of 4,500 = 450: half way between 400 and 500
    assert amounts(charges.compute(Decimal("4500"), "KHR", settings(("vat", "10", False)))) \
        == [Decimal("500")]


def test_an_included_vat_is_shown_and_not_added():
    # $11.00 with 10% VAT inside: 11 x 10/110 = 1.00; the total stays $11.00
    totals = charges.compute(Decimal("11.00"), "USD", settings(("vat", "10", True)))
    assert amounts(totals) == [Decimal("1.00")] and totals.total == Decimal("11.00")
    # riel: 45,000 x 10/110 = 4,090.9 -> 4,100
    khr = charges.compute(Decimal("45000"), "KHR", settings(("vat", "10", True)))
    assert amounts(khr) == [Decimal("4100")] and khr.total == Decimal("45000")


def test_an_included_vat_holds_an_added_service_charge_too():
    # service 10% added on $20.00 = 2.00; VAT included in everything paid: 22 x 10/110 = 2.00
    totals = charges.compute(Decimal("20.00"), "USD", settings(("service", "10", False),
                                                                ("vat", "10", True)))
    assert amounts(totals) == [Decimal("2.00"), Decimal("2.00")]
    assert totals.total == Decimal("22.00")


def test_a_zero_rate_charge_is_a_zero_line():
    totals = charges.compute(Decimal("3.00"), "USD", settings(("service", "0", False)))
    assert amounts(totals) == [Decimal("0.00")] and totals.total == Decimal("3.00")


@pytest.mark.parametrize("currency", ["USD", "KHR"])
def test_random_bills_add_up_and_every_line_is_in_the_currency_unit(currency):
    """Whatever the rates and rules: each line is a whole number of units (a cent, 100 riel),
    within one unit of the exact amount, and the total is the subtotal plus the added lines."""
    rng = random.Random(17)
    unit = charges.UNIT[currency]
    for _ in range(300):
        subtotal = (Decimal(rng.randint(1, 500_000)) * (Decimal("0.01") if currency == "USD"
                                                         else Decimal("1")))
        pairs = [(kind, str(Decimal(rng.randint(0, 2000)) / 100), rng.random() < 0.3)
                 for kind in charges.KINDS if rng.random() < 0.8]
        rule = rng.choice(list(charges.ROUNDINGS))
        totals = charges.compute(subtotal, currency, settings(*pairs, rounding=rule))
        base = subtotal
        for line, (_, rate, included) in zip(totals.lines, pairs, strict=True):
            assert line.amount % unit == 0
            rate_d = Decimal(rate)
            exact = base * rate_d / ((100 + rate_d) if included else 100)
            assert abs(line.amount - exact) < unit
            if rule == "up":
                assert line.amount >= exact
            elif rule == "down":
                assert line.amount <= exact
            else:
                assert line.amount == (exact / unit).quantize(Decimal("1"),
                                                              rounding=ROUND_HALF_UP) * unit
            if not included:
                base += line.amount
        assert totals.total == subtotal + sum(
            (line.amount for line in totals.lines if not line.included), Decimal("0"))


@pytest.mark.parametrize("raw", ["101", "-1", "abc", "10.123", "١٠", "", "NaN", "Infinity",
                                 "1e2", "100.01"])
def test_bad_rates_are_refused(app, ctx, raw):
    with pytest.raises(DomainError):
        charges.parse_rate(raw, "VAT")


@pytest.mark.parametrize("raw, value", [("10", "10.00"), ("2.5", "2.50"), (" 10 % ", "10.00"),
                                        ("0", "0.00"), ("100", "100.00")])
def test_good_rates(raw, value):
    assert charges.parse_rate(raw, "VAT") == Decimal(value)


# --- the order keeps what it was charged ------------------------------------------------------

def charge_on(shop, *, service=None, vat=None, vat_included=False, rounding="nearest"):
    shop.service_on, shop.vat_on = service is not None, vat is not None
    if service is not None:
        shop.service_name, shop.service_rate = "Service charge", Decimal(service)
    if vat is not None:
        shop.vat_name, shop.vat_name_km, shop.vat_rate = "VAT", "អាករលើតម្លៃបន្ថែម", Decimal(vat)
    shop.vat_included = vat_included
    shop.charge_rounding = rounding
    db.session.commit()


@pytest.mark.parametrize("currency, price, subtotal, service, vat, total", [
    ("USD", "4.45", "8.90", "0.89", "0.98", "10.77"),   # 0.89; 10% of 9.79 = 0.979 -> 0.98
    ("KHR", "8900", "17800", "1800", "2000", "21600"),  # 1,780 -> 1,800; 1,960 -> 2,000
])
def test_an_order_stores_its_subtotal_charges_and_grand_total(app, ctx, currency, price,
                                                              subtotal, service, vat, total):
    shop = make_shop(currency=currency)
    charge_on(shop, service="10", vat="10")
    order = make_order(shop, make_product(shop, "Lok Lak", price), 2)
    assert (order.subtotal, order.total) == (Decimal(subtotal), Decimal(total))
    assert [(c.kind, c.name, c.rate, c.included, c.amount) for c in order.charges] == [
        ("service", "Service charge", Decimal("10"), False, Decimal(service)),
        ("vat", "VAT", Decimal("10"), False, Decimal(vat))]


def test_the_order_keeps_its_charges_when_the_settings_change(app, ctx):
    shop = make_shop()
    charge_on(shop, vat="10")
    order = make_order(shop, make_product(shop, "Latte", "2.50"), 2)
    charge_on(shop, service="5", vat="12", vat_included=True)
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.total == Decimal("5.50") and order.subtotal == Decimal("5.00")
    assert [(c.name, c.rate, c.amount) for c in order.charges] == [
        ("VAT", Decimal("10"), Decimal("0.50"))]
    fresh = make_order(shop, make_product(shop, "Tea", "2.50"), 2)
    assert [c.kind for c in fresh.charges] == ["service", "vat"]
    assert fresh.total == Decimal("5.25")  # service 0.25 added; VAT included: not added


def test_the_khqr_amount_is_the_grand_total(app, ctx):
    shop = make_shop(khqr_merchant_name="Tax Cafe")
    charge_on(shop, service="10", vat="10")
    order = make_order(shop, make_product(shop, "Latte", "3.00"), 1, method="khqr")
    txn = payments.create_khqr(db.session, shop, order, now=utcnow(), ttl_seconds=600,
                               grace_seconds=60)
    assert order.total == Decimal("3.63")  # 3.00 + 0.30 + 10% of 3.30
    assert txn.amount == order.total
    assert describe(txn.qr_string)["amount"] == Decimal("3.63")


def test_an_order_too_large_with_its_charges_is_refused(app, ctx):
    from shopqr.services.checkout import OrderItem, create_order

    shop = make_shop(currency="KHR")
    charge_on(shop, service="50", vat="50")
    big = make_product(shop, "Banquet", "45000000")  # 2 x 45M = 90M < max; with charges: more
    with pytest.raises(DomainError):
        create_order(db.session, shop, items=[OrderItem(big, [], 2)], method="cash", key=None)
    db.session.rollback()
    assert db.session.scalar(select(Order.id)) is None


# --- where the lines show ----------------------------------------------------------------------

def test_receipt_and_order_page_show_the_charge_lines(app, ctx):
    shop = make_shop()
    charge_on(shop, service="10", vat="10", vat_included=True)
    order = make_order(shop, make_product(shop, "Latte", "5.00"), 2, paid=True)
    client = app.test_client()
    page = client.get(f"/s/{shop.slug}/orders/{order.public_token}")
    receipt = client.get(f"/s/{shop.slug}/orders/{order.public_token}/receipt")
    for response in (page, receipt):
        assert response.status_code == 200
        text = response.text
        assert "Subtotal" in text and "$10.00" in text
        assert "Service charge 10%" in text and "$1.00" in text
        assert "incl. VAT 10%" in text and text.count("$1.00") == 2  # 11.00 x 10/110
        assert "$11.00" in text
    khmer = client.get(f"/s/{shop.slug}/orders/{order.public_token}/receipt",
                       headers={"Accept-Language": "km"})
    assert "អាករលើតម្លៃបន្ថែម" in khmer.text  # the charge's Khmer name


def test_report_sums_each_charge_and_the_csv_has_the_columns(app, ctx):
    from tests.settings.test_settings_pages import make_owner, owner_login

    shop = make_shop()
    owner = make_owner(shop)
    charge_on(shop, service="10", vat="10")
    latte = make_product(shop, "Latte", "2.00")
    make_order(shop, latte, 1, paid=True)  # 2.00 + 0.20 + 0.22
    make_order(shop, latte, 3, paid=True)  # 6.00 + 0.60 + 0.66
    make_order(shop, latte, 5)  # unpaid: not in the report's sums
    client = app.test_client()
    owner_login(client, shop, owner)
    page = client.get(f"/s/{shop.slug}/settings/reports?range=today").text
    assert '<strong id="revenue">$9.68</strong>' in page
    section = page.split('id="report-charges"')[1].split("</section>")[0]
    assert "Service charge 10%" in section and "$0.80" in section
    assert "VAT 10%" in section and "$0.88" in section
    rows = list(csv.reader(io.StringIO(
        client.get(f"/s/{shop.slug}/settings/reports.csv?range=today").text.lstrip("\ufeff"))))
    header, first = rows[0], rows[1]
    assert header[-2:] == ["subtotal", "charges"]
    assert first[header.index("total")] == "2.42" and first[-2] == "2.00"
    assert first[-1] == "Service charge 10%: 0.20; VAT 10%: 0.22"
    assert len(rows) == 4


def test_report_totals_are_per_shop(app, ctx):
    mine, other = make_shop(), make_shop()
    for shop in (mine, other):
        charge_on(shop, vat="10")
    make_order(mine, make_product(mine, "Latte", "2.00"), 1, paid=True)
    make_order(other, make_product(other, "Latte", "9.00"), 1, paid=True)
    report = reports.build(db.session, mine, reports.preset("today", utcnow()))
    totals = report.extra["charge_totals"]
    assert [(t.name, t.orders, t.amount) for t in totals] == [("VAT", 1, Decimal("0.20"))]
    assert db.session.scalar(select(OrderCharge.amount).join(Order).where(
        Order.shop_id == other.id)) == Decimal("0.90")
