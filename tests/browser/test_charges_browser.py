"""Taxes and charges in Chromium (docs/taxes.md): the owner turns on a service charge and VAT on
the "Taxes & charges" page (a wrong rate first: the messages, all at once; then "Saved."); a
guest's open menu picks up the new cart total by itself, the cart shows Subtotal, the charge
lines and the total, and the order page asks for that total. Screenshots land in
tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from shopqr.extensions import db
from tests.browser.conftest import PHONE
from tests.factories import make_product, make_shop, make_table
from tests.settings.test_settings_pages import PASSWORD, make_owner

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_owner_sets_charges_and_a_guest_cart_and_order_show_them(browser: Browser, app, ctx,
                                                                  live_server, shot):
    shop = make_shop("charges-browser", name="Charges Cafe")
    owner = make_owner(shop)
    table = make_table(shop, "T4")
    make_product(shop, "Iced Latte", "2.50")
    slug, token, email = shop.slug, table.qr_token, owner.email
    db.session.commit()
    base = live_server.url

    guest_context = browser.new_context(viewport=PHONE)
    guest = guest_context.new_page()
    guest.goto(f"{base}/s/{slug}/t/{token}")
    guest.locator(".product-card", has_text="Iced Latte").click()
    guest.locator("#product-dialog button.btn-primary").click()
    expect(guest.locator("#product-dialog")).to_be_hidden()
    expect(guest.locator("#cart-badge .cart-total")).to_have_text("$2.50")

    owner_context = browser.new_context(viewport=PHONE)
    page = owner_context.new_page()
    page.goto(f"{base}/s/{slug}/settings/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Taxes & charges").click()
    expect(page.get_by_role("heading", name="Taxes & charges")).to_be_visible()
    service = page.locator("#charge-service")
    vat = page.locator("#charge-vat")
    service.get_by_label("Charge Service charge").check()
    service.get_by_label("Rate in percent").fill("5")
    vat.get_by_label("Charge VAT").check()
    vat.get_by_label("Name on the bill").fill("")
    vat.get_by_label("Rate in percent").fill("150")
    page.get_by_role("button", name="Save").click()
    errors = page.get_by_role("alert")
    expect(errors).to_contain_text("VAT name is required.")
    expect(errors).to_contain_text("VAT: the rate must be a number from 0 to 100.")
    expect(errors.locator("li")).to_have_count(2)
    expect(vat.get_by_label("Rate in percent")).to_have_value("150")  # kept to correct
    vat.get_by_label("Name on the bill").fill("VAT")
    vat.get_by_label("Name in Khmer (optional)").fill("អាករលើតម្លៃបន្ថែម (VAT)")
    vat.get_by_label("Rate in percent").fill("10")
    expect(vat.get_by_label("Added to the prices")).to_be_checked()
    save = page.get_by_role("button", name="Save")
    assert save.bounding_box()["height"] >= 44
    assert service.get_by_label("Charge Service charge").locator("xpath=..") \
        .bounding_box()["height"] >= 44
    save.click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    # $10.00 + 0.50 service + 10% of 10.50 = 1.05: the example bill says $11.55
    expect(page.locator("#charges-example .example-total")).to_have_text("$11.55")
    shot(page, "charges-settings-phone")
    # in Khmer the page fits a phone: nothing wider than the screen
    owner_context.add_cookies([{"name": "shopqr_lang", "value": "km", "url": base}])
    page.reload()
    expect(page.get_by_role("heading", name="ពន្ធ និងសេវាកម្ម")).to_be_visible()
    expect(page.locator("#charges-example")).to_contain_text("សរុបរង")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "charges-settings-phone-km")

    # The guest's open menu polls the menu version: the cart button's total follows, no reload.
    # $2.50 + 5% (0.125 -> 0.13) + 10% of 2.63 (0.263 -> 0.26) = $2.89
    expect(guest.locator("#cart-badge .cart-total")).to_have_text("$2.89", timeout=15000)
    guest.locator("#cart-badge").click()
    cart = guest.locator("#cart-dialog")
    expect(cart.locator(".subtotal-row")).to_contain_text("$2.50")
    expect(cart.locator(".charge-row.charge-service")).to_have_text(
        re.compile(r"Service charge 5%\s*\$0\.13"))
    expect(cart.locator(".charge-row.charge-vat")).to_have_text(re.compile(r"VAT 10%\s*\$0\.26"))
    expect(cart.locator("#cart-total")).to_have_text("$2.89")
    shot(guest, "charges-guest-cart-phone")
    cart.get_by_role("button", name="Pay cash at the counter").click()
    expect(guest).to_have_url(re.compile(r"/orders/"))
    expect(guest.locator(".order-lines + .charge-row")).to_contain_text("Subtotal")
    expect(guest.locator(".charge-row.charge-vat")).to_contain_text("$0.26")
    expect(guest.locator(".order-total")).to_have_text("$2.89")
    expect(guest.locator(".pay-at-counter")).to_contain_text("Please pay $2.89 at the counter")
    shot(guest, "charges-guest-order-phone")
