"""Takeaway at the counter (issue 13 §4, docs/takeaway.md): the counter's QR code opens the menu
with no table; each phone has a cart of its own; the order is a "takeaway" order with a pickup
number, paid by cash at the counter (on the POS as awaiting cash) or by KHQR; the kitchen card
says "Takeaway #N" and the guest's page "Ready for pickup". Other shops' and old codes never
open a shop."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import CartItem, Order, ServiceRequest, Shop, TableSession
from shopqr.services import tables
from tests.factories import (
    make_cafe,
    make_product,
    make_shop,
    make_staff,
    make_table,
    open_shift,
    run_together,
    sign_in_staff,
)

COOKIE = "shopqr_table"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def cafe(app, ctx):
    return make_cafe("counter-cafe", "Counter Cafe", "Table 1")


def counter(phone, shop, token=None):
    return phone.get(f"/s/{shop.slug}/c/{token or shop.counter_token}")


def add(phone, shop, product, quantity="1"):
    return phone.post(f"/s/{shop.slug}/cart/items",
                      data={"product_id": product.id, "quantity": quantity}, headers=HTMX)


def cookie(phone, shop) -> str | None:
    found = phone.get_cookie(COOKIE, path=f"/s/{shop.slug}/")
    return found.value if found else None


def session_of(phone, shop) -> TableSession:
    db.session.expire_all()
    return db.session.scalar(select(TableSession).where(TableSession.token == cookie(phone, shop)))


def count_in_badge(html: str) -> int:
    return int(re.search(r'class="cart-count" data-count="(\d+)"', html).group(1))


def staff(app, shop, role, pin):
    client = app.test_client()
    sign_in_staff(client, make_staff(shop, role, pin), pin)
    return client


def checkout(phone, shop, method="cash", key="takeaway-key-000000001"):
    return phone.post(f"/s/{shop.slug}/checkout", data={"method": method, "checkout_key": key})


def test_the_counter_code_opens_the_menu_with_no_table(app, cafe):
    shop, table, latte, cake = cafe
    phone = app.test_client()
    scanned = counter(phone, shop)
    assert scanned.status_code == 303 and scanned.headers["Location"] == f"/s/{shop.slug}/menu"
    session = session_of(phone, shop)
    assert session.is_takeaway and session.is_active and session.table_id is None
    assert session.active_table_id == -session.id
    menu = phone.get(f"/s/{shop.slug}/menu")
    assert menu.status_code == 200
    assert "Takeaway" in menu.text and "Table 1" not in menu.text
    assert "Banana Cake" in menu.text and "Latte" in menu.text  # the same menu
    assert "Call staff" not in menu.text  # the staff are at the counter
    assert add(phone, shop, cake).status_code == 200
    panel = phone.get(f"/s/{shop.slug}/cart", headers=HTMX).text
    assert "Your takeaway order" in panel and "Only this phone sees this cart" in panel
    assert "Everyone at this table" not in panel
    assert "Pay cash at the counter" in panel and "pay at the counter" in panel
    # the table's cart page keeps its own words
    tablephone = app.test_client()
    tablephone.get(f"/s/{shop.slug}/t/{table.qr_token}")
    assert "Everyone at this table shares this cart." in \
        tablephone.get(f"/s/{shop.slug}/cart", headers=HTMX).text
    assert "Call staff" in tablephone.get(f"/s/{shop.slug}/menu").text


def test_two_phones_at_the_counter_have_separate_carts(app, cafe):
    """Strangers at the counter never see (nor change) each other's cart, and the cached cart
    fragments are keyed per phone: one phone's change is no change for the other."""
    shop, table, latte, cake = cafe
    dara, sok = app.test_client(), app.test_client()
    counter(dara, shop)
    counter(sok, shop)
    assert cookie(dara, shop) != cookie(sok, shop)
    assert session_of(dara, shop).id != session_of(sok, shop).id

    add(dara, shop, cake, "2")
    sok_version = session_of(sok, shop).cart_version
    assert count_in_badge(dara.get(f"/s/{shop.slug}/cart/badge").text) == 2
    assert count_in_badge(sok.get(f"/s/{shop.slug}/cart/badge").text) == 0
    sok_panel = sok.get(f"/s/{shop.slug}/cart", headers=HTMX).text
    assert "Banana Cake" not in sok_panel and "Your cart is empty." in sok_panel
    # sok's phone polls its cart: nothing changed for it
    assert sok.get(f"/s/{shop.slug}/cart/watch?v={sok_version}").status_code == 204

    add(sok, shop, latte)
    assert "Latte" not in dara.get(f"/s/{shop.slug}/cart", headers=HTMX).text
    # a line of the other phone's cart cannot be changed by id
    dara_line = db.session.scalar(select(CartItem.id).where(
        CartItem.session_id == session_of(dara, shop).id))
    refused = sok.post(f"/s/{shop.slug}/cart/items/{dara_line}/quantity",
                       data={"quantity": "0"}, headers=HTMX)
    assert refused.status_code == 404
    assert db.session.get(CartItem, dara_line).quantity == 2

    # each checks out its own cart: two orders with their own pickup numbers
    first = checkout(dara, shop, key="takeaway-dara-00000001")
    second = checkout(sok, shop, key="takeaway-sok-000000001")
    db.session.expire_all()
    orders = db.session.scalars(select(Order).order_by(Order.id)).all()
    assert [o.source for o in orders] == ["takeaway", "takeaway"]
    assert [o.lines[0].product_name for o in orders] == ["Banana Cake", "Latte"]
    assert orders[0].seq != orders[1].seq
    assert first.headers["Location"] != second.headers["Location"]


