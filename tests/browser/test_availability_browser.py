"""Availability hours in Chromium (docs/availability.md): the owner gives Breakfast the hours
6:00-11:00 in the menu editor ("Saved." on the same page); at 5:30 in the shop's time a guest
on a phone sees the omelette as "from 6:00" with a disabled Add button, in English and in
Khmer, and the badge fits the phone's width."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from shopqr.extensions import db
from shopqr.models import Category
from shopqr.services import availability
from tests.browser.conftest import PHONE
from tests.factories import make_product, make_shop, make_table
from tests.settings.test_settings_pages import PASSWORD, make_owner

pytestmark = [pytest.mark.browser, pytest.mark.live]


def test_owner_sets_breakfast_hours_and_a_phone_sees_from_6(browser: Browser, app, ctx,
                                                             live_server, shot, monkeypatch):
    shop = make_shop("hours-browser", name="Hours Browser")
    owner = make_owner(shop)
    breakfast = Category(shop_id=shop.id, name="Breakfast", name_km="អាហារពេលព្រឹក")
    db.session.add(breakfast)
    db.session.commit()
    omelette = make_product(shop, "Omelette", "3.00", name_km="ពងមាន់ចៀន", category=breakfast)
    make_product(shop, "Banana Cake", "1.75")
    table = make_table(shop, "T1")
    slug, token, cat_id, omelette_id = shop.slug, table.qr_token, breakfast.id, omelette.id
    base = live_server.url
    # 5:30 on a Monday in Phnom Penh (UTC+7); the server thread reads the same clock
    local = datetime(2026, 11, 30, 5, 30)
    monkeypatch.setattr(availability, "utcnow", lambda: local - timedelta(hours=7))

    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{base}/s/{slug}/settings/login")
    page.fill("input[name=email]", owner.email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/s/{slug}/settings/menu")
    hours = page.locator(f"#cat-{cat_id}-hours")
    hours.locator("summary").click()
    hours.get_by_label("From").first.fill("06:00")
    hours.get_by_label("To").first.fill("11:00")
    expect(hours.get_by_label("Mon").first).to_be_checked()  # every day unless unticked
    hours.get_by_role("button", name="Save hours").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page).to_have_url(f"{base}/s/{slug}/settings/menu")
    expect(page.locator(f"#cat-{cat_id}-hours .hours-summary")).to_have_text("6:00–11:00")
    page.locator(f"#cat-{cat_id}-hours summary").click()
    expect(page.locator(f"#cat-{cat_id}-w0-from")).to_have_value("06:00")
    shot(page, "availability-owner-hours-phone")

    guest = browser.new_context(viewport=PHONE).new_page()
    guest.goto(f"{base}/s/{slug}/t/{token}")
    card = guest.locator(f"#product-{omelette_id}")
    expect(card.locator(".badge-closed")).to_have_text("from 6:00")
    expect(guest.locator(f"#cat-hours-{cat_id}")).to_have_text("from 6:00")
    card.locator("a").click()
    sheet = guest.locator("#product-sheet")
    expect(sheet.get_by_text("from 6:00")).to_be_visible()
    expect(sheet.get_by_role("button", name="Add to cart")).to_be_disabled()
    shot(guest, "availability-from-6-phone")

    guest.goto(f"{base}/s/{slug}/menu")
    guest.locator(".lang-switch button").click()
    badge = guest.locator(f"#product-{omelette_id} .badge-closed")
    expect(badge).to_have_text("ចាប់ពីម៉ោង 6:00")
    box, card_box = badge.bounding_box(), guest.locator(f"#product-{omelette_id}").bounding_box()
    assert box["x"] >= card_box["x"] and box["x"] + box["width"] <= card_box["x"] + \
        card_box["width"] + 1 <= PHONE["width"]
    guest.locator(f"#product-{omelette_id} a").click()
    expect(guest.locator("#product-sheet").get_by_text("ចាប់ពីម៉ោង 6:00")).to_be_visible()
    expect(guest.locator("#product-sheet .add-btn")).to_be_disabled()
    shot(guest, "availability-from-6-phone-km")
