"""Linking Telegram from settings in a real browser, against the fake Bot API, with the
scheduler's Telegram job running as in production: the owner asks for a link, presses Start
in the (fake) Telegram app, the settings page notices by itself, a paid order arrives in the
chat, the owner turns paid orders off and unlinks."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from shopqr.extensions import db
from shopqr.services.events import get_bus
from shopqr.services.pos import confirm_cash
from shopqr.services.shops import add_staff
from tests.browser.conftest import PHONE
from tests.factories import (
    make_order,
    make_product,
    make_shop,
    make_staff,
    make_table,
    open_shift,
)
from tests.services.test_telegram import Fake, telegram_settings

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def app_settings() -> dict[str, object]:
    """The app with the fake Bot API and a bot token (tests/conftest.py's app)."""
    return telegram_settings()


def test_owner_links_telegram_from_settings_and_gets_a_paid_order(
        browser: Browser, app, ctx, live_server, poller_running, shot):
    shop = make_shop("tg-browser", name="Browser Cafe")
    table = make_table(shop, "T9")
    tea = make_product(shop, "Tea", "1.50")
    cashier = make_staff(shop, "cashier", "481516", name="Dara")
    open_shift(shop, cashier)  # the drawer is open: cash can be taken (docs/shifts.md)
    add_staff(db.session, shop, name="Boss", role="owner", pin="135790",
              email="boss@tg.example", password="browser-owner-pw")
    db.session.commit()
    slug, shop_id = shop.slug, shop.id
    base = live_server.url
    fake = Fake(base)

    owner = browser.new_context(viewport=PHONE).new_page()
    owner.goto(f"{base}/s/{slug}/settings/login")
    owner.fill("input[name=email]", "boss@tg.example")
    owner.fill("input[name=password]", "browser-owner-pw")
    owner.get_by_role("button", name="Sign in").click()
    owner.get_by_role("link", name="Telegram").click()
    owner.get_by_role("button", name="Link Telegram").click()
    expect(owner.locator("#telegram-wait")).to_contain_text("Waiting for you to press Start")
    shot(owner, "telegram-link-phone")
    start = owner.get_by_role("link", name="Open Telegram")
    box = start.bounding_box()
    assert box is not None and box["height"] >= 44

    # The owner's Telegram app (the fake's chat page) opens from the link: press Start.
    with owner.context.expect_page() as opened:
        start.click()
    telegram_app = opened.value
    telegram_app.get_by_role("button", name="Start").click()

    # The job reads /start <code>; the settings page notices and shows the linked chat.
    expect(owner.get_by_text("Messages go to the Telegram chat Owner")).to_be_visible(
        timeout=15000)
    expect(owner.get_by_role("button", name="Unlink")).to_be_visible()
    expect(telegram_app.locator(".fake-telegram-message")).to_have_count(0)
    telegram_app.reload()
    expect(telegram_app.locator(".fake-telegram-message").first).to_contain_text(
        "now gets shopqr messages for Browser Cafe", timeout=10000)

    # A paid order reaches the chat.
    order = make_order(db.session.get(type(shop), shop_id), tea, table=table)
    confirm_cash(db.session, get_bus(app), db.session.get(type(shop), shop_id), order.id,
                 usd="5", khr=None, by=cashier, now=order.created_at)
    db.session.commit()
    # (after 22:00 in Phnom Penh the job also sends the day's summary, in any order)
    paid = telegram_app.locator(".fake-telegram-message", has_text=f"Paid: order #{order.seq}")
    for _ in range(30):
        telegram_app.reload()
        if paid.count() >= 1:
            break
        telegram_app.wait_for_timeout(500)
    expect(paid).to_have_count(1)
    expect(paid).to_contain_text("Table T9")

    # Paid orders off, then unlink.
    owner.get_by_label("Each paid order").uncheck()
    owner.get_by_role("button", name="Save").click()
    expect(owner.get_by_label("Each paid order")).not_to_be_checked()
    shot(owner, "telegram-linked-phone")
    owner.once("dialog", lambda dialog: dialog.accept())
    owner.get_by_role("button", name="Unlink").click()
    expect(owner.get_by_role("button", name="Link Telegram")).to_be_visible()
    # the confirmation and the order (after 22:00 in Phnom Penh a daily summary too)
    assert len([t for t in fake.messages() if "summary for" not in t]) == 2
