"""The reports' numbers against a seeded set of orders: sales by hour, day, category and payment
method computed here independently (Phnom Penh is UTC+7 all year, so the test shifts by seven
hours itself), the voids, the charts' labels and colours, the two CSV exports, bad periods and
another shop's owner."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from shopqr.extensions import db
from shopqr.models import Category, utcnow
from shopqr.services.checkout import OrderItem, create_order
from shopqr.services.reports import build, parse_range
from tests.factories import make_product, make_shop
from tests.settings.test_settings_pages import make_owner, owner_login

PLUS_7 = timedelta(hours=7)
PERIOD = {"range": "custom", "from": "2026-11-29", "to": "2026-12-01"}
FIRST, LAST = datetime(2026, 11, 29), datetime(2026, 12, 2)  # local, LAST excluded


@dataclass
class Seed:
    local: datetime  # when the order was placed, Phnom Penh time
    product: str
    quantity: int
    method: str = "cash"
    status: str = "paid"  # paid | pending | cancelled
    large: bool = False  # the latte's "Large" size (+0.50)


PRICES = {"Latte": Decimal("2.50"), "Banana Cake": Decimal("1.75"), "=SUM(A1)": Decimal("1.00"),
          "Tea": Decimal("1.20")}
CATEGORY = {"Latte": "Coffee", "Banana Cake": "Cakes", "=SUM(A1)": "Cakes", "Tea": None}
SEEDS = [
    Seed(datetime(2026, 11, 28, 23, 59, 59), "Latte", 4),  # the second before the period
    Seed(datetime(2026, 11, 29, 0, 0, 0), "Latte", 1, "khqr"),  # its first second
    Seed(datetime(2026, 11, 30, 13, 15), "Latte", 2, large=True),
    Seed(datetime(2026, 11, 30, 13, 45), "Banana Cake", 3, "khqr"),
    Seed(datetime(2026, 11, 30, 23, 59), "=SUM(A1)", 2, "khqr"),
    Seed(datetime(2026, 12, 1, 0, 0, 30), "Tea", 1),  # the month's first minute
    Seed(datetime(2026, 12, 1, 9, 0), "Latte", 5, status="pending"),  # not a sale
    Seed(datetime(2026, 12, 1, 10, 0), "Banana Cake", 2, status="cancelled"),
    Seed(datetime(2026, 12, 1, 10, 30), "Latte", 1, "khqr", status="cancelled", large=True),
    Seed(datetime(2026, 12, 1, 23, 59, 59), "Tea", 3, "khqr"),  # the period's last second
    Seed(datetime(2026, 12, 2, 0, 0, 0), "Latte", 7),  # the second after it
]


def amount(seed: Seed) -> Decimal:
    return (PRICES[seed.product] + (Decimal("0.50") if seed.large else 0)) * seed.quantity


def expected() -> dict[str, dict]:
    """The seeds' sales, bucketed by this test (not by the app's code)."""
    sums: dict[str, dict] = {k: defaultdict(Decimal) for k in ("hour", "day", "category",
                                                               "method", "void")}
    for seed in SEEDS:
        if not FIRST <= seed.local < LAST:
            continue
        if seed.status == "cancelled":
            sums["void"]["count"] += 1
            sums["void"]["amount"] += amount(seed)
        if seed.status != "paid":
            continue
        sums["hour"][seed.local.hour] += amount(seed)
        sums["day"][seed.local.strftime("%d/%m")] += amount(seed)
        sums["category"][CATEGORY[seed.product] or "No category"] += amount(seed)
        sums["method"][{"khqr": "KHQR", "cash": "Cash"}[seed.method]] += amount(seed)
    return sums


@pytest.fixture
def seeded(app, ctx):
    shop = make_shop("report-cafe", name="Report Cafe")
    coffee = Category(shop_id=shop.id, name="Coffee")
    cakes = Category(shop_id=shop.id, name="Cakes")
    db.session.add_all([coffee, cakes])
    products = {
        "Latte": make_product(shop, "Latte", "2.50", category=coffee,
                              options={"Size": [("Small", "0"), ("Large", "0.50")]}),
        "Banana Cake": make_product(shop, "Banana Cake", "1.75", category=cakes),
        "=SUM(A1)": make_product(shop, "=SUM(A1)", "1.00", category=cakes),
        "Tea": make_product(shop, "Tea", "1.20"),
    }
    products["Tea"].category_id = None
    db.session.commit()
    for seed in SEEDS:
        product = products[seed.product]
        options = [g.options[1 if seed.large else 0] for g in product.option_groups]
        order = create_order(db.session, shop, items=[OrderItem(product, options, seed.quantity)],
                             method=seed.method, key=None, table=None)
        order.created_at = seed.local - PLUS_7  # stored as naive UTC
        order.payment_status = seed.status
        if seed.status == "paid":
            order.paid_at = order.created_at + timedelta(minutes=1)
        if seed.status == "cancelled":
            order.cancel_reason = "Guest left"
    # Another shop's sale in the same hours: never in this shop's report.
    other = make_shop("other-cafe", name="Other Cafe")
    foreign = create_order(db.session, other, items=[OrderItem(
        make_product(other, "Foreign", "9.00"), [], 3)], method="cash", key=None, table=None)
    foreign.created_at, foreign.payment_status = datetime(2026, 11, 30, 6), "paid"
    db.session.commit()
    owner = make_owner(shop)
    client = app.test_client()
    owner_login(client, shop, owner)
    return shop, client


def bars(chart) -> dict[str, Decimal]:
    return {b.label: b.value for b in chart.bars}


def test_sales_by_hour_day_category_and_method_match_the_seeded_orders(seeded):
    shop, _ = seeded
    want = expected()
    report = build(db.session, shop, parse_range(PERIOD, utcnow()))
    revenue = sum(want["method"].values(), Decimal("0"))
    assert revenue > 0 and report.revenue == revenue
    assert report.orders == sum(1 for s in SEEDS if s.status == "paid" and FIRST <= s.local < LAST)
    hours = report.charts["hour"].bars
    assert len(hours) == 24
    assert [b.value for b in hours] == [want["hour"].get(h, Decimal("0")) for h in range(24)]
    # Every day of the period is there, the ones without sales too (none here), in order.
    assert bars(report.charts["day"]) == {d: want["day"][d] for d in ("29/11", "30/11", "01/12")}
    assert bars(report.charts["category"]) == dict(want["category"])
    assert bars(report.charts["method"]) == dict(want["method"])
    assert report.by_method["khqr"][1] == want["method"]["KHQR"]
    assert (report.voids.count, report.voids.amount) == (want["void"]["count"],
                                                         want["void"]["amount"])
    assert {o.cancel_reason for o in report.voids.orders} == {"Guest left"}
    # Each chart adds up to the revenue.
    for name in ("hour", "day", "category", "method"):
        assert report.charts[name].total == revenue, name


def test_days_without_sales_are_zero_and_long_ranges_go_by_month(seeded):
    shop, _ = seeded
    week = build(db.session, shop, parse_range(
        {"range": "custom", "from": "2026-11-25", "to": "2026-12-03"}, utcnow()))
    days = bars(week.charts["day"])
    assert list(days) == ["25/11", "26/11", "27/11", "28/11", "29/11", "30/11", "01/12",
                          "02/12", "03/12"]
    assert days["25/11"] == days["03/12"] == 0
    assert days["28/11"] == amount(SEEDS[0]) and days["02/12"] == amount(SEEDS[-1])
    year = build(db.session, shop, parse_range(
        {"range": "custom", "from": "2026-01-01", "to": "2026-12-31"}, utcnow()))
    months = bars(year.charts["day"])
    assert len(months) == 12 and months["01/2026"] == 0
    paid = [s for s in SEEDS if s.status == "paid"]
    assert months["11/2026"] == sum(amount(s) for s in paid if s.local.month == 11)
    assert months["12/2026"] == sum(amount(s) for s in paid if s.local.month == 12)


def test_the_page_shows_the_period_the_charts_and_the_csv_links(seeded):
    shop, client = seeded
    page = client.get(f"/s/{shop.slug}/settings/reports", query_string=PERIOD)
    assert page.status_code == 200
    text = page.text
    revenue = sum(expected()["method"].values(), Decimal("0"))
    assert f'<strong id="revenue">${revenue:.2f}</strong>' in text
    assert "29/11/2026 – 01/12/2026" in text
    assert 'value="2026-11-29"' in text and 'value="2026-12-01"' in text
    for link in ("csv-orders", "csv-lines"):
        href = re.search(rf'id="{link}" download href="([^"]+)"', text).group(1)
        assert "range=custom" in href and "from=2026-11-29" in href and "to=2026-12-01" in href
    for chart in ("chart-hour", "chart-day", "chart-category", "chart-method"):
        svg = re.search(rf'<svg class="chart[^"]*" id="{chart}".*?</svg>', text, re.S).group(0)
        assert 'role="img"' in svg and f'<title id="{chart}-title">' in svg
        assert f'<desc id="{chart}-desc">' in svg
    hour = re.search(r'id="chart-hour".*?</svg>', text, re.S).group(0)
    assert "Hour of the day (Phnom Penh time)" in hour and ">Sales</text>" in hour
    assert '<text class="y-tick"' in hour and ">$0.00</text>" in hour
    assert ">00:00</text>" in hour and ">21:00</text>" in hour
    assert "Foreign" not in text and "$27.00" not in text
    # The values are in text too: the category chart writes each amount after its bar.
    category = re.search(r'id="chart-category".*?</svg>', text, re.S).group(0)
    for name, value in expected()["category"].items():
        assert f">{name}</text>" in category and f"${value:.2f}" in category


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_chart_colours_have_contrast_on_white(seeded):
    shop, client = seeded
    text = client.get(f"/s/{shop.slug}/settings/reports", query_string=PERIOD).text
    charts = "".join(re.findall(r'<svg class="chart.*?</svg>', text, re.S))
    colours = set(re.findall(r'(?:fill|stroke)="(#[0-9a-fA-F]{6})"', charts))
    assert colours  # bars, text, axes
    for colour in colours:
        ratio = 1.05 / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, (colour, ratio)


def rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def test_the_orders_export_has_one_row_per_order(seeded):
    shop, client = seeded
    response = client.get(f"/s/{shop.slug}/settings/reports.csv", query_string=PERIOD)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "report-cafe-orders-2026-11-29_2026-12-01.csv" in response.headers[
        "Content-Disposition"]
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")
    orders = rows(body)
    inside = [s for s in SEEDS if FIRST <= s.local < LAST]
    assert len(orders) == len(inside) and len({r["number"] for r in orders}) == len(inside)
    assert [r["created (Phnom Penh)"] for r in orders] == [
        s.local.strftime("%Y-%m-%d %H:%M") for s in inside]
    assert sum(Decimal(r["total"]) for r in orders if r["payment"] == "paid") == sum(
        expected()["method"].values(), Decimal("0"))
    assert {r["cancel reason"] for r in orders if r["payment"] == "cancelled"} == {"Guest left"}
    assert [int(r["items"]) for r in orders] == [s.quantity for s in inside]


def test_the_lines_export_has_each_item_with_its_options_and_is_formula_safe(seeded):
    shop, client = seeded
    response = client.get(f"/s/{shop.slug}/settings/reports-lines.csv", query_string=PERIOD)
    assert response.status_code == 200
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")
    lines = rows(body)
    inside = [s for s in SEEDS if FIRST <= s.local < LAST]
    assert len(lines) == len(inside)  # one item line per seeded order
    by_product = defaultdict(list)
    for line in lines:
        by_product[line["product"]].append(line)
    # The product named like a formula is text, not a formula.
    assert "=SUM(A1)" not in by_product and len(by_product["'=SUM(A1)"]) == 1
    assert "\r\n" in body and ",'=SUM(A1)," in body
    large = [r for r in by_product["Latte"] if r["options"] == "Size: Large"]
    assert len(large) == 2  # the paid one and the cancelled one
    assert {r["unit price"] for r in large} == {"3.00"}
    assert {r["options"] for r in by_product["Latte"]} == {"Size: Small", "Size: Large"}
    assert {r["category"] for r in by_product["Banana Cake"]} == {"Cakes"}
    assert {r["category"] for r in by_product["Tea"]} == {""}
    assert sum(Decimal(r["line total"]) for r in lines if r["payment"] == "paid") == sum(
        expected()["method"].values(), Decimal("0"))
    orders = rows(client.get(f"/s/{shop.slug}/settings/reports.csv",
                             query_string=PERIOD).data.decode())
    assert {r["order number"] for r in lines} == {r["number"] for r in orders}


@pytest.mark.parametrize(("query", "message"), [
    ({"range": "custom", "from": "2026-12-05", "to": "2026-12-01"},
     "The start date must be on or before the end date."),
    ({"range": "custom", "from": "2025-01-01", "to": "2026-12-01"},
     "A range can be at most 366 days."),
    ({"range": "custom", "from": "2026-13-01", "to": "2026-12-01"}, "is not a date"),
    ({"range": "custom", "from": "x" * 5000, "to": "2026-12-01"}, "is not a date"),
    ({"range": "custom", "from": "2026-12-01", "to": ""}, "Pick both a start and an end date."),
    ({"range": "forever"}, "Range must be"),
])
def test_a_bad_period_is_400_with_the_message_and_the_form(seeded, query, message):
    shop, client = seeded
    page = client.get(f"/s/{shop.slug}/settings/reports", query_string=query)
    assert page.status_code == 400
    assert message in page.text and 'id="period-error"' in page.text
    assert 'name="from"' in page.text  # the picker is there to fix it
    for export in ("reports.csv", "reports-lines.csv"):
        response = client.get(f"/s/{shop.slug}/settings/{export}", query_string=query)
        assert response.status_code == 400 and message in response.text


def test_another_shops_owner_cannot_read_these_reports(seeded, app):
    shop, _ = seeded
    other = make_shop("nosy-cafe", name="Nosy Cafe")
    nosy = app.test_client()
    owner_login(nosy, other, make_owner(other))
    for path in ("reports", "reports.csv", "reports-lines.csv"):
        response = nosy.get(f"/s/{shop.slug}/settings/{path}", query_string=PERIOD)
        assert response.status_code == 303 and "/settings/login" in response.headers["Location"]
    # Their own report of the same days is empty.
    own = nosy.get(f"/s/{other.slug}/settings/reports.csv", query_string=PERIOD).data.decode()
    assert rows(own) == []


def test_the_khqr_reconciliation_lists_each_bakong_payment_once_with_its_state(seeded):
    from shopqr.models import Order
    from shopqr.services import payments

    shop, client = seeded
    khqr_orders = db.session.scalars(db.select(Order).where(
        Order.shop_id == shop.id, Order.payment_method == "khqr").order_by(Order.id)).all()
    # (order, Bakong hash, local time Bakong reported it, attention)
    reported = [
        (khqr_orders[0], "hash-paid", datetime(2026, 11, 29, 0, 1), None),
        (khqr_orders[1], "hash-second", datetime(2026, 11, 30, 14, 0), "due"),
        (khqr_orders[2], "hash-refunded", datetime(2026, 12, 1, 23, 59), "refunded"),
        (khqr_orders[3], "hash-late", datetime(2026, 12, 2, 0, 0), "due"),  # after the period
    ]
    for order, hash_, local, state in reported:
        status, order.payment_status = order.payment_status, "pending"  # a QR needs it
        txn = payments.create_khqr(db.session, shop, order, now=utcnow(), ttl_seconds=600,
                                   grace_seconds=60)
        order.payment_status = status
        txn.status, txn.bakong_hash, txn.paid_at = "paid", hash_, local - PLUS_7
        txn.bakong_amount, txn.bakong_currency = order.total, "USD"
        txn.bakong_from_account = "guest@aclb"
        if state:
            txn.attention, txn.attention_kind = state, "khqr"
        if state == "refunded":
            txn.resolution_note = "Refunded in ABA"
    db.session.commit()
    text = client.get(f"/s/{shop.slug}/settings/reports", query_string=PERIOD).text
    table = text[text.index('id="khqr-payments"'):text.index("</table>", text.index(
        'id="khqr-payments"'))]
    assert table.count('id="khqr-payment-') == 3
    for hash_ in ("hash-paid", "hash-second", "hash-refunded"):
        assert table.count(hash_) == 1
    assert "hash-late" not in table
    assert "Paid the order" in table and "Refund due" in table
    assert "Resolved: refunded" in table and "Refunded in ABA" in table
    assert '<strong id="refunds-due">1</strong>' in text
    # The extra payments are not sales: the revenue is still the paid orders'.
    revenue = sum(expected()["method"].values(), Decimal("0"))
    assert f'<strong id="revenue">${revenue:.2f}</strong>' in text
