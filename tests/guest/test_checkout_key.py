"""The checkout key (one order per submitted form) is bound to where the form was shown: a
guest's key only ever finds its own table session's order, the POS ticket's only the shop's
POS orders. Another order's key is refused (409, the cart or ticket again) and never leads to
that order, also when the two submits race."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import CartItem, Order, ShopTable
from shopqr.services import checkout as checkout_service
from tests.factories import make_cafe, make_product, make_shop, make_staff, make_table, run_together
from tests.factories import sign_in_staff as staff_sign_in

HX = {"HX-Request": "true"}
COOKIE = "shopqr_table"
KEY = "table-one-key-000001"


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def seat(app, shop, table, product):
    """A phone at ``table`` with one ``product`` in the cart."""
    phone = app.test_client()
    assert phone.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    assert phone.post(f"/s/{shop.slug}/cart/items",
                      data={"product_id": product.id}).status_code == 303
    return phone


@pytest.fixture
def two_tables(app, ctx):
    """Table 1 has placed an order with KEY; a phone at table 2 has a cake in its cart."""
    shop, table_1, latte, cake = make_cafe("key-cafe", "Key Cafe", "Table 1")
    table_2 = make_table(shop, "Table 2")
    phone_1 = seat(app, shop, table_1, latte)
    placed = phone_1.post(f"/s/{shop.slug}/checkout",
                          data={"method": "cash", "checkout_key": KEY})
    assert placed.status_code == 303
    order = db.session.scalar(select(Order))
    phone_2 = seat(app, shop, table_2, cake)
    return {"shop": shop, "order": order, "phone_1": phone_1, "phone_2": phone_2,
            "placed": placed.headers["Location"], "cake": cake, "table_2": table_2}


def assert_not_revealed(response, order) -> None:
    assert "Location" not in response.headers
    assert order.public_token not in response.text and order.number not in response.text


@pytest.mark.parametrize("htmx", [False, True])
def test_another_tables_key_is_refused_and_does_not_reveal_its_order(app, two_tables, htmx):
    s = two_tables
    response = s["phone_2"].post(f"/s/{s['shop'].slug}/checkout",
                                 data={"method": "cash", "checkout_key": KEY},
                                 headers=HX if htmx else {})
    assert response.status_code == 409
    assert "This checkout form is out of date. Please reload and try again." in response.text
    assert "Banana Cake" in response.text  # the cart page again, with table 2's cart
    assert_not_revealed(response, s["order"])
    assert count(Order) == 1 and count(CartItem) == 1  # table 2's cake is still in its cart
    # table 2 checks out with the fresh key the cart page carries
    fresh = response.text.split('name="checkout_key" value="')[1].split('"')[0]
    assert fresh != KEY
    placed = s["phone_2"].post(f"/s/{s['shop'].slug}/checkout",
                               data={"method": "cash", "checkout_key": fresh})
    assert placed.status_code == 303 and placed.headers["Location"] != s["placed"]
    assert count(Order) == 2


def test_the_same_table_submitting_its_key_again_still_gets_its_order(app, two_tables):
    s = two_tables
    again = s["phone_1"].post(f"/s/{s['shop'].slug}/checkout",
                              data={"method": "cash", "checkout_key": KEY})
    assert again.status_code == 303 and again.headers["Location"] == s["placed"]
    assert count(Order) == 1


def test_a_new_group_at_the_same_table_cannot_use_the_last_groups_key(app, two_tables):
    """The key is bound to the table session, not to the table: after the table is closed,
    the next group's phone cannot reach the previous group's order with it."""
    s = two_tables
    shop = s["shop"]
    cashier = app.test_client()
    staff_sign_in(cashier, make_staff(shop, "cashier", "246802"), "246802")
    table_1 = s["order"].table_id
    # the order is unpaid: closing needs the cashier's confirmation (docs/tablemap.md)
    assert cashier.post(f"/s/{shop.slug}/pos/tables/{table_1}/close",
                        data={"unpaid_ok": "1"}).status_code == 303
    table = db.session.get(ShopTable, table_1)
    next_group = seat(app, shop, table, s["cake"])
    response = next_group.post(f"/s/{shop.slug}/checkout",
                               data={"method": "cash", "checkout_key": KEY})
    assert response.status_code == 409
    assert_not_revealed(response, s["order"])


def test_a_key_racing_another_tables_order_is_refused(app, two_tables, monkeypatch):
    """Table 2 submits table 1's key at the very instant table 1's order is written: the first
    lookup misses it, the insert hits the unique key (IntegrityError), and the second lookup
    must refuse, not redirect to table 1's order."""
    s = two_tables
    real = checkout_service.order_by_key
    calls = []

    def first_lookup_misses(*args, **kwargs):
        calls.append(args)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(checkout_service, "order_by_key", first_lookup_misses)
    response = s["phone_2"].post(f"/s/{s['shop'].slug}/checkout",
                                 data={"method": "cash", "checkout_key": KEY})
    assert len(calls) == 2  # the IntegrityError branch looked again
    assert response.status_code == 409
    assert "This checkout form is out of date." in response.text
    assert_not_revealed(response, s["order"])
    assert count(Order) == 1 and count(CartItem) == 1


