"""The menu editor's other paths: a product is duplicated with its options, gets a Khmer name
and description, every menu edit path moves the menu version (the guest menu, product sheet
and product caches are keyed on it), every save says "Saved." and stays on its page, and the
staff "New PIN" field is masked (docs/options.md, docs/admin.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import AuditLog, Product, Shop
from tests.factories import group_id, make_product, make_shop, option_id
from tests.settings.test_option_editor import base, fresh, saved, version
from tests.settings.test_settings_pages import make_owner, owner_login


@pytest.fixture
def owned(app, ctx):
    shop = make_shop("paths-cafe", name="Paths Cafe")
    client = app.test_client()
    owner_login(client, shop, make_owner(shop))
    tea = make_product(shop, "Milk Tea", "2.00", name_km="តែទឹកដោះគោ", description="Sweet",
                       options={"Size": [("Small", "0"), ("Large", "1.00")],
                                "Toppings": [("Pearls", "0.50"), ("Jelly", "0.50")]})
    return shop, client, tea


def test_a_product_is_duplicated_with_its_live_options(owned):
    shop, client, tea = owned
    # a deleted option and a multi-select rule must come across as they are
    client.post(f"{base(shop)}/options/{option_id(tea, 'Toppings', 'Jelly')}/delete")
    client.post(f"{base(shop)}/groups/{group_id(tea, 'Toppings')}", data={
        "name": "Toppings", "kind": "multi", "min_choices": "0", "max_choices": "2"})
    before = version(shop)
    response = client.post(f"{base(shop)}/products/{tea.id}/duplicate")
    assert response.status_code == 303
    copy_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert copy_id != tea.id
    copy = fresh(copy_id)
    page = saved(client, response, copy)
    assert "Milk Tea (copy)" in page
    assert version(shop) > before
    original = fresh(tea.id)
    assert copy.name_km == "តែទឹកដោះគោ" and copy.description == "Sweet"
    assert copy.price == Decimal("2.00") and copy.category_id == original.category_id
    shape = lambda p: [(g.name, g.kind, g.min_choices, g.max_choices,  # noqa: E731
                        [(o.name, o.extra_price, o.is_default) for o in g.options])
                       for g in p.option_groups]
    assert shape(copy) == shape(original)
    assert [o.name for g in copy.option_groups for o in g.options] == [
        "Small", "Large", "Pearls"]
    # separate rows: editing the copy leaves the original alone
    assert not {o.id for g in copy.option_groups for o in g.options} & {
        o.id for g in original.option_groups for o in g.options}
    large = option_id(copy, "Size", "Large")
    client.post(f"{base(shop)}/options/{large}", data={"name": "Huge", "extra": "2"})
    assert [o.name for o in fresh(tea.id).option_groups[0].options] == ["Small", "Large"]
    assert db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action == "menu.product_copied")) == 1


def test_duplicating_another_shops_or_a_deleted_product_is_404(owned):
    shop, client, tea = owned
    other = make_shop("paths-other")
    theirs = make_product(other, "Their Tea", "1.00", options={"Size": [("S", "0")]})
    count = db.session.scalar(select(func.count(Product.id)))
    assert client.post(f"{base(shop)}/products/{theirs.id}/duplicate").status_code == 404
    assert client.post(f"{base(shop)}/products/999999/duplicate").status_code == 404
    client.post(f"{base(shop)}/products/{tea.id}/delete")
    assert client.post(f"{base(shop)}/products/{tea.id}/duplicate").status_code == 404
    assert client.get(f"{base(shop)}/products/{tea.id}/duplicate").status_code == 405
    assert client.post(f"{base(shop)}/products/{tea.id}/duplicate",
                       csrf=False).status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Product.id))) == count


def test_a_product_gets_a_khmer_name_and_description_and_stays_on_its_page(owned):
    shop, client, tea = owned
    response = client.post(f"{base(shop)}/products/{tea.id}", data={
        "name": "Milk Tea", "name_km": "តែដោះគោទឹកកក", "price": "2.25",
        "description": "Iced", "description_km": "តែដោះគោត្រជាក់"})
    page = saved(client, response, tea)
    assert "តែដោះគោទឹកកក" in page and "តែដោះគោត្រជាក់" in page
    product = fresh(tea.id)
    assert product.name_km == "តែដោះគោទឹកកក" and product.description_km == "តែដោះគោត្រជាក់"


def _paths(shop, tea):
    size, tops = group_id(tea, "Size"), group_id(tea, "Toppings")
    small, large = option_id(tea, "Size", "Small"), option_id(tea, "Size", "Large")
    menu = base(shop)
    return [
        (f"{menu}/products/{tea.id}", {"name": "Tea", "name_km": "តែ", "price": "2",
                                       "description_km": "ឆ្ងាញ់"}),
        (f"{menu}/products/{tea.id}/duplicate", {}),
        (f"{menu}/products/{tea.id}/groups", {"name": "Ice", "name_km": "ទឹកកក"}),
        (f"{menu}/groups/{size}", {"name": "Cup", "name_km": "ពែង"}),
        (f"{menu}/groups/{tops}/move", {"direction": "up"}),
        (f"{menu}/groups/{tops}/delete", {}),
        (f"{menu}/groups/{size}/options", {"name": "Medium", "extra": "0.50"}),
        (f"{menu}/options/{large}", {"name": "Large", "name_km": "ធំ", "extra": "1.25"}),
        (f"{menu}/options/{large}/move", {"direction": "up"}),
        (f"{menu}/options/{large}/default", {}),
        (f"{menu}/options/{small}/delete", {}),
        # availability hours (docs/availability.md)
        (f"{menu}/products/{tea.id}/hours", {"w0-from": "06:00", "w0-to": "11:00",
                                             "w0-day": "0"}),
        (f"{menu}/categories/{tea.category_id}/hours", {"w0-from": "22:00", "w0-to": "02:00",
                                                        "w0-day": "4"}),
        (f"{menu}/products/{tea.id}/delete", {}),
    ]


@pytest.mark.parametrize("index", range(14))
def test_every_menu_edit_path_moves_the_menu_version_and_says_saved(owned, index):
    shop, client, tea = owned
    path, data = _paths(shop, tea)[index]
    before = version(shop)
    response = client.post(path, data=data)
    assert response.status_code == 303, (path, response.text[:300])
    assert version(shop) == before + 1, path
    assert "Saved." in client.get(response.headers["Location"]).text


def test_another_shops_option_ids_are_404_on_every_edit_path(owned):
    shop, client, tea = owned
    other = make_shop("paths-theirs")
    theirs = make_product(other, "Their Tea", "1.00",
                          options={"Size": [("Small", "0"), ("Large", "1.00")],
                                   "Toppings": [("Pearls", "0.50")]})
    before = db.session.get(Shop, other.id).menu_version
    for path, data in _paths(shop, theirs):
        # the paths name the other shop's ids under this owner's shop
        assert client.post(path, data=data).status_code == 404, path
    db.session.expire_all()
    assert db.session.get(Shop, other.id).menu_version == before


def test_the_new_pin_field_is_masked(owned):
    shop, client, tea = owned
    page = client.get(f"/s/{shop.slug}/settings/staff").text
    field = page[page.index('placeholder="New PIN"') - 200:page.index('placeholder="New PIN"')]
    assert 'type="password"' in field and 'inputmode="numeric"' in field
    assert 'autocomplete="new-password"' in field
