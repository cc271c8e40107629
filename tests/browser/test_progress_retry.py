"""Every htmx action shows that it is working, and a failed one says so and offers a retry (a
guest on a phone with a shaky connection; the same code serves the staff screens)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.browser.conftest import PHONE
from tests.factories import make_product, make_shop, make_table

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def cafe(app, ctx):
    shop = make_shop("retry-cafe", name="Retry Cafe")
    table = make_table(shop, "Table 3")
    make_product(shop, "Croissant", "1.75")
    return shop, table


def open_sheet(page) -> None:
    page.locator(".product-card", has_text="Croissant").click()
    expect(page.locator("#product-dialog")).to_be_visible()
    # the sheet is swapped in after the dialog opens: wait until htmx has processed its form
    # (htmx keeps its data on a processed element), or a tap could submit it without htmx
    page.wait_for_function("() => { const f = document.querySelector("
                           "'#product-dialog form[hx-post]');"
                           " return !!(f && f['htmx-internal-data']); }")


@pytest.mark.parametrize("lang", ["en", "km"])
def test_a_slow_add_shows_progress_and_a_failed_one_offers_a_retry(
        browser: Browser, live_server, cafe, shot, lang):
    shop, table = cafe
    context = browser.new_context(viewport=PHONE, locale="km-KH" if lang == "km" else "en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{shop.slug}/t/{table.qr_token}")
    if lang == "km":  # (a Khmer phone's browser asks for Khmer: the page is in Khmer already)
        expect(page.locator("html")).to_have_attribute("lang", "km")

    # The add is held (not slept on: a handler that sleeps blocks this thread, and the request
    # could finish before the assertions run) until the busy state has been seen.
    held: list[Route] = []
    page.route("**/cart/items", lambda route: held.append(route))
    open_sheet(page)
    add = page.locator("#product-dialog button.btn-primary")
    add.click()
    expect(add).to_be_disabled()  # working: the button waits with a spinner
    expect(add).to_have_class(lambda_has("is-busy"))
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # lets Playwright deliver the held request
    assert held, "the add never reached the network"
    expect(add).to_be_disabled()  # still waiting for its answer
    held[0].continue_()
    expect(page.locator(".cart-count")).to_have_text("1", timeout=10_000)
    page.unroute("**/cart/items")

    page.route("**/cart/items", lambda route: route.abort("internetdisconnected"))
    open_sheet(page)
    page.locator("#product-dialog button.btn-primary").click()
    toast = page.locator("[role=alert].toast")
    expect(toast).to_be_visible()
    retry = toast.locator("button[data-retry]")
    expect(retry).to_have_text("ព្យាយាមម្តងទៀត" if lang == "km" else "Retry")
    box = retry.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    shot(page, f"retry-toast-{lang}")
    expect(page.locator(".cart-count")).to_have_text("1")  # nothing was added
    page.unroute("**/cart/items")
    retry.click()
    expect(page.locator(".cart-count")).to_have_text("2", timeout=10_000)
    expect(toast).to_be_hidden()
    context.close()


def lambda_has(cls: str):
    import re

    return re.compile(rf"(^|\s){cls}(\s|$)")
