"""The shared table cart as a service: merging lines, options, quantities, notes, totals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import CartItem, CartItemOption
from shopqr.services import DomainError, NotFound, cart, hotpath, tables
from shopqr.services.events import EventBus, get_bus
from shopqr.services.hotpath import snapshot as view
from shopqr.services.money import format_money
from tests.factories import group_id, make_product, make_shop, make_table, option_id


def bus() -> EventBus:
    """The app's event bus: cart and checkout changes are announced on it after commit."""
    return get_bus(current_app)


SIZES = {"Size": [("Small", "0"), ("Large", "0.50")]}
SIZES_AND_SUGAR = {**SIZES, "Sugar": [("100%", "0"), ("50%", "0")]}


@pytest.fixture
def shop(app, ctx):
    return make_shop("cart-cafe")


@pytest.fixture
def session(shop):
    table_session = tables.join_or_start(db.session, make_table(shop, "Table 1"))
    db.session.commit()
    return table_session


@pytest.fixture
def latte(shop):
    return make_product(shop, "Latte", "2.50", options=SIZES_AND_SUGAR)


def add(session, product, quantity="1", note=None, **choices):
    """Add with choices given as group name → option name."""
    chosen = {group_id(product, g): option_id(product, g, o) for g, o in choices.items()}
    hotpath.add_item(db.session, bus(), view(session), product.id, chosen, quantity, note)
    db.session.commit()
    return newest_line(session, product)


def newest_line(session, product) -> CartItem:
    """The line an add made or merged into."""
    return db.session.scalars(select(CartItem).where(
        CartItem.session_id == session.id, CartItem.product_id == product.id)
        .order_by(CartItem.id.desc())).first()


def lines(session):
    summary = cart.summarize(db.session, session)
    return [(line.product.name, sorted(o.name for o in line.options), line.item.quantity,
             line.item.note) for line in summary.lines]


def test_identical_lines_merge(session, latte):
    add(session, latte, "1", Size="Large")
    add(session, latte, "2", Size="Large")
    assert lines(session) == [("Latte", ["100%", "Large"], 3, None)]


def test_a_default_choice_merges_with_the_same_explicit_choice(session, latte):
    add(session, latte)
    add(session, latte, Size="Small", Sugar="100%")
    assert lines(session) == [("Latte", ["100%", "Small"], 2, None)]


@pytest.mark.parametrize(("second_choice", "second_note"), [
    ({"Size": "Large"}, None),
    ({"Sugar": "50%"}, None),
    ({}, "no ice"),
])
def test_different_options_or_notes_make_separate_lines(session, latte, second_choice,
                                                        second_note):
    add(session, latte)
    add(session, latte, note=second_note, **second_choice)
    assert len(lines(session)) == 2


def test_notes_are_trimmed_before_merging(session, latte):
    add(session, latte, note="no ice")
    add(session, latte, note="  no ice  ")
    assert lines(session) == [("Latte", ["100%", "Small"], 2, "no ice")]


def test_merging_past_the_line_limit_is_refused(session, latte):
    add(session, latte, "45")
    with pytest.raises(DomainError, match="At most 50"):
        add(session, latte, "6")
    db.session.rollback()
    assert lines(session)[0][2] == 45


def test_the_default_option_of_every_group_is_used_when_none_is_chosen(session, latte):
    item = add(session, latte)
    assert sorted(io.option.name for io in item.options) == ["100%", "Small"]


def test_a_marked_default_wins_over_the_first_option(session, shop):
    product = make_product(shop, "Tea", "1.00", options={"Size": [("S", "0"), ("M", "0.25")]})
    product.option_groups[0].options[0].is_default = False
    product.option_groups[0].options[1].is_default = True
    db.session.commit()
    item = add(session, product)
    assert [io.option.name for io in item.options] == ["M"]
    assert cart.summarize(db.session, session).total == Decimal("1.25")


