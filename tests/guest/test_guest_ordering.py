"""The guest's phone: scan, shared cart, checkout, bad input, other shops, languages."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import CartItem, Order, TableSession
from shopqr.services import tables
from tests.factories import (
    group_id,
    make_cafe,
    make_product,
    make_shop,
    make_table,
    option_id,
    run_together,
)

HX = {"HX-Request": "true"}


@pytest.fixture
def cafe(app):
    return make_cafe("guest-cafe", "Guest Cafe", "Table 3", latte_km="ឡាតេ")


def scan(client, shop, table):
    return client.get(f"/s/{shop.slug}/t/{table.qr_token}")


def add(client, shop, product, quantity="1", **fields):
    return client.post(f"/s/{shop.slug}/cart/items", headers=HX,
                       data={"product_id": product.id, "quantity": quantity, **fields})


def test_scan_sets_a_private_cookie_and_opens_the_menu(client, cafe):
    shop, table, _, _ = cafe
    response = scan(client, shop, table)
    assert response.status_code == 303 and response.headers["Location"].endswith("/menu")
    cookie = response.headers["Set-Cookie"]
    assert "shopqr_table=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert f"Path=/s/{shop.slug}/" in cookie
    menu = client.get(f"/s/{shop.slug}/menu")
    assert menu.status_code == 200 and b"Latte" in menu.data and b"Table 3" in menu.data


@pytest.mark.parametrize("path", ["/s/guest-cafe/t/not-a-token", "/s/nowhere/t/x"])
def test_unknown_qr_is_a_friendly_404(client, cafe, path):
    response = client.get(path)
    assert response.status_code == 404 and b"<html" in response.data


def test_a_token_of_shop_a_under_the_slug_of_shop_b_is_404(client, cafe):
    _, table, _, _ = cafe
    other = make_shop("other-cafe")
    assert client.get(f"/s/{other.slug}/t/{table.qr_token}").status_code == 404


def test_expired_subscription_shows_unavailable_and_refuses_checkout(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte)
    shop.subscription_expires_on = date.today() - timedelta(days=2)
    db.session.commit()
    response = scan(client, shop, table)
    assert response.status_code == 403 and b"unavailable" in response.data
    assert client.post(f"/s/{shop.slug}/checkout",
                       data={"method": "cash", "checkout_key": "k" * 20}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_menu_without_a_scan_asks_for_one(client, cafe):
    shop, _, _, _ = cafe
    response = client.get(f"/s/{shop.slug}/menu")
    assert response.status_code == 403 and b"Scan the QR code" in response.data


def test_two_phones_share_one_cart(app, cafe):
    shop, table, latte, cake = cafe
    alice, bob = app.test_client(), app.test_client()
    scan(alice, shop, table)
    scan(bob, shop, table)
    add(alice, shop, latte, "2", **{f"group-{group_id(latte, 'Size')}":
                                    option_id(latte, "Size", "Large")})
    add(bob, shop, cake)
    for phone in (alice, bob):
        cart = phone.get(f"/s/{shop.slug}/cart")
        assert b"Latte" in cart.data and b"Banana Cake" in cart.data
        assert b"$7.75" in cart.data  # 2 x 3.00 + 1.75
    item = db.session.scalar(select(CartItem).where(CartItem.product_id == cake.id))
    bob.post(f"/s/{shop.slug}/cart/items/{item.id}/quantity", data={"quantity": "3"}, headers=HX)
    assert b"$11.25" in alice.get(f"/s/{shop.slug}/cart").data


def test_add_answers_with_the_badge_out_of_band(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    response = add(client, shop, latte, "2")
    assert response.status_code == 200
    assert b'id="cart-badge"' in response.data and b'hx-swap-oob="true"' in response.data
    assert b'data-count="2"' in response.data


def test_identical_lines_merge_and_notes_keep_them_apart(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte)
    add(client, shop, latte)
    add(client, shop, latte, note="no ice")
    items = db.session.scalars(select(CartItem).order_by(CartItem.id)).all()
    assert [(i.quantity, i.note) for i in items] == [(2, None), (1, "no ice")]


def test_checkout_snapshots_lines_and_prices_from_the_database(client, cafe):
    shop, table, latte, cake = cafe
    scan(client, shop, table)
    add(client, shop, latte, "2", **{f"group-{group_id(latte, 'Size')}":
                                     option_id(latte, "Size", "Large"),
                                     f"group-{group_id(latte, 'Sugar')}":
                                     option_id(latte, "Sugar", "50%"), "price": "0.01"})
    add(client, shop, cake, note="warm please")
    response = client.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "c" * 24, "total": "0.01", "price": "0"})
    assert response.status_code == 303
    order = db.session.scalar(select(Order))
    assert order.total == Decimal("7.75") and order.currency == "USD"
    assert order.payment_status == "pending" and order.table_name == "Table 3"
    lines = {line.product_name: line for line in order.lines}
    assert lines["Latte"].unit_price == Decimal("3.00") and lines["Latte"].quantity == 2
    assert [o["option"] for o in lines["Latte"].options] == ["Large", "50%"]
    assert lines["Banana Cake"].note == "warm please"
    # later menu edits never change the order
    latte.name, latte.price = "Renamed", Decimal("9.99")
    db.session.commit()
    page = client.get(response.headers["Location"])
    assert b"Latte" in page.data and b"Renamed" not in page.data and b"$7.75" in page.data
    assert b"Size: Large" in page.data
    # the cart is empty for everyone at the table
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 0


@pytest.mark.parametrize("quantity", ["0", "-1", "1.5", "abc", "", "51", "1e3"])
def test_bad_quantities_are_a_clear_422(client, cafe, quantity):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    response = add(client, shop, latte, quantity)
    assert response.status_code == 422 and b"Quantity must be a whole number" in response.data
    assert response.headers["HX-Retarget"] == "#toast"
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 0


def test_bad_cart_inputs(client, cafe):
    shop, table, latte, cake = cafe
    scan(client, shop, table)
    foreign = make_product(make_shop(), "Foreign Tea")
    assert add(client, shop, foreign).status_code == 404
    cake.is_available = False
    db.session.commit()
    sold_out = add(client, shop, cake)
    assert sold_out.status_code == 409 and b"sold out" in sold_out.data
    gone = make_product(shop, "Old Drink", is_deleted=True)
    assert add(client, shop, gone).status_code == 404
    other_option = option_id(make_product(shop, "Mocha", options={"Size": [("Huge", "1")]}),
                             "Size", "Huge")
    wrong = add(client, shop, latte, **{f"group-{group_id(latte, 'Size')}": other_option})
    assert wrong.status_code == 422 and b"valid Size" in wrong.data
    assert add(client, shop, latte, **{"group-999999": "1"}).status_code == 422
    assert add(client, shop, latte, **{"group-x": "1"}).status_code == 422
    long_note = add(client, shop, latte, note="n" * 201)
    assert long_note.status_code == 422 and b"200 characters" in long_note.data
    assert add(client, shop, latte, product_id="abc").status_code in (404, 422)
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 0


def test_another_sessions_cart_item_is_404(app, cafe):
    shop, table, latte, _ = cafe
    other_table = make_table(shop, "Table 9")
    mine, theirs = app.test_client(), app.test_client()
    scan(mine, shop, table)
    scan(theirs, shop, other_table)
    add(theirs, shop, latte)
    item = db.session.scalar(select(CartItem))
    for action, data in (("quantity", {"quantity": "5"}), ("note", {"note": "x"}),
                         ("delete", {})):
        response = mine.post(f"/s/{shop.slug}/cart/items/{item.id}/{action}", data=data)
        assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(CartItem, item.id).quantity == 1


def test_checkout_problems_are_4xx_and_write_nothing(client, cafe):
    shop, table, latte, cake = cafe
    scan(client, shop, table)
    base = f"/s/{shop.slug}/checkout"
    empty = client.post(base, data={"method": "cash", "checkout_key": "e" * 20})
    assert empty.status_code == 422 and b"Your cart is empty" in empty.data
    add(client, shop, latte)
    add(client, shop, cake)
    assert client.post(base, data={"method": "card", "checkout_key": "e" * 20}).status_code \
        == 422
    assert client.post(base, data={"method": "cash"}).status_code == 400
    cake.is_available = False
    db.session.commit()
    sold_out = client.post(base, data={"method": "cash", "checkout_key": "s" * 20})
    assert sold_out.status_code == 422 and b"Banana Cake just sold out" in sold_out.data
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 2  # cart kept
    shop.bakong_account_id = None
    cake.is_available = True
    db.session.commit()
    no_khqr = client.post(base, data={"method": "khqr", "checkout_key": "q" * 20})
    assert no_khqr.status_code == 422 and b"does not take KHQR" in no_khqr.data
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_double_submit_makes_one_order(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte)
    data = {"method": "cash", "checkout_key": "d" * 24}
    first = client.post(f"/s/{shop.slug}/checkout", data=data)
    second = client.post(f"/s/{shop.slug}/checkout", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_csrf_and_no_state_changing_get(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    refused = client.post(f"/s/{shop.slug}/cart/items", data={"product_id": latte.id},
                          csrf=False)
    assert refused.status_code == 400
    assert client.get(f"/s/{shop.slug}/checkout").status_code == 405
    assert client.get(f"/s/{shop.slug}/cart/items").status_code == 405
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 0


def test_a_new_group_never_sees_the_previous_groups_cart_or_orders(app, cafe):
    shop, table, latte, cake = cafe
    first = app.test_client()
    scan(first, shop, table)
    add(first, shop, latte)
    first.post(f"/s/{shop.slug}/checkout", data={"method": "cash", "checkout_key": "f" * 20})
    add(first, shop, cake)
    session = tables.active_session(db.session, table)
    tables.end_session(db.session, session, "closed by staff")
    db.session.commit()
    assert first.get(f"/s/{shop.slug}/menu").status_code == 410
    newcomer = app.test_client()
    scan(newcomer, shop, table)
    menu = newcomer.get(f"/s/{shop.slug}/menu")
    assert b"Orders at this table" not in menu.data
    cart = newcomer.get(f"/s/{shop.slug}/cart")
    assert b"Banana Cake" not in cart.data and b"Your cart is empty" in cart.data
    # and the old phone, rescanning, joins the new group rather than the old cart
    scan(first, shop, table)
    assert b"Banana Cake" not in first.get(f"/s/{shop.slug}/cart").data
    assert db.session.scalar(select(func.count()).select_from(TableSession)
                             .where(TableSession.active_table_id.is_not(None))) == 1


def test_another_shops_cookie_and_order_token_show_nothing(app, cafe):
    shop, table, latte, _ = cafe
    other = make_shop("second-cafe")
    make_table(other)
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, latte)
    placed = phone.post(f"/s/{shop.slug}/checkout",
                        data={"method": "cash", "checkout_key": "o" * 20})
    token = placed.headers["Location"].rsplit("/", 1)[1]
    assert phone.get(f"/s/{other.slug}/menu").status_code == 403
    assert phone.get(f"/s/{other.slug}/cart").status_code == 403
    for path in (f"/orders/{token}", f"/orders/{token}/status"):
        response = phone.get(f"/s/{other.slug}{path}")
        assert response.status_code == 404 and b"Latte" not in response.data


def test_khmer_is_remembered_per_phone(client, cafe):
    shop, table, _, _ = cafe
    scan(client, shop, table)
    response = client.post(f"/s/{shop.slug}/lang",
                           data={"lang": "km", "next": f"/s/{shop.slug}/menu"})
    assert response.status_code == 303 and "shopqr_lang=km" in response.headers["Set-Cookie"]
    menu = client.get(f"/s/{shop.slug}/menu")
    assert '<html lang="km">' in menu.text and "ឡាតេ" in menu.text
    assert client.post(f"/s/{shop.slug}/lang", data={"lang": "fr"}).status_code == 400


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/s/guest-cafe/",
                                    "/s/other/menu"])
def test_language_switch_never_redirects_off_the_shop(client, cafe, target):
    shop, _, _, _ = cafe
    response = client.post(f"/s/{shop.slug}/lang", data={"lang": "en", "next": target})
    assert response.headers["Location"].endswith(f"/s/{shop.slug}/menu")


def test_guest_text_is_escaped(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte, note="<script>alert(1)</script>")
    cart = client.get(f"/s/{shop.slug}/cart").text
    assert "<script>alert(1)</script>" not in cart and "&lt;script&gt;" in cart


def test_riel_prices_are_whole_with_separators(client, app):
    shop = make_shop(currency="KHR")
    table = make_table(shop)
    make_product(shop, "Iced Coffee", "7500")
    scan(client, shop, table)
    assert "7,500៛" in client.get(f"/s/{shop.slug}/menu").text


@pytest.mark.mariadb
def test_concurrent_double_checkout_makes_one_order(app, cafe):
    shop, table, latte, _ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, latte)
    cookie = phone.get_cookie("shopqr_table", path=f"/s/{shop.slug}/")
    slug = shop.slug  # threads must not touch the test's ORM objects (one session per thread)

    for keys in (["same-key-000000000000"] * 2, ["key-one-000000000000", "key-two-00000000000"]):
        add(phone, shop, latte)

        def submit(n: int, keys: list[str] = keys) -> int:
            other = app.test_client()
            other.set_cookie("shopqr_table", cookie.value, path=f"/s/{slug}/")
            return other.post(f"/s/{slug}/checkout",
                              data={"method": "cash", "checkout_key": keys[n]}).status_code

        results = run_together(app, len(keys), submit)
        assert 500 not in results and 303 in results
        if keys[0] != keys[1]:
            assert sorted(results) == [303, 422]  # the second finds the cart already ordered
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2


@pytest.mark.mariadb
def test_parallel_checkouts_get_distinct_sequential_numbers(app, cafe):
    shop, _, latte, _ = cafe
    phones = []
    for n in range(6):
        phone = app.test_client()
        scan(phone, shop, make_table(shop, f"Rush {n}"))
        add(phone, shop, latte)
        phones.append(phone)
    slug = shop.slug  # threads must not touch the test's ORM objects (one session per thread)

    def submit(n: int) -> int:
        return phones[n].post(f"/s/{slug}/checkout", data={
            "method": "cash", "checkout_key": f"rush-{n}-000000000000"}).status_code

    statuses = run_together(app, len(phones), submit)
    assert statuses == [303] * len(phones)
    seqs = sorted(db.session.scalars(select(Order.seq)))
    assert seqs == list(range(1, len(phones) + 1))
