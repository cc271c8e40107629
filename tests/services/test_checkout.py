"""Checkout as a service: the cart becomes one order with snapshot lines and a server total;
nothing is written when anything is wrong; the same form submitted twice makes one order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import delete, event, func, select

from shopqr.extensions import db
from shopqr.models import (
    CartItem,
    CartItemOption,
    Order,
    OrderCounter,
    OrderLine,
    Product,
    TableSession,
    utcnow,
)
from shopqr.services import DomainError, checkout, hotpath, tables
from shopqr.services.events import EventBus, get_bus
from shopqr.services.hotpath import snapshot as guest_view
from tests.factories import (
    group_id,
    make_product,
    make_shop,
    make_staff,
    make_table,
    option_id,
)


def bus() -> EventBus:
    """The app's event bus: cart and checkout changes are announced on it after commit."""
    return get_bus(current_app)


KEY = "checkout-key-0001"


@pytest.fixture
def shop(app, ctx):
    return make_shop("checkout-cafe")


@pytest.fixture
def table(shop):
    return make_table(shop, "Table 4")


@pytest.fixture
def session(table):
    table_session = tables.join_or_start(db.session, table)
    db.session.commit()
    return table_session


@pytest.fixture
def latte(shop):
    product = make_product(shop, "Latte", "2.50", name_km="ឡាតេ",
                           options={"Size": [("Small", "0"), ("Large", "0.50")],
                                    "Sugar": [("100%", "0"), ("50%", "0")]})
    product.option_groups[0].name_km = "ទំហំ"
    product.option_groups[0].options[1].name_km = "ធំ"
    db.session.commit()
    return product


@pytest.fixture
def cake(shop):
    return make_product(shop, "Banana Cake", "1.75")


def add(session, product, quantity="1", note=None, **choices):
    chosen = {group_id(product, g): option_id(product, g, o) for g, o in choices.items()}
    hotpath.add_item(db.session, bus(), guest_view(session), product.id, chosen, quantity, note)
    db.session.commit()


def place(shop, session, method="cash", key=KEY, note=None) -> Order:
    order = checkout.checkout(db.session, bus(), shop, session, method=method, checkout_key=key,
                              note=note)
    db.session.commit()
    return order


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot(order: Order) -> list[tuple]:
    db.session.expire_all()
    lines = db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                               .order_by(OrderLine.id))
    return [(line.product_name, line.product_name_km, line.base_price, line.unit_price,
             line.quantity, line.line_total, line.options, line.note) for line in lines]


def test_checkout_turns_the_cart_into_a_pending_order(shop, session, latte, cake):
    add(session, latte, "2", Size="Large", Sugar="50%")
    add(session, cake, note="warm please")
    order = place(shop, session, note="table by the window")
    assert order.payment_status == "pending" and order.payment_method == "cash"
    assert order.kitchen_status is None  # the kitchen sees it once paid
    assert order.currency == "USD" and order.total == Decimal("7.75")
    assert order.table_name == "Table 4" and order.session_id == session.id
    assert order.note == "table by the window" and order.source == "table"
    assert order.checkout_key == KEY and len(order.public_token) >= 22
    assert snapshot(order) == [
        ("Latte", "ឡាតេ", Decimal("2.50"), Decimal("3.00"), 2, Decimal("6.00"),
         [{"group": "Size", "group_km": "ទំហំ", "option": "Large", "option_km": "ធំ",
           "extra": "0.50"},
          {"group": "Sugar", "group_km": "", "option": "50%", "option_km": "", "extra": "0.00"}],
         None),
        ("Banana Cake", None, Decimal("1.75"), Decimal("1.75"), 1, Decimal("1.75"), [],
         "warm please"),
    ]
    assert count(CartItem) == 0  # the shared cart is empty for the whole table
    assert count(CartItemOption) == 0  # and the latte's chosen options went with it


def test_the_snapshot_survives_later_menu_edits(shop, session, latte, cake):
    add(session, latte, "2", Size="Large")
    add(session, cake)
    order = place(shop, session)
    before = snapshot(order)
    latte.name, latte.name_km, latte.price = "Renamed Latte", "ផ្សេង", Decimal("9.99")
    large = latte.option_groups[0].options[1]
    large.name, large.extra_price = "Giant", Decimal("5.00")
    latte.option_groups[0].name = "Cup"
    cake.is_deleted = True
    db.session.commit()
    assert snapshot(order) == before
    db.session.execute(delete(Product).where(Product.id == cake.id))  # even a hard delete
    db.session.commit()
    after = snapshot(order)
    assert [line[:6] for line in after] == [line[:6] for line in before]
    assert db.session.get(Order, order.id).total == Decimal("7.75")


