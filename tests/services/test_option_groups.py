"""Option groups: single-choice (exactly one, the default when none is picked) and multi-select
(between at least and at most, no duplicates), checked by the one parser the guest's phone and
the POS share (``cart.form_choices`` + ``cart.choose_options``); cart lines with several
options of one group merge, snapshot and print; lines whose options changed are refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from shopqr.extensions import db
from shopqr.models import CartItem, Order, Product
from shopqr.services import DomainError, cart, checkout, hotpath, menu_admin, tables
from shopqr.services.events import get_bus
from tests.factories import (
    group_id,
    make_product,
    make_shop,
    make_staff,
    make_table,
    option_id,
    run_together,
)

TOPPINGS = [("Pearls", "0.50"), ("Jelly", "0.50"), ("Pudding", "0.75"), ("Foam", "0.75")]


def make_tea(shop, name="Milk Tea"):
    """Size: Small / Regular (+0.50, the default) / Large; Toppings: pick up to 3;
    Base: pick 1-2."""
    tea = make_product(shop, name, "2.00", options={
        "Size": [("Small", "0"), ("Regular", "0.50"), ("Large", "1.00")],
        "Toppings": TOPPINGS,
        "Base": [("Milk", "0"), ("Oat", "0.30"), ("Soy", "0.20")],
    })
    for group in tea.option_groups:
        if group.name == "Size":
            for option in group.options:
                option.is_default = option.name == "Regular"
        elif group.name == "Toppings":
            group.kind, group.min_choices, group.max_choices = "multi", 0, 3
            for option in group.options:
                option.is_default = False
        else:
            group.kind, group.min_choices, group.max_choices = "multi", 1, 2
            for option in group.options:
                option.is_default = False
    db.session.commit()
    return tea


@pytest.fixture
def shop(app, ctx):
    return make_shop("tea-house")


@pytest.fixture
def tea(shop):
    return make_tea(shop)


@pytest.fixture
def session(shop):
    table_session = tables.join_or_start(db.session, make_table(shop, "Table 1"))
    db.session.commit()
    return table_session


def form(tea, **groups) -> MultiDict:
    """A submitted sheet: group name -> option names (a list for several ticked boxes)."""
    pairs = []
    for group, names in groups.items():
        for name in names if isinstance(names, list) else [names]:
            pairs.append((f"group-{group_id(tea, group)}", str(option_id(tea, group, name))))
    return MultiDict(pairs)


def pick(tea, data) -> list[str]:
    return [o.name for o in cart.choose_options(tea, cart.form_choices(data))]


def refused(tea, data, status: int, message: str) -> None:
    with pytest.raises(DomainError) as caught:
        cart.choose_options(tea, cart.form_choices(data))
    assert caught.value.status == status, caught.value.message
    assert message in caught.value.message


# --- the parser ---------------------------------------------------------------------------

def test_repeated_fields_of_a_multi_select_group_are_all_read(tea):
    data = form(tea, Toppings=["Pearls", "Pudding"], Base="Oat")
    assert cart.form_choices(data)[group_id(tea, "Toppings")] == [
        str(option_id(tea, "Toppings", "Pearls")), str(option_id(tea, "Toppings", "Pudding"))]
    # the single-choice default comes first (menu order), then the ticked options
    assert pick(tea, data) == ["Regular", "Pearls", "Pudding", "Oat"]


def test_a_plain_dict_with_one_value_per_group_still_works(tea):
    data = {f"group-{group_id(tea, 'Size')}": str(option_id(tea, "Size", "Large")),
            f"group-{group_id(tea, 'Base')}": str(option_id(tea, "Base", "Milk"))}
    assert pick(tea, data) == ["Large", "Milk"]


def test_a_single_choice_group_uses_its_default_and_takes_exactly_one(tea):
    assert pick(tea, form(tea, Base="Milk")) == ["Regular", "Milk"]
    refused(tea, form(tea, Size=["Small", "Large"], Base="Milk"), 422, "Pick one Size.")


def test_a_multi_select_group_keeps_between_its_minimum_and_maximum(tea):
    assert pick(tea, form(tea, Base="Milk")) == ["Regular", "Milk"]  # toppings: 0 is fine
    assert pick(tea, form(tea, Toppings=["Pearls", "Jelly", "Foam"], Base="Milk"))[1:4] == [
        "Pearls", "Jelly", "Foam"]
    refused(tea, form(tea, Toppings=["Pearls", "Jelly", "Pudding", "Foam"], Base="Milk"), 422,
            "Pick at most 3 for Toppings.")
    refused(tea, form(tea), 422, "Pick at least 1 for Base.")  # Base is required (min 1)
    refused(tea, form(tea, Base=["Milk", "Oat", "Soy"]), 422, "Pick at most 2 for Base.")


def test_the_same_option_twice_is_refused(tea):
    refused(tea, form(tea, Toppings=["Pearls", "Pearls"], Base="Milk"), 400,
            "Pick each Toppings only once.")


@pytest.mark.parametrize("field, value", [
    ("group-999999999", "1"),  # no such group
    ("group-abc", "1"),  # not an id
    ("group-", "1"),
])
def test_unknown_groups_are_a_400(tea, field, value):
    refused(tea, MultiDict([(field, value)]), 400, "That choice is not available for this item.")


def test_options_of_another_product_group_or_shop_are_a_400(shop, tea):
    other = make_tea(shop, "Green Tea")
    theirs = make_tea(make_shop("other-tea"), "Their Tea")
    toppings = f"group-{group_id(tea, 'Toppings')}"
    for foreign in (option_id(other, "Toppings", "Pearls"), option_id(theirs, "Toppings", "Jelly"),
                    option_id(tea, "Size", "Large"), "abc", "-1"):
        refused(tea, MultiDict([(toppings, str(foreign)), (f"group-{group_id(tea, 'Base')}",
                                                           str(option_id(tea, "Base", "Milk")))]),
                400, "Please pick a valid Toppings.")
    refused(tea, MultiDict([(f"group-{group_id(theirs, 'Toppings')}",
                             str(option_id(theirs, "Toppings", "Jelly")))]),
            400, "That choice is not available for this item.")


def test_a_deleted_option_or_group_cannot_be_chosen(shop, tea):
    pearls = option_id(tea, "Toppings", "Pearls")
    menu_admin.delete_option(db.session, shop, menu_admin.load_option(db.session, shop, pearls))
    db.session.commit()
    tea = db.session.get(Product, tea.id)
    refused(tea, form_ids(tea, Toppings=[pearls], Base=[option_id(tea, "Base", "Milk")]), 400,
            "Please pick a valid Toppings.")
    base = group_id(tea, "Base")
    menu_admin.delete_group(db.session, shop, menu_admin.load_group(db.session, shop, base))
    db.session.commit()
    tea = db.session.get(Product, tea.id)
    assert pick(tea, MultiDict()) == ["Regular"]  # Base is gone: nothing required any more
    refused(tea, MultiDict([(f"group-{base}", "1")]), 400,
            "That choice is not available for this item.")


def form_ids(tea, **groups) -> MultiDict:
    return MultiDict([(f"group-{group_id(tea, g)}", str(i)) for g, ids in groups.items()
                      for i in ids])


def test_more_fields_than_any_product_has_are_a_400(tea):
    data = MultiDict([(f"group-{group_id(tea, 'Toppings')}", "1")] * 101)
    with pytest.raises(DomainError) as caught:
        cart.form_choices(data)
    assert caught.value.status == 400


def test_the_sheet_starts_at_the_price_with_the_paid_default(tea):
    assert cart.initial_price(tea) == Decimal("2.50")  # 2.00 + Regular 0.50


# --- the cart, the order snapshot, the kitchen text -----------------------------------------

def add(session, tea, quantity="1", note=None, **groups):
    hotpath.add_item(db.session, get_bus(current_app), hotpath.snapshot(session), tea.id,
                     cart.form_choices(form(tea, **groups)), quantity, note)
    db.session.commit()


def test_the_same_toppings_in_another_order_merge_and_other_toppings_do_not(session, tea):
    add(session, tea, "1", Toppings=["Pearls", "Jelly"], Base="Oat")
    add(session, tea, "2", Toppings=["Jelly", "Pearls"], Base="Oat")
    add(session, tea, "1", Toppings=["Jelly"], Base="Oat")
    summary = cart.summarize(db.session, session)
    assert [(sorted(o.name for o in line.options), line.item.quantity)
            for line in summary.lines] == [
        (["Jelly", "Oat", "Pearls", "Regular"], 3), (["Jelly", "Oat", "Regular"], 1)]
    # 2.00 + Regular .50 + Pearls .50 + Jelly .50 + Oat .30 = 3.80
    assert summary.lines[0].unit_price == Decimal("3.80")
    assert summary.total == Decimal("3.80") * 3 + Decimal("3.30")
    assert hotpath.badge(db.session, session.id).total == summary.total


def test_the_order_snapshots_every_topping_and_prints_them_together(shop, session, tea):
    add(session, tea, "2", Toppings=["Pearls", "Pudding"], Base="Milk", Size="Large")
    order = checkout.checkout(db.session, get_bus(current_app), shop, session, method="cash",
                              checkout_key="tea-checkout-00000001")
    db.session.commit()
    line = order.lines[0]
    assert [(o["group"], o["option"], o["extra"]) for o in line.options] == [
        ("Size", "Large", "1.00"), ("Toppings", "Pearls", "0.50"),
        ("Toppings", "Pudding", "0.75"), ("Base", "Milk", "0.00")]
    assert line.unit_price == Decimal("4.25") and order.total == Decimal("8.50")
    assert line.options_text == "Size: Large, Toppings: Pearls + Pudding, Base: Milk"


def test_a_cart_line_whose_option_was_deleted_is_refused_at_checkout(shop, session, tea):
    add(session, tea, "1", Toppings=["Pearls"], Base="Milk")
    menu_admin.delete_option(db.session, shop, menu_admin.load_option(
        db.session, shop, option_id(tea, "Toppings", "Pearls")))
    db.session.commit()
    summary = cart.summarize(db.session, session)
    assert summary.lines[0].problem == ("The choices for Milk Tea changed on the menu. Remove "
                                        "it and add it again.")
    with pytest.raises(DomainError) as caught:
        checkout.checkout(db.session, get_bus(current_app), shop, session, method="cash",
                          checkout_key="tea-checkout-00000002")
    db.session.rollback()
    assert caught.value.status == 409 and "Milk Tea changed on the menu" in caught.value.message
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 1  # kept to remove


def test_a_cart_line_made_before_a_rule_tightened_is_refused(shop, session, tea):
    add(session, tea, "1", Toppings=["Pearls", "Jelly", "Foam"], Base="Milk")
    group = menu_admin.load_group(db.session, shop, group_id(tea, "Toppings"))
    menu_admin.save_group(db.session, shop, group, name="Toppings", name_km=None, kind="multi",
                          min_choices="0", max_choices="2")
    db.session.commit()
    with pytest.raises(DomainError, match="changed on the menu"):
        checkout.checkout(db.session, get_bus(current_app), shop, session, method="cash",
                          checkout_key="tea-checkout-00000003")
    db.session.rollback()


def test_a_pos_ticket_line_whose_option_was_deleted_is_refused(shop, tea):
    cashier = make_staff(shop, "cashier", "246802")
    options = cart.choose_options(tea, cart.form_choices(form(tea, Toppings=["Jelly"],
                                                              Base="Soy")))
    ticket = [{"p": tea.id, "o": [o.id for o in options], "q": 1, "n": None}]
    menu_admin.delete_option(db.session, shop, menu_admin.load_option(
        db.session, shop, option_id(tea, "Toppings", "Jelly")))
    db.session.commit()
    items = checkout.ticket_items(db.session, shop, ticket)
    assert items[0].problem and "changed on the menu" in items[0].problem
    with pytest.raises(DomainError) as caught:
        checkout.checkout_ticket(
            db.session, get_bus(current_app), shop, ticket, checkout_key="till-key-0000000009",
            method="cash", table_id="", note=None, by=cashier, now=None, ttl_seconds=600,
            grace_seconds=1800)
    db.session.rollback()
    assert caught.value.status == 409
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


@pytest.mark.mariadb
def test_parallel_adds_of_one_multi_option_line_merge_into_one(app, shop, session, tea):
    """24 phones of one table add the same tea with the same toppings at the same instant:
    one cart line of 24, not 24 lines (the adds queue on the table session's row)."""
    session_id, tea_id = session.id, tea.id
    data = form(tea, Toppings=["Pearls", "Foam"], Base="Oat")

    def add_one(n: int) -> int:
        from shopqr.models import TableSession

        mine = hotpath.snapshot(db.session.get(TableSession, session_id))
        hotpath.add_item(db.session, get_bus(current_app), mine, tea_id,
                         cart.form_choices(data), "1", None)
        db.session.commit()
        return n

    assert run_together(app, 24, add_one) == list(range(24))
    db.session.expire_all()
    rows = db.session.scalars(select(CartItem)).all()
    assert [(r.quantity, sorted(o.option.name for o in r.options)) for r in rows] == [
        (24, ["Foam", "Oat", "Pearls", "Regular"])]
