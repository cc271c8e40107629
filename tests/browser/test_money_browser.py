"""Money after payment on a 1024x768 tablet (issue 14 items 4-5; docs/shifts.md,
docs/refunds.md): the owner opens the drawer's shift with a float in dollars and riel, sells a
walk-in order for cash, refunds one item in cash from the order page, closes the shift by
counting and prints its Z-report. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import sign_in
from tests.browser.test_pos_till import TABLET, pdf_width_mm, product, tablet, wait_for_prints
from tests.factories import make_product, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def drawer(app, ctx):
    from shopqr.extensions import db
    from shopqr.services.shops import add_staff

    shop = make_shop("drawer-cafe", name="Drawer Cafe")
    make_product(shop, "Latte", "2.50")
    make_product(shop, "Croissant", "1.75")
    add_staff(db.session, shop, name="Sophea", role="owner", pin="135790")
    db.session.commit()
    return shop


def big_enough(page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44, (selector, box)


def test_shift_open_sale_refund_close_and_z_report(browser: Browser, live_server, drawer, shot):
    base, slug = live_server.url, drawer.slug
    page = tablet(browser)
    sign_in(page, base, slug, "Sophea", "135790")
    expect(page).not_to_have_url(re.compile(r"/staff/"))
    page.goto(f"{base}/s/{slug}/pos/")
    expect(page.locator("#shift-link")).to_have_text("Shift: closed")

    # Open the shift: the float, counted in dollars and riel.
    page.locator("#shift-link").click()
    expect(page.locator("#shift-open")).to_contain_text("No shift is open")
    page.get_by_label("US dollars in the drawer").fill("20")
    page.get_by_label("Riel in the drawer").fill("40000")
    big_enough(page, "#open-shift")
    page.locator("#open-shift").click()
    expect(page.locator(".flash")).to_contain_text("Shift open")
    expect(page.locator("#expected-usd")).to_have_text("$20.00")

    # A walk-in sale: two lattes and a croissant ($6.75), paid with a $10 note.
    page.get_by_role("link", name="POS").click()
    expect(page.locator("#shift-link")).to_have_text("Shift: open")
    for name in ("Latte", "Latte", "Croissant"):
        product(page, name).locator("button").click()
    expect(page.locator(".ticket-total")).to_have_text("$6.75")
    page.locator(".charge-btn").click()
    expect(page).to_have_url(re.compile(r"/pos/orders/\d+$"))
    page.get_by_label("US dollars received").fill("10")
    page.get_by_role("button", name="Cash received").click()
    expect(page).to_have_url(re.compile(r"/receipt\?print=1$"))
    wait_for_prints(page, 1)
    page.get_by_role("link", name="Back to the order").click()

    # Refund one latte in cash: $2.50 = $2.00 + 2,100 riel out of the drawer.
    big_enough(page, "#refund-open")
    page.locator("#refund-open").click()
    page.get_by_label("Some items").check()
    page.locator(".refund-lines tr", has_text="Latte").locator("input").fill("1")
    page.get_by_label("Reason").fill("Spilt on the counter")
    page.locator("#refund-submit").click()
    expect(page.locator(".flash")).to_contain_text(
        "Refunded $2.50 (Cash back). Hand back $2.00 + 2,100៛.")
    expect(page.locator("#refund-list")).to_contain_text("Spilt on the counter")
    expect(page.locator("#refunded-total")).to_contain_text("$2.50")
    shot(page, "pos-refund-tablet")

    # Close: expected $20 + $10 - $3 change - $2 refund = $25 and 40,000 - 1,000 - 2,100
    # = 36,900 riel; the count is 500 riel short.
    page.locator("#shift-link").click()
    expect(page.locator("#expected-usd")).to_have_text("$25.00")
    expect(page.locator("#expected-khr")).to_have_text("36,900៛")
    page.get_by_label("US dollars counted").fill("25")
    page.get_by_label("Riel counted").fill("36400")
    big_enough(page, "#close-shift")
    page.locator("#close-shift").click()

    # The Z-report: sales by method, refunds, the drawer expected against counted.
    expect(page).to_have_url(re.compile(r"/pos/shifts/\d+/report$"))
    expect(page.locator(".flash")).to_contain_text("Shift closed.")
    for selector, text in (("#z-cash-sales", "$6.75"), ("#z-khqr-sales", "$0.00"),
                           ("#z-refunds", "−$2.50"), ("#z-net", "$4.25"),
                           ("#z-expected-usd", "$25.00"), ("#z-counted-khr", "36,400៛"),
                           ("#z-difference-usd", "$0.00"), ("#z-difference-khr", "-500៛")):
        expect(page.locator(selector)).to_contain_text(text)
    expect(page.locator("#z-difference-khr")).to_contain_text("short")
    shot(page, "pos-z-report-tablet")
    page.get_by_role("button", name="Print").click()
    wait_for_prints(page, 1)  # (the count starts again on each page)
    assert abs(pdf_width_mm(page) - 80) < 1  # the shop's receipt roll
    page.emulate_media(media="print")
    expect(page.locator(".staff-header")).to_be_hidden()
    expect(page.locator(".receipt-actions")).to_be_hidden()
    page.emulate_media(media="screen")
    page.set_viewport_size(TABLET)
    expect(page.locator("#shift-link")).to_have_text("Shift: closed")
    assert not page.errors, page.errors

    # The drawer's screen in Khmer on a phone: every field labelled, nothing scrolls sideways.
    page.goto(f"{base}/s/{slug}/pos/shift")
    page.locator(".lang-switch button[value=km]").click()
    expect(page.locator("html")).to_have_attribute("lang", "km")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#open-shift")).to_be_visible()
    for field in page.locator("#shift-open input:not([type=hidden])").all():
        assert field.evaluate("el => el.labels.length > 0"), field.get_attribute("name")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    big_enough(page, "#open-shift")
    shot(page, "pos-shift-km-phone")
    assert not page.errors, page.errors