def test_the_same_checkout_key_returns_the_first_order(shop, session, latte):
    add(session, latte)
    first = place(shop, session)
    add(session, latte)  # the guest adds more, then the old form is submitted again
    again = place(shop, session)
    assert again.id == first.id
    assert count(Order) == 1 and count(CartItem) == 1  # the new item stays in the cart


def test_a_new_key_after_an_order_makes_a_second_order(shop, session, latte, cake):
    add(session, latte)
    first = place(shop, session, key="first-key-0000001")
    add(session, cake)
    second = place(shop, session, key="second-key-000001")
    assert first.id != second.id and second.seq == first.seq + 1
    assert [line.product_name for line in second.lines] == ["Banana Cake"]


def test_an_empty_cart_writes_nothing(shop, session):
    with pytest.raises(DomainError, match="Your cart is empty") as caught:
        checkout.checkout(db.session, bus(), shop, session, method="cash", checkout_key=KEY)
    assert caught.value.status == 422
    db.session.rollback()
    assert count(Order) == 0 and count(OrderCounter) == 0
    assert db.session.get(TableSession, session.id).checkout_version == 0


@pytest.mark.parametrize(("change", "message"), [
    ({"is_available": False}, "Banana Cake just sold out"),
    ({"is_deleted": True}, "Banana Cake is no longer on the menu"),
])
def test_an_unorderable_item_refuses_checkout_and_keeps_the_cart(shop, session, latte, cake,
                                                                 change, message):
    add(session, latte, "2")
    add(session, cake)
    for field, value in change.items():
        setattr(cake, field, value)
    db.session.commit()
    with pytest.raises(DomainError, match=message):
        checkout.checkout(db.session, bus(), shop, session, method="cash", checkout_key=KEY)
    db.session.rollback()
    assert count(Order) == 0 and count(OrderLine) == 0
    assert [(i.product_id, i.quantity) for i in db.session.scalars(
        select(CartItem).order_by(CartItem.id))] == [(latte.id, 2), (cake.id, 1)]


@pytest.mark.parametrize("method", [None, "", "card", "KHQR", "cash "])
def test_an_unknown_payment_method_is_refused(shop, session, latte, method):
    add(session, latte)
    with pytest.raises(DomainError, match="Choose how you will pay") as caught:
        checkout.checkout(db.session, bus(), shop, session, method=method, checkout_key=KEY)
    assert caught.value.status == 422


def test_khqr_needs_the_shops_bakong_account(session, latte, shop):
    add(session, latte)
    shop.bakong_account_id = None
    db.session.commit()
    with pytest.raises(DomainError, match="does not take KHQR"):
        checkout.checkout(db.session, bus(), shop, session, method="khqr", checkout_key=KEY)
    db.session.rollback()
    assert place(shop, session, method="cash").payment_method == "cash"


@pytest.mark.parametrize("key", [None, "", "short", "k" * 15, "k" * 65, "has spaces in it!!",
                                 "<script>alert(1)</script>"])
def test_a_missing_or_malformed_checkout_key_is_400(shop, session, latte, key):
    add(session, latte)
    with pytest.raises(DomainError, match="out of date") as caught:
        checkout.checkout(db.session, bus(), shop, session, method="cash", checkout_key=key)
    assert caught.value.status == 400


@pytest.mark.parametrize("key", ["k" * 16, "k" * 64, "abc-DEF_123-xyz-0", " padded-key-00001 "])
def test_well_formed_checkout_keys(key):
    assert checkout.clean_key(key) == key.strip()


def test_a_long_order_note_is_refused(shop, session, latte):
    add(session, latte)
    with pytest.raises(DomainError, match="200 characters"):
        checkout.checkout(db.session, bus(), shop, session, method="cash", checkout_key=KEY,
                          note="n" * 201)


