"""The option sheet on the guest's phone and on the POS: one form (radio buttons for one
choice, checkboxes with "pick up to N" for several), the Add button's price with the paid
default, and the server refusing what the sheet's browser checks would have stopped."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from shopqr.extensions import db
from shopqr.models import CartItem
from shopqr.services import menu_admin
from tests.factories import group_id, make_shop, make_staff, make_table, option_id, sign_in_staff
from tests.services.test_option_groups import make_tea

HX = {"HX-Request": "true"}


@pytest.fixture
def tea_house(app, ctx):
    shop = make_shop("sheet-cafe", name="Sheet Cafe")
    return shop, make_table(shop, "Table 3"), make_tea(shop)


def seated(app, shop, table):
    phone = app.test_client()
    assert phone.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    return phone


def cashier(app, shop):
    till = app.test_client()
    sign_in_staff(till, make_staff(shop, "cashier", "246802"), "246802")
    return till


def choices(tea, **groups) -> list[tuple[str, str]]:
    return [(f"group-{group_id(tea, g)}", str(option_id(tea, g, name)))
            for g, names in groups.items() for name in (names if isinstance(names, list)
                                                        else [names])]


def add_button_price(html: str) -> str:
    match = re.search(r'data-running-price>([^<]+)<', html)
    assert match, html
    return match.group(1)


def test_the_guest_sheet_shows_radios_checkboxes_rules_and_the_price_with_the_default(
        app, tea_house):
    shop, table, tea = tea_house
    phone = seated(app, shop, table)
    sheet = phone.get(f"/s/{shop.slug}/menu/products/{tea.id}", headers=HX).text
    # 2.00 + the default Regular (+0.50): the button says $2.50, not the bare $2.00
    assert add_button_price(sheet) == "$2.50"
    assert re.search(rf'type="radio"\s+name="group-{group_id(tea, "Size")}"', sheet)
    assert len(re.findall(rf'type="checkbox"\s+name="group-{group_id(tea, "Toppings")}"',
                          sheet)) == 4
    assert "(pick up to 3)" in sheet and "(pick 1-2)" in sheet
    assert 'data-max="3"' in sheet and 'data-min="1"' in sheet
    assert 'data-step="-1"' in sheet and 'data-step="1"' in sheet  # the -/+ stepper
    # every field has a label
    for field_id in re.findall(r'<input id="([^"]+)"', sheet):
        assert f'for="{field_id}"' in sheet, field_id


def test_the_guest_adds_toppings_and_the_cart_shows_them_together(app, tea_house):
    shop, table, tea = tea_house
    phone = seated(app, shop, table)
    response = phone.post(f"/s/{shop.slug}/cart/items", headers=HX, data=MultiDict([
        ("product_id", str(tea.id)), ("quantity", "2"),
        *choices(tea, Toppings=["Pearls", "Jelly"], Base="Oat")]))
    assert response.status_code == 200, response.text
    panel = phone.get(f"/s/{shop.slug}/cart", headers=HX).text
    assert "Toppings: Pearls (+$0.50) + Jelly (+$0.50)" in panel
    assert "$7.60" in panel  # 2 x (2.00 + .50 + .50 + .50 + .30)


def test_the_guest_server_refuses_more_toppings_than_allowed(app, tea_house):
    shop, table, tea = tea_house
    phone = seated(app, shop, table)
    response = phone.post(f"/s/{shop.slug}/cart/items", headers=HX, data=MultiDict([
        ("product_id", str(tea.id)),
        *choices(tea, Toppings=["Pearls", "Jelly", "Pudding", "Foam"], Base="Oat")]))
    assert response.status_code == 422
    assert "Pick at most 3 for Toppings." in response.text
    response = phone.post(f"/s/{shop.slug}/cart/items", headers=HX, data=MultiDict([
        ("product_id", str(tea.id)), *choices(tea, Toppings=["Pearls"])]))
    assert response.status_code == 422 and "Pick at least 1 for Base." in response.text
    assert db.session.scalars(select(CartItem)).first() is None


def test_the_cart_flags_a_line_whose_topping_was_deleted(app, tea_house):
    shop, table, tea = tea_house
    phone = seated(app, shop, table)
    phone.post(f"/s/{shop.slug}/cart/items", headers=HX, data=MultiDict([
        ("product_id", str(tea.id)), *choices(tea, Toppings=["Pearls"], Base="Oat")]))
    menu_admin.delete_option(db.session, shop, menu_admin.load_option(
        db.session, shop, option_id(tea, "Toppings", "Pearls")))
    db.session.commit()
    panel = phone.get(f"/s/{shop.slug}/cart", headers=HX).text
    assert "The choices for Milk Tea changed on the menu. Remove it and add it again." in panel
    refused = phone.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "sheet-key-000000001"})
    assert refused.status_code == 409 and "changed on the menu" in refused.text


def test_the_pos_uses_the_same_sheet_and_the_same_rules(app, tea_house):
    shop, _, tea = tea_house
    till = cashier(app, shop)
    page = till.get(f"/s/{shop.slug}/pos/").text
    assert f"/pos/products/{tea.id}/sheet" in page  # a product with choices opens the sheet
    sheet = till.get(f"/s/{shop.slug}/pos/products/{tea.id}/sheet", headers=HX).text
    assert "data-option-sheet" in sheet and "(pick up to 3)" in sheet
    assert add_button_price(sheet) == "$2.50"
    assert 'hx-target="#pos-ticket"' in sheet
    url = f"/s/{shop.slug}/pos/ticket/items"
    too_many = till.post(url, headers=HX, data=MultiDict([
        ("product_id", str(tea.id)),
        *choices(tea, Toppings=["Pearls", "Jelly", "Pudding", "Foam"], Base="Milk")]))
    assert too_many.status_code == 422 and "Pick at most 3 for Toppings." in too_many.text
    bad_key = till.post(url, headers=HX, data=MultiDict([("product_id", str(tea.id)),
                                                          ("group-999999", "1")]))
    assert bad_key.status_code == 400
    assert "That choice is not available for this item." in bad_key.text
    ticket = till.post(url, headers=HX, data=MultiDict([
        ("product_id", str(tea.id)), ("quantity", "2"),
        *choices(tea, Toppings=["Jelly", "Pearls"], Base="Milk")]))
    assert ticket.status_code == 200
    assert re.search(r'class="ticket-name">Milk Tea<.*?class="ticket-qty"[^>]*>2<', ticket.text,
                     re.S)  # the till's line: name, then the -/+ stepper (issue 14)
    assert "Size: Regular, Toppings: Pearls + Jelly, Base: Milk" in ticket.text
    assert "$7.00" in ticket.text  # 2 x (2.00 + .50 + .50 + .50)
    full = till.get(f"/s/{shop.slug}/pos/products/{tea.id}/sheet")
    assert full.status_code == 200 and "<html" in full.text and "data-option-sheet" in full.text