def test_a_chosen_option_is_kept(session, latte):
    item = add(session, latte, Size="Large", Sugar="50%")
    assert sorted(io.option.name for io in item.options) == ["50%", "Large"]


def test_an_option_of_another_product_is_rejected(session, shop, latte):
    mocha = make_product(shop, "Mocha", "3.00", options={"Size": [("Huge", "1.00")]})
    chosen = {group_id(latte, "Size"): option_id(mocha, "Size", "Huge")}
    with pytest.raises(DomainError, match="Please pick a valid Size"):
        hotpath.add_item(db.session, bus(), view(session), latte.id, chosen, "1", None)


def test_an_option_of_another_group_of_the_same_product_is_rejected(session, latte):
    chosen = {group_id(latte, "Size"): option_id(latte, "Sugar", "50%")}
    with pytest.raises(DomainError, match="valid Size"):
        hotpath.add_item(db.session, bus(), view(session), latte.id, chosen, "1", None)


def test_a_group_of_another_product_is_rejected(session, shop, latte):
    mocha = make_product(shop, "Mocha", "3.00", options={"Size": [("Huge", "1.00")]})
    chosen = {group_id(mocha, "Size"): option_id(mocha, "Size", "Huge")}
    with pytest.raises(DomainError, match="not available for this item"):
        hotpath.add_item(db.session, bus(), view(session), latte.id, chosen, "1", None)


def test_two_options_of_one_group_are_impossible(session, latte):
    both = [option_id(latte, "Size", "Small"), option_id(latte, "Size", "Large")]
    with pytest.raises(DomainError, match="Pick one Size"):
        hotpath.add_item(db.session, bus(), view(session), latte.id,
                         {group_id(latte, "Size"): both}, "1", None)
    item = add(session, latte, Size="Large")
    groups = [io.option.group_id for io in item.options]
    assert len(groups) == len(set(groups)) == 2  # exactly one option per group
    assert db.session.scalar(select(func.count()).select_from(CartItemOption)) == 2


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", 1), (" 3 ", 3), ("50", 50), ("007", 7), (12, 12),
])
def test_quantities_that_parse(raw, expected):
    assert cart.parse_quantity(raw) == expected


@pytest.mark.parametrize("raw", [
    "0", "-1", "1.5", "abc", "", " ", "51", "1e3", "+1", "0x10", "²", "\u0663", "１",
    None, "9" * 40,
])
def test_quantities_that_are_refused(raw):
    with pytest.raises(DomainError, match="whole number from 1 to 50"):
        cart.parse_quantity(raw)


def test_zero_is_allowed_only_where_it_means_remove():
    assert cart.parse_quantity("0", allow_zero=True) == 0
    with pytest.raises(DomainError, match="from 0 to 50"):
        cart.parse_quantity("-1", allow_zero=True)


@pytest.mark.parametrize(("raw", "expected"), [
    (None, None), ("", None), ("   ", None), (" less sugar ", "less sugar"),
    ("n" * 200, "n" * 200), ("ស" * 200, "ស" * 200),
])
def test_notes_that_are_kept(raw, expected):
    assert cart.clean_note(raw) == expected


@pytest.mark.parametrize("raw", ["n" * 201, "ស" * 201])
def test_notes_over_200_characters_are_refused(raw):
    with pytest.raises(DomainError, match="at most 200 characters"):
        cart.clean_note(raw)


def test_a_long_note_is_refused_and_nothing_is_added(session, latte):
    with pytest.raises(DomainError):
        hotpath.add_item(db.session, bus(), view(session), latte.id, {}, "1", "n" * 201)
    db.session.rollback()
    assert lines(session) == []


@pytest.mark.parametrize("product_id", ["abc", "", None, "-1", "0", "99999999999999999999999"])
def test_unknown_product_ids_are_not_found(session, product_id):
    with pytest.raises(NotFound, match="not on the menu"):
        hotpath.add_item(db.session, bus(), view(session), product_id, {}, "1", None)


