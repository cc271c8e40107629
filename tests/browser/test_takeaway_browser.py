"""Takeaway at the counter in Chromium on a phone viewport (390x844), against a live server with
the Bakong simulator and the poller (issue 13 §4, docs/takeaway.md): two phones scan the
counter's QR code and each has its own cart; one orders and pays cash at the counter, the
cashier takes the money on the POS, the barista bumps the "Takeaway #N" card, and the phone's
page says "Ready for pickup"; then the same with KHQR, in Khmer. Screenshots land in
tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, sign_in
from tests.factories import make_product, make_shop, make_staff, make_table, open_shift

pytestmark = [pytest.mark.browser, pytest.mark.live]

DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def cafe(app, ctx):
    shop = make_shop("takeaway-cafe", name="Takeaway Cafe", name_km="ហាងកាហ្វេខ្ចប់")
    make_table(shop, "Table 2")
    make_product(shop, "Iced Latte", "2.50", name_km="ឡាតេទឹកកក")
    make_product(shop, "Croissant", "1.75", name_km="នំក្រ័រសង់")
    make_staff(shop, "barista", "271828", name="Vanna")
    # the drawer is open: cash can be taken (docs/shifts.md)
    open_shift(shop, make_staff(shop, "cashier", "481516", name="Dara"))
    return shop.slug, shop.counter_token


@pytest.fixture
def browser(browser: Browser):
    """The session's browser; every context a test opens is closed after it (the staff
    screens' sockets with it, so the live server stops at once)."""
    opened = []
    real = browser.new_context

    def new_context(**kwargs):
        context = real(**kwargs)
        opened.append(context)
        return context

    browser.new_context = new_context
    yield browser
    browser.new_context = real
    for context in opened:
        context.close()


def phone(browser: Browser, *, lang: str | None = None) -> Page:
    context = browser.new_context(viewport=PHONE)
    if lang:
        context.add_cookies([{"name": "shopqr_lang", "value": lang,
                              "url": "http://127.0.0.1/"}])
    return context.new_page()


def add(page: Page, product: str) -> None:
    page.locator(".product-card", has_text=product).click()
    expect(page.locator("#product-dialog")).to_be_visible()
    page.locator("#product-dialog button.btn-primary").click()
    expect(page.locator("#product-dialog")).to_be_hidden()


def bump(kitchen: Page, label: str, *labels: str) -> None:
    """The barista taps the card's buttons in turn (Start, Ready, Served)."""
    for text in (*labels,):
        kitchen.locator(".kitchen-card", has_text=label).locator(
            ".card-advance", has_text=text).click()


