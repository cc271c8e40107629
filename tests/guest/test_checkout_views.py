"""Checkout from the guest's phone: KHQR and cash orders priced by the server, refusals that
write nothing, double submits, CSRF, and (on MariaDB) checkouts racing each other."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import CartItem, Order, OrderLine, TableSession, Transaction
from tests.factories import group_id, make_cafe, make_table, option_id, run_together

HX = {"HX-Request": "true"}
COOKIE = "shopqr_table"


@pytest.fixture
def cafe(app, ctx):
    return make_cafe("till-cafe", "Till Cafe", "Table 5")


def scan(client, shop, table):
    assert client.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303


def add(client, shop, product, quantity="1", **fields):
    response = client.post(f"/s/{shop.slug}/cart/items", headers=HX,
                           data={"product_id": product.id, "quantity": quantity, **fields})
    assert response.status_code == 200, response.text
    return response


def large_half_sugar(latte) -> dict[str, int]:
    return {f"group-{group_id(latte, 'Size')}": option_id(latte, "Size", "Large"),
            f"group-{group_id(latte, 'Sugar')}": option_id(latte, "Sugar", "50%")}


def checkout(client, shop, **data):
    return client.post(f"/s/{shop.slug}/checkout", data=data)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def cart_lines() -> list[tuple[str, int]]:
    db.session.expire_all()
    return [(i.product.name, i.quantity)
            for i in db.session.scalars(select(CartItem).order_by(CartItem.id))]


@pytest.fixture
def filled(client, cafe):
    """A phone at Table 5 with 2 large half-sugar lattes (a note) and a cake in the cart."""
    shop, table, latte, cake = cafe
    scan(client, shop, table)
    add(client, shop, latte, "2", note="extra hot", **large_half_sugar(latte))
    add(client, shop, cake)
    return cafe


@pytest.mark.parametrize("method", ["cash", "khqr"])
def test_checkout_creates_an_order_priced_by_the_server(client, filled, method):
    shop, _, latte, cake = filled
    response = checkout(client, shop, method=method, checkout_key="order-key-000001",
                        price="0.01", total="0.01", unit_price="0", amount="0.01")
    assert response.status_code == 303
    order = db.session.scalar(select(Order))
    assert response.headers["Location"] == f"/s/{shop.slug}/orders/{order.public_token}"
    assert order.payment_method == method and order.payment_status == "pending"
    assert order.total == Decimal("7.75") and order.currency == "USD"  # not the 0.01 sent
    assert order.table_name == "Table 5"
    lines = [(line.product_name, line.quantity, line.unit_price, line.line_total,
              line.options_text, line.note) for line in order.lines]
    assert lines == [
        ("Latte", 2, Decimal("3.00"), Decimal("6.00"), "Size: Large, Sugar: 50%", "extra hot"),
        ("Banana Cake", 1, Decimal("1.75"), Decimal("1.75"), "", None),
    ]
    assert [[o["option"] for o in line.options] for line in order.lines] == [["Large", "50%"],
                                                                             []]
    assert cart_lines() == []


def test_the_order_page_shows_lines_total_and_how_to_pay_cash(client, filled):
    shop = filled[0]
    placed = checkout(client, shop, method="cash", checkout_key="order-key-000002")
    page = client.get(placed.headers["Location"])
    assert page.status_code == 200
    order = db.session.scalar(select(Order))
    assert f"#{order.seq}" in page.text and order.number in page.text
    assert "2×" in page.text and "Latte" in page.text and "Size: Large, Sugar: 50%" in page.text
    assert "Banana Cake" in page.text and "$6.00" in page.text and "$1.75" in page.text
    assert "$7.75" in page.text
    assert "Please pay $7.75 at the counter" in page.text
    assert "Waiting for cash payment" in page.text


def test_a_khqr_order_gets_a_qr_for_its_exact_total(client, filled):
    shop = filled[0]
    placed = checkout(client, shop, method="khqr", checkout_key="order-key-000003")
    order = db.session.scalar(select(Order))
    txn = db.session.scalars(select(Transaction)).one()
    assert txn.order_id == order.id and txn.amount == order.total == Decimal("7.75")
    assert txn.currency == "USD" and txn.bill_number == order.number
    assert (txn.expires_at - txn.created_at).total_seconds() <= 600
    page = client.get(placed.headers["Location"])
    assert "KHQR" in page.text and "<svg" in page.text and txn.md5 in page.text
    assert "$7.75" in page.text and "Waiting for payment" in page.text


def test_the_order_page_keeps_the_snapshot_after_menu_edits(client, filled):
    shop, _, latte, _ = filled
    placed = checkout(client, shop, method="cash", checkout_key="order-key-000004")
    latte.name, latte.price = "Renamed Latte", Decimal("9.99")
    latte.option_groups[0].options[1].name = "Giant"
    db.session.commit()
    page = client.get(placed.headers["Location"]).text
    assert "Renamed" not in page and "Giant" not in page and "$9.99" not in page
    assert "Size: Large" in page and "$7.75" in page


def test_an_empty_cart_is_a_422_and_writes_nothing(client, cafe):
    shop, table, _, _ = cafe
    scan(client, shop, table)
    response = checkout(client, shop, method="cash", checkout_key="empty-key-0000001")
    assert response.status_code == 422 and "Your cart is empty." in response.text
    assert "<html" in response.text
    assert count(Order) == 0
    assert db.session.scalar(select(TableSession.checkout_version)) == 0


@pytest.mark.parametrize(("change", "message"), [
    ({"is_available": False}, "Sorry, Banana Cake just sold out. Remove it to go on."),
    ({"is_deleted": True}, "Banana Cake is no longer on the menu. Remove it to go on."),
])
def test_an_unorderable_item_at_checkout_is_422_and_the_cart_is_kept(client, filled, change,
                                                                    message):
    shop, _, _, cake = filled
    for field, value in change.items():
        setattr(cake, field, value)
    db.session.commit()
    response = checkout(client, shop, method="cash", checkout_key="sold-out-key-0001")
    assert response.status_code == 422 and message in response.text
    assert 'name="checkout_key"' in response.text  # the cart page to fix it from
    assert count(Order) == 0 and count(OrderLine) == 0 and count(Transaction) == 0
    assert cart_lines() == [("Latte", 2), ("Banana Cake", 1)]


def test_khqr_without_a_bakong_account_is_422(client, filled):
    shop = filled[0]
    shop.bakong_account_id = None
    db.session.commit()
    response = checkout(client, shop, method="khqr", checkout_key="no-khqr-key-00001")
    assert response.status_code == 422 and "does not take KHQR yet" in response.text
    assert count(Order) == 0 and len(cart_lines()) == 2
    cart = client.get(f"/s/{shop.slug}/cart").text
    assert "Pay with KHQR" not in cart and "Pay cash at the counter" in cart


@pytest.mark.parametrize("data", [
    {"checkout_key": "method-key-000001"},
    {"checkout_key": "method-key-000001", "method": ""},
    {"checkout_key": "method-key-000001", "method": "card"},
    {"checkout_key": "method-key-000001", "method": "CASH"},
])
def test_a_missing_or_unknown_method_is_422(client, filled, data):
    response = checkout(client, filled[0], **data)
    assert response.status_code == 422 and "Choose how you will pay" in response.text
    assert count(Order) == 0 and len(cart_lines()) == 2


@pytest.mark.parametrize("data", [
    {"method": "cash"},
    {"method": "cash", "checkout_key": ""},
    {"method": "cash", "checkout_key": "short"},
    {"method": "cash", "checkout_key": "x" * 65},
    {"method": "cash", "checkout_key": "not a valid key at all"},
])
def test_a_missing_or_malformed_checkout_key_is_400(client, filled, data):
    response = checkout(client, filled[0], **data)
    assert response.status_code == 400
    assert "This checkout form is out of date" in response.text
    assert count(Order) == 0 and len(cart_lines()) == 2


@pytest.mark.parametrize("method", ["cash", "khqr"])
def test_a_double_submit_makes_one_order_and_both_land_on_it(client, filled, method):
    shop = filled[0]
    data = {"method": method, "checkout_key": "double-key-000001"}
    first, second = checkout(client, shop, **data), checkout(client, shop, **data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(Order) == 1
    assert count(Transaction) == (1 if method == "khqr" else 0)
    assert client.get(second.headers["Location"]).status_code == 200


def test_checkout_without_a_csrf_token_is_400(client, filled):
    response = client.post(f"/s/{filled[0].slug}/checkout", csrf=False,
                           data={"method": "cash", "checkout_key": "csrf-key-00000001"})
    assert response.status_code == 400 and "Reload it and try again" in response.text
    assert count(Order) == 0 and len(cart_lines()) == 2


def test_get_on_checkout_is_405_and_changes_nothing(client, filled):
    response = client.get(f"/s/{filled[0].slug}/checkout?method=cash"
                          "&checkout_key=get-key-000000001")
    assert response.status_code == 405
    assert count(Order) == 0 and len(cart_lines()) == 2


def test_checkout_after_the_session_ended_is_410(client, filled):
    from shopqr.services import tables

    shop, table, _, _ = filled
    tables.end_session(db.session, tables.active_session(db.session, table), "closed")
    db.session.commit()
    response = checkout(client, shop, method="cash", checkout_key="ended-key-0000001")
    assert response.status_code == 410 and count(Order) == 0


def test_the_order_page_needs_the_right_token(client, filled):
    shop = filled[0]
    checkout(client, shop, method="cash", checkout_key="token-key-0000001")
    response = client.get(f"/s/{shop.slug}/orders/not-the-token")
    assert response.status_code == 404 and "We could not find that order." in response.text
    assert "Latte" not in response.text


# --- Racing checkouts (MariaDB: row locks are what keep these safe) ---------------------------


def phone_with_cookie(app, slug: str, token: str):
    phone = app.test_client()
    phone.set_cookie(COOKIE, token, path=f"/s/{slug}/")
    return phone


@pytest.mark.mariadb
def test_the_same_form_submitted_twice_at_once_makes_one_order(app, client, filled):
    slug = filled[0].slug  # plain values only: model objects belong to this thread's session
    token = client.get_cookie(COOKIE, path=f"/s/{slug}/").value

    def submit(n: int):
        response = phone_with_cookie(app, slug, token).post(
            f"/s/{slug}/checkout", data={"method": "khqr", "checkout_key": "same-key-000000001"})
        return response.status_code, response.headers.get("Location")

    results = run_together(app, 2, submit)
    assert [status for status, _ in results] == [303, 303]
    assert results[0][1] == results[1][1]
    assert count(Order) == 1 and count(Transaction) == 1
    assert cart_lines() == []


@pytest.mark.mariadb
def test_two_different_checkouts_of_one_cart_at_once_make_one_order(app, client, filled):
    slug = filled[0].slug
    token = client.get_cookie(COOKIE, path=f"/s/{slug}/").value

    def submit(n: int):
        response = phone_with_cookie(app, slug, token).post(
            f"/s/{slug}/checkout", data={"method": "cash", "checkout_key": f"race-key-{n}-000001"})
        return response.status_code, response.get_data(as_text=True)

    results = run_together(app, 2, submit)
    assert sorted(status for status, _ in results) == [303, 422]
    refused = next(body for status, body in results if status == 422)
    assert "Your cart is empty." in refused
    assert count(Order) == 1
    order = db.session.scalar(select(Order))
    assert order.total == Decimal("7.75") and len(order.lines) == 2


@pytest.mark.mariadb
def test_parallel_checkouts_of_many_tables_get_distinct_sequential_numbers(app, cafe):
    shop, _, latte, _ = cafe
    phones = []
    for n in range(8):
        phone = app.test_client()
        scan(phone, shop, make_table(shop, f"Rush {n}"))
        add(phone, shop, latte, str(n + 1))
        phones.append(phone)
    slug = shop.slug

    def submit(n: int) -> int:
        return phones[n].post(f"/s/{slug}/checkout", data={
            "method": "cash", "checkout_key": f"rush-{n}-0000000001"}).status_code

    assert run_together(app, len(phones), submit) == [303] * len(phones)
    db.session.expire_all()
    orders = db.session.scalars(select(Order).order_by(Order.seq)).all()
    assert [o.seq for o in orders] == list(range(1, len(phones) + 1))
    assert len({o.number for o in orders}) == len(phones)
    # each table got its own order with its own quantity
    assert sorted(o.lines[0].quantity for o in orders) == list(range(1, len(phones) + 1))


@pytest.mark.mariadb
def test_phones_scanning_one_table_at_once_share_one_session(app, cafe):
    shop, table, _, _ = cafe
    slug, qr_token = shop.slug, table.qr_token

    def scan_at_once(n: int) -> str:
        phone = app.test_client()
        response = phone.get(f"/s/{slug}/t/{qr_token}")
        assert response.status_code == 303
        return phone.get_cookie(COOKIE, path=f"/s/{slug}/").value

    tokens = run_together(app, 4, scan_at_once)
    assert len(set(tokens)) == 1
    assert count(TableSession) == 1
