"""Issue 13, "No dead ends": after a table's session ended the menu link starts (or joins) the
table's next session; every error page a guest can meet names the shop, offers a way back and
the language switch."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from shopqr.extensions import db
from shopqr.models import ShopTable, TableSession, utcnow
from shopqr.services import tables
from tests.conftest import build_app
from tests.factories import make_cafe, make_shop, make_table

COOKIE = "shopqr_table"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def cafe(app, ctx):
    return make_cafe("again-cafe", "Again Cafe", "Table 3")


def scan(phone, shop, table):
    return phone.get(f"/s/{shop.slug}/t/{table.qr_token}")


def add(phone, shop, product, **headers):
    return phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": product.id},
                      headers=headers or HTMX)


def cookie(phone, shop) -> str | None:
    found = phone.get_cookie(COOKIE, path=f"/s/{shop.slug}/")
    return found.value if found else None


def finish(table) -> TableSession:
    """Everything paid and served: the session ends as ``maybe_finish_session`` ends it."""
    session = tables.active_session(db.session, table)
    tables.end_session(db.session, session, "finished")
    db.session.commit()
    return session


def test_the_group_orders_again_after_its_session_ended(app, cafe):
    shop, table, latte, cake = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, cake)
    placed = phone.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "again-order-0000000001"})
    order_url = placed.headers["Location"]
    old_token = cookie(phone, shop)
    finish(table)

    menu = phone.get(f"/s/{shop.slug}/menu")
    assert menu.status_code == 303 and menu.headers["Location"] == f"/s/{shop.slug}/menu"
    new_token = cookie(phone, shop)
    assert new_token and new_token != old_token
    assert tables.active_session(db.session, table).token == new_token
    page = phone.get(f"/s/{shop.slug}/menu")
    assert page.status_code == 200 and "Table 3" in page.text
    assert 'data-count="0"' in page.text and "Orders at this table" not in page.text
    assert add(phone, shop, latte).status_code == 200
    # the old group's order page still answers from its own URL
    old_order = phone.get(order_url)
    assert old_order.status_code == 200 and "Banana Cake" in old_order.text


def test_a_page_left_open_on_the_old_session_cannot_see_or_change_the_new_cart(app, cafe):
    """The phone of the group that left: its open menu's requests are refused (and offered a
    fresh start) until it reloads the menu; then it is at the table's current session, as a
    scan of the QR code on the table would make it."""
    shop, table, latte, cake = cafe
    leaver, newcomer = app.test_client(), app.test_client()
    scan(leaver, shop, table)
    finish(table)
    scan(newcomer, shop, table)
    assert add(newcomer, shop, latte).status_code == 200
    for response in (leaver.get(f"/s/{shop.slug}/cart", headers=HTMX),
                     leaver.get(f"/s/{shop.slug}/cart/badge", headers=HTMX),
                     add(leaver, shop, cake)):
        assert response.status_code == 410
        assert "Latte" not in response.text and "$2.50" not in response.text
        assert f'href="/s/{shop.slug}/menu">Start again' in response.text
    assert leaver.get(f"/s/{shop.slug}/menu").status_code == 303  # the reload joins
    cart = leaver.get(f"/s/{shop.slug}/cart", headers=HTMX)
    assert cart.status_code == 200 and "Latte" in cart.text


def test_a_session_that_ended_long_ago_asks_for_a_scan(app, cafe):
    shop, table, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    old = finish(table)
    db.session.execute(update(TableSession).where(TableSession.id == old.id)
                       .values(closed_at=utcnow() - timedelta(hours=4)))
    db.session.commit()
    page = phone.get(f"/s/{shop.slug}/menu")
    assert page.status_code == 410
    assert "Scan the QR code on your table" in page.text and "Again Cafe" in page.text
    assert f'action="/s/{shop.slug}/lang"' in page.text
    assert tables.active_session(db.session, table) is None  # nothing started
    assert scan(phone, shop, table).status_code == 303  # the QR code still starts one


def test_a_removed_table_is_not_rejoined(app, cafe):
    shop, table, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    finish(table)
    db.session.execute(update(ShopTable).where(ShopTable.id == table.id).values(is_active=False))
    db.session.commit()
    assert phone.get(f"/s/{shop.slug}/menu").status_code == 410
    assert tables.active_session(db.session, table) is None


def test_another_shops_cookie_never_rejoins_anything(app, cafe):
    shop, table, *_ = cafe
    other = make_shop("other-again", name="Other Again")
    make_table(other, "Table 3")
    phone = app.test_client()
    scan(phone, shop, table)
    token = cookie(phone, shop)
    finish(table)
    phone.set_cookie(COOKIE, token, path=f"/s/{other.slug}/")
    page = phone.get(f"/s/{other.slug}/menu")
    assert page.status_code == 403 and "Scan the QR code on your table" in page.text
    assert "Other Again" in page.text and "Again Cafe" not in page.text
    assert tables.active_session(db.session, table) is None


def assert_guest_error_page(response, shop, status, *, menu_link=True):
    assert response.status_code == status, response.text
    text = response.text
    assert f"<h1>{shop.name}</h1>" in text
    assert f'action="/s/{shop.slug}/lang"' in text and 'name="lang"' in text
    assert 'data-history-back' in text
    if menu_link:
        assert re.search(rf'href="/s/{shop.slug}/menu">(Back to the menu|Start again)', text)


def test_every_guest_error_page_names_the_shop_with_a_way_back_and_the_language(app, cafe):
    shop, table, latte, cake = cafe
    stranger = app.test_client()
    # 403: no session (a page other than the menu)
    assert_guest_error_page(stranger.get(f"/s/{shop.slug}/cart"), shop, 403)
    # 403 on the menu itself: the way back is the QR code (and the browser's back)
    assert_guest_error_page(stranger.get(f"/s/{shop.slug}/menu"), shop, 403, menu_link=False)
    # 404: an unknown order
    assert_guest_error_page(stranger.get(f"/s/{shop.slug}/orders/nope"), shop, 404)
    # 404: an unknown QR code
    assert_guest_error_page(stranger.get(f"/s/{shop.slug}/t/nope"), shop, 404, menu_link=False)
    phone = app.test_client()
    scan(phone, shop, table)
    # 409: sold out (a plain form post)
    cake.is_available = False
    db.session.commit()
    assert_guest_error_page(add(phone, shop, cake, Accept="text/html"), shop, 409)
    # 400: the CSRF token is missing
    refused = phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": latte.id},
                         csrf=False)
    assert_guest_error_page(refused, shop, 400)
    # 410: the session ended (a page other than the menu)
    finish(table)
    assert_guest_error_page(phone.get(f"/s/{shop.slug}/cart"), shop, 410)


def test_the_error_pages_language_switch_works_and_leads_to_the_menu(app, cafe, khmer):
    shop, *_ = cafe
    stranger = app.test_client()
    page = stranger.get(f"/s/{shop.slug}/orders/nope")
    assert 'name="next" value="/s/again-cafe/menu"' in page.text
    switched = stranger.post(f"/s/{shop.slug}/lang", data={"lang": "km",
                                                          "next": f"/s/{shop.slug}/menu"})
    assert switched.status_code == 303
    again = stranger.get(f"/s/{shop.slug}/orders/nope")
    assert khmer["Back to the menu"] in again.text and khmer["Go back"] in again.text


def test_too_many_calls_get_the_friendly_429_page(database_url, cafe):
    limited = build_app(database_url, RATELIMIT_ENABLED=True)
    shop, table, *_ = cafe
    phone = limited.test_client()
    scan(phone, shop, table)
    url = f"/s/{shop.slug}/service"
    answers = [phone.post(url, data={"kind": "staff"}).status_code for _ in range(9)]
    assert answers[0] == 303 and answers[1:8] == [409] * 7
    assert_guest_error_page(phone.post(url, data={"kind": "staff"}), shop, 429)
