"""The kitchen websocket over a real server thread: snapshot, live paid orders, other shops,
refused sockets, and Redis fan-out between two processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import requests
import simple_websocket
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import Order
from shopqr.services import events, poller
from shopqr.services import kitchen as kitchen_service
from shopqr.services.events import Event, get_bus
from shopqr.services.payments import latest_transaction
from tests.conftest import LiveServer, build_app
from tests.factories import (
    make_order,
    make_product,
    make_shop,
    make_staff,
    make_table,
    sign_in_staff,
)

REDIS_URL = os.environ.get("SHOPQR_REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


def staff_cookie(app, shop, role="barista", pin="271828") -> str:
    client = app.test_client()
    sign_in_staff(client, make_staff(shop, role, pin), pin)
    return f"session={client.get_cookie('session').value}"


def connect(server: LiveServer, shop, cookie: str | None) -> simple_websocket.Client:
    url = server.url.replace("http://", "ws://") + f"/s/{shop.slug}/kitchen/ws"
    return simple_websocket.Client.connect(url, headers={"Cookie": cookie} if cookie else {})


def receive_until(ws: simple_websocket.Client, needle: str, timeout: float = 5.0) -> str:
    """Messages until one contains `needle` (fails after `timeout` seconds of silence)."""
    while True:
        message = ws.receive(timeout=timeout)
        assert message is not None, f"no message with {needle!r} within {timeout}s"
        if needle in message:
            return message


def guest_pays_with_khqr(app, server: LiveServer, shop) -> int:
    """A guest orders and pays through the simulator; the poller confirms. Returns order id."""
    guest = app.test_client()
    table = make_table(shop)
    product = make_product(shop, "Iced Latte", "2.75")
    guest.get(f"/s/{shop.slug}/t/{table.qr_token}")
    guest.post(f"/s/{shop.slug}/cart/items", data={"product_id": product.id, "quantity": "1"})
    guest.post(f"/s/{shop.slug}/checkout", data={"method": "khqr", "checkout_key": "q" * 24})
    order = db.session.scalar(select(Order).where(Order.checkout_key == "q" * 24))
    txn = latest_transaction(db.session, order)
    paid = requests.post(f"{server.url}/_bakong/pay", json={"md5": txn.md5, "amount": "2.75"},
                         timeout=10)
    assert paid.status_code == 200
    report = poller.poll_once(app, "kitchen-test", now=txn.next_check_at)
    assert list(report.outcomes.values()) == ["paid"]
    return order.id


@pytest.mark.live
def test_socket_sends_a_snapshot_then_the_paid_order(app, ctx, live_server):
    shop = make_shop()
    earlier = make_order(shop, make_product(shop, "Croissant"), paid=True)
    ws = connect(live_server, shop, staff_cookie(app, shop))
    try:
        snapshot = ws.receive(timeout=5)
        assert 'id="kitchen-board"' in snapshot and 'hx-swap-oob="true"' in snapshot
        assert f"kitchen-order-{earlier.id}" in snapshot
        order_id = guest_pays_with_khqr(app, live_server, shop)
        message = receive_until(ws, f"kitchen-order-{order_id}")
        assert "Iced Latte" in message and 'hx-swap-oob="true"' in message
    finally:
        ws.close()


@pytest.mark.live
def test_another_shops_socket_hears_nothing(app, ctx, live_server):
    mine, other = make_shop(), make_shop()
    ws = connect(live_server, other, staff_cookie(app, other))
    try:
        assert "kitchen-board" in ws.receive(timeout=5)
        guest_pays_with_khqr(app, live_server, mine)
        assert ws.receive(timeout=1.5) is None
    finally:
        ws.close()


@pytest.mark.live
def test_reconnect_gets_a_full_snapshot(app, ctx, live_server):
    shop = make_shop()
    cookie = staff_cookie(app, shop)
    first = connect(live_server, shop, cookie)
    first.receive(timeout=5)
    first.close()
    order = make_order(shop, make_product(shop, "Banana Cake"), paid=True)  # while offline
    second = connect(live_server, shop, cookie)
    try:
        assert f"kitchen-order-{order.id}" in second.receive(timeout=5)
    finally:
        second.close()


@pytest.mark.live
@pytest.mark.parametrize("who", ["nobody", "other-shop"])
def test_unauthorized_socket_is_refused(app, ctx, live_server, who):
    shop, other = make_shop(), make_shop()
    cookie = None if who == "nobody" else staff_cookie(app, other)
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    if cookie:
        headers["Cookie"] = cookie
    response = requests.get(f"{live_server.url}/s/{shop.slug}/kitchen/ws", headers=headers,
                            timeout=10)
    assert response.status_code == 403  # refused before the handshake, not 101


@pytest.mark.live
def test_redis_carries_events_between_processes(database_url, tmp_path):
    """A socket on process A receives an order that process B marked paid."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:  # pragma: no cover - the test script starts Redis
        pytest.fail(f"Redis is needed at {REDIS_URL}: {exc}")
    app = build_app(database_url, REDIS_URL=REDIS_URL)
    with app.app_context():
        from tests.conftest import _empty_all_tables

        _empty_all_tables()
        shop = make_shop()
        order = make_order(shop, make_product(shop, "Mango Smoothie"))
        cookie = staff_cookie(app, shop)
        server = LiveServer(app).start()
        ws = connect(server, shop, cookie)
        try:
            assert "kitchen-board" in ws.receive(timeout=5)
            script = textwrap.dedent(f"""
                from shopqr.extensions import db
                from shopqr.models import Order, utcnow
                from shopqr.services.events import Event, get_bus, publish_after_commit
                from tests.conftest import build_app
                app = build_app({database_url!r}, REDIS_URL={REDIS_URL!r})
                with app.app_context():
                    order = db.session.get(Order, {order.id})
                    order.payment_status = "paid"
                    order.kitchen_status = "queued"
                    order.paid_at = utcnow()
                    event = Event(order.shop_id, "order.paid", {{"order_id": order.id}})
                    publish_after_commit(db.session, get_bus(app), event)
                    db.session.commit()
                    get_bus(app).close()
            """)
            subprocess.run([sys.executable, "-c", script], check=True, timeout=60,
                           cwd=os.getcwd())
            message = receive_until(ws, f"kitchen-order-{order.id}")
            assert "Mango Smoothie" in message
        finally:
            ws.close()
            server.stop()
            app.extensions["shopqr_events"].close()
            _empty_all_tables()
            db.engine.dispose()


