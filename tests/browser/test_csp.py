"""Every screen in Chromium under the Content-Security-Policy: nothing is refused (no inline
script, handler, style or eval), no script error, every page carries the policy, and the
behaviours that moved from inline handlers to static/js/app.js still work."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response, expect

from shopqr.extensions import db
from shopqr.models import AdminUser
from shopqr.services.shops import add_staff, hash_secret
from tests.browser.conftest import PHONE, sign_in
from tests.factories import make_order, make_product, make_shop, make_staff, make_table

pytestmark = [pytest.mark.browser, pytest.mark.live]

OWNER_PASSWORD = "csp-owner-password"
ADMIN_PASSWORD = "csp-admin-password"
DESKTOP = {"width": 1280, "height": 900}

# Runs in every page before its own scripts (Playwright injects it outside the page's CSP):
# reports each violation, whatever the console says about it.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__shopqrViolation([e.violatedDirective, e.blockedURI || "inline",
                            (e.sourceFile || "") + ":" + e.lineNumber, e.sample].join(" | "));
}, true);
"""


class PolicyWatch:
    """Browser contexts whose pages report CSP violations, console errors and uncaught script
    errors into ``problems``, and the Content-Security-Policy of every document loaded."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.problems: list[str] = []
        self.documents: list[tuple[str, str | None]] = []
        # Console errors a test causes on purpose (a refused request, an error page).
        self.allowed: list[re.Pattern[str]] = []

    def context(self, **kwargs: object) -> BrowserContext:
        context = self.browser.new_context(**kwargs)
        self.contexts.append(context)
        context.expose_function("__shopqrViolation",
                                lambda text: self.problems.append(f"CSP violation: {text}"))
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("page", self._watch)
        context.on("response", self._document)
        return context

    def page(self, **kwargs: object) -> Page:
        return self.context(**kwargs).new_page()

    def _watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if any(pattern.search(text) for pattern in self.allowed):
            return
        if message.location.get("url", "").endswith("/favicon.ico"):  # the browser asks; none
            return
        if message.type == "error" or "Content Security Policy" in text or "Refused to" in text:
            self.problems.append(f"console {message.type}: {text} ({message.location})")

    def _document(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.documents.append((response.url, response.headers.get("content-security-policy")))

    def assert_clean(self) -> None:
        assert self.problems == []
        assert self.documents, "no page was loaded"
        missing = [url for url, policy in self.documents if not policy]
        assert missing == [], "pages without a Content-Security-Policy"
        for _, policy in self.documents:
            assert "unsafe" not in policy and "script-src 'self'" in policy


@pytest.fixture
def watch(browser: Browser) -> Iterator[PolicyWatch]:
    watch = PolicyWatch(browser)
    yield watch
    for context in watch.contexts:
        context.close()


@pytest.fixture
def cafe(app, ctx):
    shop = make_shop("csp-cafe", name="CSP Cafe")
    table = make_table(shop, "Table 3")
    latte = make_product(shop, "Latte", "2.50",
                         options={"Size": [("Small", "0"), ("Large", "0.50")]})
    croissant = make_product(shop, "Croissant", "1.75")
    make_staff(shop, "cashier", "481516", name="Dara")
    return shop, table, latte, croissant




def test_guest_screens_under_the_policy(watch: PolicyWatch, live_server, poller_running, cafe):
    shop, table, _, _ = cafe
    base = live_server.url
    guest = watch.page(viewport=PHONE, permissions=["clipboard-read", "clipboard-write"])
    guest.goto(f"{base}/s/{shop.slug}/t/{table.qr_token}")
    expect(guest.locator(".product-card")).to_have_count(2)

    # The product sheet opens after its request; the × closes it.
    sheet = guest.locator("#product-dialog")
    guest.locator(".product-card", has_text="Latte").click()
    expect(sheet).to_be_visible()
    expect(sheet.locator("h2")).to_have_text("Latte")
    sheet.locator("button.close").click()
    expect(sheet).to_be_hidden()
    # Added to the cart: the sheet closes by itself.
    guest.locator(".product-card", has_text="Latte").click()
    sheet.locator("label.option", has_text="Large").click()
    sheet.locator("button.btn-primary").click()
    expect(sheet).to_be_hidden()
    expect(guest.locator("#cart-badge .cart-count")).to_have_text("1")
    # A refused add (quantity over the limit) keeps it open.
    watch.allowed.append(re.compile(r"status of 422|Error Code 422 from"))
    guest.locator(".product-card", has_text="Croissant").click()
    expect(sheet.locator("h2")).to_have_text("Croissant")
    sheet.locator("input[name=quantity]").evaluate("el => { el.max = ''; el.value = '500'; }")
    # the 422's console error is awaited before it is disallowed again (it can come late)
    with guest.expect_console_message(lambda m: "422" in m.text):
        sheet.locator("button.btn-primary").click()
    expect(guest.locator("#toast")).not_to_be_empty()
    expect(sheet).to_be_visible()
    sheet.locator("button.close").click()
    expect(sheet).to_be_hidden()
    watch.allowed.clear()

    # The cart badge opens the cart dialog, and its × closes it.
    cart = guest.locator("#cart-dialog")
    guest.locator("#cart-badge").click()
    expect(cart).to_be_visible()
    expect(cart.locator(".cart-line")).to_have_count(1)
    cart.locator("button.close").click()
    expect(cart).to_be_hidden()
    guest.locator("#cart-badge").click()
    expect(cart.locator("#cart-total")).to_have_text("$3.00")

    # Checking out disables the pay buttons once the form is on its way (and still sends the
    # button pressed). Here a listener after the app's stops this first submit.
    # The form that was submitted is kept: the cart panel may be swapped in anew meanwhile (a
    # late refresh), and it is that form's buttons that must be disabled.
    guest.evaluate("""() => window.addEventListener("submit", (e) => {
      window.sentMethod = new FormData(e.target, e.submitter).get("method");
      window.sentForm = e.target;
      e.preventDefault();
    }, {once: true})""")
    cart.get_by_role("button", name="Pay with KHQR").click()
    guest.wait_for_function("""() => window.sentForm
      && window.sentForm.querySelectorAll("button").length === 2
      && [...window.sentForm.querySelectorAll("button")].every((b) => b.disabled)""")
    assert guest.evaluate("window.sentMethod") == "khqr"
    guest.reload()
    guest.locator("#cart-badge").click()
    cart.get_by_role("button", name="Pay with KHQR").click()

    # The payment page: the KHQR, its countdown, and the copy button.
    expect(guest.locator(".khqr-card")).to_be_visible()
    expect(guest.locator(".countdown-value")).to_have_text(re.compile(r"^\d+:\d\d$"))
    guest.locator(".khqr-copy summary").click()
    code = guest.locator(".khqr-copy textarea")
    code.click()  # selects the whole code
    assert code.evaluate("el => [el.selectionStart, el.selectionEnd - el.value.length]") == [0, 0]
    copy = guest.locator(".khqr-copy button")
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert guest.evaluate("navigator.clipboard.readText()") == code.input_value()

    # The simulator pays; the order page follows along.
    guest.get_by_role("button", name=re.compile("Bakong simulator")).click()
    expect(guest.locator(".order-status [aria-current=step]")).to_have_text("Paid", timeout=15000)
    guest.goto(f"{base}/s/{shop.slug}/menu")
    expect(guest.locator(".table-orders")).to_contain_text("Paid")
    watch.assert_clean()


def test_staff_screens_under_the_policy(watch: PolicyWatch, live_server, cafe):
    shop, table, latte, croissant = cafe
    khqr_order = make_order(shop, latte, method="khqr", table=table)
    make_order(shop, croissant, method="cash", paid=True)
    base = live_server.url
    page = watch.page(viewport=DESKTOP)

    sign_in(page, base, shop.slug, "Dara", "481516")
    expect(page).to_have_url(re.compile(r"/pos/$"))
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    page.locator(".pos-product", has_text="Croissant").locator("button").click()
    expect(page.locator("#pos-ticket")).to_contain_text("Croissant")

    page.goto(f"{base}/s/{shop.slug}/pos/orders/{khqr_order.id}")
    expect(page.locator(".pos-order-detail")).to_contain_text(f"#{khqr_order.seq}")

    # Today's orders: each filter submits its form when changed.
    page.goto(f"{base}/s/{shop.slug}/pos/orders")
    expect(page.locator("table.data tbody tr")).to_have_count(2)
    with page.expect_navigation():
        page.locator("select[name=payment]").select_option("paid")
    expect(page).to_have_url(re.compile(r"payment=paid"))
    expect(page.locator("table.data tbody tr")).to_have_count(1)
    with page.expect_navigation():
        page.locator("select[name=method]").select_option("khqr")
    expect(page).to_have_url(re.compile(r"payment=paid&method=khqr"))
    expect(page.locator("select[name=payment]")).to_have_value("paid")
    expect(page.locator("table.data tbody tr")).to_contain_text("No orders yet today")

    page.goto(f"{base}/s/{shop.slug}/kitchen/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    expect(page.locator("#kitchen-rail .kitchen-card.status-queued")).to_contain_text("Croissant")
    page.locator(".kitchen-card .card-advance", has_text="Start").first.click()
    expect(page.locator("#kitchen-rail .kitchen-card.status-preparing")).to_have_count(1)
    watch.assert_clean()


def confirm_then(page: Page, answer: bool, messages: list[str]) -> None:
    def handle(dialog) -> None:
        messages.append(f"{dialog.type}: {dialog.message}")
        dialog.accept() if answer else dialog.dismiss()

    page.once("dialog", handle)


def test_owner_and_admin_screens_under_the_policy(watch: PolicyWatch, live_server, cafe):
    shop, table, latte, croissant = cafe
    for product, method in ((latte, "khqr"), (croissant, "cash")):
        make_order(shop, product, method=method, table=table, paid=True)
    spare = make_table(shop, "Spare table")
    make_staff(shop, "barista", "271828", name="Leaver")
    add_staff(db.session, shop, name="Boss", role="owner", pin="135790",
              email="boss@csp.example", password=OWNER_PASSWORD)
    db.session.add(AdminUser(email="root@csp.example", password_hash=hash_secret(ADMIN_PASSWORD)))
    db.session.commit()
    base = live_server.url
    settings = f"{base}/s/{shop.slug}/settings"
    page = watch.page(viewport=DESKTOP)

    page.goto(f"{settings}/login")
    page.fill("input[name=email]", "boss@csp.example")
    page.fill("input[name=password]", OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h2")).to_contain_text("Welcome")

    # Menu: deleting a category asks first; "Cancel" keeps it.
    asked: list[str] = []
    page.goto(f"{settings}/menu")
    categories = page.locator("section.settings-section form[action$='/delete']")
    count = categories.count()
    assert count >= 2
    confirm_then(page, False, asked)
    categories.first.get_by_role("button", name="Delete").click()
    expect(categories).to_have_count(count)
    page.locator(f"#settings-product-{latte.id} .sold-out-toggle").click()
    expect(page.locator(f"#settings-product-{latte.id}")).to_contain_text("Sold out")

    page.locator(f"#settings-product-{latte.id} a").click()
    expect(page).to_have_url(re.compile(rf"/menu/products/{latte.id}$"))
    confirm_then(page, False, asked)
    page.get_by_role("button", name="Remove from the menu").click()
    expect(page).to_have_url(re.compile(rf"/menu/products/{latte.id}$"))

    # Tables: a new QR code and removing a table ask first; "OK" goes ahead.
    page.goto(f"{settings}/tables")
    row = page.locator(f"#settings-table-{spare.id}")
    confirm_then(page, False, asked)
    row.get_by_role("button", name="New QR code").click()
    confirm_then(page, False, asked)
    row.get_by_role("button", name="Remove").click()
    expect(row).to_have_count(1)
    confirm_then(page, True, asked)
    with page.expect_navigation():
        row.get_by_role("button", name="Remove").click()
    expect(page.locator(f"#settings-table-{spare.id}")).to_have_count(0)
    expect(page.locator(f"#settings-table-{table.id}")).to_have_count(1)
    page.goto(f"{settings}/tables/print")
    expect(page.locator(f"#qr-{table.id} svg")).to_be_visible()
    assert page.locator(".qr-card").first.evaluate(
        "el => getComputedStyle(el).borderTopStyle") == "dashed"  # the sheet's own CSS loaded

    # Staff: removing a person asks first.
    page.goto(f"{settings}/staff")
    confirm_then(page, True, asked)
    with page.expect_navigation():
        page.locator("tr", has_text="Leaver").get_by_role("button", name="Remove").click()
    expect(page.locator("tr", has_text="Leaver")).to_have_count(0)

    assert asked == [
        "confirm: Delete this category? Its products stay, without a category.",
        "confirm: Remove this product from the menu?",
        "confirm: Make a new QR code? The printed one stops working.",
        "confirm: Remove this table?",
        "confirm: Remove this table?",
        "confirm: Remove this person?",
    ]

    page.goto(f"{settings}/payments")
    page.get_by_role("button", name="Show a test KHQR").click()
    expect(page.locator("#khqr-preview svg")).to_be_visible()
    page.goto(f"{settings}/reports")
    expect(page.locator("#chart-hour rect.bar")).to_have_count(24)

    admin = watch.page(viewport=DESKTOP)
    admin.goto(f"{base}/admin/")
    admin.fill("input[name=email]", "root@csp.example")
    admin.fill("input[name=password]", ADMIN_PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    expect(admin.locator("main")).to_contain_text("CSP Cafe")

    watch.allowed.append(re.compile(r"status of 404"))
    response = admin.goto(f"{base}/s/{shop.slug}/t/no-such-table")
    assert response is not None and response.status == 404
    watch.assert_clean()


def test_a_leftover_inline_handler_is_caught(watch: PolicyWatch, live_server, cafe):
    """The watch itself: an inline handler and an hx-on added to a live page are refused and
    reported (so the tests above would see any left in a template)."""
    shop, table, _, _ = cafe
    page = watch.page(viewport=PHONE)
    page.goto(f"{live_server.url}/s/{shop.slug}/t/{table.qr_token}")
    page.evaluate("""() => {
      const b = document.createElement("button");
      b.id = "bad"; b.setAttribute("onclick", "document.title = 'ran'");
      b.setAttribute("hx-on:click", "document.title = 'ran too'");
      document.body.appendChild(b); htmx.process(b);
      // Mark the page when each refusal has happened, for the test to wait on.
      document.addEventListener("securitypolicyviolation", (e) => {
        const seen = document.body.dataset.refused || "";
        document.body.dataset.refused = `${seen} ${e.violatedDirective}`;
      });
      document.body.addEventListener("htmx:evalDisallowedError", () => {
        document.body.dataset.evalRefused = "yes";
      });
    }""")
    page.locator("#bad").click()
    body = page.locator("body")
    expect(body).to_have_attribute("data-refused", re.compile(r"(^| )script-src-attr( |$)"))
    expect(body).to_have_attribute("data-eval-refused", "yes")
    assert page.title() not in ("ran", "ran too")
    assert any("script-src-attr" in p for p in watch.problems), watch.problems
    assert any("htmx:evalDisallowedError" in p for p in watch.problems), watch.problems
