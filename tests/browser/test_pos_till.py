"""The walk-in till on a 1024x768 tablet (issue 14, POS items 1-3 and 7; docs/pos.md,
docs/receipts.md): a walk-in cash sale end to end (the ticket in view, merged lines and the
stepper, the option sheet, Charge, quick cash mixing dollars and riel, the change, the receipt's
print view at 58 and 80 mm), a KHQR order paid in cash only after "take cash instead" and its
confirmation, and the Khmer till. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import sign_in
from tests.factories import make_product, make_shop, make_staff, open_shift

pytestmark = [pytest.mark.browser, pytest.mark.live]

TABLET = {"width": 1024, "height": 768}
# Record window.print() instead of opening the dialog (headless Chromium has none to show).
RECORD_PRINT = "window.__printed = 0; window.print = function () { window.__printed += 1; };"


@pytest.fixture
def till(app, ctx):
    from shopqr.models import Category

    shop = make_shop("till-cafe", name="Till Cafe", name_km="ហាងកាហ្វេ")
    drinks = Category(shop_id=shop.id, name="Drinks", name_km="ភេសជ្ជៈ", sort_order=0)
    bakery = Category(shop_id=shop.id, name="Bakery", name_km="នំ", sort_order=1)
    from shopqr.extensions import db
    db.session.add_all([drinks, bakery])
    db.session.commit()
    latte = make_product(shop, "Latte", "2.50", category=drinks, name_km="ឡាតេ",
                         options={"Size": [("Small", "0"), ("Large", "0.50")]})
    for n in range(30):  # a real menu: the ticket must stay in view next to it
        make_product(shop, f"Tea {n + 1}", "2.00", category=drinks)
    croissant = make_product(shop, "Croissant", "1.75", category=bakery, name_km="នំក្រូសង់")
    make_product(shop, "Banana Cake", "2.25", category=bakery)
    # the drawer is open: cash can be taken (docs/shifts.md)
    open_shift(shop, make_staff(shop, "cashier", "481516", name="Dara"))
    return shop, latte, croissant


def tablet(browser: Browser) -> Page:
    context = browser.new_context(viewport=TABLET)
    context.add_init_script(RECORD_PRINT)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


def product(page: Page, name: str):
    return page.locator(".pos-product", has_text=re.compile(rf"^\s*{re.escape(name)}(\s|$)"))


def wait_for_prints(page: Page, count: int) -> None:
    """window.print() was called ``count`` times (the page's CSP refuses wait_for_function's
    string evaluation, so poll)."""
    for _ in range(50):
        if page.evaluate("window.__printed") == count:
            return
        page.wait_for_timeout(100)
    assert page.evaluate("window.__printed") == count


def pdf_width_mm(page: Page) -> float:
    """The width of the first page the print stylesheet asks for (@page size), in mm."""
    pdf = page.pdf(prefer_css_page_size=True)
    box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    return float(box.group(1)) / 72 * 25.4


def in_view(page: Page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= TABLET["height"]


def test_walk_in_cash_sale_end_to_end(browser: Browser, live_server, till, shot):
    shop, latte, croissant = till
    page = tablet(browser)
    sign_in(page, live_server.url, shop.slug, "Dara", "481516")
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    ticket = page.locator("#pos-ticket")
    expect(ticket).to_contain_text("Tap products to start")

    # Category tabs and search narrow the products.
    page.locator("[data-category-tab]", has_text="Bakery").click()
    expect(product(page, "Tea 1")).to_be_hidden()
    expect(product(page, "Croissant")).to_be_visible()
    page.locator("[data-category-tab]", has_text="All").click()
    page.get_by_label("Search products").fill("cake")
    expect(product(page, "Banana Cake")).to_be_visible()
    expect(product(page, "Croissant")).to_be_hidden()
    page.get_by_label("Search products").fill("")

    # Croissant twice: one line of 2. No required choice: a tap adds it at once.
    product(page, "Croissant").locator("button").click()
    expect(ticket.locator(".ticket-line")).to_have_count(1)
    product(page, "Croissant").locator("button").click()
    expect(ticket.locator(".ticket-line .ticket-qty")).to_have_text("2")
    expect(ticket.locator(".ticket-line")).to_have_count(1)

    # Latte: Small by default at one tap; Large through the guest's option sheet.
    product(page, "Latte").get_by_role("link", name=re.compile("Choices")).click()
    dialog = page.locator("#pos-sheet-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("label.option", has_text="Large").click()
    dialog.get_by_role("button", name=re.compile("Add to the order")).click()
    expect(dialog).to_be_hidden()
    expect(ticket.locator(".ticket-line")).to_have_count(2)
    expect(ticket.locator(".ticket-line").nth(1)).to_contain_text("Size: Large")

    # The stepper: one more Latte, then one less Croissant.
    latte_line = ticket.locator(".ticket-line").nth(1)
    latte_line.get_by_role("button", name="One more").click()
    expect(latte_line.locator(".ticket-qty")).to_have_text("2")
    ticket.locator(".ticket-line").first.get_by_role("button", name="One less").click()
    expect(ticket.locator(".ticket-line").first.locator(".ticket-qty")).to_have_text("1")
    expect(ticket.locator(".ticket-total")).to_have_text("$7.75")  # 1.75 + 2 x 3.00

    # The ticket stays in view while the products scroll; tap targets are big enough.
    page.mouse.wheel(0, 2000)
    page.wait_for_timeout(300)
    assert in_view(page, ".charge-btn"), "Charge scrolled out of view"
    for selector in (".charge-btn", ".ticket-line .step-btn", ".remove-btn", ".category-tab",
                     ".pos-product-btn", ".pos-tab"):
        box = page.locator(selector).first.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, (selector, box)
    shot(page, "pos-till-tablet")

    # Charge: straight to the cash tender.
    page.locator(".charge-btn").click()
    expect(page).to_have_url(re.compile(r"/pos/orders/\d+$"))
    tender = page.locator(".pos-order-live form.cash-form")
    expect(tender.locator(".quick-exact")).to_have_text("Exact $7.75")
    assert [b.strip() for b in tender.locator(".quick-round").all_inner_texts()] == [
        "$8.00", "$10.00", "$20.00", "$50.00"]
    # The guest hands over $5 and 20,000 riel: mixed, the riel through the note buttons.
    page.get_by_label("US dollars received").fill("5")
    tender.locator(".quick-note", has_text="+10,000៛").click()
    tender.locator(".quick-note", has_text="+10,000៛").click()
    expect(page.get_by_label("Riel received")).to_have_value("20000")
    # 5 + 20000 / 4100 = 9.87 -> change $2.12 = $2.00 + 500៛ (riel rounded to 100)
    expect(tender.locator(".change-preview")).to_contain_text("$2.12")
    expect(tender.locator(".change-preview")).to_contain_text("$2.00 + 500៛")
    shot(page, "pos-tender-tablet")
    # Exact money: no change, and no "$0.00 + 0៛".
    tender.locator(".quick-exact").click()
    expect(tender.locator(".change-preview")).to_have_text(re.compile(r"^\s*No change\s*$"))
    tender.locator(".quick-round", has_text="$10.00").click()
    expect(tender.locator(".change-preview")).to_contain_text("$2.25")
    expect(tender.locator(".change-preview")).not_to_contain_text("+ 0៛")

    page.get_by_role("button", name="Cash received").click()
    # The shop prints after cash: the receipt's print view, the dialog opened once.
    expect(page).to_have_url(re.compile(r"/receipt\?print=1$"))
    receipt = page.locator(".receipt")
    for text in ("Till Cafe", "Takeaway", "Croissant", "Latte", "Size: Large", "$7.75",
                 "31,775៛", "Cash", "$10.00", "$2.00 + 1,000៛"):
        expect(receipt).to_contain_text(text)
    expect(page.locator(".flash")).to_contain_text("change $2.25 = $2.00 + 1,000៛")
    wait_for_prints(page, 1)
    shot(page, "pos-receipt-80mm")

    # Printed, the page is the roll's width: 80 mm (the shop's), or 58 mm when picked; the
    # buttons and the staff header stay off the paper.
    assert abs(pdf_width_mm(page) - 80) < 1
    page.get_by_role("link", name="58 mm thermal roll").click()
    expect(page.locator("body")).to_have_class(re.compile("paper-58"))
    assert abs(pdf_width_mm(page) - 58) < 1
    page.emulate_media(media="print")
    expect(page.locator(".receipt")).to_be_visible()
    expect(page.locator(".receipt-actions")).to_be_hidden()
    expect(page.locator(".staff-header")).to_be_hidden()
    page.set_viewport_size({"width": 220, "height": 768})  # 58 mm at 96 dpi
    shot(page, "pos-receipt-58mm-print")
    page.set_viewport_size(TABLET)
    page.emulate_media(media="screen")
    assert page.evaluate("window.__printed") == 0  # picking the paper does not print again

    # Reprint from the order page; back to a fresh till.
    page.get_by_role("link", name="Back to the order").click()
    expect(page.locator(".paid-banner")).to_contain_text("Paid")
    page.get_by_role("link", name="Print receipt").click()
    expect(page.locator(".receipt")).to_be_visible()
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.__printed") == 1
    page.get_by_role("link", name="New order").click()
    expect(page.locator("#pos-ticket")).to_contain_text("Tap products to start")
    assert not [e for e in page.errors if "htmx" in e.lower()], page.errors


def test_khqr_order_takes_cash_only_after_take_cash_instead(browser: Browser, live_server, till,
                                                            shot):
    from shopqr.extensions import db
    from shopqr.models import Order

    shop, latte, croissant = till
    page = tablet(browser)
    htmx_errors: list[str] = []
    page.on("console", lambda m: htmx_errors.append(m.text)
            if "htmx" in m.text.lower() and m.type in ("error", "warning") else None)
    sign_in(page, live_server.url, shop.slug, "Dara", "481516")
    product(page, "Croissant").locator("button").click()
    expect(page.locator("#pos-ticket .ticket-line")).to_have_count(1)
    page.get_by_role("button", name="Charge by KHQR").click()
    expect(page.locator(".khqr-card")).to_be_visible()
    cash = page.get_by_label("US dollars received")
    expect(cash).to_be_hidden()
    # Dismissing the question keeps the cash fields closed.
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_text("Take cash instead").click()
    expect(cash).to_be_hidden()
    page.once("dialog", lambda d: d.accept())
    page.get_by_text("Take cash instead").click()
    expect(cash).to_be_visible()
    # The page polls its own region every 4 s: no "no target" errors meanwhile.
    page.wait_for_timeout(9000)
    expect(cash).to_be_visible()
    assert htmx_errors == [], htmx_errors
    shot(page, "pos-khqr-take-cash")
    page.locator(".pos-order-live .quick-exact").click()
    page.get_by_role("button", name="Cash received").click()
    expect(page).to_have_url(re.compile(r"/receipt\?print=1$"))
    order = db.session.query(Order).filter_by(shop_id=shop.id).one()
    db.session.refresh(order)
    assert (order.payment_status, order.payment_method) == ("paid", "cash")


def test_the_till_in_khmer(browser: Browser, live_server, till, shot, khmer):
    shop, latte, croissant = till
    page = tablet(browser)
    sign_in(page, live_server.url, shop.slug, "Dara", "481516")
    expect(page.locator("#pos-ticket")).to_be_visible()
    page.context.add_cookies([{"name": "shopqr_lang", "value": "km", "url": live_server.url}])
    page.reload()
    expect(page.locator(".pos-tab").first).to_have_text(khmer["Products"])
    expect(page.locator("[data-category-tab]", has_text="ភេសជ្ជៈ")).to_be_visible()
    product(page, "នំក្រូសង់").locator("button").click()
    expect(page.locator("#pos-ticket .ticket-name")).to_have_text("នំក្រូសង់")
    expect(page.locator(".charge-btn")).to_contain_text(khmer["Charge %(total)s"] % {
        "total": "$1.75"})
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "pos-till-tablet-km")
    page.locator(".charge-btn").click()
    page.locator(".pos-order-live .quick-round").first.click()
    page.locator(".pos-order-live .cash-received").click()
    expect(page.locator(".receipt-title")).to_have_text(khmer["Receipt"])
    page.goto(f"{live_server.url}/s/{shop.slug}/pos/orders")
    expect(page.locator("td.order-state").first).to_have_text(
        f"{khmer['Paid']} / {khmer['Queued']}")
    shot(page, "pos-orders-km")


def test_cash_typed_before_the_page_is_ready_still_shows_the_change(browser: Browser,
                                                                     live_server, till):
    """A quick cashier on a slow tablet types the cash before htmx has set the field up (here
    htmx is held back while the amount is typed): once it has, the change shows all the same."""
    from tests.factories import make_order

    shop, latte, croissant = till
    order = make_order(shop, croissant, 1)  # $1.75, awaiting cash
    page = tablet(browser)
    sign_in(page, live_server.url, shop.slug, "Dara", "481516")
    expect(page).not_to_have_url(re.compile(r"/staff/"))
    held: list = []
    page.route("**/htmx-*.min.js", lambda route: held.append(route))
    page.goto(f"{live_server.url}/s/{shop.slug}/pos/orders/{order.id}", wait_until="commit")
    field = page.get_by_label("US dollars received")
    field.fill("5")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the page never asked for htmx"
    expect(page.locator(".change-preview")).to_have_text("")  # nothing can have asked yet
    for route in held:
        route.continue_()
    expect(page.locator(".change-preview")).to_contain_text("$3.25")