def test_the_same_phone_keeps_its_cart_when_it_scans_again(app, cafe):
    shop, table, latte, cake = cafe
    phone = app.test_client()
    counter(phone, shop)
    first = cookie(phone, shop)
    add(phone, shop, cake)
    counter(phone, shop)
    assert cookie(phone, shop) == first
    assert count_in_badge(phone.get(f"/s/{shop.slug}/cart/badge").text) == 1
    # a phone that sat at a table and then scans the counter gets a takeaway cart of its own
    other = app.test_client()
    other.get(f"/s/{shop.slug}/t/{table.qr_token}")
    add(other, shop, latte)
    counter(other, shop)
    assert session_of(other, shop).is_takeaway
    assert count_in_badge(other.get(f"/s/{shop.slug}/cart/badge").text) == 0


def test_order_pay_cash_kitchen_ready_for_pickup(app, cafe):
    shop, table, latte, cake = cafe
    phone = app.test_client()
    counter(phone, shop)
    add(phone, shop, cake, "2")
    placed = checkout(phone, shop)
    assert placed.status_code == 303
    order_url = placed.headers["Location"]
    db.session.expire_all()
    order = db.session.scalar(select(Order))
    assert (order.source, order.table_id, order.table_name) == ("takeaway", None, None)
    assert order.payment_method == "cash" and order.payment_status == "pending"
    # a double submit of the same form makes no second order
    assert checkout(phone, shop).headers["Location"] == order_url
    assert db.session.scalar(select(func.count(Order.id))) == 1

    page = phone.get(order_url).text
    assert "Takeaway" in page
    assert f"Please pay $3.50 at the counter and show order number #{order.seq}." in page

    # the POS lists it as awaiting cash, named as takeaway
    cashier = staff(app, shop, "cashier", "481516")
    open_shift(shop)  # the drawer is open: cash can be taken (docs/shifts.md)
    pos = cashier.get(f"/s/{shop.slug}/pos/").text
    card = pos[pos.index(f'id="pos-order-{order.id}"'):]
    card = card[:card.index("</article>")]
    assert "Takeaway" in card and "Walk-in" not in card and "$3.50" in card
    paid = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash", data={"usd": "5"},
                        headers=HTMX)
    # on to the receipt (the shop prints one after cash by default)
    assert paid.status_code == 204 and "/receipt" in paid.headers["HX-Redirect"]

    barista = staff(app, shop, "barista", "271828")
    board = barista.get(f"/s/{shop.slug}/kitchen/").text
    assert f"Takeaway #{order.seq}" in board
    for step in ("queued", "preparing"):
        assert barista.post(f"/s/{shop.slug}/kitchen/orders/{order.id}/advance",
                            data={"from": step}, headers=HTMX).status_code == 200
    page = phone.get(order_url).text
    assert "Ready for pickup" in page
    assert f"Please pick it up at the counter: order #{order.seq}." in page
    assert "Staff will bring it" not in page
    status = phone.get(f"{order_url}/status?steps=1").text
    assert "Ready for pickup" in status

    # picked up: the phone's session ends; its menu link starts a fresh, empty cart
    barista.post(f"/s/{shop.slug}/kitchen/orders/{order.id}/advance", data={"from": "ready"},
                 headers=HTMX)
    assert "Picked up" in phone.get(order_url).text
    old = cookie(phone, shop)
    assert not session_of(phone, shop).is_active
    again = phone.get(f"/s/{shop.slug}/menu")
    assert again.status_code == 303 and cookie(phone, shop) != old
    fresh = session_of(phone, shop)
    assert fresh.is_takeaway and fresh.is_active
    menu = phone.get(f"/s/{shop.slug}/menu").text
    assert 'data-count="0"' in menu and "Your orders" not in menu
    assert phone.get(order_url).status_code == 200  # the old order page still answers


