"""Scanning a table's QR code: the cookie, bad codes, closed shops, ended sessions."""

from __future__ import annotations

import re
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import Order, TableSession, utcnow
from shopqr.services import tables
from shopqr.services.numbering import business_date
from tests.factories import make_product, make_shop, make_table

COOKIE = "shopqr_table"


@pytest.fixture
def cafe(app, ctx):
    shop = make_shop("scan-cafe", name="Scan Cafe")
    table = make_table(shop, "Table 7")
    latte = make_product(shop, "Latte", "2.50")
    return shop, table, latte


def scan(client, shop, table):
    return client.get(f"/s/{shop.slug}/t/{table.qr_token}")


def add(client, shop, product):
    return client.post(f"/s/{shop.slug}/cart/items", data={"product_id": product.id},
                       headers={"HX-Request": "true"})


def table_cookie(response) -> SimpleCookie:
    header = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith(COOKIE))
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(header)
    return cookie


def test_scan_redirects_to_the_menu_with_a_private_table_cookie(client, cafe):
    shop, table, _ = cafe
    response = scan(client, shop, table)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/s/{shop.slug}/menu"
    morsel = table_cookie(response)[COOKIE]
    session = tables.active_session(db.session, table)
    assert morsel.value == session.token and len(session.token) >= 22  # ≥128 bits
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == f"/s/{shop.slug}/"
    assert not morsel["secure"]  # development; production forces Secure
    menu = client.get(response.headers["Location"])
    assert menu.status_code == 200
    assert "Scan Cafe" in menu.text and "Table 7" in menu.text and "Latte" in menu.text


def test_the_cookie_is_secure_when_the_app_says_so(app, cafe):
    shop, table, _ = cafe
    app.config["SESSION_COOKIE_SECURE"] = True
    response = scan(app.test_client(), shop, table)
    assert table_cookie(response)[COOKIE]["secure"] is True


def test_two_phones_scanning_one_table_join_the_same_session(app, cafe):
    shop, table, _ = cafe
    first, second = scan(app.test_client(), shop, table), scan(app.test_client(), shop, table)
    assert table_cookie(first)[COOKIE].value == table_cookie(second)[COOKIE].value
    assert db.session.scalar(select(func.count()).select_from(TableSession)) == 1


@pytest.mark.parametrize("token", ["not-a-token", "x" * 43, "%00"])
def test_an_unknown_qr_code_is_a_friendly_404(client, cafe, token):
    shop, _, _ = cafe
    response = client.get(f"/s/{shop.slug}/t/{token}")
    assert response.status_code == 404
    assert "<html" in response.text and "not valid any more" in response.text
    assert COOKIE not in response.headers.get("Set-Cookie", "")


def test_a_disabled_table_is_a_friendly_404(client, cafe):
    shop, table, _ = cafe
    table.is_active = False
    db.session.commit()
    response = scan(client, shop, table)
    assert response.status_code == 404 and "ask the staff" in response.text


def test_shop_as_token_under_shop_bs_slug_is_404(client, cafe):
    _, table, _ = cafe
    other = make_shop("other-cafe")
    response = client.get(f"/s/{other.slug}/t/{table.qr_token}")
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(TableSession)) == 0


@pytest.mark.parametrize("closure", [
    {"subscription_expires_on": -1},
    {"subscription_expires_on": -30},
    {"is_active": False},
])
def test_a_closed_shop_shows_unavailable_and_refuses_checkout(client, cafe, closure):
    shop, table, latte = cafe
    scan(client, shop, table)
    add(client, shop, latte)
    today = business_date(utcnow())
    if "subscription_expires_on" in closure:
        shop.subscription_expires_on = today + timedelta(days=closure["subscription_expires_on"])
    else:
        shop.is_active = False
    db.session.commit()
    for response in (scan(client, shop, table), client.get(f"/s/{shop.slug}/menu")):
        assert response.status_code == 403
        assert "Ordering by QR code is unavailable" in response.text
        assert "Latte" not in response.text
    placed = client.post(f"/s/{shop.slug}/checkout",
                         data={"method": "cash", "checkout_key": "closed-shop-key-01"})
    assert placed.status_code == 403 and "unavailable" in placed.text
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_a_subscription_paid_up_to_today_still_takes_orders(client, cafe):
    shop, table, _ = cafe
    shop.subscription_expires_on = business_date(utcnow())
    db.session.commit()
    assert scan(client, shop, table).status_code == 303
    assert client.get(f"/s/{shop.slug}/menu").status_code == 200