def test_another_shops_product_is_not_found(session):
    foreign = make_product(make_shop("other-cafe"), "Foreign Tea")
    with pytest.raises(NotFound):
        hotpath.add_item(db.session, bus(), view(session), foreign.id, {}, "1", None)


def test_a_deleted_product_is_not_found_and_a_sold_out_one_is_409(session, shop):
    gone = make_product(shop, "Old Drink", is_deleted=True)
    with pytest.raises(NotFound):
        hotpath.add_item(db.session, bus(), view(session), gone.id, {}, "1", None)
    sold_out = make_product(shop, "Mango Smoothie", is_available=False)
    with pytest.raises(DomainError, match="Mango Smoothie is sold out") as caught:
        hotpath.add_item(db.session, bus(), view(session), sold_out.id, {}, "1", None)
    assert caught.value.status == 409


def test_a_cart_holds_at_most_60_different_lines(session, shop):
    product = make_product(shop, "Water", "0.50")
    for n in range(60):
        hotpath.add_item(db.session, bus(), view(session), product.id, {}, "1", f"bottle {n}")
    db.session.commit()
    with pytest.raises(DomainError, match="at most 60 different items"):
        hotpath.add_item(db.session, bus(), view(session), product.id, {}, "1", "one too many")
    # an identical line still merges into an existing one
    hotpath.add_item(db.session, bus(), view(session), product.id, {}, "1", "bottle 0")
    assert len(lines(session)) == 60


def test_a_full_cart_refuses_a_new_product_and_still_merges_into_its_lines(session, shop):
    """The 60 lines are counted over the whole cart, not only the product being added."""
    water = make_product(shop, "Water", "0.50")
    juice = make_product(shop, "Orange Juice", "2.00")
    for n in range(60):
        hotpath.add_item(db.session, bus(), view(session), water.id, {}, "1", f"bottle {n}")
    db.session.commit()
    with pytest.raises(DomainError, match="at most 60 different items"):
        hotpath.add_item(db.session, bus(), view(session), juice.id, {}, "1", None)
    db.session.rollback()
    hotpath.add_item(db.session, bus(), view(session), water.id, {}, "2", "bottle 7")
    db.session.commit()
    assert len(lines(session)) == 60
    assert ("Water", [], 3, "bottle 7") in lines(session)


def test_set_quantity_note_and_remove(session, latte, shop):
    cake = make_product(shop, "Banana Cake", "1.75")
    item = add(session, latte)
    other = add(session, cake)
    hotpath.set_quantity(db.session, bus(), view(session), item.id, " 4 ")
    hotpath.set_note(db.session, bus(), view(session), other.id, " warm please ")
    db.session.commit()
    assert lines(session) == [("Latte", ["100%", "Small"], 4, None),
                              ("Banana Cake", [], 1, "warm please")]
    hotpath.set_quantity(db.session, bus(), view(session), item.id, "0")  # zero removes the line
    db.session.commit()
    assert [name for name, *_ in lines(session)] == ["Banana Cake"]
    hotpath.remove_item(db.session, bus(), view(session), other.id)
    db.session.commit()
    assert lines(session) == []
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 0


@pytest.mark.parametrize("quantity", ["-1", "51", "abc", ""])
def test_set_quantity_refuses_bad_input_and_keeps_the_line(session, latte, quantity):
    item = add(session, latte, "2")
    with pytest.raises(DomainError):
        hotpath.set_quantity(db.session, bus(), view(session), item.id, quantity)
    assert lines(session)[0][2] == 2


def test_another_sessions_item_is_not_found(session, shop, latte):
    theirs = tables.join_or_start(db.session, make_table(shop, "Table 2"))
    db.session.commit()
    item = add(theirs, latte)
    for action in (lambda: hotpath.set_quantity(db.session, bus(), view(session), item.id, "3"),
                   lambda: hotpath.set_note(db.session, bus(), view(session), item.id, "mine now"),
                   lambda: hotpath.remove_item(db.session, bus(), view(session), item.id)):
        with pytest.raises(NotFound):
            action()
    db.session.expire_all()
    assert lines(theirs) == [("Latte", ["100%", "Small"], 1, None)]


