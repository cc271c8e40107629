"""Whole flows in a real browser: guests, kitchen, cashier."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, sign_in
from tests.factories import make_product, make_shop, make_staff, make_table, open_shift

pytestmark = [pytest.mark.browser, pytest.mark.live]




def add_to_cart(page: Page, product_name: str, option: str | None = None) -> None:
    page.locator(".product-card", has_text=product_name).click()
    expect(page.locator("#product-dialog")).to_be_visible()
    if option:
        page.locator("#product-dialog label.option", has_text=option).click()
    page.locator("#product-dialog button.btn-primary").click()
    expect(page.locator("#product-dialog")).to_be_hidden()


@pytest.fixture
def cafe(app, ctx):
    shop = make_shop("browser-cafe", name="Browser Cafe")
    table = make_table(shop, "Table 7")
    latte = make_product(shop, "Latte", "2.50",
                         options={"Size": [("Small", "0"), ("Large", "0.50")]})
    croissant = make_product(shop, "Croissant", "1.75")
    make_staff(shop, "barista", "271828", name="Vanna")
    # the drawer is open: cash can be taken (docs/shifts.md)
    open_shift(shop, make_staff(shop, "cashier", "481516", name="Dara"))
    return shop, table, latte, croissant


def test_shared_cart_khqr_payment_and_kitchen(browser: Browser, live_server, poller_running,
                                              cafe, shot):
    shop, table, _, _ = cafe
    base = live_server.url
    scan = f"{base}/s/{shop.slug}/t/{table.qr_token}"
    alice = browser.new_context(viewport=PHONE).new_page()
    bob = browser.new_context(viewport=PHONE).new_page()
    kitchen = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()

    # The kitchen is open and live before anything is paid.
    sign_in(kitchen, base, shop.slug, "Vanna", "271828")
    expect(kitchen.locator("#connection")).to_have_attribute("data-state", "online")
    expect(kitchen.locator("audio#new-order-sound")).to_have_attribute(
        "src", re.compile(r"new-order\.wav$"))

    # Two phones at one table share one cart.
    alice.goto(scan)
    bob.goto(scan)
    shot(alice, "menu-phone")
    add_to_cart(alice, "Latte", "Large")
    add_to_cart(bob, "Croissant")
    bob.locator("#cart-badge").click()
    cart = bob.locator("#cart-dialog")
    expect(cart.locator(".cart-line")).to_have_count(2)
    expect(cart.locator("#cart-total")).to_have_text("$4.75")

    # Bob pays by KHQR; the simulator plays his banking app; the poller confirms.
    cart.get_by_role("button", name="Pay with KHQR").click()
    expect(bob.locator(".khqr-card")).to_be_visible()
    expect(bob.locator(".khqr-amount")).to_contain_text("$4.75")
    shot(bob, "payment-phone")
    bob.get_by_role("button", name=re.compile("Bakong simulator")).click()
    expect(bob.locator(".order-status [aria-current=step]")).to_have_text("Paid", timeout=15000)

    # The kitchen shows the card without a reload, then moves it to Served.
    card = kitchen.locator("#kitchen-rail .kitchen-card.status-queued")
    expect(card).to_have_count(1, timeout=10000)
    expect(card).to_contain_text("Latte")
    expect(card).to_contain_text("Size: Large")
    expect(card).to_contain_text("Croissant")
    shot(kitchen, "kitchen", phone_too=True)
    for label, column in (("Start", "preparing"), ("Ready", "ready")):
        kitchen.locator(".kitchen-card .card-advance", has_text=label).first.click()
        expect(kitchen.locator(f"#kitchen-rail .kitchen-card.status-{column}")).to_have_count(1)
    kitchen.locator(".kitchen-card .card-advance", has_text="Served").first.click()
    # served: the card leaves the rail for the recall list
    expect(kitchen.locator("#kitchen-rail .kitchen-card")).to_have_count(0)
    expect(kitchen.locator("#kitchen-recall li")).to_have_count(1)

    # Bob's order page follows along: Served.
    expect(bob.locator(".order-status [aria-current=step]")).to_have_text("Served", timeout=15000)
    # Everything at the table is paid and served: the session ends, and the next scan of
    # this table starts afresh (a new group never sees this cart or these orders).
    # Alice's phone is still at the table: reloading the menu joins the table's next session,
    # empty.
    alice.reload()
    expect(alice.locator("#cart-badge .cart-count")).to_have_text("0")
    expect(alice.locator(".table-orders")).to_have_count(0)


def test_cash_order_confirmed_on_the_pos_reaches_the_kitchen(browser: Browser, live_server,
                                                             cafe, shot):
    shop, table, _, _ = cafe
    base = live_server.url
    guest = browser.new_context(viewport=PHONE).new_page()
    guest.goto(f"{base}/s/{shop.slug}/t/{table.qr_token}")
    add_to_cart(guest, "Croissant")
    guest.locator("#cart-badge").click()
    guest.locator("#cart-dialog").get_by_role("button", name="Pay cash at the counter").click()
    expect(guest.locator(".pay-at-counter")).to_contain_text("$1.75")

    cashier = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(cashier, base, shop.slug, "Dara", "481516")
    expect(cashier.locator("#connection")).to_have_attribute("data-state", "online")
    order = cashier.locator("#pos-awaiting .pos-order")
    expect(order).to_have_count(1)
    expect(cashier.locator("#pos-table-" + str(table.id))).to_contain_text("Awaiting payment")
    order.locator("input[name=usd]").fill("5")
    expect(order.locator(".change-preview")).to_contain_text("$3.25")
    shot(cashier, "pos", phone_too=True)
    order.get_by_role("button", name="Cash received").click()
    # The shop prints a receipt after cash (the default, issue 14): its print view, with the
    # change; then back to the POS, where the order no longer waits.
    expect(cashier.locator(".receipt")).to_contain_text("Croissant")
    expect(cashier.locator(".flash")).to_contain_text("$3.25")
    cashier.get_by_role("link", name="New order").click()
    expect(cashier.locator("#pos-awaiting .pos-order")).to_have_count(0)

    kitchen = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sign_in(kitchen, base, shop.slug, "Vanna", "271828")
    expect(kitchen.locator("#kitchen-rail .kitchen-card.status-queued")).to_contain_text(
        "Croissant")
    expect(guest.locator(".order-status [aria-current=step]")).to_have_text("Paid", timeout=15000)


def test_sold_out_shows_on_an_open_menu_without_reload(browser: Browser, live_server, cafe):
    from shopqr.extensions import db
    from shopqr.services.shops import add_staff

    shop, table, latte, _ = cafe
    add_staff(db.session, shop, name="Boss", role="owner", pin="135790",
              email="boss@browser.example", password="browser-owner-pw")
    db.session.commit()
    base = live_server.url
    guest = browser.new_context(viewport=PHONE).new_page()
    guest.goto(f"{base}/s/{shop.slug}/t/{table.qr_token}")
    card = guest.locator(f"#product-{latte.id}")
    expect(card).not_to_have_class(re.compile("sold-out"))

    owner = browser.new_context().new_page()
    owner.goto(f"{base}/s/{shop.slug}/settings/login")
    owner.fill("input[name=email]", "boss@browser.example")
    owner.fill("input[name=password]", "browser-owner-pw")
    owner.get_by_role("button", name="Sign in").click()
    owner.goto(f"{base}/s/{shop.slug}/settings/menu")
    owner.locator(f"#settings-product-{latte.id} .sold-out-toggle").click()
    expect(owner.locator(f"#settings-product-{latte.id}")).to_contain_text("Sold out")

    # The open guest menu polls the menu version and swaps the card in place.
    expect(card).to_have_class(re.compile("sold-out"), timeout=15000)
    expect(card.locator(".badge-sold-out")).to_be_visible()


def test_order_again_after_the_session_ended_and_call_for_the_bill(
        browser: Browser, live_server, cafe, shot):
    """Issue 13: the group orders again after everything was paid and served (the session
    ended); then asks for the bill: the POS table map shows it live, the cashier marks it
    handled, and the phone stops saying "Bill is coming"."""
    from shopqr.extensions import db
    from shopqr.models import Order, User, utcnow
    from shopqr.services import kitchen
    from shopqr.services.events import get_bus

    shop, table, _, _ = cafe
    base = live_server.url
    guest = browser.new_context(viewport=PHONE).new_page()
    guest.goto(f"{base}/s/{shop.slug}/t/{table.qr_token}")
    add_to_cart(guest, "Croissant")
    guest.locator("#cart-badge").click()
    guest.locator("#cart-dialog").get_by_role("button", name="Pay cash at the counter").click()
    expect(guest.locator(".pay-at-counter")).to_contain_text("$1.75")
    order_url = guest.url

    cashier = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(cashier, base, shop.slug, "Dara", "481516")
    expect(cashier.locator("#connection")).to_have_attribute("data-state", "online")
    order = cashier.locator("#pos-awaiting .pos-order")
    order.locator("input[name=usd]").fill("2")
    expect(order.locator(".change-preview")).to_contain_text("$0.25")
    order.get_by_role("button", name="Cash received").click()
    expect(cashier.locator(".receipt")).to_be_visible()  # printed after cash (issue 14)
    cashier.get_by_role("link", name="New order").click()
    expect(cashier.locator("#pos-awaiting .pos-order")).to_have_count(0)
    # The kitchen serves it: everything at the table is paid and served, the session ends.
    barista = db.session.query(User).filter_by(shop_id=shop.id, role="barista").one()
    placed = db.session.query(Order).filter_by(shop_id=shop.id).one()
    for _ in range(3):
        kitchen.advance(db.session, get_bus(live_server.app), shop, placed.id, by=barista,
                        now=utcnow())
        db.session.commit()
    expect(cashier.locator(f"#pos-table-{table.id}")).to_contain_text("Free")

    # Order again: the menu link (the phone kept it) starts the table's next session.
    guest.goto(f"{base}/s/{shop.slug}/menu")
    expect(guest.locator(".guest-header")).to_contain_text("Table 7")
    expect(guest.locator("#cart-badge .cart-count")).to_have_text("0")
    add_to_cart(guest, "Latte", "Large")
    expect(guest.locator("#cart-badge .cart-count")).to_have_text("1")
    shot(guest, "order-again-phone")
    # The old order's page still answers, read-only, from its own URL.
    old = browser.new_context(viewport=PHONE).new_page()
    old.goto(order_url)
    expect(old.locator(".order-status [aria-current=step]")).to_have_text("Served")

    # Ask for the bill with a note.
    guest.locator(".service-ask summary").click()
    guest.locator(".service-ask input[name=note]").fill("Card, please")
    guest.get_by_role("button", name="Ask for the bill").click()
    expect(guest.locator("#service-call")).to_contain_text("Bill is coming")
    expect(guest.locator(".service-ask")).not_to_have_attribute("open", "")
    shot(guest, "bill-coming-phone")
    # Again: refused with a clear message.
    guest.locator(".service-ask summary").click()
    guest.get_by_role("button", name="Ask for the bill").click()
    expect(guest.locator("#toast")).to_contain_text("already asked for the bill")

    # The POS table map shows it live, without a reload.
    call = cashier.locator(f"#pos-table-{table.id} .service-request")
    expect(call).to_contain_text("Bill requested")
    expect(call).to_contain_text("Card, please")
    shot(cashier, "pos-bill-request", phone_too=True)
    call.get_by_role("button", name="Handled").click()
    expect(cashier.locator(f"#pos-table-{table.id} .service-request")).to_have_count(0)
    expect(cashier.locator("#toast")).to_contain_text("Table 7: handled")

    # The guest's page follows: no more "Bill is coming".
    expect(guest.locator("#service-call")).not_to_contain_text("Bill is coming", timeout=15000)
    shot(guest, "bill-handled-phone")

    # An error page names the shop, offers a way back and the language switch.
    old.goto(f"{base}/s/{shop.slug}/orders/no-such-order")
    expect(old.locator(".guest-header h1")).to_have_text("Browser Cafe")
    expect(old.get_by_role("link", name="Back to the menu")).to_be_visible()
    old.locator(".lang-switch button").click()  # to Khmer; the switch leads to the menu
    expect(old.locator("html")).to_have_attribute("lang", "km")
    expect(old.locator(".guest-header h1")).to_have_text("Browser Cafe")
    shot(old, "guest-error-km-phone")