# --- one render per event, the kinds the kitchen listens to, and a resync after overflow ---

def count_board_renders(monkeypatch) -> list[int]:
    """Counts the kitchen board renders (one database read of the board each)."""
    renders: list[int] = []
    real = kitchen_service.board

    def counting(*args, **kwargs):
        renders.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(kitchen_service, "board", counting)
    return renders


def paid_order_event(shop, name: str = "Iced Latte") -> tuple[int, Event]:
    order = make_order(shop, make_product(shop, name), paid=True)
    return order.id, Event(shop.id, "order.paid", {"order_id": order.id})


@pytest.mark.live
def test_three_kitchen_screens_of_a_shop_share_one_render_per_event(app, ctx, live_server,
                                                                   monkeypatch):
    shop = make_shop()
    cookie = staff_cookie(app, shop)
    renders = count_board_renders(monkeypatch)
    screens = [connect(live_server, shop, cookie) for _ in range(3)]
    try:
        for ws in screens:
            assert "kitchen-board" in ws.receive(timeout=5)  # each its own snapshot
        renders.clear()
        order_id, event = paid_order_event(shop)
        get_bus(app).publish(event)
        for ws in screens:
            receive_until(ws, f"kitchen-order-{order_id}")
        assert len(renders) == 1
    finally:
        for ws in screens:
            ws.close()


@pytest.mark.live
def test_the_kitchen_ignores_events_it_does_not_show(app, ctx, live_server, monkeypatch):
    """A guest's cart changing is the POS's business: no render, no message to the kitchen."""
    shop = make_shop()
    renders = count_board_renders(monkeypatch)
    ws = connect(live_server, shop, staff_cookie(app, shop))
    try:
        assert "kitchen-board" in ws.receive(timeout=5)
        renders.clear()
        get_bus(app).publish(Event(shop.id, "cart.changed", {"table_id": 1}))
        assert ws.receive(timeout=1.5) is None
        assert renders == []
        order_id, event = paid_order_event(shop)  # while one it shows still arrives
        get_bus(app).publish(event)
        receive_until(ws, f"kitchen-order-{order_id}")
    finally:
        ws.close()


@pytest.mark.live
def test_a_screen_that_fell_behind_resyncs_from_the_database(app, ctx, live_server, monkeypatch):
    """The screen is busy rendering while a burst fills its queue, and the event of a new paid
    order is dropped; the screen must still show that order, from a fresh snapshot."""
    shop = make_shop()
    cookie = staff_cookie(app, shop)
    busy, free = threading.Event(), threading.Event()
    real = kitchen_service.board

    def slow_board(*args, **kwargs):
        board = real(*args, **kwargs)  # read before the order below is paid
        if busy.is_set():
            busy.clear()
            free.wait(timeout=10)
        return board

    monkeypatch.setattr(kitchen_service, "board", slow_board)
    ws = connect(live_server, shop, cookie)
    try:
        assert "kitchen-board" in ws.receive(timeout=5)
        bus = get_bus(app)
        busy.set()
        bus.publish(Event(shop.id, "order.status", {"order_id": 0}))  # the screen is rendering
        deadline = time.monotonic() + 5
        while busy.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not busy.is_set(), "the socket never started its render"
        for n in range(events.QUEUE_SIZE):  # a burst that fills the screen's queue
            bus.publish(Event(shop.id, "cart.changed", {"table_id": n}))
        order_id, paid = paid_order_event(shop, "Mango Smoothie")
        bus.publish(paid)  # no room left: dropped for this screen
        free.set()
        message = receive_until(ws, f"kitchen-order-{order_id}")
        assert "Mango Smoothie" in message
    finally:
        free.set()
        ws.close()