def test_an_ended_session_cannot_check_out(shop, session, latte):
    add(session, latte)
    assert tables.end_session(db.session, session, "closed by staff")
    db.session.commit()
    with pytest.raises(DomainError, match="session has ended") as caught:
        checkout.checkout(db.session, bus(), shop, session, method="cash", checkout_key=KEY)
    assert caught.value.status == 409
    db.session.rollback()
    assert count(Order) == 0


def test_riel_orders_total_in_whole_riel(app, ctx):
    shop = make_shop("riel-cafe", currency="KHR")
    session = tables.join_or_start(db.session, make_table(shop))
    coffee = make_product(shop, "Iced Coffee", "5000",
                          options={"Size": [("Small", "0"), ("Large", "2500")]})
    add(session, coffee, "2", Size="Large")
    order = place(shop, session)
    assert order.currency == "KHR" and order.total == Decimal("15000")
    assert order.total == order.total.to_integral_value()
    assert order.lines[0].unit_price == Decimal("7500")


def test_another_shops_key_is_not_returned(shop, session, latte):
    other = make_shop("other-cafe")
    other_session = tables.join_or_start(db.session, make_table(other))
    add(other_session, make_product(other, "Foreign Tea"))
    place(other, other_session, key="shared-key-000001")
    add(session, latte)
    with pytest.raises(DomainError, match="out of date"):
        checkout.checkout(db.session, bus(), shop, session, method="cash",
                          checkout_key="shared-key-000001")
    db.session.rollback()
    assert count(Order) == 1


def test_create_order_refuses_no_items(shop):
    with pytest.raises(DomainError, match="empty"):
        checkout.create_order(db.session, shop, items=[], method="cash", key=None)


# --- the POS ticket and what the live screens hear ------------------------------------------------

@contextmanager
def count_statements() -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_checkout_announces_the_new_order_after_the_commit_and_a_resubmit_not_again(
        app, shop, session, latte):
    add(session, latte)
    with get_bus(app).subscribe(shop.id) as sub:
        order = checkout.checkout(db.session, bus(), shop, session, method="cash",
                                  checkout_key=KEY)
        assert sub.get(timeout=0.05) is None  # nothing before the commit
        db.session.commit()
        heard = sub.get(timeout=1)
        assert heard is not None and (heard.kind, heard.data) == ("order.created",
                                                                  {"order_id": order.id})
        assert place(shop, session).id == order.id  # the same form again: no new order
        assert sub.get(timeout=0.05) is None


def test_the_pos_ticket_becomes_an_order_in_one_products_query_and_is_announced(
        app, shop, latte, cake):
    cashier = make_staff(shop, "cashier", "246802")
    large, full = option_id(latte, "Size", "Large"), option_id(latte, "Sugar", "100%")
    ticket = [{"p": latte.id, "o": [large, full], "q": 2, "n": "hot"},
              {"p": cake.id, "o": [], "q": 1}]
    db.session.expire_all()
    db.session.refresh(shop)
    with count_statements() as statements:
        items = checkout.ticket_items(db.session, shop, ticket)
        assert [(i.product.name, [o.name for o in i.options], i.quantity, i.note)
                for i in items] == [("Latte", ["Large", "100%"], 2, "hot"),
                                    ("Banana Cake", [], 1, None)]
        assert [g.name for g in items[0].product.option_groups] == ["Size", "Sugar"]
        assert len(statements) == 1
    with get_bus(app).subscribe(shop.id) as sub:
        order = checkout.checkout_ticket(
            db.session, bus(), shop, ticket, checkout_key="till-key-0000000001", method="cash",
            table_id="", note=None, by=cashier, now=utcnow(), ttl_seconds=600,
            grace_seconds=1800)
        assert sub.get(timeout=0.05) is None
        db.session.rollback()  # rolled back: never heard of
        assert sub.get(timeout=0.05) is None and count(Order) == 0
        order = checkout.checkout_ticket(
            db.session, bus(), shop, ticket, checkout_key="till-key-0000000001", method="cash",
            table_id="", note=None, by=cashier, now=utcnow(), ttl_seconds=600,
            grace_seconds=1800)
        db.session.commit()
        heard = sub.get(timeout=1)
    assert heard is not None and heard.kind == "order.created"
    assert heard.data == {"order_id": order.id}
    assert order.source == "pos" and order.total == Decimal("7.75")  # 2 x 3.00 + 1.75
