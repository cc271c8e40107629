"""500s found by sending odd values to every form (and by looking at what MariaDB refuses
that SQLite stores): each is now a clear 4xx or simply works."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import CartItem, Order, OrderCounter, ShopTable, User
from shopqr.services import shops
from shopqr.services.shops import add_staff
from tests.factories import (
    make_order,
    make_product,
    make_shop,
    make_staff,
    make_table,
    sign_in_staff,
)

PASSWORD = "correct-horse-battery"


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def owner_client(app, shop):
    owner = add_staff(db.session, shop, name="Owner", role="owner", pin="135790",
                      email=f"owner@{shop.slug}.example", password=PASSWORD)
    db.session.commit()
    client = app.test_client()
    assert client.post(f"/s/{shop.slug}/settings/login",
                       data={"email": owner.email, "password": PASSWORD}).status_code == 303
    return client


@pytest.mark.parametrize("method", ["cash", "khqr"])
def test_the_reports_page_with_one_payment_method_only(app, ctx, method):
    """The page shows 0 for the method nobody used: an int 0, which format_money took for a
    Decimal (AttributeError, a 500 on an ordinary day)."""
    shop = make_shop()
    order = make_order(shop, make_product(shop, "Latte", "2.50"), method=method, paid=True)
    assert order.is_paid
    response = owner_client(app, shop).get(f"/s/{shop.slug}/settings/reports")
    assert response.status_code == 200 and "$2.50" in response.text and "$0.00" in response.text


@pytest.mark.parametrize("quantity", ["9" * 5000, "1" * 4301, "0" * 10 + "1"])
def test_a_quantity_with_thousands_of_digits_is_422(app, ctx, quantity):
    shop = make_shop()
    table = make_table(shop)
    latte = make_product(shop, "Latte")
    phone = app.test_client()
    phone.get(f"/s/{shop.slug}/t/{table.qr_token}")
    assert phone.post(f"/s/{shop.slug}/cart/items",
                      data={"product_id": latte.id}).status_code == 303
    item = db.session.scalar(select(CartItem))
    response = phone.post(f"/s/{shop.slug}/cart/items/{item.id}/quantity",
                          data={"quantity": quantity})
    assert response.status_code == 422
    assert "Quantity must be a whole number from 0 to 50." in response.text
    db.session.expire_all()
    assert db.session.get(CartItem, item.id).quantity == 1


@pytest.fixture
def costly(app, ctx):
    """A riel shop whose priciest item is the largest price settings take (99,999,999៛)."""
    shop = make_shop("costly-cafe", currency="KHR")
    return shop, make_table(shop), make_product(shop, "Banquet", "99999999")


def test_a_guest_order_over_the_largest_amount_is_refused(app, costly):
    shop, table, banquet = costly
    phone = app.test_client()
    phone.get(f"/s/{shop.slug}/t/{table.qr_token}")
    phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": banquet.id, "quantity": "2"})
    response = phone.post(f"/s/{shop.slug}/checkout",
                          data={"method": "cash", "checkout_key": "too-large-key-0001"})
    assert response.status_code == 422
    assert "This order is too large for one bill." in response.text
    assert count(Order) == 0 and count(OrderCounter) == 0 and count(CartItem) == 1
    # one of them is fine
    phone.post(f"/s/{shop.slug}/cart/items/{db.session.scalar(select(CartItem.id))}/quantity",
               data={"quantity": "1"})
    placed = phone.post(f"/s/{shop.slug}/checkout",
                        data={"method": "cash", "checkout_key": "too-large-key-0002"})
    assert placed.status_code == 303
    assert str(db.session.scalar(select(Order.total))) in ("99999999", "99999999.00")


def test_a_pos_order_over_the_largest_amount_is_refused(app, costly):
    shop, _, banquet = costly
    cashier = app.test_client()
    sign_in_staff(cashier, make_staff(shop, "cashier", "246802"), "246802")
    cashier.post(f"/s/{shop.slug}/pos/ticket/items", data={"product_id": banquet.id})
    cashier.post(f"/s/{shop.slug}/pos/ticket/items", data={"product_id": banquet.id})
    response = cashier.post(f"/s/{shop.slug}/pos/ticket/checkout",
                            data={"method": "cash", "checkout_key": "too-large-pos-0001"},
                            headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "This order is too large for one bill." in response.text
    assert count(Order) == 0


def test_removing_a_table_with_a_long_name_keeps_the_name_within_40_characters(app, ctx):
    shop = make_shop()
    table = make_table(shop, "T" * 40)
    response = owner_client(app, shop).post(f"/s/{shop.slug}/settings/tables/{table.id}/remove")
    assert response.status_code == 303
    db.session.expire_all()
    name = db.session.get(ShopTable, table.id).name
    assert len(name) <= 40 and name.endswith(f" (removed {table.id})") and name.startswith("TTT")


def test_removing_staff_keeps_the_name_within_60_characters(app, ctx):
    shop = make_shop()
    client = owner_client(app, shop)
    cashier = make_staff(shop, "cashier", "246802", name="N" * 60)
    assert client.post(f"/s/{shop.slug}/settings/staff/{cashier.id}/remove").status_code == 303
    db.session.expire_all()
    name = db.session.get(User, cashier.id).name
    assert len(name) <= 60 and name.endswith(f" (removed {cashier.id})")


@pytest.mark.parametrize(("name", "row_id", "limit", "expected"), [
    ("Table 1", 5, 40, "Table 1 (removed 5)"),
    ("T" * 40, 123, 40, "T" * 26 + " (removed 123)"),
    ("N" * 60, 10**9, 60, "N" * 39 + f" (removed {10**9})"),
])
def test_removed_names(name, row_id, limit, expected):
    assert shops.removed_name(name, row_id, limit) == expected
    assert len(expected) <= limit
