"""Kitchen stations, the rail, all-day counts, late thresholds and per-card socket updates."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import Category, Order, OrderLine, Station
from shopqr.services import kitchen as kitchen_service
from shopqr.services.checkout import OrderItem, create_order
from shopqr.services.events import Event
from tests.factories import make_order, make_product, make_shop, make_staff, sign_in_staff
from tests.kitchen.test_kitchen import kitchen_client
from tests.settings.test_settings_pages import make_owner, owner_login


def two_stations(shop):
    """Bar makes drinks, Kitchen makes food; one order has a latte and a sandwich."""
    bar, kitchen = Station(shop_id=shop.id, name="Bar"), Station(shop_id=shop.id, name="Kitchen")
    drinks = Category(shop_id=shop.id, name="Drinks")
    food = Category(shop_id=shop.id, name="Food")
    db.session.add_all([bar, kitchen, drinks, food])
    db.session.flush()
    drinks.station_id, food.station_id = bar.id, kitchen.id
    latte = make_product(shop, "Latte", category=drinks)
    sandwich = make_product(shop, "Sandwich", category=food)
    order = create_order(db.session, shop, items=[OrderItem(latte, [], 2),
                                                  OrderItem(sandwich, [], 1)],
                         method="cash", key=None, table=None)
    from shopqr.models import utcnow
    order.payment_status, order.kitchen_status, order.paid_at = "paid", "queued", utcnow()
    db.session.commit()
    return bar, kitchen, order


def line_of(order, name):
    return next(line for line in order.lines if line.product_name == name)


def test_a_station_screen_shows_and_ticks_only_its_own_lines(app, ctx):
    shop = make_shop()
    bar, kitchen, order = two_stations(shop)
    screen = kitchen_client(app, shop)
    page = screen.get(f"/s/{shop.slug}/kitchen/?station={bar.id}").text
    card = page[page.index(f'id="kitchen-order-{order.id}"'):]
    assert "Latte" in card and "Sandwich" not in card
    assert "Done: Bar" in card
    everything = screen.get(f"/s/{shop.slug}/kitchen/?station=all").text
    assert "Latte" in everything and "Sandwich" in everything
    # the bar's screen may not tick the kitchen's sandwich
    sandwich = line_of(order, "Sandwich")
    refused = screen.post(f"/s/{shop.slug}/kitchen/lines/{sandwich.id}/toggle?station={bar.id}")
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.get(OrderLine, sandwich.id).done is False


def test_an_order_is_ready_when_every_station_has_finished_its_part(app, ctx):
    shop = make_shop()
    bar, kitchen, order = two_stations(shop)
    screen = kitchen_client(app, shop)
    base = f"/s/{shop.slug}/kitchen"
    assert screen.post(f"{base}/orders/{order.id}/done?station={bar.id}").status_code == 303
    db.session.expire_all()
    assert db.session.get(Order, order.id).kitchen_status == "queued"
    everything = screen.get(f"{base}/").text
    assert "Waiting for: Kitchen" in everything
    sandwich = line_of(order, "Sandwich")
    assert screen.post(f"{base}/lines/{sandwich.id}/toggle?station={kitchen.id}").status_code \
        == 303
    db.session.expire_all()
    assert db.session.get(Order, order.id).kitchen_status == "ready"


def test_another_shops_station_is_404(app, ctx):
    mine, theirs = make_shop(), make_shop()
    their_bar, _, _ = two_stations(theirs)
    screen = kitchen_client(app, mine)
    assert screen.get(f"/s/{mine.slug}/kitchen/?station={their_bar.id}").status_code == 404
    assert screen.get(f"/s/{mine.slug}/kitchen/?station=bogus").status_code == 404


def test_all_day_counts_labels_and_thresholds(app, ctx):
    shop = make_shop(kitchen_warn_minutes=3, kitchen_late_minutes=6)
    latte = make_product(shop, "Latte")
    make_order(shop, latte, 2, paid=True)
    make_order(shop, latte, 3, paid=True)
    counter = make_order(shop, make_product(shop, "Mocha"), 1, paid=True)
    counter.source = "pos"
    db.session.commit()
    page = kitchen_client(app, shop).get(f"/s/{shop.slug}/kitchen/").text
    all_day = page[page.index('class="all-day"'):]
    assert re.search(r"<b>5×</b> Latte", all_day) and re.search(r"<b>1×</b> Mocha", all_day)
    assert f"Counter #{counter.seq}" in page
    assert 'data-warn="3" data-late="6"' in page
    # oldest first on one rail, whatever the status
    rail = re.findall(r'id="kitchen-order-(\d+)"', page)
    assert rail == sorted(rail, key=int)


def test_table_orders_say_table_n(app, ctx):
    from tests.factories import make_table

    shop = make_shop()
    table = make_table(shop, "5")
    order = make_order(shop, make_product(shop), table=table, paid=True)
    assert kitchen_service.order_label(order) == "Table 5"


def test_the_owner_assigns_categories_to_stations_and_sets_thresholds(app, ctx):
    shop = make_shop()
    owner = make_owner(shop)
    client = app.test_client()
    owner_login(client, shop, owner)
    drinks = Category(shop_id=shop.id, name="Drinks")
    db.session.add(drinks)
    db.session.commit()
    base = f"/s/{shop.slug}/settings/kitchen"
    assert client.post(f"{base}/stations", data={"name": "Bar"}).status_code == 303
    assert client.post(f"{base}/stations", data={"name": " "}).status_code == 400
    bar = db.session.scalar(select(Station).where(Station.shop_id == shop.id))
    assert client.post(f"{base}/categories/{drinks.id}", data={"station": bar.id}).status_code \
        == 303
    db.session.expire_all()
    assert db.session.get(Category, drinks.id).station_id == bar.id
    assert client.post(f"{base}/thresholds", data={"warn": "4", "late": "9"}).status_code == 303
    bad = client.post(f"{base}/thresholds", data={"warn": "9", "late": "4"})
    assert bad.status_code == 400 and "Yellow must come before red" in bad.text
    assert client.post(f"{base}/thresholds", data={"warn": "x", "late": "4"}).status_code == 400
    db.session.expire_all()
    assert (shop.kitchen_warn_minutes, shop.kitchen_late_minutes) == (4, 9)
    page = client.get(base).text
    assert "Bar" in page and "Drinks" in page
    # another shop's station or category: 404
    other = make_shop()
    their_bar, _, _ = two_stations(other)
    assert client.post(f"{base}/categories/{drinks.id}",
                       data={"station": their_bar.id}).status_code == 404
    assert client.post(f"{base}/stations/{their_bar.id}/remove").status_code == 404


def test_the_owners_station_changes_show_on_an_open_kitchen_screen_at_once(app, ctx):
    """The board keeps the shop's stations and which one makes each product in a cache under
    the menu's version: adding a station, assigning a category and removing the station must
    each show on the next tap, never the layout of before."""
    shop = make_shop()
    owner = make_owner(shop)
    client = app.test_client()
    owner_login(client, shop, owner)
    drinks, food = Category(shop_id=shop.id, name="Drinks"), Category(shop_id=shop.id, name="Food")
    db.session.add_all([drinks, food])
    db.session.commit()
    order = create_order(db.session, shop, items=[
        OrderItem(make_product(shop, "Latte", category=drinks), [], 1),
        OrderItem(make_product(shop, "Sandwich", category=food), [], 1)],
        method="cash", key=None, table=None)
    from shopqr.models import utcnow
    order.payment_status, order.kitchen_status, order.paid_at = "paid", "queued", utcnow()
    db.session.commit()
    screen = kitchen_client(app, shop)
    kitchen, settings = f"/s/{shop.slug}/kitchen", f"/s/{shop.slug}/settings/kitchen"
    assert "station-picker" not in screen.get(f"{kitchen}/").text  # no stations yet
    for name in ("Bar", "Grill"):
        assert client.post(f"{settings}/stations", data={"name": name}).status_code == 303
    bar, grill = db.session.scalars(select(Station.id).where(Station.shop_id == shop.id)
                                    .order_by(Station.id)).all()
    assert f'data-station="{bar}"' in screen.get(f"{kitchen}/").text
    bar_screen = screen.get(f"{kitchen}/board?station={bar}").text
    assert "Latte" in bar_screen and "Sandwich" in bar_screen  # no category assigned yet
    assert client.post(f"{settings}/categories/{food.id}",
                       data={"station": grill}).status_code == 303
    bar_screen = screen.get(f"{kitchen}/board?station={bar}").text
    assert "Latte" in bar_screen and "Sandwich" not in bar_screen
    # the whole kitchen's screen: the bar's part done, the grill's still waiting
    latte = line_of(order, "Latte")
    assert screen.post(f"{kitchen}/lines/{latte.id}/toggle?station={bar}").status_code == 303
    assert "Waiting for: Grill" in screen.get(f"{kitchen}/").text
    assert client.post(f"{settings}/stations/{grill}/remove").status_code == 303
    after = screen.get(f"{kitchen}/board?station={bar}").text
    assert "Sandwich" in after  # food is made by every station again
    assert f'data-station="{grill}"' not in screen.get(f"{kitchen}/").text


def test_a_barista_cannot_change_kitchen_settings(app, ctx):
    shop = make_shop()
    client = app.test_client()
    sign_in_staff(client, make_staff(shop, "barista", "271828"), "271828")
    response = client.post(f"/s/{shop.slug}/settings/kitchen/stations", data={"name": "Bar"})
    assert response.status_code in (302, 303, 401, 403)
    assert db.session.scalar(select(Station).where(Station.shop_id == shop.id)) is None


@pytest.mark.parametrize("view", ["all", "bar"])
def test_an_event_sends_only_the_changed_card(app, ctx, view):
    from shopqr.kitchen.views import live_board, live_delta

    shop = make_shop()
    bar, _, first = two_stations(shop)
    orders = [make_order(shop, make_product(shop, f"Item {n}"), paid=True) for n in range(30)]
    key = "all" if view == "all" else str(bar.id)
    with app.test_request_context(f"/s/{shop.slug}/kitchen/ws"):
        full = str(live_board(shop, key))
        kitchen_service.advance(db.session, _NoBus(), shop, orders[10].id, by=None,
                                now=orders[10].paid_at)
        db.session.commit()
        delta = str(live_delta(shop, Event(shop.id, "order.status",
                                           {"order_id": orders[10].id, "status": "preparing",
                                            "from": "queued"}), key))
    assert 'id="kitchen-board"' not in delta
    assert len(delta) * 5 < len(full)
    assert f'afterend:#kitchen-order-{orders[9].id}' in delta
    assert delta.count('class="kitchen-card') == 1


class _NoBus:
    def publish(self, ev):  # pragma: no cover - events are not read here
        pass


@pytest.mark.mariadb
def test_stations_ticking_their_last_lines_at_once_make_the_order_ready_once(app, ctx):
    """24 lines over two stations, each ticked by its own request at the same instant: no
    tick is lost, and the order moves to ready exactly once."""
    from shopqr.models import AuditLog, utcnow
    from tests.factories import run_together

    shop = make_shop()
    bar, kitchen = Station(shop_id=shop.id, name="Bar"), Station(shop_id=shop.id, name="Kitchen")
    drinks, food = Category(shop_id=shop.id, name="Drinks"), Category(shop_id=shop.id, name="Food")
    db.session.add_all([bar, kitchen, drinks, food])
    db.session.flush()
    drinks.station_id, food.station_id = bar.id, kitchen.id
    products = [make_product(shop, f"Item {n}", category=drinks if n % 2 else food)
                for n in range(24)]
    order = create_order(db.session, shop, items=[OrderItem(p, [], 1) for p in products],
                         method="cash", key=None, table=None)
    order.payment_status, order.kitchen_status, order.paid_at = "paid", "queued", utcnow()
    db.session.commit()
    lines = [(line.id, bar.id if n % 2 else kitchen.id) for n, line in enumerate(order.lines)]
    cookie = kitchen_client(app, shop).get_cookie("session").value
    slug, order_id = shop.slug, order.id
    db.session.remove()

    def tick(n: int) -> int:
        client = app.test_client()
        client.set_cookie("session", cookie)
        line_id, station_id = lines[n]
        return client.post(f"/s/{slug}/kitchen/lines/{line_id}/toggle"
                           f"?station={station_id}").status_code

    assert run_together(app, 24, tick) == [303] * 24
    assert all(db.session.scalars(select(OrderLine.done)
                                  .where(OrderLine.order_id == order_id)))
    assert db.session.get(Order, order_id).kitchen_status == "ready"
    moves = db.session.scalars(select(AuditLog.detail).join(Order, Order.shop_id ==
                                                              AuditLog.shop_id).where(
        Order.id == order_id, AuditLog.action == "kitchen.move")).all()
    assert moves == ["queued -> ready"]
