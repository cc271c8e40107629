"""A restart seen from the kitchen: the screen comes back by itself and shows what was paid
while the server was down."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from shopqr import lifecycle
from tests.browser.conftest import sign_in
from tests.conftest import LiveServer
from tests.factories import make_order, make_product, make_shop, make_staff


@pytest.mark.browser
@pytest.mark.live
def test_a_kitchen_screen_reconnects_after_a_restart_and_shows_what_was_paid_meanwhile(
        app, ctx, browser):
    shop = make_shop("reconnect-cafe", name="Reconnect Cafe")
    make_staff(shop, "barista", "271828", name="Vanna")
    croissant = make_product(shop, "Croissant", "1.75")
    server = LiveServer(app).start()
    app.config["PUBLIC_BASE_URL"] = server.url
    port = server.port
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    try:
        sign_in(page, server.url, "reconnect-cafe", "Vanna", "271828")
        expect(page.locator("#connection")).to_have_attribute("data-state", "online")
        # the restart: the old process closes its sockets with 1012 and goes away ...
        lifecycle.begin_shutdown()
        expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
        server.stop()
        lifecycle.reset_for_tests()
        # ... an order is paid while nothing serves the kitchen ...
        make_order(shop, croissant, paid=True)
        # ... and the new process comes up on the same port
        server = LiveServer(app, port=port).start()
        expect(page.locator("#connection")).to_have_attribute("data-state", "online",
                                                              timeout=10_000)
        expect(page.locator(".kitchen-card", has_text="Croissant")).to_be_visible()
    finally:
        page.context.close()
        server.stop()
        lifecycle.reset_for_tests()


@pytest.mark.browser
@pytest.mark.live
def test_a_kitchen_screen_whose_sign_in_ends_goes_back_to_the_pin_pad(app, ctx, browser,
                                                                       live_server):
    from shopqr.extensions import db
    from shopqr.models import utcnow
    from shopqr.services import auth
    from shopqr.services.events import get_bus

    shop = make_shop("ended-cafe", name="Ended Cafe")
    barista = make_staff(shop, "barista", "271828", name="Vanna")
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    try:
        sign_in(page, live_server.url, "ended-cafe", "Vanna", "271828")
        expect(page.locator("#connection")).to_have_attribute("data-state", "online")
        auth.lock_pin(db.session, get_bus(app), barista, now=utcnow(), failures=10,
                      device="test")
        db.session.commit()
        expect(page).to_have_url(re.compile(r"/s/ended-cafe/staff/"), timeout=10_000)
        expect(page.get_by_text("Vanna")).to_be_visible()
    finally:
        page.context.close()