def test_a_table_order_says_the_food_comes_to_the_table(app, cafe):
    shop, table, latte, cake = cafe
    phone = app.test_client()
    phone.get(f"/s/{shop.slug}/t/{table.qr_token}")
    add(phone, shop, cake)
    order_url = checkout(phone, shop).headers["Location"]
    db.session.expire_all()
    order = db.session.scalar(select(Order))
    assert order.source == "table"
    order.payment_status, order.kitchen_status = "paid", "ready"
    db.session.commit()
    page = phone.get(order_url).text
    assert "Staff will bring it to Table 1." in page
    assert "Ready for pickup" not in page and "pick it up" not in page


def test_takeaway_with_khqr(app, cafe):
    shop, table, latte, cake = cafe
    phone = app.test_client()
    counter(phone, shop)
    add(phone, shop, latte)
    placed = checkout(phone, shop, method="khqr")
    page = phone.get(placed.headers["Location"]).text
    assert "khqr-card" in page and "$2.50" in page
    order = db.session.scalar(select(Order))
    assert order.source == "takeaway" and order.payment_method == "khqr"


def test_the_takeaway_menu_shows_the_phones_own_orders(app, cafe):
    shop, table, latte, cake = cafe
    dara, sok = app.test_client(), app.test_client()
    counter(dara, shop)
    counter(sok, shop)
    add(dara, shop, cake)
    checkout(dara, shop)
    seq = db.session.scalar(select(Order.seq))
    mine = dara.get(f"/s/{shop.slug}/menu").text
    assert "Your orders" in mine and f"#{seq}" in mine
    theirs = sok.get(f"/s/{shop.slug}/menu").text
    assert "Your orders" not in theirs and "Orders at this table" not in theirs


def test_a_takeaway_phone_cannot_call_staff(app, cafe):
    shop, table, latte, cake = cafe
    phone = app.test_client()
    counter(phone, shop)
    refused = phone.post(f"/s/{shop.slug}/service", data={"kind": "staff"})
    assert refused.status_code == 409
    assert "ask the staff there" in refused.text
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 0


def test_a_cancelled_takeaway_order_puts_the_items_back_in_the_phones_cart(app, cafe):
    shop, table, latte, cake = cafe
    phone, other = app.test_client(), app.test_client()
    counter(phone, shop)
    counter(other, shop)
    add(phone, shop, cake)
    order_url = checkout(phone, shop).headers["Location"]
    assert phone.post(f"{order_url}/cancel").status_code == 303
    assert count_in_badge(phone.get(f"/s/{shop.slug}/cart/badge").text) == 1
    assert count_in_badge(other.get(f"/s/{shop.slug}/cart/badge").text) == 0


# --- tenant isolation, forged and old codes ---

def test_another_shops_counter_code_never_opens_this_shop(app, cafe):
    shop, table, latte, cake = cafe
    other = make_shop("other-counter", name="Other Counter Cafe")
    make_product(other, "Other Soup", "3.00")
    phone = app.test_client()
    wrong = counter(phone, shop, other.counter_token)
    assert wrong.status_code == 404
    assert "Counter Cafe" in wrong.text  # this shop's error page: name, way back, language
    assert "Other Counter Cafe" not in wrong.text and "Other Soup" not in wrong.text
    assert "Go back" in wrong.text and 'class="lang-switch' in wrong.text
    assert cookie(phone, shop) is None
    assert db.session.scalar(select(func.count(TableSession.id))) == 0
    # a takeaway cookie of one shop names no session at another
    counter(phone, other)
    stolen = cookie(phone, other)
    fresh = app.test_client()
    fresh.set_cookie(COOKIE, stolen, path=f"/s/{shop.slug}/")
    refused = fresh.get(f"/s/{shop.slug}/menu")
    assert refused.status_code == 403 and "Other Soup" not in refused.text


@pytest.mark.parametrize("token", ["forged-token-" + "x" * 30, "a", "%00", "x" * 300])
def test_a_forged_counter_code_is_a_clear_404(app, cafe, token):
    shop, table, latte, cake = cafe
    phone = app.test_client()
    response = phone.get(f"/s/{shop.slug}/c/{token}")
    assert response.status_code == 404
    assert "Counter Cafe" in response.text


def test_an_old_counter_code_stops_working_when_the_owner_makes_a_new_one(app, cafe):
    shop, table, latte, cake = cafe
    old = shop.counter_token
    phone = app.test_client()
    counter(phone, shop)
    add(phone, shop, cake)
    owner = make_staff(shop, "owner", "135790", email="owner@counter.example",
                       password="correct-horse-battery")
    client = app.test_client()
    client.post(f"/s/{shop.slug}/settings/login",
                data={"email": owner.email, "password": "correct-horse-battery"})
    assert client.post(f"/s/{shop.slug}/settings/tables/counter/regenerate").status_code == 303
    db.session.expire_all()
    new = db.session.get(Shop, shop.id).counter_token
    assert new != old and len(new) >= 43
    gone = app.test_client().get(f"/s/{shop.slug}/c/{old}")
    assert gone.status_code == 404 and "not valid any more" in gone.text
    assert app.test_client().get(f"/s/{shop.slug}/c/{new}").status_code == 303
    # the phone that scanned the old code keeps its cart
    assert count_in_badge(phone.get(f"/s/{shop.slug}/cart/badge").text) == 1