def test_a_table_racing_its_own_double_submit_gets_its_order(app, two_tables, monkeypatch):
    s = two_tables
    real = checkout_service.order_by_key
    calls = []

    def first_lookup_misses(*args, **kwargs):
        calls.append(args)
        return None if len(calls) == 1 else real(*args, **kwargs)

    # table 1 adds more, then its old form is submitted again as if at the same instant
    assert s["phone_1"].post(f"/s/{s['shop'].slug}/cart/items",
                             data={"product_id": s["cake"].id}).status_code == 303
    monkeypatch.setattr(checkout_service, "order_by_key", first_lookup_misses)
    again = s["phone_1"].post(f"/s/{s['shop'].slug}/checkout",
                              data={"method": "cash", "checkout_key": KEY})
    assert len(calls) == 2
    assert again.status_code == 303 and again.headers["Location"] == s["placed"]
    assert count(Order) == 1


# --- the POS walk-in ticket ---------------------------------------------------------------------

@pytest.fixture
def till(app, two_tables):
    """A cashier of the same shop with a latte on the walk-in ticket."""
    shop = two_tables["shop"]
    cashier = app.test_client()
    staff_sign_in(cashier, make_staff(shop, "cashier", "246802"), "246802")
    latte = make_product(shop, "Till Latte", "3.00")
    assert cashier.post(f"/s/{shop.slug}/pos/ticket/items",
                        data={"product_id": latte.id}).status_code == 303
    return cashier


@pytest.mark.parametrize("htmx", [False, True])
def test_a_guest_orders_key_is_refused_at_the_pos(app, two_tables, till, htmx):
    s = two_tables
    response = till.post(f"/s/{s['shop'].slug}/pos/ticket/checkout",
                         data={"method": "cash", "checkout_key": KEY},
                         headers=HX if htmx else {})
    assert response.status_code == 409
    assert "This checkout form is out of date." in response.text
    assert "HX-Redirect" not in response.headers and "Location" not in response.headers
    assert f"/pos/orders/{s['order'].id}" not in response.text
    assert count(Order) == 1
    if htmx:  # the ticket again, still holding the latte, with a fresh key
        assert 'id="pos-ticket"' in response.text and "Till Latte" in response.text


def test_a_pos_orders_key_is_refused_at_a_table(app, two_tables, till):
    s = two_tables
    shop = s["shop"]
    assert till.post(f"/s/{shop.slug}/pos/ticket/checkout",
                     data={"method": "cash", "checkout_key": "till-key-000000001"}
                     ).status_code == 303
    pos_order = db.session.scalar(select(Order).where(Order.source == "pos"))
    response = s["phone_2"].post(f"/s/{shop.slug}/checkout",
                                 data={"method": "cash", "checkout_key": "till-key-000000001"})
    assert response.status_code == 409
    assert_not_revealed(response, pos_order)
    assert count(Order) == 2


