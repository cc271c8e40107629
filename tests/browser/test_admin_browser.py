"""The platform admin in Chromium: the slug field's browser-side check works (its pattern is
valid under the v-flag rules), a form with several mistakes shows them all, the shops list is
searched and filtered, an owner's email and password are changed, and the pages switch to
Khmer (docs/admin.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect

from shopqr.extensions import db
from shopqr.models import AdminUser, utcnow
from shopqr.services.numbering import business_date
from shopqr.services.shops import hash_secret
from tests.conftest import ADMIN_PASSWORD
from tests.factories import make_order, make_product, make_shop, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.live]


def _admin_page(browser: Browser, base: str):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning")
            else None)
    page.goto(f"{base}/admin/login")
    page.fill("input[name=email]", "root@shopqr.example")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Shops")).to_be_visible()
    return page, errors


@pytest.fixture
def platform(ctx):
    db.session.add(AdminUser(email="root@shopqr.example",
                             password_hash=hash_secret(ADMIN_PASSWORD)))
    today = business_date(utcnow())
    river = make_shop("riverside", name="Riverside Cafe",
                      subscription_expires_on=today + timedelta(days=3))
    make_shop("lotus-tea", name="Lotus Tea", subscription_expires_on=today - timedelta(days=2))
    tea = make_product(river, "Tea", "1.50")
    make_order(river, tea, 3, paid=True)
    owner = make_staff(river, "owner", "135790", name="Sophea", email="sophea@river.example",
                       password="river-owner-pass")
    db.session.commit()
    return river.id, owner.id


def test_new_shop_form_checks_the_slug_and_shows_every_error(browser: Browser, live_server,
                                                             platform, shot):
    page, console = _admin_page(browser, live_server.url)
    page.get_by_role("link", name="New shop").click()
    slug = page.locator("input[name=slug]")
    slug.fill("Bad Slug")
    # the pattern compiles (a broken one is ignored: no mismatch, and a console warning)
    assert slug.evaluate("el => el.validity.patternMismatch") is True
    slug.fill("good-slug-1")
    assert slug.evaluate("el => el.validity.patternMismatch") is False
    assert not [m for m in console if "pattern" in m.lower()], console

    # the browser stops a bad slug before sending
    page.fill("input[name=name]", "Mekong Cafe")
    slug.fill("Bad Slug")
    page.fill("input[name=owner_name]", "Dara")
    page.fill("input[name=owner_email]", "dara@mekong.example")
    page.fill("input[name=owner_password]", "short-pass-long-enough")
    page.get_by_role("button", name="Create shop").click()
    expect(page).to_have_url(f"{live_server.url}/admin/shops/new")
    assert slug.evaluate("el => el.matches(':invalid')") is True

    # with the browser's checks off, the server reports the slug and the password together
    page.evaluate("document.querySelector('form.stack').noValidate = true")
    page.fill("input[name=owner_password]", "short")
    page.get_by_role("button", name="Create shop").click()
    expect(page.locator("#error-slug")).to_contain_text("web address")
    expect(page.locator("#error-owner_password")).to_contain_text("at least 10 characters")
    expect(page.locator("input[name=slug]")).to_have_value("Bad Slug")
    expect(page.locator("input[name=slug]")).to_have_attribute("aria-invalid", "true")
    shot(page, "admin-new-shop-errors")

    page.fill("input[name=slug]", "mekong")
    page.fill("input[name=owner_password]", "mekong-owner-pass")
    page.get_by_role("button", name="Create shop").click()
    expect(page.get_by_role("heading", name="Mekong Cafe is ready")).to_be_visible()


def test_shops_list_filters_and_owner_account(browser: Browser, live_server, platform, shot):
    shop_id, owner_id = platform
    page, _ = _admin_page(browser, live_server.url)
    river = page.locator(f"#admin-shop-{shop_id}")
    expect(river.locator(".orders")).to_have_text("1")
    expect(river.locator(".revenue")).to_have_text("$4.50")
    expect(river.locator(".last-activity")).not_to_have_text("No orders yet")
    shot(page, "admin-shops")

    page.get_by_label("Subscription").select_option("soon")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Riverside Cafe")
    page.get_by_label("Subscription").select_option("expired")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody")).to_contain_text("Lotus Tea")
    expect(page.locator("tbody")).not_to_contain_text("Riverside Cafe")
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Search name or web address").fill("river")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)

    page.get_by_role("link", name="Riverside Cafe").click()
    email = page.get_by_label("Sign-in email for Sophea")
    # on the shop's page before its forms lose the browser's own check (a slow navigation
    # left the list's forms changed and the email field still checked: the click sent nothing)
    expect(email).to_be_editable()
    page.evaluate("document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    email.fill("not-an-email")
    page.get_by_role("button", name="Change email").click()
    expect(page.locator(".field-error")).to_contain_text("valid email")
    page.get_by_label("Sign-in email for Sophea").fill("sophea@new.example")
    page.get_by_role("button", name="Change email").click()
    expect(page.locator("#saved")).to_have_text("Saved.")
    expect(page.get_by_label("Sign-in email for Sophea")).to_have_value("sophea@new.example")
    page.get_by_label("New password for Sophea").fill("a-new-owner-password")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#audit-log")).to_contain_text("owner.password_reset")
    expect(page.locator("#audit-log")).to_contain_text("admin.owner_email")
    shot(page, "admin-shop-owner")

    # the owner signs in with the new email and password
    owner = browser.new_context().new_page()
    owner.goto(f"{live_server.url}/s/riverside/settings/login")
    owner.fill("input[name=email]", "sophea@new.example")
    owner.fill("input[name=password]", "a-new-owner-password")
    owner.get_by_role("button", name="Sign in").click()
    expect(owner).to_have_url(f"{live_server.url}/s/riverside/settings/")

    # Khmer, and back; the page stays where it was
    page.locator(".lang-switch button").click()
    expect(page.locator("html")).to_have_attribute("lang", "km")
    expect(page).to_have_url(f"{live_server.url}/admin/shops/{shop_id}")
    shot(page, "admin-shop-km")
    page.locator(".lang-switch button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_staff_screens_remind_a_week_before_the_end(browser: Browser, live_server, platform,
                                                    shot):
    from tests.browser.conftest import PHONE, sign_in
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, "riverside", "Sophea", "135790")
    page.wait_for_url(lambda url: "/staff/" not in url)
    page.goto(f"{live_server.url}/s/riverside/pos/")
    expect(page.locator("#renewal-notice")).to_contain_text("in 3 days")
    page.goto(f"{live_server.url}/s/riverside/kitchen/")
    expect(page.locator("#renewal-notice")).to_contain_text("in 3 days")
    shot(page, "staff-renewal-reminder-phone")


def test_bakong_token_page_warns_and_renews(browser: Browser, live_server, platform, app, shot):
    from tests.admin.test_bakong_token import jwt

    expires = (utcnow() + timedelta(days=9)).replace(microsecond=0)
    app.config.update(BAKONG_TOKEN=jwt(expires), BAKONG_EMAIL="ops@shopqr.example")
    page, _ = _admin_page(browser, live_server.url)
    expect(page.locator("#bakong-banner")).to_be_visible()  # on the shops list, 9 days ahead
    page.get_by_role("link", name="Bakong API token").first.click()
    expect(page.locator("#bakong-expiry")).to_have_text(f"{expires:%Y-%m-%d %H:%M} UTC")
    expect(page.locator("#bakong-warning")).to_contain_text("expires in 8 days")
    page.get_by_role("button", name="Renew the token now").click()
    expect(page.locator("#bakong-renewed")).to_contain_text("Token renewed")
    expect(page.locator("#bakong-warning")).to_have_count(0)
    expect(page.locator("#bakong-history tbody tr").first).to_contain_text("root@shopqr.example")
    shot(page, "admin-bakong-token")
