"""The POS table map on a 1024x768 tablet (issue 14, POS item 6; docs/tablemap.md): a guest's
call for staff appears on the map live; a tap on the table shows its orders; the cashier adds
an item for that table, moves the group to another table and closes it. Screenshots land in
tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from shopqr.extensions import db
from tests.browser.conftest import PHONE, sign_in
from tests.factories import make_cafe, make_staff, make_table

pytestmark = [pytest.mark.browser, pytest.mark.live]

TABLET = {"width": 1024, "height": 768}


@pytest.fixture
def cafe(app, ctx):
    shop, table, latte, cake = make_cafe("map-tablet", "Map Cafe", "Table 5")
    patio = make_table(shop, "Patio")
    make_staff(shop, "cashier", "481516", name="Dara")
    # A group at Table 5 has ordered a cake, to pay cash at the counter.
    phone = app.test_client()
    phone.get(f"/s/{shop.slug}/t/{table.qr_token}")
    phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": cake.id})
    assert phone.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "map-tablet-key-0001"}).status_code == 303
    db.session.commit()
    return shop, table, patio


def test_call_shows_live_then_add_move_and_close(browser: Browser, live_server, cafe, shot):
    shop, table, patio = cafe
    base = live_server.url
    tablet = browser.new_context(viewport=TABLET).new_page()
    errors: list[str] = []
    tablet.on("pageerror", lambda e: errors.append(str(e)))
    asked: list[str] = []

    def answer(dialog) -> None:  # the confirmations: read, then OK
        asked.append(dialog.message)
        dialog.accept()

    tablet.on("dialog", answer)
    sign_in(tablet, base, shop.slug, "Dara", "481516")
    expect(tablet.locator("#connection")).to_have_attribute("data-state", "online")
    tablet.get_by_role("button", name="Tables").click()
    tile = tablet.locator(f"#pos-table-{table.id}")
    expect(tile).to_contain_text("Awaiting payment")
    expect(tile.locator(".table-open-amount")).to_contain_text("$1.75")
    # in riel too: 1.75 x 4,100, as the order page says it
    expect(tile.locator(".table-open-amount")).to_contain_text("7,175៛")
    expect(tile.locator(".since-value")).to_have_text(re.compile(r"^\d+ min$"))
    expect(tile.locator(".attention-badge")).to_contain_text("1")  # the cash to take

    # The guest calls staff from the phone: the tile shows it without a reload.
    guest = browser.new_context(viewport=PHONE).new_page()
    guest.goto(f"{base}/s/{shop.slug}/t/{table.qr_token}")
    guest.locator(".service-ask summary").click()
    guest.get_by_role("button", name="Call staff").click()
    expect(tile.locator(".service-request")).to_contain_text("Staff called", timeout=10000)
    expect(tile.locator(".attention-badge")).to_contain_text("2")
    shot(tablet, "tablemap-call-live")

    # A tap on the table: its orders.
    tile.locator(".table-open").click()
    expect(tablet).to_have_url(re.compile(rf"/pos/tables/{table.id}$"))
    orders = tablet.locator(".table-sheet-order")
    expect(orders).to_have_count(1)
    expect(orders.first).to_contain_text("Banana Cake")
    expect(orders.first).to_contain_text("Waiting for cash payment")

    # Add items: the till's ticket is for Table 5; Charge makes its order there.
    tablet.get_by_role("button", name="Add items").click()
    ticket = tablet.locator("#pos-ticket")
    expect(ticket).to_contain_text("New order for Table 5")
    tablet.locator(".pos-product", has_text="Banana Cake").locator("button").click()
    expect(ticket.locator(".ticket-line")).to_have_count(1)
    expect(ticket.locator("#ticket-table")).to_have_count(0)
    ticket.locator(".charge-btn").click()
    expect(tablet).to_have_url(re.compile(r"/pos/orders/\d+$"))
    tablet.goto(f"{base}/s/{shop.slug}/pos/tables/{table.id}")
    expect(orders).to_have_count(2)
    expect(tablet.locator(".table-sheet-figures")).to_contain_text("$3.50")
    shot(tablet, "tablemap-sheet")

    # Move the group to the Patio: confirmed, then the Patio's sheet with the same orders. The
    # first try is lost on the way (the Wi-Fi drops): the toast offers Retry, which moves it.
    dropped: list[str] = []

    def drop_first(route) -> None:
        if not dropped:
            dropped.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    tablet.route(re.compile(r".*/tables/\d+/move$"), drop_first)
    tablet.get_by_label("Move to table").select_option(label="Patio")
    tablet.get_by_role("button", name="Move", exact=True).click()
    retry = tablet.locator("#toast .toast-retry")
    expect(retry).to_be_visible()
    expect(tablet).to_have_url(re.compile(rf"/pos/tables/{table.id}$"))  # nothing moved
    retry.click()
    expect(tablet).to_have_url(re.compile(rf"/pos/tables/{patio.id}$"))
    expect(tablet.locator(".flash")).to_contain_text("moved from Table 5 to Patio")
    expect(orders).to_have_count(2)
    expect(tablet.locator(".service-request")).to_contain_text("Staff called")
    assert any("Move the group at Table 5" in message for message in asked)
    # the guest's phone follows the group
    guest.reload()
    expect(guest.locator(".guest-header")).to_contain_text("Patio")

    # Close it: the confirmation names the money still open; back on the map, Patio is free.
    tablet.get_by_role("button", name="Close table").click()
    expect(tablet).to_have_url(re.compile(r"/pos/\?tab=tables$"))
    assert "2 unpaid order(s), $3.50" in asked[-1]
    expect(tablet.locator(".flash")).to_contain_text("Patio is closed.")
    expect(tablet.locator(f"#pos-table-{patio.id}")).to_be_visible()  # the Tables tab is open
    expect(tablet.locator(f"#pos-table-{patio.id} .state-label")).to_have_text("Free")
    expect(tablet.locator(f"#pos-table-{table.id} .state-label")).to_have_text("Free")
    # the unpaid orders wait on the awaiting-payment list
    expect(tablet.locator("#pos-awaiting .pos-order")).to_have_count(2)
    shot(tablet, "tablemap-closed")
    # in Khmer, on the same tab
    tablet.locator(".lang-switch button").click()
    expect(tablet.locator("html")).to_have_attribute("lang", "km")
    expect(tablet.locator(f"#pos-table-{patio.id}")).to_be_visible()
    expect(tablet.locator(f"#pos-table-{patio.id} .state-label")).to_have_text("ទំនេរ")
    shot(tablet, "tablemap-km")
    assert not errors
