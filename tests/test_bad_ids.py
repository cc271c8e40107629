"""Ids in URLs and forms are ASCII digits from 1 to 2**63-1. A larger one (SQLite cannot bind
it: OverflowError) or one written in other digits (Python's int() reads "١", "១" and "１" as 1)
is a clear 404 (or 422): never a 500, and never the object whose id it would read as."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shopqr import create_app
from shopqr.extensions import db
from shopqr.models import (
    AdminUser,
    CartItem,
    Order,
    Product,
    ServiceRequest,
    Station,
    Transaction,
    User,
    utcnow,
)
from shopqr.services.shops import add_staff, hash_secret
from tests.conftest import settings_for
from tests.factories import (
    group_id,
    make_cafe,
    make_order,
    make_product,
    make_shop,
    make_staff,
    make_table,
    open_shift,
    option_id,
    sign_in_staff,
)

BIG = str(2**63)  # one more than the largest id
HUGE = "9" * 25
DIGITS = {"arabic-indic": 0x0660, "khmer": 0x17E0, "fullwidth": 0xFF10}
PASSWORD = "correct-horse-battery"
COOKIE = "shopqr_table"
HX = {"HX-Request": "true"}
BLUEPRINTS = ("guest", "staff", "settings", "admin", "pos", "kitchen")
INT_ARG = re.compile(r"<int(?:\([^)]*\))?:(\w+)>")


def in_digits(number: int, system: str) -> str:
    """``number`` written in another script's digits, e.g. 12 -> "١٢"."""
    return "".join(chr(DIGITS[system] + int(d)) for d in str(number))


def bad_ids(real: int) -> list[str]:
    """Ids that must find nothing, most of them the real id ``real`` written otherwise."""
    return [BIG, HUGE, f"0{real}"] + [in_digits(real, system) for system in DIGITS]


def _routes_with_ids() -> list:
    """Every (rule, method) of the shop and admin screens with an <int:...> in its URL."""
    app = create_app(settings_for("sqlite://"))
    params = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in BLUEPRINTS or not INT_ARG.search(rule.rule):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            params.append(pytest.param(rule.rule, method, id=f"{method} {rule.rule}"))
    return params


ROUTES = _routes_with_ids()


def test_the_routes_are_found():
    assert len(ROUTES) > 30
    rules = {p.values[0] for p in ROUTES}
    assert "/admin/shops/<int:shop_id>" in rules
    assert "/s/<slug>/kitchen/orders/<int:order_id>/advance" in rules
    assert "/s/<slug>/pos/ticket/items/<int(min=0):index>/remove" in rules


@pytest.fixture
def world(app, ctx):
    """One client that is everybody at once: a guest seated with a cart line, the owner signed
    in by PIN (POS, kitchen) and by password (settings), and a platform admin; and one real
    object for every kind of id in a URL."""
    shop, table, latte, _ = make_cafe("ids-cafe", "Ids Cafe", "Table 1")
    owner = add_staff(db.session, shop, name="Owner", role="owner", pin="135790",
                      email="owner@ids-cafe.example", password=PASSWORD)
    cashier = make_staff(shop, "cashier", "246802")
    db.session.add(AdminUser(email="root@shopqr.example",
                             password_hash=hash_secret(PASSWORD)))
    db.session.commit()
    client = app.test_client()
    sign_in_staff(client, owner, "135790")
    assert client.post(f"/s/{shop.slug}/settings/login",
                       data={"email": owner.email, "password": PASSWORD}).status_code == 303
    assert client.post("/admin/login", data={"email": "root@shopqr.example",
                                              "password": PASSWORD}).status_code == 303
    assert client.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    assert client.post(f"/s/{shop.slug}/cart/items",
                       data={"product_id": latte.id}).status_code == 303
    assert client.post(f"/s/{shop.slug}/pos/ticket/items",
                       data={"product_id": latte.id}).status_code == 303
    assert client.post(f"/s/{shop.slug}/service", data={"kind": "staff"}).status_code == 303
    pending = make_order(shop, latte, table=table)
    paid = make_order(shop, latte, paid=True)
    group = latte.option_groups[0]
    now = utcnow()
    refund_due = Transaction(  # a KHQR payment that arrived for the already paid order
        shop_id=shop.id, order_id=paid.id, md5="f" * 32, qr_string="khqr", amount=paid.total,
        currency=paid.currency, bill_number=paid.number, to_account="ids@aclb", status="paid",
        expires_at=now, give_up_at=now, paid_at=now, attention="due", attention_kind="cash",
        attention_reason="Second payment: order already paid by cash")
    db.session.add(refund_due)
    station = Station(shop_id=shop.id, name="Bar")
    db.session.add(station)
    db.session.commit()
    ids = {
        "shop_id": shop.id, "product_id": latte.id, "category_id": latte.category_id,
        "group_id": group.id, "option_id": group.options[1].id, "table_id": table.id,
        "user_id": cashier.id, "item_id": db.session.scalar(select(CartItem.id)),
        "line_id": paid.lines[0].id, "index": 0, "txn_id": refund_due.id,
        "request_id": db.session.scalar(select(ServiceRequest.id)),
        "station_id": station.id, "shift_id": open_shift(shop, owner).id,
    }
    return {"client": client, "shop": shop, "ids": ids, "pending": pending.id, "paid": paid.id,
            "owner": owner.id}


