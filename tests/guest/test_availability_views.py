"""Availability hours end to end (docs/availability.md): the owner sets a category's or a
product's hours; outside them the guest's menu, product sheet and the POS till show "from
6:00" and refuse to add it, checkout refuses a cart line that left its hours (409, the cart
kept), in the shop's time zone; the clock moving past a boundary changes what the cached menu
shows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from shopqr.extensions import db
from shopqr.models import AuditLog, CartItem, Category, Order, Product, Shop
from shopqr.services import availability
from tests.factories import make_product, make_shop, make_staff, make_table, sign_in_staff
from tests.settings.test_settings_pages import make_owner, owner_login

HX = {"HX-Request": "true"}
MONDAY = datetime(2026, 11, 30)  # local (Asia/Phnom_Penh, UTC+7)
ALL_DAYS = [("w0-day", str(d)) for d in range(7)]


@pytest.fixture
def clock(monkeypatch):
    """``clock(hour, minute=0, days=0)``: the shop's local time is now that time of the Monday
    ``days`` later (the hours' rule reads the clock through ``availability.utcnow``)."""
    def move(hour: int, minute: int = 0, days: int = 0) -> None:
        local = MONDAY + timedelta(days=days, hours=hour, minutes=minute)
        monkeypatch.setattr(availability, "utcnow", lambda: local - timedelta(hours=7))
    return move


@pytest.fixture
def cafe(app, ctx):
    """A shop with a Breakfast category (an omelette) and a cake outside it, an owner signed in
    on ``owner``, a table."""
    shop = make_shop("hours-cafe", name="Hours Cafe")
    breakfast = Category(shop_id=shop.id, name="Breakfast", name_km="អាហារពេលព្រឹក")
    db.session.add(breakfast)
    db.session.commit()
    omelette = make_product(shop, "Omelette", "3.00", category=breakfast)
    cake = make_product(shop, "Banana Cake", "1.75")
    owner = app.test_client()
    owner_login(owner, shop, make_owner(shop))
    return shop, breakfast, omelette, cake, owner, make_table(shop, "Table 5")


def version(shop) -> int:
    db.session.expire_all()
    return db.session.get(Shop, shop.id).menu_version


def set_breakfast_hours(owner, shop, breakfast, start="06:00", end="11:00"):
    response = owner.post(f"/s/{shop.slug}/settings/menu/categories/{breakfast.id}/hours",
                          data=MultiDict([("w0-from", start), ("w0-to", end), *ALL_DAYS]))
    assert response.status_code == 303, response.text
    return response


def phone_at(app, shop, table):
    phone = app.test_client()
    assert phone.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    return phone


def add(phone, shop, product):
    return phone.post(f"/s/{shop.slug}/cart/items", headers=HX,
                      data={"product_id": product.id, "quantity": "1"})


def card(html: str, product) -> str:
    start = html.index(f'id="product-{product.id}"')
    return html[start:html.index("</article>", start)]


def cart_names() -> list[str]:
    db.session.expire_all()
    return [i.product.name for i in db.session.scalars(select(CartItem).order_by(CartItem.id))]


def test_the_owner_sets_hours_stays_on_the_page_and_the_menu_version_moves(cafe):
    shop, breakfast, omelette, _, owner, _ = cafe
    before = version(shop)
    response = set_breakfast_hours(owner, shop, breakfast)
    assert response.headers["Location"].endswith("/settings/menu")
    page = owner.get(response.headers["Location"]).text
    assert "Saved." in page and "6:00–11:00" in page
    assert 'value="06:00"' in page and 'value="11:00"' in page
    assert version(shop) == before + 1
    assert db.session.get(Category, breakfast.id).schedule == "0600-1100/1111111"
    # a product's own hours, two windows, weekdays only, one past midnight
    response = owner.post(f"/s/{shop.slug}/settings/menu/products/{omelette.id}/hours",
                          data=MultiDict([
                              ("w0-from", "07:00"), ("w0-to", "09:30"),
                              *[("w0-day", str(d)) for d in range(5)],
                              ("w1-from", "22:00"), ("w1-to", "01:00"), ("w1-day", "5")]))
    assert response.headers["Location"].endswith(f"/settings/menu/products/{omelette.id}")
    page = owner.get(response.headers["Location"]).text
    assert "Saved." in page and "7:00–9:30 Mon Tue Wed Thu Fri, 22:00–1:00 Sat" in page
    assert version(shop) == before + 2
    assert db.session.get(Product, omelette.id).schedule == \
        "0700-0930/1111100;2200-0100/0000010"
    assert db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action.like("menu.%_hours"))) == 2
    # every row empty: always available again
    owner.post(f"/s/{shop.slug}/settings/menu/products/{omelette.id}/hours", data={})
    assert db.session.get(Product, omelette.id).schedule is None