def test_totals_include_option_prices_in_usd(session, latte, shop):
    cake = make_product(shop, "Banana Cake", "1.75")
    add(session, latte, "2", Size="Large")  # 2 x (2.50 + 0.50)
    add(session, cake)  # 1.75
    summary = cart.summarize(db.session, session)
    assert [line.unit_price for line in summary.lines] == [Decimal("3.00"), Decimal("1.75")]
    assert [line.line_total for line in summary.lines] == [Decimal("6.00"), Decimal("1.75")]
    assert summary.total == Decimal("7.75") and summary.count == 3
    assert format_money(summary.total, shop.currency) == "$7.75"


def test_totals_in_riel_are_whole_and_formatted(app, ctx):
    shop = make_shop("riel-cafe", currency="KHR")
    session = tables.join_or_start(db.session, make_table(shop))
    coffee = make_product(shop, "Iced Coffee", "5000",
                          options={"Size": [("Small", "0"), ("Large", "2500")]})
    add(session, coffee, "2", Size="Large")  # 2 x 7500
    summary = cart.summarize(db.session, session)
    assert summary.total == Decimal("15000")
    assert format_money(summary.total, "KHR") == "15,000៛"


def test_the_cart_is_priced_from_the_menu_as_it_is_now(session, latte):
    add(session, latte, Size="Large")
    latte.price = Decimal("2.75")
    latte.option_groups[0].options[1].extra_price = Decimal("0.75")
    db.session.commit()
    assert cart.summarize(db.session, session).total == Decimal("3.50")


def test_the_cart_button_counts_and_prices_like_the_cart(session, shop, latte):
    """The badge query (one row per chosen option) must agree with the full cart."""
    assert hotpath.badge(db.session, session.id) == hotpath.Badge(0, 0, Decimal("0"))
    tea = make_product(shop, "Milk Tea", "1.80", options={
        "Size": [("Small", "0"), ("Large", "0.40")],
        "Topping": [("None", "0"), ("Pearls", "0.35")]})
    cake = make_product(shop, "Banana Cake", "1.75")
    add(session, tea, "3", Size="Large", Topping="Pearls")  # 3 x 2.55
    add(session, latte, "2", Size="Large")  # 2 x 3.00
    add(session, cake)  # 1 x 1.75
    summary = cart.summarize(db.session, session)
    badge = hotpath.badge(db.session, session.id)
    assert (badge.count, badge.total) == (summary.count, summary.total) == (6, Decimal("15.40"))


def test_every_cart_change_is_announced_after_the_commit_only(app, shop, session, latte):
    with get_bus(app).subscribe(shop.id) as sub:

        def heard_after_commit() -> tuple[str, dict]:
            assert sub.get(timeout=0.05) is None  # nothing before the commit
            db.session.commit()
            event = sub.get(timeout=1)
            assert event is not None
            return event.kind, event.data

        hotpath.add_item(db.session, bus(), view(session), latte.id, {}, "1", None)
        db.session.rollback()  # rolled back: nobody hears of it
        hotpath.add_item(db.session, bus(), view(session), latte.id, {}, "1", None)
        heard = [heard_after_commit()]
        item = newest_line(session, latte)
        hotpath.set_quantity(db.session, bus(), view(session), item.id, "3")
        heard.append(heard_after_commit())
        hotpath.set_note(db.session, bus(), view(session), item.id, "hot")
        heard.append(heard_after_commit())
        hotpath.remove_item(db.session, bus(), view(session), item.id)
        heard.append(heard_after_commit())
    assert heard == [("cart.changed", {"table_id": session.table_id})] * 4