def url_for_rule(rule: str, world: dict, value_of) -> str:
    def fill(match: re.Match) -> str:
        return value_of(match.group(1))
    return INT_ARG.sub(fill, rule.replace("<slug>", world["shop"].slug))


def real_id(rule: str, name: str, world: dict) -> int:
    if name == "order_id":  # a receipt is there once the order is paid
        return world["paid"] if "/kitchen/" in rule or rule.endswith("/receipt") \
            else world["pending"]
    if name == "user_id" and rule.endswith(("/password", "/email")):  # owners only
        return world["owner"]
    return world["ids"][name]


@pytest.mark.parametrize(("rule", "method"), ROUTES)
def test_an_id_out_of_range_or_in_other_digits_matches_no_route(world, rule, method):
    client = world["client"]
    send = client.get if method == "GET" else client.post
    bad = {name: bad_ids(real_id(rule, name, world)) for name in INT_ARG.findall(rule)}
    for n in range(len(bad_ids(1))):
        url = url_for_rule(rule, world, lambda name, n=n: bad[name][n])
        response = send(url)
        assert response.status_code == 404, (url, response.status_code)
        assert "We could not find that page" in response.text
    # The same URL with the real id in ASCII reaches the view: the ids above were the real
    # objects' ids written otherwise, and were still refused.
    url = url_for_rule(rule, world, lambda name: str(real_id(rule, name, world)))
    reached = send(url)
    assert reached.status_code not in (404, 500), (url, reached.status_code)


# --- ids typed into forms -------------------------------------------------------------------

FORM_VALUES = [BIG, HUGE, "-1", "abc", "", " ", "1_0", "+1", "0"]


@pytest.fixture
def cafe(app, ctx):
    return make_cafe("form-cafe", "Form Cafe", "Table 1")


def seated(app, shop, table):
    phone = app.test_client()
    assert phone.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    return phone


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def product_id_values(product_id: int) -> list[str]:
    return FORM_VALUES + [in_digits(product_id, system) for system in DIGITS]


@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_product_id_in_the_guest_cart_form_is_404(app, cafe, htmx):
    shop, table, _, cake = cafe
    phone = seated(app, shop, table)
    for value in product_id_values(cake.id):
        response = phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": value},
                              headers=HX if htmx else {})
        assert response.status_code == 404, (value, response.status_code)
        assert "That item is not on the menu." in response.text
    assert count(CartItem) == 0


def test_a_bad_product_id_on_the_pos_ticket_is_404(app, cafe):
    shop, _, _, cake = cafe
    cashier = app.test_client()
    sign_in_staff(cashier, make_staff(shop, "cashier", "246802"), "246802")
    for value in product_id_values(cake.id):
        response = cashier.post(f"/s/{shop.slug}/pos/ticket/items", data={"product_id": value})
        assert response.status_code == 404, (value, response.status_code)
        assert "That item is not on the menu." in response.text
    page = cashier.get(f"/s/{shop.slug}/pos/").text
    assert "Tap products to start a walk-in order." in page  # the ticket stayed empty


