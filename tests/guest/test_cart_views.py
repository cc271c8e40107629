"""The shared cart through the guest's phone: htmx fragments, full pages, and bad input that
always answers 4xx with a clear message (never 500) and changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import CartItem, Order, TableSession
from shopqr.services import tables
from tests.factories import group_id, make_cafe, make_product, make_shop, make_table, option_id

HX = {"HX-Request": "true"}


@pytest.fixture
def cafe(app, ctx):
    return make_cafe("cart-cafe", "Cart Cafe", "Table 2")


def scan(client, shop, table):
    response = client.get(f"/s/{shop.slug}/t/{table.qr_token}")
    assert response.status_code == 303
    return response


def add(client, shop, product, quantity="1", *, htmx=True, **fields):
    return client.post(f"/s/{shop.slug}/cart/items", headers=HX if htmx else {},
                       data={"product_id": product.id, "quantity": quantity, **fields})


def choose(product, **choices) -> dict[str, int]:
    return {f"group-{group_id(product, g)}": option_id(product, g, o) for g, o in choices.items()}


def items() -> list[tuple[str, int, str | None]]:
    db.session.expire_all()
    return [(i.product.name, i.quantity, i.note)
            for i in db.session.scalars(select(CartItem).order_by(CartItem.id))]


def only_item() -> CartItem:
    db.session.expire_all()
    return db.session.scalars(select(CartItem)).one()


def badge_count(html: str) -> int:
    match = re.search(r'id="cart-badge".*?data-count="(\d+)"', html, re.S)
    assert match, html
    return int(match.group(1))


def test_two_phones_share_one_cart(app, cafe):
    shop, table, latte, cake = cafe
    alice, bob = app.test_client(), app.test_client()
    scan(alice, shop, table)
    scan(bob, shop, table)
    add(alice, shop, latte, "2", **choose(latte, Size="Large"))
    bobs_view = bob.get(f"/s/{shop.slug}/cart")
    assert bobs_view.status_code == 200
    assert "Latte" in bobs_view.text and "Size: Large" in bobs_view.text
    assert "$6.00" in bobs_view.text
    item = only_item()
    changed = bob.post(f"/s/{shop.slug}/cart/items/{item.id}/quantity",
                       data={"quantity": "3"}, headers=HX)
    assert changed.status_code == 200
    alices_view = alice.get(f"/s/{shop.slug}/cart")
    assert "$9.00" in alices_view.text
    assert badge_count(alice.get(f"/s/{shop.slug}/menu").text) == 3
    add(bob, shop, cake)
    assert "$10.75" in alice.get(f"/s/{shop.slug}/cart").text
    placed = bob.post(f"/s/{shop.slug}/checkout",
                      data={"method": "cash", "checkout_key": "shared-cart-key-01"})
    assert placed.status_code == 303
    for phone in (alice, bob):
        cart = phone.get(f"/s/{shop.slug}/cart")
        assert "Your cart is empty." in cart.text and "Latte" not in cart.text
        menu = phone.get(f"/s/{shop.slug}/menu")
        assert badge_count(menu.text) == 0
        assert "Orders at this table" in menu.text  # both phones see the table's order


def test_a_new_group_never_sees_the_previous_cart_or_orders(app, cafe):
    shop, table, latte, cake = cafe
    before = app.test_client()
    scan(before, shop, table)
    add(before, shop, latte)
    before.post(f"/s/{shop.slug}/checkout",
                data={"method": "cash", "checkout_key": "first-group-key-01"})
    add(before, shop, cake)  # left in the cart when the staff close the table
    tables.end_session(db.session, tables.active_session(db.session, table), "closed")
    db.session.commit()
    newcomer = app.test_client()
    scan(newcomer, shop, table)
    menu = newcomer.get(f"/s/{shop.slug}/menu")
    assert menu.status_code == 200
    assert "Orders at this table" not in menu.text and badge_count(menu.text) == 0
    cart = newcomer.get(f"/s/{shop.slug}/cart")
    assert "Your cart is empty." in cart.text and "Banana Cake" not in cart.text
    add(newcomer, shop, latte)
    assert "Banana Cake" not in newcomer.get(f"/s/{shop.slug}/cart").text
    scan(before, shop, table)  # the old phone, scanning again, joins the new group
    cart = before.get(f"/s/{shop.slug}/cart").text
    assert "Latte" in cart and "Banana Cake" not in cart
    assert db.session.scalar(select(func.count()).select_from(TableSession)
                             .where(TableSession.active_table_id.is_not(None))) == 1


def test_add_answers_with_the_badge_out_of_band_and_a_toast(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    response = add(client, shop, latte, "2")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert re.search(r'<a id="cart-badge"[^>]*hx-swap-oob="true"', response.text, re.S)
    assert badge_count(response.text) == 2 and "$5.00" in response.text
    assert "Added Latte" in response.text
    assert response.headers["HX-Trigger"] == "cart-changed"
    assert badge_count(add(client, shop, latte, "3").text) == 5


def test_riel_prices_on_the_menu_are_whole_with_separators(client, app, ctx):
    shop = make_shop(currency="KHR")
    table = make_table(shop)
    make_product(shop, "Iced Coffee", "7500")
    scan(client, shop, table)
    assert "7,500៛" in client.get(f"/s/{shop.slug}/menu").text


def test_the_cart_panel_fragment(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte)
    panel = client.get(f"/s/{shop.slug}/cart", headers=HX)
    assert panel.status_code == 200 and "<html" not in panel.text
    assert 'id="cart-panel"' in panel.text and 'name="checkout_key"' in panel.text
    assert 'id="cart-badge"' in panel.text
    assert client.get(f"/s/{shop.slug}/cart").text.startswith("<!doctype html>")


def test_quantity_change_note_and_remove_return_the_cart_panel(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte)
    item = only_item()
    base = f"/s/{shop.slug}/cart/items/{item.id}"
    more = client.post(f"{base}/quantity", data={"quantity": "4"}, headers=HX)
    assert more.status_code == 200 and 'id="cart-panel"' in more.text
    assert "$10.00" in more.text and badge_count(more.text) == 4
    noted = client.post(f"{base}/note", data={"note": "less ice"}, headers=HX)
    assert noted.status_code == 200 and 'value="less ice"' in noted.text
    assert items() == [("Latte", 4, "less ice")]
    removed = client.post(f"{base}/delete", headers=HX)
    assert removed.status_code == 200 and "Your cart is empty." in removed.text
    assert badge_count(removed.text) == 0 and items() == []


def test_quantity_zero_removes_the_line(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte)
    response = client.post(f"/s/{shop.slug}/cart/items/{only_item().id}/quantity",
                           data={"quantity": "0"}, headers=HX)
    assert response.status_code == 200 and "Your cart is empty." in response.text
    assert items() == []


@pytest.mark.parametrize(("action", "data", "location"), [
    ("add", {}, "/menu"),
    ("quantity", {"quantity": "2"}, "/cart"),
    ("note", {"note": "hot"}, "/cart"),
    ("delete", {}, "/cart"),
])
def test_non_htmx_posts_redirect_with_303(client, cafe, action, data, location):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    if action == "add":
        response = add(client, shop, latte, htmx=False)
    else:
        add(client, shop, latte)
        response = client.post(f"/s/{shop.slug}/cart/items/{only_item().id}/{action}",
                               data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/s/{shop.slug}{location}"


def test_identical_adds_merge_into_one_line(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte, **choose(latte, Size="Large"))
    add(client, shop, latte, "2", **choose(latte, Size="Large"))
    add(client, shop, latte, note="no sugar")
    assert items() == [("Latte", 3, None), ("Latte", 1, "no sugar")]


def test_two_values_for_a_single_choice_group_are_refused(client, cafe):
    """A single-choice group takes exactly one option: two are refused, not half-taken."""
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    key = f"group-{group_id(latte, 'Size')}"
    response = client.post(f"/s/{shop.slug}/cart/items", headers=HX, data={
        "product_id": latte.id, key: [option_id(latte, "Size", "Large"),
                                      option_id(latte, "Size", "Small")]})
    assert response.status_code == 422
    assert "Pick one Size." in response.text
    assert db.session.scalars(select(CartItem)).first() is None


def test_a_price_sent_by_the_browser_is_ignored(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    response = add(client, shop, latte, price="0.01", unit_price="0.01", total="0.01")
    assert "$2.50" in response.text and "$0.01" not in response.text


@pytest.mark.parametrize("quantity", ["0", "-1", "1.5", "abc", "", " ", "51", "1e3", "²"])
def test_bad_quantities_on_add_are_a_clear_422(client, cafe, quantity):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    response = add(client, shop, latte, quantity)
    assert response.status_code == 422
    assert "Quantity must be a whole number from 1 to 50." in response.text
    assert response.headers["HX-Retarget"] == "#toast"
    assert items() == []


def test_a_bad_quantity_without_htmx_is_a_full_page(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    response = add(client, shop, latte, "abc", htmx=False)
    assert response.status_code == 422
    assert "<html" in response.text and "Quantity must be a whole number" in response.text


def bad_input_cases():
    """name → (build the form from the fixture, expected status, message)."""
    return {
        "another shop's product": (
            lambda shop, latte, cake: {"product_id": make_product(make_shop(), "Foreign Tea").id},
            404, "not on the menu"),
        "unknown product": (lambda shop, latte, cake: {"product_id": "999999"},
                            404, "not on the menu"),
        "non-numeric product": (lambda shop, latte, cake: {"product_id": "abc"},
                                404, "not on the menu"),
        "huge product id": (lambda shop, latte, cake: {"product_id": "9" * 30},
                            404, "not on the menu"),
        "missing product": (lambda shop, latte, cake: {}, 404, "not on the menu"),
        "deleted product": (
            lambda shop, latte, cake: {"product_id": make_product(shop, "Old Drink",
                                                                  is_deleted=True).id},
            404, "not on the menu"),
        "sold-out product": (
            lambda shop, latte, cake: {"product_id": make_product(shop, "Mango Smoothie",
                                                                  is_available=False).id},
            409, "Mango Smoothie is sold out"),
        "option of another product": (
            lambda shop, latte, cake: {
                "product_id": latte.id,
                f"group-{group_id(latte, 'Size')}": option_id(
                    make_product(shop, "Mocha", options={"Size": [("Huge", "1")]}),
                    "Size", "Huge")},
            400, "Please pick a valid Size"),
        "unknown option": (
            lambda shop, latte, cake: {"product_id": latte.id,
                                       f"group-{group_id(latte, 'Size')}": "abc"},
            400, "Please pick a valid Size"),
        "unknown group": (lambda shop, latte, cake: {"product_id": latte.id,
                                                     "group-999999": "1"},
                          400, "not available for this item"),
        "malformed group": (lambda shop, latte, cake: {"product_id": latte.id, "group-x": "1"},
                            400, "not available for this item"),
        "group on a product without options": (
            lambda shop, latte, cake: {"product_id": cake.id,
                                       f"group-{group_id(latte, 'Size')}":
                                       option_id(latte, "Size", "Large")},
            400, "not available for this item"),
        "note over 200 characters": (lambda shop, latte, cake: {"product_id": latte.id,
                                                                "note": "n" * 201},
                                     422, "at most 200 characters"),
    }


@pytest.mark.parametrize("case", list(bad_input_cases()))
def test_bad_input_on_add_is_a_clear_4xx_and_adds_nothing(client, cafe, case):
    shop, table, latte, cake = cafe
    scan(client, shop, table)
    build, status, message = bad_input_cases()[case]
    response = client.post(f"/s/{shop.slug}/cart/items", headers=HX,
                           data={"quantity": "1", **build(shop, latte, cake)})
    assert response.status_code == status
    assert message in response.text
    assert items() == []


def test_merging_past_50_of_one_item_is_refused(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte, "50")
    response = add(client, shop, latte)
    assert response.status_code == 422 and "At most 50 of one item" in response.text
    assert items() == [("Latte", 50, None)]


@pytest.mark.parametrize(("action", "data", "status", "message"), [
    ("quantity", {"quantity": "51"}, 422, "whole number from 0 to 50"),
    ("quantity", {"quantity": "-1"}, 422, "whole number from 0 to 50"),
    ("quantity", {"quantity": "abc"}, 422, "whole number from 0 to 50"),
    ("quantity", {}, 422, "whole number from 0 to 50"),
    ("note", {"note": "n" * 201}, 422, "at most 200 characters"),
])
def test_bad_changes_to_a_line_are_refused_and_keep_it(client, cafe, action, data, status,
                                                       message):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte, "2", note="hot")
    response = client.post(f"/s/{shop.slug}/cart/items/{only_item().id}/{action}", data=data,
                           headers=HX)
    assert response.status_code == status and message in response.text
    assert items() == [("Latte", 2, "hot")]


@pytest.mark.parametrize(("action", "data"), [
    ("quantity", {"quantity": "5"}), ("note", {"note": "mine now"}), ("delete", {}),
])
def test_an_item_of_another_sessions_cart_is_404(app, cafe, action, data):
    shop, table, latte, _ = cafe
    mine, theirs = app.test_client(), app.test_client()
    scan(mine, shop, make_table(shop, "Table 9"))
    scan(theirs, shop, table)
    add(theirs, shop, latte, "2")
    response = mine.post(f"/s/{shop.slug}/cart/items/{only_item().id}/{action}", data=data,
                         headers=HX)
    assert response.status_code == 404 and "no longer in the cart" in response.text
    assert items() == [("Latte", 2, None)]


@pytest.mark.parametrize("item_id", ["999999", "9" * 30])
def test_an_unknown_item_is_404(client, cafe, item_id):
    shop, table, _, _ = cafe
    scan(client, shop, table)
    response = client.post(f"/s/{shop.slug}/cart/items/{item_id}/quantity",
                           data={"quantity": "1"}, headers=HX)
    assert response.status_code == 404


def test_product_sheet_shows_options_and_refuses_other_products(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    sheet = client.get(f"/s/{shop.slug}/menu/products/{latte.id}", headers=HX)
    assert sheet.status_code == 200 and "<html" not in sheet.text
    assert "Large" in sheet.text and "+$0.50" in sheet.text
    page = client.get(f"/s/{shop.slug}/menu/products/{latte.id}")
    assert page.status_code == 200 and "<html" in page.text and "Add to cart" in page.text
    foreign = make_product(make_shop(), "Foreign Tea")
    for product_id in (foreign.id, 999999, int("9" * 30)):
        missing = client.get(f"/s/{shop.slug}/menu/products/{product_id}")
        assert missing.status_code == 404 and "Foreign Tea" not in missing.text


def test_a_sold_out_item_shows_sold_out_instead_of_add(client, cafe):
    shop, table, _, cake = cafe
    cake.is_available = False
    shop.menu_version += 1
    db.session.commit()
    scan(client, shop, table)
    sheet = client.get(f"/s/{shop.slug}/menu/products/{cake.id}", headers=HX)
    assert "Sold out" in sheet.text and "Add to cart" not in sheet.text
    assert "Sold out" in client.get(f"/s/{shop.slug}/menu").text


def test_cart_posts_need_a_csrf_token(client, cafe):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    response = client.post(f"/s/{shop.slug}/cart/items", data={"product_id": latte.id},
                           headers=HX, csrf=False)
    assert response.status_code == 400 and "Reload it and try again" in response.text
    assert items() == []


@pytest.mark.parametrize("action", ["", "/quantity?quantity=0", "/delete", "/note?note=x"])
def test_no_get_changes_the_cart(client, cafe, action):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte)
    item = only_item()
    path = f"/s/{shop.slug}/cart/items" + (f"/{item.id}{action}" if action else
                                           f"?product_id={latte.id}")
    assert client.get(path).status_code == 405
    assert items() == [("Latte", 1, None)]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
