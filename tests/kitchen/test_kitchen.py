"""The kitchen screen: only paid orders, moving them along, undo and recall, other shops."""

from __future__ import annotations

from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import AuditLog, Order, TableSession
from shopqr.services import tables
from tests.factories import (
    make_order,
    make_product,
    make_shop,
    make_staff,
    make_table,
    sign_in_staff,
)


def kitchen_client(app, shop, role="barista", pin="271828"):
    client = app.test_client()
    sign_in_staff(client, make_staff(shop, role, pin), pin)
    return client


def test_kitchen_shows_paid_orders_only(app, ctx):
    shop = make_shop()
    latte = make_product(shop, "Latte", options={"Size": [("Small", "0"), ("Large", "0.50")]})
    paid = make_order(shop, latte, 2, paid=True)
    pending = make_order(shop, make_product(shop, "Unpaid Mocha"), 1)
    page = kitchen_client(app, shop).get(f"/s/{shop.slug}/kitchen/")
    assert page.status_code == 200
    assert f'id="kitchen-order-{paid.id}"'.encode() in page.data
    assert b"Latte" in page.data and b"Small" in page.data  # lines with their options
    assert f"kitchen-order-{pending.id}".encode() not in page.data
    assert b"Unpaid Mocha" not in page.data
    assert b"new-order.wav" in page.data and b'ws-connect="/s/' in page.data


def test_kitchen_requires_sign_in(client, app, ctx):
    shop = make_shop()
    response = client.get(f"/s/{shop.slug}/kitchen/")
    assert response.status_code == 303 and "/staff/" in response.headers["Location"]


def test_order_moves_through_the_kitchen_and_the_guest_sees_it(app, ctx):
    shop = make_shop()
    order = make_order(shop, make_product(shop), paid=True)
    kitchen = kitchen_client(app, shop)
    guest = app.test_client()
    steps = [("queued", "Preparing"), ("preparing", "Ready"), ("ready", "Served")]
    for current, label in steps:
        response = kitchen.post(f"/s/{shop.slug}/kitchen/orders/{order.id}/advance",
                                data={"from": current}, headers={"HX-Request": "true"})
        assert response.status_code == 200
        # only what changed: the card (removed, or put back in its place), the counters and
        # the recall list, never the whole board
        assert b'id="kitchen-board"' not in response.data
        assert f'id="kitchen-order-{order.id}" hx-swap-oob="delete"'.encode() in response.data
        assert b'id="kitchen-summary"' in response.data
        status = guest.get(f"/s/{shop.slug}/orders/{order.public_token}/status")
        assert label.encode() in status.data
    db.session.expire_all()
    done = db.session.get(Order, order.id)
    assert done.kitchen_status == "served" and done.served_at and done.ready_at
    moves = db.session.scalars(select(AuditLog).where(AuditLog.action == "kitchen.move")).all()
    assert [m.detail for m in moves] == ["queued -> preparing", "preparing -> ready",
                                         "ready -> served"]


def test_two_screens_tapping_the_same_card_move_it_once(app, ctx):
    shop = make_shop()
    order = make_order(shop, make_product(shop), paid=True)
    one, two = kitchen_client(app, shop), kitchen_client(app, shop, "cashier", "161803")
    url = f"/s/{shop.slug}/kitchen/orders/{order.id}/advance"
    assert one.post(url, data={"from": "queued"}).status_code == 303
    second = two.post(url, data={"from": "queued"})
    assert second.status_code == 409
    db.session.expire_all()
    assert db.session.get(Order, order.id).kitchen_status == "preparing"


def test_undo_and_recall_last_served(app, ctx):
    shop = make_shop()
    order = make_order(shop, make_product(shop), paid=True)
    kitchen = kitchen_client(app, shop)
    base = f"/s/{shop.slug}/kitchen"
    kitchen.post(f"{base}/orders/{order.id}/advance", data={"from": "queued"})
    kitchen.post(f"{base}/orders/{order.id}/back", data={"from": "preparing"})
    db.session.expire_all()
    assert db.session.get(Order, order.id).kitchen_status == "queued"
    assert kitchen.post(f"{base}/orders/{order.id}/back", data={"from": "queued"}).status_code \
        == 409
    for status in ("queued", "preparing", "ready"):
        kitchen.post(f"{base}/orders/{order.id}/advance", data={"from": status})
    assert kitchen.post(f"{base}/recall").status_code == 303
    db.session.expire_all()
    assert db.session.get(Order, order.id).kitchen_status == "ready"


def test_line_done_ticks(app, ctx):
    shop = make_shop()
    order = make_order(shop, make_product(shop), paid=True)
    kitchen = kitchen_client(app, shop)
    line = order.lines[0]
    kitchen.post(f"/s/{shop.slug}/kitchen/lines/{line.id}/toggle")
    db.session.expire_all()
    assert db.session.get(type(line), line.id).done is True