@pytest.mark.parametrize("screen", ["guest", "pos"])
def test_a_bad_option_group_field_is_400(app, cafe, screen):
    shop, table, latte, _ = cafe
    size = group_id(latte, "Size")
    if screen == "guest":
        client, url = seated(app, shop, table), f"/s/{shop.slug}/cart/items"
    else:
        client, url = app.test_client(), f"/s/{shop.slug}/pos/ticket/items"
        sign_in_staff(client, make_staff(shop, "cashier", "246802"), "246802")
    large = option_id(latte, "Size", "Large")
    for key in [f"group-{BIG}", f"group-{HUGE}", "group-²", "group-", "group-abc", "group--1",
                *(f"group-{in_digits(size, system)}" for system in DIGITS)]:
        response = client.post(url, data={"product_id": latte.id, key: str(large)})
        assert response.status_code == 400, (key, response.status_code)
        assert "That choice is not available for this item." in response.text
    for value in [BIG, "abc", "-1", in_digits(large, "khmer")]:  # the chosen option's id
        response = client.post(url, data={"product_id": latte.id, f"group-{size}": value})
        assert response.status_code == 400, (value, response.status_code)
        assert "Please pick a valid Size." in response.text
    assert count(CartItem) == 0


@pytest.fixture
def ticket(app, cafe):
    """A cashier with a cake on the walk-in ticket."""
    shop, table, _, cake = cafe
    cashier = app.test_client()
    sign_in_staff(cashier, make_staff(shop, "cashier", "246802"), "246802")
    assert cashier.post(f"/s/{shop.slug}/pos/ticket/items",
                        data={"product_id": cake.id}).status_code == 303
    return shop, table, cashier


@pytest.mark.parametrize("htmx", [False, True])
def test_a_bad_table_id_on_the_pos_ticket_is_404(app, ticket, htmx):
    shop, table, cashier = ticket
    removed = make_table(shop, "Gone")
    removed.is_active = False
    db.session.commit()
    values = [v for v in FORM_VALUES if v] + [in_digits(table.id, s) for s in DIGITS]
    for n, value in enumerate([*values, str(removed.id)]):
        response = cashier.post(f"/s/{shop.slug}/pos/ticket/checkout",
                                data={"method": "cash", "checkout_key": f"table-key-{n:08d}",
                                      "table_id": value}, headers=HX if htmx else {})
        assert response.status_code == 404, (value, response.status_code)
        assert "Table not found." in response.text
    assert count(Order) == 0
    placed = cashier.post(f"/s/{shop.slug}/pos/ticket/checkout",
                          data={"method": "cash", "checkout_key": "table-key-ok000001",
                                "table_id": str(table.id)})
    assert placed.status_code == 303
    assert db.session.scalar(select(Order.table_id)) == table.id


def test_no_table_on_the_pos_ticket_is_a_walk_in(app, ticket):
    shop, _, cashier = ticket
    placed = cashier.post(f"/s/{shop.slug}/pos/ticket/checkout",
                          data={"method": "cash", "checkout_key": "walk-in-key-000001",
                                "table_id": ""})
    assert placed.status_code == 303
    assert db.session.scalar(select(Order.table_id)) is None


@pytest.fixture
def owner_client(app, ctx):
    shop = make_shop("owned-ids")
    owner = add_staff(db.session, shop, name="Owner", role="owner", pin="135790",
                      email="owner@owned-ids.example", password=PASSWORD)
    db.session.commit()
    client = app.test_client()
    assert client.post(f"/s/{shop.slug}/settings/login",
                       data={"email": owner.email, "password": PASSWORD}).status_code == 303
    return shop, client


def test_a_bad_category_id_in_the_product_form_is_404(app, owner_client):
    shop, client = owner_client
    category = make_product(shop, "Existing").category
    values = [v for v in FORM_VALUES if v.strip()] + [in_digits(category.id, s) for s in DIGITS]
    for value in values:
        response = client.post(f"/s/{shop.slug}/settings/menu/products",
                               data={"name": "Mocha", "price": "3", "category_id": value})
        assert response.status_code == 404, (value, response.status_code)
        assert "Category not found." in response.text
    assert count(Product) == 1
    assert client.post(f"/s/{shop.slug}/settings/menu/products",
                       data={"name": "Mocha", "price": "3", "category_id": ""}).status_code == 303


@pytest.mark.parametrize("value", [BIG, HUGE, "khmer", "-1", "abc", ""])
def test_a_bad_user_id_in_the_pin_form_is_a_4xx(app, ctx, value):
    shop = make_shop()
    user = make_staff(shop, "cashier", "246802")
    client = app.test_client()
    if value == "khmer":
        value = in_digits(user.id, "khmer")
    response = client.post(f"/s/{shop.slug}/staff/sign-in",
                           data={"user_id": value, "pin": "246802"})
    assert 400 <= response.status_code < 500, response.status_code
    assert "Choose your name first." in response.text
    assert db.session.get(User, user.id).failed_pin_attempts == 0

