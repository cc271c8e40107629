"""The owner's option editor: groups of one choice or several (at least / at most), renamed,
re-priced, re-ordered, deleted and given Khmer names; every save says "Saved", stays on the
product page and moves the menu version (open guest menus and the menu cache follow). Other
shops' groups and options answer 404 and stay as they were."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopqr.extensions import db
from shopqr.models import Option, OptionGroup, Product, Shop
from tests.factories import group_id, make_product, make_shop, make_table, option_id
from tests.settings.test_settings_pages import make_owner, owner_login

HX = {"HX-Request": "true"}


@pytest.fixture
def owned(app, ctx):
    shop = make_shop("editor-cafe", name="Editor Cafe")
    client = app.test_client()
    owner_login(client, shop, make_owner(shop))
    tea = make_product(shop, "Milk Tea", "2.00", options={
        "Size": [("Small", "0"), ("Large", "1.00")],
        "Toppings": [("Pearls", "0.50"), ("Jelly", "0.50"), ("Pudding", "0.75")]})
    return shop, client, tea


def base(shop) -> str:
    return f"/s/{shop.slug}/settings/menu"


def fresh(product_id: int) -> Product:
    db.session.expire_all()
    return db.session.get(Product, product_id)


def version(shop) -> int:
    db.session.expire_all()
    return db.session.get(Shop, shop.id).menu_version


def saved(client, response, product) -> str:
    """The change answered 303 back to the product page, which then says Saved."""
    assert response.status_code == 303, response.text
    assert response.headers["Location"].endswith(f"/settings/menu/products/{product.id}")
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Saved." in page.text
    return page.text


def test_a_multi_select_group_is_created_with_its_rule_and_khmer_name(owned):
    shop, client, tea = owned
    before = version(shop)
    response = client.post(f"{base(shop)}/products/{tea.id}/groups", data={
        "name": "Extras", "name_km": "គ្រឿងបន្ថែម", "kind": "multi", "min_choices": "1",
        "max_choices": "2"})
    page = saved(client, response, tea)
    group = fresh(tea.id).option_groups[-1]
    assert (group.name, group.name_km, group.kind, group.min_choices, group.max_choices) == (
        "Extras", "គ្រឿងបន្ថែម", "multi", 1, 2)
    assert "គ្រឿងបន្ថែម" in page and version(shop) == before + 1


@pytest.mark.parametrize("fields, message", [
    ({"kind": "multi", "min_choices": "3", "max_choices": "2"},
     "At least cannot be more than at most."),
    ({"kind": "multi", "min_choices": "0", "max_choices": "0"}, "At most must be 1 or more."),
    ({"kind": "multi", "min_choices": "x", "max_choices": "2"},
     "At least must be a whole number from 0 to 20."),
    ({"kind": "multi", "min_choices": "0", "max_choices": "21"},
     "At most must be a whole number from 0 to 20."),
    ({"kind": "many"}, "Choose one option or several."),
])
def test_a_bad_rule_is_refused_with_a_message_and_adds_nothing(owned, fields, message):
    shop, client, tea = owned
    response = client.post(f"{base(shop)}/products/{tea.id}/groups",
                           data={"name": "Extras", **fields})
    assert 400 <= response.status_code < 500
    assert message in response.text
    assert [g.name for g in fresh(tea.id).option_groups] == ["Size", "Toppings"]


def test_a_group_is_renamed_and_turned_multi_select(owned):
    shop, client, tea = owned
    toppings = group_id(tea, "Toppings")
    response = client.post(f"{base(shop)}/groups/{toppings}", data={
        "name": "Add-ons", "name_km": "គ្រឿងបន្ថែម", "kind": "multi", "min_choices": "0",
        "max_choices": "3"})
    saved(client, response, tea)
    group = db.session.get(OptionGroup, toppings)
    assert (group.name, group.name_km, group.is_multi, group.max_choices) == (
        "Add-ons", "គ្រឿងបន្ថែម", True, 3)
    assert group.default_option is None  # several choices: nothing preselected


def test_an_option_is_renamed_repriced_and_given_a_khmer_name(app, owned):
    shop, client, tea = owned
    large = option_id(tea, "Size", "Large")
    before = version(shop)
    response = client.post(f"{base(shop)}/options/{large}", data={
        "name": "Big", "name_km": "ធំ", "extra": "1.25"})
    saved(client, response, tea)
    option = db.session.get(Option, large)
    assert (option.name, option.name_km, option.extra_price) == ("Big", "ធំ", Decimal("1.25"))
    assert version(shop) == before + 1
    # a guest's sheet shows the new name and price, in Khmer too
    guest = app.test_client()
    guest.get(f"/s/{shop.slug}/t/{make_table(shop).qr_token}")
    sheet = guest.get(f"/s/{shop.slug}/menu/products/{tea.id}", headers=HX).text
    assert "Big" in sheet and "+$1.25" in sheet
    guest.post(f"/s/{shop.slug}/lang", data={"lang": "km"})
    sheet = guest.get(f"/s/{shop.slug}/menu/products/{tea.id}", headers=HX).text
    assert "ធំ" in sheet and "Big" not in sheet
    bad = client.post(f"{base(shop)}/options/{large}", data={"name": "Big", "extra": "abc"})
    assert bad.status_code == 422 and "Extra price" in bad.text
    assert db.session.get(Option, large).extra_price == Decimal("1.25")


def test_groups_and_options_are_reordered(owned):
    shop, client, tea = owned
    toppings, jelly = group_id(tea, "Toppings"), option_id(tea, "Toppings", "Jelly")
    saved(client, client.post(f"{base(shop)}/groups/{toppings}/move",
                              data={"direction": "up"}), tea)
    saved(client, client.post(f"{base(shop)}/options/{jelly}/move",
                              data={"direction": "up"}), tea)
    tea = fresh(tea.id)
    assert [g.name for g in tea.option_groups] == ["Toppings", "Size"]
    assert [o.name for o in tea.option_groups[0].options] == ["Jelly", "Pearls", "Pudding"]
    # at the top already: nothing moves, still fine
    saved(client, client.post(f"{base(shop)}/groups/{toppings}/move",
                              data={"direction": "up"}), tea)
    assert [g.name for g in fresh(tea.id).option_groups] == ["Toppings", "Size"]


def test_deleted_options_and_groups_leave_the_sheet_and_the_editor(app, owned):
    shop, client, tea = owned
    large, toppings = option_id(tea, "Size", "Large"), group_id(tea, "Toppings")
    before = version(shop)
    saved(client, client.post(f"{base(shop)}/options/{large}/delete"), tea)
    page = saved(client, client.post(f"{base(shop)}/groups/{toppings}/delete"), tea)
    assert version(shop) == before + 2
    assert "Pearls" not in page and 'value="Large"' not in page
    tea = fresh(tea.id)
    assert [(g.name, [o.name for o in g.options]) for g in tea.option_groups] == [
        ("Size", ["Small"])]
    # the rows stay for the carts and orders that point at them, marked deleted
    assert db.session.get(Option, large).is_deleted
    assert db.session.get(OptionGroup, toppings).is_deleted
    # deleting again: they are gone (404), not a 500
    assert client.post(f"{base(shop)}/options/{large}/delete").status_code == 404
    assert client.post(f"{base(shop)}/groups/{toppings}").status_code == 404


def test_a_multi_select_group_has_no_default(owned):
    shop, client, tea = owned
    toppings = group_id(tea, "Toppings")
    client.post(f"{base(shop)}/groups/{toppings}", data={
        "name": "Toppings", "kind": "multi", "min_choices": "0", "max_choices": "2"})
    pearls = option_id(tea, "Toppings", "Pearls")
    response = client.post(f"{base(shop)}/options/{pearls}/default")
    assert response.status_code == 422
    assert "has no default" in response.text


def test_another_shops_groups_and_options_are_404_and_unchanged(owned):
    shop, client, _ = owned
    theirs = make_product(make_shop("their-cafe"), "Their Tea",
                          options={"Toppings": [("Pearls", "0.50"), ("Jelly", "0.50")]})
    group, pearls = theirs.option_groups[0].id, theirs.option_groups[0].options[0].id
    for path, data in [
        (f"/groups/{group}", {"name": "Hacked", "kind": "multi", "max_choices": "5"}),
        (f"/groups/{group}/move", {"direction": "down"}),
        (f"/groups/{group}/options", {"name": "Hacked"}),
        (f"/options/{pearls}", {"name": "Hacked", "extra": "9"}),
        (f"/options/{pearls}/move", {"direction": "down"}),
        (f"/options/{pearls}/delete", {}),
        (f"/groups/{group}/delete", {}),
    ]:
        assert client.post(base(shop) + path, data=data).status_code == 404, path
    db.session.expire_all()
    kept = db.session.get(Product, theirs.id).option_groups[0]
    assert (kept.name, kept.kind, [(o.name, o.extra_price) for o in kept.options]) == (
        "Toppings", "single", [("Pearls", Decimal("0.50")), ("Jelly", Decimal("0.50"))])
