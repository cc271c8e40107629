"""KHQR payments end to end over real HTTP on loopback: checkout, KHQR, the simulator pays,
the poller sees it. Also mismatches, outages, late payments, and two pollers on one database."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import Order, PollerLease, Transaction
from shopqr.services import payments, poller
from shopqr.services.events import get_bus
from shopqr.services.khqr import describe, verify_khqr
from tests.conftest import build_app
from tests.factories import group_id, make_product, make_shop, make_table, option_id


def place_khqr_order(client, shop, *, method: str = "khqr") -> Order:
    """A guest scans, adds two large lattes and checks out; returns the order."""
    table = make_table(shop)
    product = make_product(shop, "Latte", "2.25", options={"Size": [("Small", "0"),
                                                                    ("Large", "0.50")]})
    client.get(f"/s/{shop.slug}/t/{table.qr_token}")
    client.post(f"/s/{shop.slug}/cart/items", data={
        "product_id": product.id, "quantity": "2",
        f"group-{group_id(product, 'Size')}": option_id(product, "Size", "Large"),
    })
    response = client.post(f"/s/{shop.slug}/checkout",
                           data={"method": method, "checkout_key": "key-" + "x" * 20})
    assert response.status_code == 303, response.data
    order = db.session.scalar(select(Order).where(Order.shop_id == shop.id))
    assert order is not None
    return order


def txn_of(order: Order) -> Transaction:
    """The order's newest transaction as the database has it now (the poller commits in its
    own session)."""
    db.session.expire_all()
    txn = payments.latest_transaction(db.session, order)
    assert txn is not None
    return txn


def sim_pay(live_server, md5: str, amount: str, currency: str = "USD") -> None:
    response = requests.post(f"{live_server.url}/_bakong/pay", timeout=10,
                             json={"md5": md5, "amount": amount, "currency": currency})
    assert response.status_code == 200, response.text


def sim_fault(live_server, mode: str, count: int, delay: float = 0) -> None:
    response = requests.post(f"{live_server.url}/_bakong/faults", timeout=10,
                             json={"mode": mode, "count": count, "delay_seconds": delay})
    assert response.status_code == 200, response.text


def sim_checks(live_server, md5: str) -> int:
    calls = requests.get(f"{live_server.url}/_bakong/calls", params={"md5": md5}, timeout=10)
    return sum(1 for c in calls.json() if c["endpoint"] == "check_transaction_by_md5")


def tick_when_due(app, holder: str, order: Order, **kwargs) -> poller.TickReport:
    db.session.expire_all()
    txn = txn_of(db.session.get(Order, order.id))
    return poller.poll_once(app, holder, now=txn.next_check_at, **kwargs)


def test_khqr_checkout_stores_a_dynamic_qr_for_the_exact_total(client, app, ctx):
    shop = make_shop()
    order = place_khqr_order(client, shop)
    txn = txn_of(order)
    assert order.total == Decimal("5.50")
    assert verify_khqr(txn.qr_string)
    info = describe(txn.qr_string)
    assert info["amount"] == Decimal("5.50")
    assert info["currency"] == "USD"
    assert info["bill_number"] == order.number
    assert info["dynamic"] is True
    assert info["account_id"] == shop.bakong_account_id
    assert 0 < (txn.expires_at - txn.created_at).total_seconds() <= 600
    assert txn.md5 == hashlib.md5(txn.qr_string.encode()).hexdigest()
    page = client.get(f"/s/{shop.slug}/orders/{order.public_token}")
    assert b"<svg" in page.data and order.total.to_eng_string().encode() in page.data
    assert txn.qr_string.encode() in page.data  # the copyable string for phones


def test_riel_shop_gets_a_whole_riel_khqr(client, app, ctx):
    shop = make_shop(currency="KHR")
    table = make_table(shop)
    product = make_product(shop, "Iced coffee", "7500")
    client.get(f"/s/{shop.slug}/t/{table.qr_token}")
    client.post(f"/s/{shop.slug}/cart/items", data={"product_id": product.id, "quantity": "2"})
    client.post(f"/s/{shop.slug}/checkout", data={"method": "khqr", "checkout_key": "k" * 24})
    order = db.session.scalar(select(Order).where(Order.shop_id == shop.id))
    info = describe(txn_of(order).qr_string)
    assert (info["currency"], info["amount"]) == ("KHR", Decimal("15000"))


def test_simulated_payment_is_seen_by_the_poller_and_published(client, app, ctx, live_server):
    shop = make_shop()
    order = place_khqr_order(client, shop)
    txn = txn_of(order)
    with get_bus(app).subscribe(shop.id) as sub:
        assert poller.poll_once(app, "p1").outcomes == {txn.md5: "waiting"}
        sim_pay(live_server, txn.md5, "5.50")
        report = tick_when_due(app, "p1", order)
        assert report.outcomes == {txn.md5: "paid"}
        event = sub.get(timeout=2)
    assert event is not None and event.kind == "order.paid"
    assert event.data["order_id"] == order.id
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.payment_status == "paid" and order.kitchen_status == "queued"
    stored = txn_of(order)
    assert stored.status == "paid" and stored.bakong_hash and stored.bakong_amount == Decimal("5.5")
    page = client.get(f"/s/{shop.slug}/orders/{order.public_token}/status",
                      headers={"HX-Request": "true"})
    assert b"Paid" in page.data and b"<svg" not in page.data


@pytest.mark.parametrize("amount,currency", [("5.49", "USD"), ("5.51", "USD"), ("22550", "KHR")])
def test_wrong_amount_or_currency_flags_the_order_and_does_not_pay_it(
    client, app, ctx, live_server, amount, currency
):
    shop = make_shop()
    order = place_khqr_order(client, shop)
    sim_pay(live_server, txn_of(order).md5, amount, currency)
    with get_bus(app).subscribe(shop.id) as sub:
        report = tick_when_due(app, "p1", order)
        event = sub.get(timeout=2)
    assert list(report.outcomes.values()) == ["mismatch"]
    assert event is not None and event.kind == "order.flagged"
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.payment_status == "mismatch" and order.kitchen_status is None
    txn = txn_of(order)
    assert txn.attention == "due"
    assert txn.attention_reason.startswith("Wrong amount: Bakong reported")


def test_a_fresh_qr_is_checked_every_two_seconds_whatever_the_ticks_jitter(client, app, ctx,
                                                                          live_server):
    """Ticks come every second but each starts a few milliseconds late, by a different amount.
    A check due 2 s after the last one must happen on the second tick after it, not slip to
    the third (3 s) when that tick started a little less late: the guest pays, and the
    barista should see it within about two seconds."""
    shop = make_shop()
    order = place_khqr_order(client, shop)
    md5 = txn_of(order).md5
    first = txn_of(order).next_check_at + timedelta(milliseconds=9)
    assert poller.poll_once(app, "p1", now=first).checked == [md5]
    assert poller.poll_once(app, "p1", now=first + timedelta(seconds=1)).checked == []
    second_tick_later = first + timedelta(seconds=2, milliseconds=-6)
    assert poller.poll_once(app, "p1", now=second_tick_later).checked == [md5]
    assert sim_checks(live_server, md5) == 2


def test_bakong_outage_backs_off_then_recovers_and_nothing_is_lost(client, app, ctx, live_server):
    shop = make_shop()
    order = place_khqr_order(client, shop)
    md5 = txn_of(order).md5
    sim_pay(live_server, md5, "5.50")
    sim_fault(live_server, "500", 2)
    sim_fault(live_server, "429", 1)
    delays = []
    for _ in range(3):
        report = tick_when_due(app, "p1", order)
        assert report.outcomes == {md5: "error"}
        txn = txn_of(order)
        delays.append((txn.next_check_at - txn.last_checked_at).total_seconds())
    assert delays == sorted(delays) and delays[0] < delays[-1]  # backs off
    assert "RATE_LIMITED" in txn_of(order).last_error
    assert tick_when_due(app, "p1", order).outcomes == {md5: "paid"}
    db.session.expire_all()
    assert db.session.get(Order, order.id).payment_status == "paid"


def test_expired_qr_paid_late_is_still_counted(client, app, ctx, live_server):
    shop = make_shop()
    order = place_khqr_order(client, shop)
    old = txn_of(order)
    old_md5, expired_at = old.md5, old.expires_at
    # The guest lets it expire and asks for a new QR; then pays the OLD one from a screenshot.
    new = payments.regenerate(db.session, shop, order, now=expired_at + timedelta(seconds=5),
                              ttl_seconds=600, grace_seconds=1800)
    db.session.commit()
    assert new.md5 != old_md5
    assert db.session.scalar(select(Transaction.status).where(Transaction.md5 == old_md5)) == (
        "superseded")
    sim_pay(live_server, old_md5, "5.50")
    report = poller.poll_once(app, "p1", now=expired_at + timedelta(minutes=20))
    assert report.outcomes[old_md5] == "paid"
    db.session.expire_all()
    assert db.session.get(Order, order.id).payment_status == "paid"


def test_polling_stops_after_the_grace_period(client, app, ctx, live_server):
    shop = make_shop()
    order = place_khqr_order(client, shop)
    txn = txn_of(order)
    report = poller.poll_once(app, "p1", now=txn.give_up_at + timedelta(seconds=1))
    assert report.outcomes == {txn.md5: "abandoned"}
    later = poller.poll_once(app, "p1", now=txn.give_up_at + timedelta(hours=1))
    assert later.checked == []


def test_marking_paid_twice_publishes_once(client, app, ctx, live_server):
    shop = make_shop()
    order = place_khqr_order(client, shop)
    txn = txn_of(order)
    sim_pay(live_server, txn.md5, "5.50")
    with get_bus(app).subscribe(shop.id) as sub:
        assert list(tick_when_due(app, "p1", order).outcomes.values()) == ["paid"]
        # A second process that missed the first answer records the same payment again.
        db.session.expire_all()
        stale = txn_of(order)
        stale.status = "pending"
        db.session.commit()
        assert list(tick_when_due(app, "p1", order).outcomes.values()) == ["duplicate"]
        kinds = []
        while (ev := sub.get(timeout=0.5)) is not None:
            kinds.append(ev.kind)
    assert kinds.count("order.paid") == 1


def test_two_pollers_on_one_database_check_each_md5_once_per_tick(
    client, app, ctx, live_server, database_url
):
    shop = make_shop()
    order = place_khqr_order(client, shop)
    md5 = txn_of(order).md5
    other = build_app(database_url, PUBLIC_BASE_URL=live_server.url)
    now = txn_of(order).next_check_at
    first = poller.poll_once(app, "host-a", now=now)
    second = poller.poll_once(other, "host-b", now=now)
    assert first.leader and not second.leader
    assert first.checked == [md5] and second.checked == []
    assert sim_checks(live_server, md5) == 1
    # host-a dies; once its lease runs out host-b takes over.
    later = now + timedelta(seconds=poller.LEASE_SECONDS + 1)
    assert not poller.poll_once(other, "host-b", now=now + timedelta(seconds=1)).leader
    takeover = poller.poll_once(other, "host-b", now=later)
    assert takeover.leader and takeover.checked == [md5]
    assert db.session.scalar(select(func.count()).select_from(PollerLease)) == 1
    with other.app_context():
        db.engine.dispose()
