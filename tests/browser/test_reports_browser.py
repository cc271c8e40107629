"""The reports page in Chromium on a tablet: the charts with their labels, switching the period,
a custom from-to range (and a wrong one), and both CSV downloads of the period shown."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from shopqr.extensions import db
from shopqr.models import Category, utcnow
from shopqr.services.checkout import OrderItem, create_order
from shopqr.services.numbering import business_date
from shopqr.services.shops import add_staff
from tests.browser.conftest import PHONE
from tests.factories import make_product, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.live]

TABLET = {"width": 820, "height": 1180}


def read_csv(path: Path) -> tuple[bytes, list[dict[str, str]]]:
    raw = path.read_bytes()
    return raw, list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_reports_periods_charts_and_downloads(browser: Browser, app, ctx, live_server, shot,
                                              khmer):
    shop = make_shop("report-browser", name="Chart Cafe")
    drinks = Category(shop_id=shop.id, name="Drinks")
    db.session.add(drinks)
    latte = make_product(shop, "Latte", "2.50", category=drinks,
                         options={"Size": [("Small", "0"), ("Large", "0.50")]})
    add_staff(db.session, shop, name="Boss", role="owner", pin="135790",
              email="boss@reports.example", password="browser-owner-pw")
    now = utcnow()
    # Today: 2 large lattes by cash; yesterday: 1 small latte by KHQR; yesterday also a void.
    for when, quantity, size, method, status in (
            (now, 2, 1, "cash", "paid"), (now - timedelta(days=1), 1, 0, "khqr", "paid"),
            (now - timedelta(days=1), 4, 0, "cash", "cancelled")):
        order = create_order(db.session, shop, method=method, key=None, table=None, items=[
            OrderItem(latte, [latte.option_groups[0].options[size]], quantity)])
        order.created_at, order.payment_status = when, status
    db.session.commit()
    today, yesterday = business_date(now), business_date(now) - timedelta(days=1)
    base = live_server.url

    page = browser.new_context(viewport=TABLET, accept_downloads=True).new_page()
    page.goto(f"{base}/s/{shop.slug}/settings/login")
    page.fill("input[name=email]", "boss@reports.example")
    page.fill("input[name=password]", "browser-owner-pw")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Reports").click()

    # Today: the totals and every chart with its title and labels.
    expect(page.locator("#revenue")).to_have_text("$6.00")
    expect(page.get_by_role("link", name="Today")).to_have_attribute("aria-current", "page")
    hour = page.get_by_role("img", name=re.compile("^Sales by hour"))
    expect(hour).to_be_visible()
    expect(hour.locator("rect.bar")).to_have_count(24)
    expect(hour.locator("text.axis-label")).to_have_text(
        ["Sales", "Hour of the day (Phnom Penh time)"])
    expect(hour.locator("text.y-tick").first).to_have_text("$0.00")
    # Readable on a tablet: the axis labels are drawn at least 11 px tall.
    box = hour.locator("text.y-tick").first.bounding_box()
    assert box is not None and box["height"] >= 11
    expect(page.get_by_role("img", name=re.compile("^Sales by day"))).to_be_visible()
    expect(page.locator("#chart-category text.row-label")).to_have_text(["Drinks"])
    expect(page.locator("#chart-category text.row-value")).to_have_text(["$6.00 (2)"])
    expect(page.locator("#chart-method text.row-value")).to_have_text(["$0.00 (0)", "$6.00 (1)"])
    expect(page.locator("#top-products thead th")).to_have_text(
        ["Product", "Quantity", "Sales", "Quantity"])
    page.get_by_text("Show the numbers").first.click()
    expect(page.locator("#chart-hour-values tbody tr")).to_have_count(24)
    shot(page, "reports-tablet")

    # Yesterday.
    page.get_by_role("link", name="Yesterday").click()
    expect(page).to_have_url(re.compile(r"range=yesterday"))
    expect(page.locator("#revenue")).to_have_text("$2.50")
    expect(page.locator("#voids-count")).to_have_text("1")
    expect(page.locator("#voids-amount")).to_have_text("$10.00")

    # A custom range: yesterday to today, typed into the labelled date fields.
    page.get_by_label("Start date").fill(yesterday.isoformat())
    page.get_by_label("End date").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(
        rf"range=custom&from={yesterday.isoformat()}&to={today.isoformat()}"))
    expect(page.locator("#revenue")).to_have_text("$8.50")
    expect(page.locator("#chart-day rect.bar")).to_have_count(2)
    expect(page.locator("#csv-orders")).to_have_attribute(
        "href", re.compile(rf"from={yesterday.isoformat()}&to={today.isoformat()}"))

    # Both downloads are the period shown: 3 orders, one row each; lines with their options.
    with page.expect_download() as download:
        page.locator("#csv-orders").click()
    assert download.value.suggested_filename == (
        f"report-browser-orders-{yesterday.isoformat()}_{today.isoformat()}.csv")
    raw, orders = read_csv(Path(download.value.path()))
    assert raw.startswith(b"\xef\xbb\xbf") and len(orders) == 3
    assert sum(Decimal(r["total"]) for r in orders if r["payment"] == "paid") == Decimal("8.50")
    with page.expect_download() as download:
        page.locator("#csv-lines").click()
    raw, lines = read_csv(Path(download.value.path()))
    assert raw.startswith(b"\xef\xbb\xbf")
    assert sorted(r["options"] for r in lines) == ["Size: Large", "Size: Small", "Size: Small"]

    # A range that ends before it starts: the page says so and keeps the picker.
    page.get_by_label("Start date").fill(today.isoformat())
    page.get_by_label("End date").fill(yesterday.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#period-error")).to_have_text(
        "The start date must be on or before the end date.")
    expect(page.get_by_label("Start date")).to_have_value(today.isoformat())
    expect(page.locator("svg.chart")).to_have_count(0)

    # In Khmer on a phone: the picker and the charts fit the screen's width.
    page.context.add_cookies([{"name": "shopqr_lang", "value": "km", "url": base}])
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/s/{shop.slug}/settings/reports?range=7d")
    expect(page.get_by_role("img", name=re.compile("^" + khmer["Sales by hour"]))).to_be_visible()
    expect(page.get_by_role("link", name=khmer["This month"])).to_be_visible()
    for selector in (".report-period", "#section-by-time", "#section-categories",
                     "#section-methods"):
        overflow = page.eval_on_selector(selector, "e => e.scrollWidth - e.clientWidth")
        assert overflow <= 0, (selector, overflow)
    shot(page, "reports-phone-km")