def test_every_shop_gets_its_own_counter_code(app, ctx):
    shops = [make_shop() for _ in range(3)]
    codes = {shop.counter_token for shop in shops}
    assert len(codes) == 3 and all(len(code) >= 43 for code in codes)


def test_many_phones_at_the_counter_at_once(app, cafe):
    """20 phones scan the counter and add to their carts at the same instant: 20 sessions of
    their own, each with exactly its own line (MariaDB: row locks; SQLite: the writer lock)."""
    shop, table, latte, cake = cafe
    phones = [app.test_client() for _ in range(20)]
    # plain values: the threads never touch the test's own session
    slug, code, cake_id = shop.slug, shop.counter_token, cake.id

    def work(n: int) -> str:
        phone = phones[n]
        assert phone.get(f"/s/{slug}/c/{code}").status_code == 303
        assert phone.post(f"/s/{slug}/cart/items", headers=HTMX, data={
            "product_id": cake_id, "quantity": str(n % 5 + 1)}).status_code == 200
        found = phone.get_cookie(COOKIE, path=f"/s/{slug}/")
        return found.value

    tokens = run_together(app, 20, work)
    assert len(set(tokens)) == 20
    db.session.expire_all()
    sessions = db.session.scalars(select(TableSession).where(TableSession.token.in_(tokens))).all()
    assert len(sessions) == 20
    for session in sessions:
        n = tokens.index(session.token)
        assert session.is_takeaway and session.active_table_id == -session.id
        assert [(i.product_id, i.quantity) for i in session.cart_items] == [(cake_id, n % 5 + 1)]


def test_the_pos_table_map_ignores_takeaway_phones(app, cafe):
    from shopqr.services import pos

    shop, table, latte, cake = cafe
    phone = app.test_client()
    counter(phone, shop)
    add(phone, shop, cake)
    states = pos.table_states(db.session, shop)
    assert [(s.table.name, s.state) for s in states] == [("Table 1", "free")]


def test_start_takeaway_makes_sessions_that_never_clash(app, ctx):
    shop = make_shop()
    table = make_table(shop, "Table 1")
    table_session = tables.join_or_start(db.session, table)
    made = [tables.start_takeaway(db.session, shop.id) for _ in range(3)]
    db.session.commit()
    assert len({s.active_table_id for s in made} | {table_session.active_table_id}) == 4
    assert all(s.active_table_id < 0 for s in made)
    assert tables.active_session(db.session, table).id == table_session.id
    assert tables.end_session(db.session, made[0], "finished")
    db.session.commit()
    assert not made[0].is_active and made[1].is_active


def test_takeaway_in_khmer(app, cafe):
    """The new guest strings in Khmer (KHMER.md: ខ្ចប់យកទៅ, កន្លែងគិតលុយ, លោកអ្នក)."""
    shop, table, latte, cake = cafe
    phone = app.test_client()
    phone.set_cookie("shopqr_lang", "km", path="/")
    counter(phone, shop)
    menu = phone.get(f"/s/{shop.slug}/menu").text
    assert "ខ្ចប់យកទៅ" in menu and "Takeaway" not in menu
    add(phone, shop, cake)
    panel = phone.get(f"/s/{shop.slug}/cart", headers=HTMX).text
    assert "ការកុម្ម៉ង់ខ្ចប់យកទៅ" in panel
    assert "មានតែទូរស័ព្ទនេះទេដែលឃើញកន្ត្រកនេះ" in panel
    assert "បង់ប្រាក់សុទ្ធនៅកន្លែងគិតលុយ" in panel
    order_url = checkout(phone, shop).headers["Location"]
    db.session.expire_all()
    order = db.session.scalar(select(Order))
    order.payment_status, order.kitchen_status = "paid", "ready"
    db.session.commit()
    page = phone.get(order_url).text
    assert "រួចរាល់ហើយ សូមមកយក" in page and "Ready for pickup" not in page
    assert f"សូមមកយកនៅកន្លែងគិតលុយ៖ លេខកុម្ម៉ង់ #{order.seq}" in page
    refused = phone.post(f"/s/{shop.slug}/service", data={"kind": "bill"})
    assert refused.status_code == 409 and "សូមសុំជំនួយពីបុគ្គលិកនៅទីនោះ" in refused.text
