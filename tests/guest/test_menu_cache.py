"""The cached menu page never outlives a change: an owner's edit shows on the next load, and a
change that bypasses the menu version shows once the cache's lifetime (a minute) is over."""

from __future__ import annotations

import time

import pytest

from shopqr.extensions import db
from shopqr.services import menu_admin
from tests.factories import make_cafe


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
