"""Tenant isolation for guests: nothing of shop A is reachable under shop B's address, whatever
cookie, order token, product or cart-item id a phone brings along."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import CartItem, Order, TableSession
from tests.factories import make_product, make_shop, make_table

HX = {"HX-Request": "true"}
COOKIE = "shopqr_table"


@pytest.fixture
def two_shops(app, ctx):
    """Shop A with a placed order and a cart line; shop B with its own table and menu."""
    a = make_shop("alpha-cafe", name="Alpha Cafe")
    a_table = make_table(a, "Alpha Table")
    secret = make_product(a, "Alpha Secret Blend", "4.20",
                          options={"Size": [("Alpha Small", "0"), ("Alpha Large", "1")]})
    b = make_shop("bravo-cafe", name="Bravo Cafe")
    b_table = make_table(b, "Bravo Table")
    make_product(b, "Bravo Tea", "1.00")
    phone = app.test_client()
    phone.get(f"/s/{a.slug}/t/{a_table.qr_token}")
    phone.post(f"/s/{a.slug}/cart/items", data={"product_id": secret.id, "note": "alpha note"})
    placed = phone.post(f"/s/{a.slug}/checkout",
                        data={"method": "khqr", "checkout_key": "alpha-order-key-01"})
    assert placed.status_code == 303
    phone.post(f"/s/{a.slug}/cart/items", data={"product_id": secret.id, "quantity": "3"})
    order = db.session.scalar(select(Order))
    item = db.session.scalar(select(CartItem))
    a_token = phone.get_cookie(COOKIE, path=f"/s/{a.slug}/").value
    return {
        "a": a, "b": b, "b_table": b_table, "secret": secret, "order": order, "item": item,
        "a_token": a_token,
        "a_words": ["Alpha Secret Blend", "alpha note", "Alpha Table", "Alpha Large",
                    order.number, order.public_token, "$4.20"],
    }


def guest_requests(s) -> list[tuple[str, str, dict]]:
    """Every guest URL of shop B, aimed at shop A's ids."""
    b, order, item, secret = s["b"].slug, s["order"], s["item"], s["secret"]
    size = secret.option_groups[0]
    return [
        ("GET", f"/s/{b}/menu", {}),
        ("GET", f"/s/{b}/menu/changes", {}),
        ("GET", f"/s/{b}/menu/products/{secret.id}", {}),
        ("GET", f"/s/{b}/cart", {}),
        ("GET", f"/s/{b}/cart/badge", {}),
        ("POST", f"/s/{b}/cart/items", {"product_id": secret.id,
                                       f"group-{size.id}": size.options[1].id}),
        ("POST", f"/s/{b}/cart/items/{item.id}/quantity", {"quantity": "7"}),
        ("POST", f"/s/{b}/cart/items/{item.id}/note", {"note": "hijacked"}),
        ("POST", f"/s/{b}/cart/items/{item.id}/delete", {}),
        ("POST", f"/s/{b}/checkout", {"method": "cash", "checkout_key": "alpha-order-key-01"}),
        ("GET", f"/s/{b}/orders/{order.public_token}", {}),
        ("GET", f"/s/{b}/orders/{order.public_token}/status", {}),
        ("POST", f"/s/{b}/orders/{order.public_token}/khqr", {}),
    ]


def assert_nothing_of_a(response, s) -> None:
    body = response.get_data(as_text=True)
    for word in s["a_words"]:
        assert word not in body, (response.request.path, word)


def assert_a_unchanged(s) -> None:
    db.session.expire_all()
    item = db.session.get(CartItem, s["item"].id)
    assert item is not None and item.quantity == 3 and item.note is None
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert db.session.scalar(select(func.count()).select_from(Order)
                             .where(Order.shop_id == s["b"].id)) == 0


def send(client, method, path, data, htmx):
    headers = HX if htmx else {}
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, data=data, headers=headers)


@pytest.mark.parametrize("htmx", [False, True])
def test_shop_as_cookie_under_shop_bs_address_shows_nothing(app, two_shops, htmx):
    s = two_shops
    phone = app.test_client()
    # the browser only sends A's cookie under /s/alpha-cafe/; here it is forced onto B's path
    phone.set_cookie(COOKIE, s["a_token"], path=f"/s/{s['b'].slug}/")
    for method, path, data in guest_requests(s):
        response = send(phone, method, path, data, htmx)
        if path.endswith("/menu/changes"):  # B's public menu cards, no session needed
            assert response.status_code == 200 and "Bravo Tea" in response.text
        else:
            assert response.status_code in (403, 404), (path, response.status_code)
        if response.status_code == 403:
            assert "Scan the QR code on your table" in response.text
        assert_nothing_of_a(response, s)
    assert_a_unchanged(s)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_phone_seated_at_shop_b_cannot_reach_shop_as_ids(app, two_shops, htmx):
    s = two_shops
    phone = app.test_client()
    assert phone.get(f"/s/{s['b'].slug}/t/{s['b_table'].qr_token}").status_code == 303
    phone.set_cookie(COOKIE, s["a_token"], path=f"/s/{s['a'].slug}/")  # also holds A's cookie
    for method, path, data in guest_requests(s):
        response = send(phone, method, path, data, htmx)
        if path.endswith(("/menu", "/menu/changes", "/cart", "/cart/badge")):
            assert response.status_code in (200, 204)  # B's own pages
        elif path.endswith("/checkout"):  # A's checkout key: refused, A's order not shown
            assert response.status_code == 409 and "out of date" in response.text
        else:
            assert response.status_code == 404, (path, response.status_code)
        assert_nothing_of_a(response, s)
    assert_a_unchanged(s)
    menu = phone.get(f"/s/{s['b'].slug}/menu")
    assert "Bravo Tea" in menu.text and "Orders at this table" not in menu.text


def test_shop_as_table_code_under_shop_bs_address_is_404(client, two_shops):
    s = two_shops
    a_table = s["a"].tables[0]
    response = client.get(f"/s/{s['b'].slug}/t/{a_table.qr_token}")
    assert response.status_code == 404
    assert_nothing_of_a(response, s)
    assert db.session.scalar(select(func.count()).select_from(TableSession)
                             .where(TableSession.shop_id == s["b"].id)) == 0


def test_shop_as_cookie_still_works_at_shop_a(app, two_shops):
    """The control: the same cookie and ids do show A's data at A's own address."""
    s = two_shops
    phone = app.test_client()
    phone.set_cookie(COOKIE, s["a_token"], path=f"/s/{s['a'].slug}/")
    menu = phone.get(f"/s/{s['a'].slug}/menu")
    assert menu.status_code == 200 and "Alpha Secret Blend" in menu.text
    order = phone.get(f"/s/{s['a'].slug}/orders/{s['order'].public_token}")
    assert order.status_code == 200 and s["order"].number in order.text