def test_bad_hours_say_every_problem_at_once_and_change_nothing(cafe):
    shop, breakfast, _, _, owner, _ = cafe
    before = version(shop)
    response = owner.post(f"/s/{shop.slug}/settings/menu/categories/{breakfast.id}/hours",
                          data=MultiDict([("w0-from", "25:00"), ("w0-to", "11:00"), ("w0-day", "1"),
                                ("w1-from", "08:00"), ("w1-to", "08:00")]))
    assert response.status_code == 422
    assert "Hours 1: type the start" in response.text
    assert "Hours 2: the start and the end must differ" in response.text
    assert "Hours 2: tick at least one day" in response.text
    assert version(shop) == before
    assert db.session.get(Category, breakfast.id).schedule is None


def test_another_shops_owner_cannot_set_hours_here(app, cafe):
    shop, breakfast, omelette, _, _, _ = cafe
    other = make_shop("hours-other")
    intruder = app.test_client()
    owner_login(intruder, other, make_owner(other))
    for path in (f"categories/{breakfast.id}/hours", f"products/{omelette.id}/hours"):
        response = intruder.post(f"/s/{other.slug}/settings/menu/{path}",
                                 data=MultiDict([("w0-from", "06:00"), ("w0-to", "07:00"),
                                                 *ALL_DAYS]))
        assert response.status_code == 404
        # and not through this shop's URL without its owner's sign-in
        assert intruder.post(f"/s/{shop.slug}/settings/menu/{path}",
                             data={}).status_code in (302, 303, 401, 403)
    db.session.expire_all()
    assert db.session.get(Category, breakfast.id).schedule is None
    assert db.session.get(Product, omelette.id).schedule is None


def test_outside_its_hours_the_guest_sees_from_6_and_cannot_add(app, cafe, clock):
    shop, breakfast, omelette, cake, owner, table = cafe
    set_breakfast_hours(owner, shop, breakfast)
    phone = phone_at(app, shop, table)
    clock(5, 30)
    menu = phone.get(f"/s/{shop.slug}/menu").text
    assert "from 6:00" in card(menu, omelette) and "closed" in card(menu, omelette)
    assert "from" not in card(menu, cake)
    assert f'id="cat-hours-{breakfast.id}">from 6:00<' in menu.replace(
        ' class="category-hours closed"', "")
    sheet = phone.get(f"/s/{shop.slug}/menu/products/{omelette.id}", headers=HX).text
    assert "from 6:00" in sheet and "disabled" in sheet and "/cart/items" not in sheet
    refused = add(phone, shop, omelette)
    assert refused.status_code == 409
    assert "Omelette is not served now (from 6:00)" in refused.text
    assert cart_names() == []
    assert add(phone, shop, cake).status_code == 200
    # the window opens: the same menu version, yet the cached page changes with the clock
    clock(6, 0)
    menu = phone.get(f"/s/{shop.slug}/menu").text
    assert "from 6:00" not in menu and "closed" not in card(menu, omelette)
    sheet = phone.get(f"/s/{shop.slug}/menu/products/{omelette.id}", headers=HX).text
    assert "/cart/items" in sheet and "from 6:00" not in sheet
    assert add(phone, shop, omelette).status_code == 200
    # and closes: tomorrow's breakfast
    clock(11, 0)
    menu = phone.get(f"/s/{shop.slug}/menu").text
    assert "from tomorrow 6:00" in card(menu, omelette)
    assert add(phone, shop, omelette).status_code == 409
    assert cart_names() == ["Banana Cake", "Omelette"]


def test_open_menus_hear_of_a_window_opening(app, cafe, clock):
    shop, breakfast, omelette, _, owner, table = cafe
    set_breakfast_hours(owner, shop, breakfast)
    phone = phone_at(app, shop, table)
    clock(5, 0)
    stamp = availability.closed_now(db.session, shop.id).stamp(version(shop))
    assert f'data-version="{stamp}"' in phone.get(f"/s/{shop.slug}/menu").text
    assert phone.get(f"/s/{shop.slug}/menu/changes?v={stamp}").status_code == 204
    clock(6, 5)
    changes = phone.get(f"/s/{shop.slug}/menu/changes?v={stamp}")
    assert changes.status_code == 200
    assert f'id="product-{omelette.id}"' in changes.text and "from 6:00" not in changes.text
    fresh = availability.closed_now(db.session, shop.id).stamp(version(shop))
    assert fresh != stamp and f'data-version="{fresh}"' in changes.text