@pytest.mark.parametrize("path", ["/menu", "/cart", "/cart/badge"])
def test_without_a_scan_the_guest_is_asked_to_scan(client, cafe, path):
    shop, _, _ = cafe
    response = client.get(f"/s/{shop.slug}{path}")
    assert response.status_code == 403
    assert "Scan the QR code on your table to start ordering." in response.text


def test_a_forged_cookie_is_treated_as_no_scan(client, cafe):
    shop, _, _ = cafe
    client.set_cookie(COOKIE, "forged-token", path=f"/s/{shop.slug}/")
    response = client.get(f"/s/{shop.slug}/menu")
    assert response.status_code == 403 and "Scan the QR code" in response.text


def test_after_staff_end_the_session_the_phone_is_told_and_a_rescan_starts_fresh(client,
                                                                                  cafe):
    shop, table, latte = cafe
    first = table_cookie(scan(client, shop, table))[COOKIE].value
    add(client, shop, latte)
    tables.end_session(db.session, tables.active_session(db.session, table), "closed by staff")
    db.session.commit()
    # a page still open on the old session changes nothing and is offered a fresh start
    ended = client.get(f"/s/{shop.slug}/cart")
    assert ended.status_code == 410
    assert "session has ended. Scan the QR code on your table" in ended.text
    assert "Scan Cafe" in ended.text and 'href="/s/scan-cafe/menu">Start again' in ended.text
    refused = add(client, shop, latte)
    assert refused.status_code == 410 and "Start again" in refused.text
    rescan = scan(client, shop, table)
    second = table_cookie(rescan)[COOKIE].value
    assert second != first
    cart = client.get(f"/s/{shop.slug}/cart")
    assert cart.status_code == 200 and "Your cart is empty." in cart.text
    assert "Latte" not in cart.text
    assert db.session.scalar(select(func.count()).select_from(TableSession)
                             .where(TableSession.active_table_id.is_not(None))) == 1


def _page_token(html: str) -> str:
    return re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)


def test_the_cached_menu_page_carries_each_phones_own_table_cart_and_token(app, cafe):
    """The menu page is cached per shop; the table name, orders, cart button and CSRF token
    are filled in per request and never cross from one phone to another."""
    shop, table, latte = cafe
    other_table = make_table(shop, "Table 9")
    first, second = app.test_client(), app.test_client()
    scan(first, shop, table)
    scan(second, shop, other_table)
    assert add(first, shop, latte).status_code == 200
    assert add(first, shop, latte).status_code == 200
    assert first.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "cached-menu-order-1"}).status_code == 303
    assert add(first, shop, latte).status_code == 200
    page_one = first.get(f"/s/{shop.slug}/menu").text
    page_two = second.get(f"/s/{shop.slug}/menu").text  # served from the cached shell
    assert "Table 7" in page_one and "Table 9" not in page_one
    assert "Table 9" in page_two and "Table 7" not in page_two
    assert 'data-count="1"' in page_one and 'data-count="0"' in page_two
    assert "Orders at this table" in page_one and "#1 · $5.00" in page_one
    assert "Orders at this table" not in page_two
    token_one, token_two = _page_token(page_one), _page_token(page_two)
    assert token_one != token_two and "\x00" not in page_one + page_two
    add_url = f"/s/{shop.slug}/cart/items"
    stolen = second.post(add_url, data={"product_id": latte.id}, csrf=False,
                         headers={"X-CSRFToken": token_one})
    assert stolen.status_code == 400
    own = second.post(add_url, data={"product_id": latte.id}, csrf=False,
                      headers={"X-CSRFToken": token_two, "HX-Request": "true"})
    assert own.status_code == 200 and 'data-count="1"' in own.text


def test_a_renamed_shop_shows_its_new_name_on_the_next_menu_load(client, cafe):
    shop, table, _ = cafe
    scan(client, shop, table)
    assert "Scan Cafe" in client.get(f"/s/{shop.slug}/menu").text
    shop.name = "Scan Coffee House"
    db.session.commit()
    page = client.get(f"/s/{shop.slug}/menu").text
    assert "Scan Coffee House" in page and "Scan Cafe" not in page
