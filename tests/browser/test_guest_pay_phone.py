"""Paying on the phone that shows the QR, in Chromium on a phone viewport (390x844) against a
live server with the Bakong simulator and the poller: pay through the deeplink (the simulator's
pretend banking app), save the card image, share it, switch to cash, cancel (the cart comes
back), the e-receipt; then the same screens in Khmer. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from shopqr.extensions import db
from tests.browser.conftest import ARTIFACTS, PHONE
from tests.factories import make_product, make_shop, make_table

pytestmark = [pytest.mark.browser, pytest.mark.live]

# Stands in for a phone's share sheet: records what the page shared.
FAKE_SHARE = """
window.__shared = [];
navigator.canShare = function (data) { return !!(data && data.files && data.files.length); };
navigator.share = function (data) {
  window.__shared.push(data.files.map(function (f) { return [f.name, f.type, f.size]; }));
  return Promise.resolve();
};
"""


@pytest.fixture
def cafe(app, ctx):
    shop = make_shop("phone-pay-cafe", name="Phone Pay Cafe", name_km="ហាងកាហ្វេទូរស័ព្ទ",
                     khqr_deeplinks=True, khr_per_usd=4000)
    table = make_table(shop, "Table 4")
    make_product(shop, "Latte", "2.50", name_km="ឡាតេ",
                 options={"Size": [("Small", "0"), ("Large", "0.50")]})
    make_product(shop, "Croissant", "1.75", name_km="នំក្រ័រសង់")
    db.session.commit()
    return shop.slug, table.qr_token


# A browser that cannot share files (many desktop browsers; this Chromium can, headless).
NO_SHARE = """
Object.defineProperty(Navigator.prototype, "canShare", { value: undefined, configurable: true });
Object.defineProperty(Navigator.prototype, "share", { value: undefined, configurable: true });
"""


def phone(browser: Browser, *, share: bool | None = None) -> Page:
    """A phone-sized page; ``share`` True: a share sheet that records, False: none at all."""
    context = browser.new_context(viewport=PHONE, accept_downloads=True)
    if share is not None:
        context.add_init_script(FAKE_SHARE if share else NO_SHARE)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "Cancel this order?"
    return page


def order_something(page: Page, base: str, slug: str, token: str, method: str = "khqr", *,
                    product: str = "Croissant") -> None:
    page.goto(f"{base}/s/{slug}/t/{token}")
    page.locator(".product-card", has_text=product).click()
    expect(page.locator("#product-dialog")).to_be_visible()
    page.locator("#product-dialog button.btn-primary").click()
    expect(page.locator("#product-dialog")).to_be_hidden()
    expect(page.locator("#cart-badge .cart-count")).to_have_text("1")
    page.locator("#cart-badge").click()
    page.locator(f"#cart-dialog button[name=method][value={method}]").click()
    expect(page).to_have_url(re.compile(r"/orders/"))


def test_paying_on_one_phone_in_english(browser: Browser, live_server, poller_running, cafe,
                                        shot):
    slug, token = cafe
    base = live_server.url
    page = phone(browser, share=True)
    order_something(page, base, slug, token)

    # On the phone, saving the card comes first, above the QR card; the deeplink is offered.
    save = page.get_by_role("link", name="Save image")
    expect(save).to_be_visible()
    assert save.bounding_box()["y"] < page.locator(".khqr-card").bounding_box()["y"]
    assert save.bounding_box()["height"] >= 44
    expect(page.get_by_role("link", name="Open in a banking app")).to_be_visible()
    shot(page, "guest-pay-phone-khqr")

    # Save image: a PNG of the whole card.
    with page.expect_download() as info:
        save.click()
    download = info.value
    assert re.fullmatch(r"khqr-\d{6}-\d{3}\.png", download.suggested_filename)
    ARTIFACTS.mkdir(exist_ok=True)
    download.save_as(ARTIFACTS / "guest-pay-khqr-card.png")
    card = Image.open(ARTIFACTS / "guest-pay-khqr-card.png").convert("RGB")
    assert card.size[0] == 600 and card.getpixel((10, 10)) == (225, 35, 46)

    # Share: the phone's share sheet gets the same image as a file.
    share = page.get_by_role("button", name="Share image")
    expect(share).to_be_visible()
    share.click()
    page.wait_for_function("window.__shared.length === 1")
    [[(name, kind, size)]] = page.evaluate("window.__shared")
    assert name == download.suggested_filename and kind == "image/png" and size > 1000

    # Open in a banking app: the simulator's app pays and returns to the order page.
    page.get_by_role("link", name="Open in a banking app").click()
    expect(page.locator(".sim-amount")).to_have_text("$1.75")
    shot(page, "guest-pay-phone-simulator-app")
    page.get_by_role("button", name="Pay now").click()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+$"))
    expect(page.locator(".order-status [aria-current=step]")).to_have_text("Paid", timeout=15000)

    # The e-receipt, with the Bakong hash and the riel equivalent.
    page.get_by_role("link", name="View receipt").click()
    receipt = page.locator(".receipt")
    expect(receipt).to_contain_text("Phone Pay Cafe")
    expect(receipt).to_contain_text("Table 4")
    expect(receipt).to_contain_text("Croissant")
    expect(receipt).to_contain_text("7,000៛")
    expect(page.locator(".receipt-method")).to_have_text("KHQR")
    expect(page.locator(".receipt-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    shot(page, "guest-pay-phone-receipt")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    shot(page, "guest-pay-phone-receipt-print")
    page.emulate_media(media="screen")
    receipt_url = page.url
    page.goto(receipt_url)  # reachable again from its URL
    expect(page.locator(".receipt")).to_be_visible()


def test_switch_to_cash_and_cancel_in_english(browser: Browser, live_server, poller_running,
                                              cafe, shot):
    slug, token = cafe
    base = live_server.url
    page = phone(browser, share=False)
    order_something(page, base, slug, token)
    expect(page.get_by_role("link", name="Save image")).to_be_visible()
    expect(page.locator(".share-image")).to_be_hidden()  # no Web Share with files here

    page.get_by_role("button", name="Pay cash at the counter instead").click()
    expect(page.locator(".pay-at-counter")).to_contain_text("at the counter")
    expect(page.locator(".khqr-card")).to_have_count(0)
    expect(page.locator(".order-status .status-pill")).to_have_text("Waiting for cash payment")
    shot(page, "guest-pay-phone-switched-to-cash")

    page.get_by_role("button", name="Cancel the order").click()
    expect(page.locator(".order-status .status-pill")).to_have_text("Cancelled")
    expect(page.locator(".guest-cancelled")).to_contain_text("back in your cart")
    shot(page, "guest-pay-phone-cancelled")
    page.get_by_role("link", name="Open the menu and cart").click()
    # the menu, loaded with its scripts: until htmx is there the badge is a plain link, and a
    # tap on it opens the full cart page instead of the dialog
    expect(page).to_have_url(re.compile(r"/menu$"))
    page.wait_for_load_state("load")
    expect(page.locator("#cart-badge .cart-count")).to_have_text("1")
    page.locator("#cart-badge").click()
    expect(page.locator("#cart-dialog .cart-line")).to_have_count(1)
    expect(page.locator("#cart-dialog")).to_contain_text("Croissant")
    shot(page, "guest-pay-phone-cart-restored")


def test_paying_on_one_phone_in_khmer(browser: Browser, live_server, poller_running, cafe,
                                      shot):
    slug, token = cafe
    base = live_server.url
    page = phone(browser)
    page.goto(f"{base}/s/{slug}/t/{token}")
    page.locator(".lang-switch button[value=km]").click()
    expect(page.locator("html")).to_have_attribute("lang", "km")
    order_something(page, base, slug, token, product="នំក្រ័រសង់")
    expect(page.get_by_role("link", name="រក្សាទុករូបភាព")).to_be_visible()
    expect(page.get_by_role("link", name="បើកក្នុងកម្មវិធីធនាគារ")).to_be_visible()
    expect(page.get_by_role("button", name="បង់ប្រាក់សុទ្ធនៅកន្លែងគិតលុយវិញ")).to_be_visible()
    shot(page, "guest-pay-phone-khqr-km")
    with page.expect_download() as info:
        page.get_by_role("link", name="រក្សាទុករូបភាព").click()
    with Image.open(info.value.path()) as image:
        assert image.format == "PNG" and image.size[0] == 600

    page.get_by_role("button", name="បោះបង់ការកុម្ម៉ង់").click()
    expect(page.locator(".guest-cancelled")).to_contain_text("កន្ត្រក")
    shot(page, "guest-pay-phone-cancelled-km")

    # Order again and pay through the simulator's app; the receipt in Khmer.
    page.goto(f"{base}/s/{slug}/menu")
    page.locator("#cart-badge").click()
    page.locator("#cart-dialog button[name=method][value=khqr]").click()
    expect(page).to_have_url(re.compile(r"/orders/"))
    page.locator(".open-bank-app").click()
    page.locator(".sim-app-pay").click()
    expect(page.locator(".receipt-link a")).to_be_visible(timeout=15000)
    page.locator(".receipt-link a").click()
    expect(page.locator(".receipt-title")).to_have_text("បង្កាន់ដៃ")
    expect(page.locator(".receipt")).to_contain_text("នំក្រ")
    shot(page, "guest-pay-phone-receipt-km")