def test_a_window_past_midnight_and_a_product_inside_its_categorys_hours(app, cafe, clock):
    shop, breakfast, omelette, cake, owner, table = cafe
    owner.post(f"/s/{shop.slug}/settings/menu/products/{cake.id}/hours",
               data=MultiDict([("w0-from", "22:00"), ("w0-to", "02:00"), *ALL_DAYS]))
    set_breakfast_hours(owner, shop, breakfast)
    owner.post(f"/s/{shop.slug}/settings/menu/products/{omelette.id}/hours",
               data=MultiDict([("w0-from", "10:00"), ("w0-to", "14:00"), *ALL_DAYS]))
    phone = phone_at(app, shop, table)
    clock(1, 30, days=1)  # Tuesday 1:30: Monday night's window
    assert add(phone, shop, cake).status_code == 200
    clock(2, 0, days=1)
    refused = add(phone, shop, cake)
    assert refused.status_code == 409 and "(from 22:00)" in refused.text
    clock(7, 0)  # breakfast is open, the omelette's own hours are not yet
    assert "from 10:00" in card(phone.get(f"/s/{shop.slug}/menu").text, omelette)
    assert add(phone, shop, omelette).status_code == 409
    clock(10, 30)
    assert add(phone, shop, omelette).status_code == 200
    clock(11, 30)  # its own hours are open, breakfast is over
    assert "from tomorrow 10:00" in card(phone.get(f"/s/{shop.slug}/menu").text, omelette)


def test_checkout_refuses_an_item_that_left_its_hours_and_keeps_the_cart(app, cafe, clock):
    shop, breakfast, omelette, cake, owner, table = cafe
    set_breakfast_hours(owner, shop, breakfast)
    phone = phone_at(app, shop, table)
    clock(10, 50)
    assert add(phone, shop, omelette).status_code == 200
    assert add(phone, shop, cake).status_code == 200
    panel = phone.get(f"/s/{shop.slug}/cart", headers=HX).text
    assert "Not served now" not in panel
    clock(11, 5)
    # the same cart version, yet the cart panel now says which line left its hours
    panel = phone.get(f"/s/{shop.slug}/cart", headers=HX).text
    assert "Not served now (from tomorrow 6:00): please remove" in panel
    response = phone.post(f"/s/{shop.slug}/checkout",
                          data={"method": "cash", "checkout_key": "k" * 24})
    assert response.status_code == 409
    assert "Omelette is not served now (from tomorrow 6:00)" in response.text
    assert cart_names() == ["Omelette", "Banana Cake"]
    assert db.session.scalar(select(func.count(Order.id))) == 0
    # removing it lets the rest go through
    item = db.session.scalar(select(CartItem).where(CartItem.product_id == omelette.id))
    phone.post(f"/s/{shop.slug}/cart/items/{item.id}/delete", headers=HX)
    done = phone.post(f"/s/{shop.slug}/checkout",
                      data={"method": "cash", "checkout_key": "m" * 24})
    assert done.status_code == 303
    assert db.session.scalar(select(func.count(Order.id))) == 1


def test_khmer_guests_read_the_opening_time_in_khmer(app, cafe, clock, khmer):
    shop, breakfast, omelette, _, owner, table = cafe
    set_breakfast_hours(owner, shop, breakfast)
    phone = phone_at(app, shop, table)
    phone.post(f"/s/{shop.slug}/lang", data={"lang": "km"})
    clock(5, 0)
    menu = phone.get(f"/s/{shop.slug}/menu").text
    expected = khmer["from %(time)s"].replace("%(time)s", "6:00")
    assert expected in card(menu, omelette) and "from 6:00" not in menu
    refused = add(phone, shop, omelette)
    assert refused.status_code == 409 and expected in refused.text


def test_the_pos_till_greys_it_out_and_refuses_it(app, cafe, clock):
    shop, breakfast, omelette, cake, owner, _ = cafe
    set_breakfast_hours(owner, shop, breakfast)
    cashier = app.test_client()
    sign_in_staff(cashier, make_staff(shop, "cashier"))
    clock(5, 0)
    till = cashier.get(f"/s/{shop.slug}/pos/").text
    tile = till[till.index(f'value="{omelette.id}"'):]
    tile = tile[:tile.index("</form>")]
    assert "disabled" in tile and "from 6:00" in tile
    refused = cashier.post(f"/s/{shop.slug}/pos/ticket/items", headers=HX,
                           data={"product_id": omelette.id, "quantity": "1"})
    assert refused.status_code == 409 and "Omelette" in refused.text
    assert cashier.get(f"/s/{shop.slug}/pos/products/{omelette.id}/sheet",
                       headers=HX).status_code == 409
    clock(9, 0)
    assert "from 6:00" not in cashier.get(f"/s/{shop.slug}/pos/").text
    assert cashier.post(f"/s/{shop.slug}/pos/ticket/items", headers=HX,
                        data={"product_id": omelette.id, "quantity": "1"}).status_code == 200
    clock(11, 0)  # the ticket waited too long
    response = cashier.post(f"/s/{shop.slug}/pos/ticket/checkout", headers=HX,
                            data={"method": "cash", "checkout_key": "p" * 24})
    assert response.status_code == 409
    assert "Omelette is not served now" in response.text
    assert db.session.scalar(select(func.count(Order.id))) == 0