def test_another_shops_pos_key_is_refused_not_a_500(app, two_tables, till):
    s = two_tables
    other = make_shop("other-till")
    other_cashier = app.test_client()
    staff_sign_in(other_cashier, make_staff(other, "cashier", "246802"), "246802")
    tea = make_product(other, "Other Tea")
    other_cashier.post(f"/s/{other.slug}/pos/ticket/items", data={"product_id": tea.id})
    assert other_cashier.post(f"/s/{other.slug}/pos/ticket/checkout", data={
        "method": "cash", "checkout_key": "shared-till-key-0001"}).status_code == 303
    response = till.post(f"/s/{s['shop'].slug}/pos/ticket/checkout",
                         data={"method": "cash", "checkout_key": "shared-till-key-0001"},
                         headers=HX)
    assert response.status_code == 409 and "Other Tea" not in response.text
    assert count(Order) == 2


def test_the_pos_ticket_racing_its_own_double_submit_shows_one_order(app, two_tables, till,
                                                                     monkeypatch):
    s = two_tables
    shop = s["shop"]
    first = till.post(f"/s/{shop.slug}/pos/ticket/checkout",
                      data={"method": "cash", "checkout_key": "till-key-000000002"})
    assert first.status_code == 303
    real = checkout_service.order_by_key
    calls = []

    def first_lookup_misses(*args, **kwargs):
        calls.append(args)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(checkout_service, "order_by_key", first_lookup_misses)
    latte = db.session.scalar(select(Order).where(Order.source == "pos")).lines[0].product_id
    till.post(f"/s/{shop.slug}/pos/ticket/items", data={"product_id": latte})
    again = till.post(f"/s/{shop.slug}/pos/ticket/checkout",
                      data={"method": "cash", "checkout_key": "till-key-000000002"}, headers=HX)
    assert len(calls) == 2
    assert again.status_code == 204 and again.headers["HX-Redirect"] == first.headers["Location"]
    assert count(Order) == 2  # table 1's and this one


# --- racing for real (MariaDB: the unique key decides between two transactions) ---------------

def phone_with_cookie(app, slug: str, token: str):
    phone = app.test_client()
    phone.set_cookie(COOKIE, token, path=f"/s/{slug}/")
    return phone


@pytest.mark.mariadb
def test_two_tables_racing_with_one_key_make_one_order_and_reveal_nothing(app, ctx):
    shop, table_1, latte, cake = make_cafe("race-key-cafe", "Race Cafe", "Table 1")
    table_2 = make_table(shop, "Table 2")
    slug = shop.slug
    tokens = [seat(app, shop, table, product).get_cookie(COOKIE, path=f"/s/{slug}/").value
              for table, product in ((table_1, latte), (table_2, cake))]

    def submit(n: int):
        response = phone_with_cookie(app, slug, tokens[n]).post(
            f"/s/{slug}/checkout", data={"method": "cash", "checkout_key": "one-key-for-two-01"})
        return response.status_code, response.headers.get("Location"), response.text

    results = run_together(app, 2, submit)
    assert sorted(status for status, _, _ in results) == [303, 409]
    assert count(Order) == 1
    order = db.session.scalar(select(Order))
    winner = next(location for status, location, _ in results if status == 303)
    loser = next(text for status, _, text in results if status == 409)
    assert winner.endswith(order.public_token)
    assert order.public_token not in loser and "out of date" in loser


@pytest.mark.mariadb
def test_the_pos_ticket_submitted_twice_at_once_makes_one_order(app, two_tables, till):
    """The two requests do not always overlap (the IntegrityError path is forced above, on
    any database); when they do, the loser shows the winner's order instead of a 500."""
    slug = two_tables["shop"].slug
    cookie = till.get_cookie("session").value

    def submit(n: int):
        client = app.test_client()
        client.set_cookie("session", cookie)
        response = client.post(f"/s/{slug}/pos/ticket/checkout",
                               data={"method": "cash", "checkout_key": "till-race-key-00001"})
        return response.status_code, response.headers.get("Location")

    results = run_together(app, 2, submit)
    assert [status for status, _ in results] == [303, 303]
    assert results[0][1] == results[1][1]
    assert count(Order) == 2  # table 1's and one POS order
