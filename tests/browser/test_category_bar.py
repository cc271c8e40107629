"""The guest menu's category bar marks the category in view (issue 13 §5): on a 390x844 phone
in Chromium, scrolling the menu moves the highlight (aria-current) along the bar, a tap on a
category jumps there and marks it, and the end of the menu marks the last category."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from shopqr.extensions import db
from shopqr.models import Category
from tests.browser.conftest import PHONE
from tests.factories import make_product, make_shop, make_table

pytestmark = [pytest.mark.browser, pytest.mark.live]

NAMES = ["Coffee", "Tea", "Smoothies", "Pastries", "Rice dishes", "Noodles"]


@pytest.fixture
def long_menu(app, ctx):
    shop = make_shop("category-bar-cafe", name="Category Bar Cafe")
    table = make_table(shop, "Table 2")
    for order, name in enumerate(NAMES):
        category = Category(shop_id=shop.id, name=name, sort_order=order)
        db.session.add(category)
        count = 1 if name == "Noodles" else 6  # a short last category
        for n in range(count):
            make_product(shop, f"{name} {n + 1}", "2.00", category=category)
    db.session.commit()
    return shop.slug, table.qr_token


def scroll_to(page: Page, name: str) -> None:
    """Scroll the way a thumb does, until the category's heading is just below the bar."""
    page.locator(".menu-category", has_text=name).first.evaluate(
        "el => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 70)")


def current(page: Page):
    return page.locator(".category-nav a[aria-current]")


def test_the_category_in_view_is_marked_as_the_menu_scrolls(browser: Browser, live_server,
                                                            long_menu, shot):
    slug, token = long_menu
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{live_server.url}/s/{slug}/t/{token}")
    expect(current(page)).to_have_count(1)
    expect(current(page)).to_have_text("Coffee")

    # Scrolling down, the highlight follows the section under the bar, one at a time.
    for name in ("Tea", "Smoothies"):
        scroll_to(page, name)
        expect(current(page)).to_have_text(name)
        expect(current(page)).to_have_count(1)
    shot(page, "category-bar-scrolled")

    # The end of the menu: the short last category, which never reaches the bar; the bar
    # scrolled sideways to keep its link in sight.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(current(page)).to_have_text("Noodles")
    box = current(page).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    shot(page, "category-bar-end")

    # A tap on a category jumps there and marks it, also where the page cannot scroll far
    # enough to bring it under the bar.
    page.locator(".category-nav a", has_text="Coffee").click()
    expect(current(page)).to_have_text("Coffee")
    page.locator(".category-nav a", has_text="Rice dishes").click()
    expect(current(page)).to_have_text("Rice dishes")

    # Scrolling on from there, the section under the bar again.
    scroll_to(page, "Smoothies")
    expect(current(page)).to_have_text("Smoothies")
    page.evaluate("window.scrollTo(0, 0)")
    expect(current(page)).to_have_text("Coffee")