def test_takeaway_cash_to_pickup(browser: Browser, live_server, poller_running, cafe, shot):
    slug, code = cafe
    base = live_server.url
    dara, sok = phone(browser), phone(browser)
    for page in (dara, sok):
        page.goto(f"{base}/s/{slug}/c/{code}")
        expect(page.locator(".table-name")).to_have_text("Takeaway")
    expect(dara.locator(".service-box")).to_have_count(0)  # no "call staff" at the counter

    # Two strangers at the counter: each phone has its own cart.
    add(dara, "Croissant")
    add(dara, "Croissant")
    expect(dara.locator("#cart-badge .cart-count")).to_have_text("2")
    add(sok, "Iced Latte")
    expect(sok.locator("#cart-badge .cart-count")).to_have_text("1")
    sok.wait_for_timeout(3500)  # longer than the cart's poll: nothing of Dara's arrives
    expect(sok.locator("#cart-badge .cart-count")).to_have_text("1")
    sok.locator("#cart-badge").click()
    expect(sok.locator("#cart-dialog .cart-line")).to_have_count(1)
    expect(sok.locator("#cart-dialog")).not_to_contain_text("Croissant")

    dara.locator("#cart-badge").click()
    cart = dara.locator("#cart-dialog")
    expect(cart.locator("h2")).to_have_text("Your takeaway order")
    expect(cart).to_contain_text("Only this phone sees this cart")
    shot(dara, "takeaway-cart-phone")
    cash = cart.get_by_role("button", name="Pay cash at the counter")
    assert cash.bounding_box()["height"] >= 44
    cash.click()
    expect(dara).to_have_url(re.compile(r"/orders/"))
    expect(dara.locator(".pay-at-counter")).to_contain_text("Please pay $3.50 at the counter")
    expect(dara.locator(".guest-header .table-name")).to_have_text("Takeaway")
    seq = dara.locator(".order-number span").inner_text().lstrip("#")
    shot(dara, "takeaway-order-awaiting-cash")

    # The POS shows it awaiting cash, as a takeaway order; the cashier takes the money.
    cashier = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(cashier, base, slug, "Dara", "481516")
    order = cashier.locator("#pos-awaiting .pos-order")
    expect(order).to_have_count(1)
    expect(order).to_contain_text("Takeaway")
    expect(order).to_contain_text("$3.50")
    order.locator("input[name=usd]").fill("5")
    expect(order.locator(".change-preview")).to_contain_text("$1.50")
    shot(cashier, "takeaway-pos-awaiting-cash")
    order.get_by_role("button", name="Cash received").click()
    expect(cashier.locator("#pos-awaiting .pos-order")).to_have_count(0)

    # The barista's card says "Takeaway #N"; Start, then Ready.
    kitchen = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(kitchen, base, slug, "Vanna", "271828")
    label = f"Takeaway #{seq}"
    card = kitchen.locator("#kitchen-rail .kitchen-card")
    expect(card.locator(".card-table")).to_have_text(label)
    expect(dara.locator(".order-status [aria-current=step]")).to_have_text("Paid", timeout=15000)
    bump(kitchen, label, "Start")
    expect(kitchen.locator("#kitchen-rail .kitchen-card.status-preparing")).to_have_count(1)
    shot(kitchen, "takeaway-kitchen-card")
    bump(kitchen, label, "Ready")

    # The phone's page: Ready for pickup, the largest thing on it, and in the tab's title.
    banner = dara.locator(".ready-banner")
    expect(banner).to_contain_text("Ready for pickup", timeout=15000)
    expect(banner).to_contain_text(f"Please pick it up at the counter: order #{seq}.")
    expect(dara).to_have_title(re.compile("Ready for pickup"))
    expect(dara.locator(".order-status [aria-current=step]")).to_have_text("Ready")
    shot(dara, "takeaway-ready-for-pickup")

    # Handed over: the step bar ends at "Picked up"; the menu link starts a fresh cart.
    bump(kitchen, label, "Served")
    expect(dara.locator(".order-status [aria-current=step]")).to_have_text("Picked up",
                                                                           timeout=15000)
    dara.get_by_role("link", name="Back to the menu").click()
    expect(dara.locator("#cart-badge .cart-count")).to_have_text("0")
    expect(dara.locator(".table-name")).to_have_text("Takeaway")


def test_takeaway_khqr_in_khmer(browser: Browser, live_server, poller_running, cafe, shot):
    slug, code = cafe
    base = live_server.url
    page = phone(browser, lang="km")
    page.goto(f"{base}/s/{slug}/c/{code}")
    expect(page.locator("html")).to_have_attribute("lang", "km")
    expect(page.locator(".table-name")).to_have_text("ខ្ចប់យកទៅ")
    add(page, "ឡាតេទឹកកក")
    page.locator("#cart-badge").click()
    cart = page.locator("#cart-dialog")
    expect(cart.locator("h2")).to_have_text("ការកុម្ម៉ង់ខ្ចប់យកទៅ")
    shot(page, "takeaway-cart-phone-km")
    cart.locator("button[name=method][value=khqr]").click()
    expect(page.locator(".khqr-card")).to_be_visible()
    seq = page.locator(".order-number span").inner_text().lstrip("#")
    page.locator(".sim-pay button").click()  # the simulator plays the guest's banking app
    expect(page.locator(".paid-banner")).to_be_visible(timeout=15000)

    kitchen = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(kitchen, base, slug, "Vanna", "271828")
    label = f"Takeaway #{seq}"
    expect(kitchen.locator("#kitchen-rail .kitchen-card .card-table")).to_have_text(label)
    bump(kitchen, label, "Start")
    expect(kitchen.locator("#kitchen-rail .kitchen-card.status-preparing")).to_have_count(1)
    bump(kitchen, label, "Ready")
    banner = page.locator(".ready-banner")
    expect(banner).to_contain_text("រួចរាល់ហើយ សូមមកយក", timeout=15000)
    expect(banner).to_contain_text(f"លេខកុម្ម៉ង់ #{seq}")
    shot(page, "takeaway-ready-for-pickup-km")