def test_other_shops_orders_are_404_in_the_kitchen(app, ctx):
    mine, theirs = make_shop(), make_shop()
    foreign = make_order(theirs, make_product(theirs), paid=True)
    foreign_line = foreign.lines[0].id
    kitchen = kitchen_client(app, mine)
    base = f"/s/{mine.slug}/kitchen"
    assert kitchen.post(f"{base}/orders/{foreign.id}/advance").status_code == 404
    assert kitchen.post(f"{base}/orders/{foreign.id}/back").status_code == 404
    assert kitchen.post(f"{base}/lines/{foreign_line}/toggle").status_code == 404
    db.session.expire_all()
    assert db.session.get(Order, foreign.id).kitchen_status == "queued"


def test_serving_the_last_order_ends_the_table_session(app, ctx):
    shop = make_shop()
    table = make_table(shop)
    session = tables.join_or_start(db.session, table)
    db.session.commit()
    order = make_order(shop, make_product(shop), table=table, paid=True)
    order.session_id = session.id
    db.session.commit()
    kitchen = kitchen_client(app, shop)
    for status in ("queued", "preparing", "ready"):
        kitchen.post(f"/s/{shop.slug}/kitchen/orders/{order.id}/advance", data={"from": status})
    db.session.expire_all()
    assert db.session.get(TableSession, session.id).is_active is False


def _kitchen_refusals(app, shop, lang):
    """Another screen moved the card first (a toast, htmx), nothing served to recall, an order
    that is not in the kitchen (full pages)."""
    order = make_order(shop, make_product(shop), paid=True)
    one, two = kitchen_client(app, shop), kitchen_client(app, shop, pin="161803")
    if lang:
        two.set_cookie("shopqr_lang", lang)
    base = f"/s/{shop.slug}/kitchen"
    assert one.post(f"{base}/orders/{order.id}/advance", data={"from": "queued"}).status_code \
        == 303
    clash = two.post(f"{base}/orders/{order.id}/advance", data={"from": "queued"},
                     headers={"HX-Request": "true"})
    assert clash.status_code == 409 and clash.headers["HX-Retarget"] == "#toast"
    recall = two.post(f"{base}/recall")
    missing = two.post(f"{base}/orders/{order.id + 1000}/advance")
    assert (recall.status_code, missing.status_code) == (409, 404)
    return clash.text, recall.text, missing.text


def test_kitchen_messages_in_khmer(app, ctx, khmer):
    clash, recall, missing = _kitchen_refusals(app, make_shop(), "km")
    assert khmer["Sorry"] in clash
    assert khmer["Someone else already moved this order."] in clash
    assert khmer["No served order to recall."] in recall
    assert khmer["Order not found."] in missing
    for english, text in [("Someone else", clash), ("No served order", recall),
                          ("Order not found", missing)]:
        assert english not in text


def test_kitchen_messages_in_english_are_unchanged(app, ctx):
    clash, recall, missing = _kitchen_refusals(app, make_shop(), None)
    assert "Sorry:</strong> Someone else already moved this order." in clash
    assert "No served order to recall." in recall
    assert "Order not found." in missing


def test_a_card_line_names_the_guest_whose_phone_ordered_it(app, ctx):
    """docs/phones.md: a phone that gave a name ("Dara") has it on the kitchen card's lines, so
    the runner knows who gets what; a phone without a name adds nothing."""
    from shopqr.models import TableSessionPhone

    shop = make_shop()
    table = make_table(shop, "T5")
    session = tables.join_or_start(db.session, table)
    db.session.flush()
    dara = TableSessionPhone(session_id=session.id, seq=1, token="a" * 43, name="Dara")
    nameless = TableSessionPhone(session_id=session.id, seq=2, token="b" * 43)
    db.session.add_all([dara, nameless])
    db.session.flush()
    order = make_order(shop, make_product(shop, "Iced Latte"), paid=True, table=table)
    other = make_order(shop, make_product(shop, "Mocha"), paid=True, table=table)
    order.lines[0].phone_id, other.lines[0].phone_id = dara.id, nameless.id
    db.session.commit()
    page = kitchen_client(app, shop).get(f"/s/{shop.slug}/kitchen/").get_data(as_text=True)
    card = page.split(f'id="kitchen-order-{order.id}"')[1].split("</article>")[0]
    assert "Iced Latte" in card and "· Dara" in card
    nameless_card = page.split(f'id="kitchen-order-{other.id}"')[1].split("</article>")[0]
    assert "Mocha" in nameless_card and "line-who" not in nameless_card
