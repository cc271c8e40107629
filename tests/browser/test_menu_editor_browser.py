"""The owner's menu editor in Chromium: an option is renamed in English and Khmer and
re-priced, moved up, deleted; the product is duplicated with its options; each save says
"Saved." on the page it stays on; a guest's menu shows the change; the staff New PIN field is
masked (docs/options.md)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from shopqr.extensions import db
from tests.browser.conftest import PHONE
from tests.factories import make_product, make_shop, make_staff, make_table, option_id
from tests.settings.test_settings_pages import PASSWORD, make_owner

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_owner_edits_options_and_duplicates_a_product(browser: Browser, app, ctx, live_server,
                                                      shot):
    shop = make_shop("editor-browser", name="Editor Browser")
    owner = make_owner(shop)
    make_staff(shop, "cashier", "481516", name="Dara")
    table = make_table(shop, "T1")
    tea = make_product(shop, "Milk Tea", "2.00", options={
        "Size": [("Small", "0"), ("Large", "1.00")]})
    large = option_id(tea, "Size", "Large")
    small = option_id(tea, "Size", "Small")
    slug, token, tea_id = shop.slug, table.qr_token, tea.id
    db.session.commit()
    base = live_server.url

    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{base}/s/{slug}/settings/login")
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/s/{slug}/settings/menu/products/{tea_id}")

    row = page.locator(f"#option-{large}")
    row.get_by_label("Option", exact=True).fill("Big cup")
    row.get_by_label("Khmer name").fill("ពែងធំ")
    row.get_by_label("Extra price").fill("1.25")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page).to_have_url(f"{base}/s/{slug}/settings/menu/products/{tea_id}")
    expect(page.locator(f"#o{large}-name")).to_have_value("Big cup")
    expect(page.locator(f"#o{large}-extra")).to_have_value("1.25")

    page.locator(f"#option-{large}").get_by_role("button", name="Move option up").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    ids = page.locator(".option-rows > li").evaluate_all(
        "els => els.map(e => e.id)")
    assert ids == [f"option-{large}", f"option-{small}"]

    page.once("dialog", lambda d: d.accept())
    page.locator(f"#option-{small}").get_by_role("button", name="Delete").click()
    expect(page.locator(f"#option-{small}")).to_have_count(0)
    shot(page, "menu-editor-options-phone")

    page.get_by_role("button", name="Duplicate with its options").click()
    expect(page.get_by_role("heading", name="Milk Tea (copy)")).to_be_visible()
    expect(page.get_by_text("Saved.")).to_be_visible()
    copied = page.locator(".option-rows input[name=name]")
    expect(copied).to_have_count(1)
    expect(copied).to_have_value("Big cup")

    # a guest's menu sheet shows the renamed, re-priced option in Khmer
    guest = browser.new_context(viewport=PHONE).new_page()
    guest.goto(f"{base}/s/{slug}/t/{token}")
    guest.locator(".lang-switch button").click()
    guest.goto(f"{base}/s/{slug}/menu/products/{tea_id}")
    expect(guest.get_by_text("ពែងធំ")).to_be_visible()

    page.goto(f"{base}/s/{slug}/settings/staff")
    pin = page.get_by_label("New PIN").first
    assert pin.get_attribute("type") == "password"
    assert pin.get_attribute("inputmode") == "numeric"
    assert pin.get_attribute("autocomplete") == "new-password"
