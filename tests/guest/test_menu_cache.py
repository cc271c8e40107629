"""The cached menu page never outlives a change: an owner's edit shows on the next load, and a
change that bypasses the menu version shows once the cache's lifetime (a minute) is over."""

from __future__ import annotations

import re
import time

import pytest

from shopqr.extensions import db
from shopqr.services import menu_admin
from shopqr.services.events import get_bus
from tests.factories import make_cafe, make_staff


@pytest.fixture
def cafe(app, ctx):
    return make_cafe("cache-cafe", "Cache Cafe", "Table 5")


def open_menu(client, shop, table) -> str:
    assert client.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    page = client.get(f"/s/{shop.slug}/menu")
    assert page.status_code == 200
    return page.text


def test_an_owners_menu_edit_shows_on_the_next_menu_load(app, client, cafe):
    shop, table, latte, cake = cafe
    first = open_menu(client, shop, table)
    assert "Banana Cake" in first and "Flat White" not in first
    menu_admin.save_product(db.session, shop, {"name": "Flat White", "price": "2.50",
                                               "category_id": str(latte.category_id)},
                            product=latte)
    db.session.commit()
    again = client.get(f"/s/{shop.slug}/menu").text
    assert "Flat White" in again  # not the cached copy of the old menu
    assert "Banana Cake" in again


def test_a_change_without_a_version_bump_shows_within_a_minute(app, client, cafe, monkeypatch):
    """The lifetime is the safety net for changes that do not bump the menu version (a fix
    made in the database by hand, say)."""
    shop, table, latte, _ = cafe
    assert "Latte" in open_menu(client, shop, table)
    latte.name = "Flat White"  # no menu_admin call: the version stays
    db.session.commit()
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + 61)  # a minute later
    assert "Flat White" in client.get(f"/s/{shop.slug}/menu").text


def sheet(client, shop, product) -> str:
    response = client.get(f"/s/{shop.slug}/menu/products/{product.id}",
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.text


def csrf_in(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_product_sheet_follows_every_menu_change(app, client, cafe):
    """The product sheet is cached per menu version: a new price, a new option name and sold
    out all show on the next tap."""
    shop, table, latte, _ = cafe
    open_menu(client, shop, table)
    assert "$2.50" in sheet(client, shop, latte)
    menu_admin.save_product(db.session, shop, {"name": "Latte", "price": "2.90",
                                               "category_id": str(latte.category_id)},
                            product=latte)
    db.session.commit()
    assert "$2.90" in sheet(client, shop, latte)
    large = next(o for g in latte.option_groups for o in g.options if o.name == "Large")
    menu_admin.save_option(db.session, shop, large, name="Grande", name_km=None, extra="0.50")
    db.session.commit()
    assert "Grande" in sheet(client, shop, latte)
    menu_admin.set_sold_out(db.session, get_bus(app), shop, latte, True,
                            by=make_staff(shop, "owner"))
    db.session.commit()
    html = sheet(client, shop, latte)
    assert "Sold out" in html and 'name="product_id"' not in html


def test_each_phone_gets_its_own_csrf_token_in_a_cached_sheet(app, cafe):
    """Two phones open the same sheet (the second from the cache): each form carries the token
    of its own phone, and each phone's add goes through with it."""
    shop, table, latte, _ = cafe
    tokens = []
    for _phone in range(2):
        phone = app.test_client()
        open_menu(phone, shop, table)
        html = sheet(phone, shop, latte)
        token = csrf_in(html)
        choices = dict(re.findall(r'name="(group-\d+)" value="(\d+)"[^>]*checked', html))
        added = phone.post(f"/s/{shop.slug}/cart/items", csrf=False,
                           data={"csrf_token": token, "product_id": latte.id, **choices})
        assert added.status_code == 303, added.text
        tokens.append(token)
    assert tokens[0] != tokens[1]


def test_a_sheet_of_another_shop_or_a_deleted_product_is_not_found(app, client, cafe):
    shop, table, latte, cake = cafe
    other = make_cafe("other-cache-cafe", "Other", "Table 1")
    open_menu(client, shop, table)
    assert client.get(f"/s/{shop.slug}/menu/products/{other[2].id}",
                      headers={"HX-Request": "true"}).status_code == 404
    sheet(client, shop, cake)  # cached now
    menu_admin.delete_product(db.session, shop, cake)
    db.session.commit()
    assert client.get(f"/s/{shop.slug}/menu/products/{cake.id}",
                      headers={"HX-Request": "true"}).status_code == 404
