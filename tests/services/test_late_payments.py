"""A payment that arrives late is not lost. Before a guest (or the POS) gets a new QR for an
expired one, the expired md5 is checked with Bakong once more; if that check fails the new QR
is still given and the old md5 stays polled. The poller's last check past the grace period is
recorded, and an outage at that moment does not give the payment up. A payment found by two
checks at once is recorded once, and one md5 that cannot be recorded does not stop the poller
from recording the others."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shopqr.extensions import db
from shopqr.models import Order, Transaction, utcnow
from shopqr.services import payments, poller
from shopqr.services.bakong import CheckResult, CheckStatus, Payment
from shopqr.services.events import get_bus
from tests.services.test_payment_attention import Cafe


@pytest.fixture
def cafe(app, ctx) -> Cafe:
    return Cafe(app)


@pytest.fixture
def recheck(cafe, monkeypatch):
    """The guest's "Get a new QR code" asks the cafe's fake Bakong."""
    monkeypatch.setattr(payments, "recheck_client", lambda config: cafe.bakong, raising=False)
    return cafe.bakong


def count_txns(order_id: int) -> int:
    return db.session.scalar(select(func.count(Transaction.id))
                             .where(Transaction.order_id == order_id))


def new_qr_request(cafe, order_id: int):
    token = cafe.order(order_id).public_token
    return cafe.app.test_client().post(f"/s/{cafe.slug}/orders/{token}/khqr", headers={
        "HX-Request": "true"})


@pytest.mark.parametrize("age", [timedelta(minutes=-15), timedelta(hours=-2)])
def test_a_new_qr_request_finds_a_late_payment_of_the_expired_qr(ctx, cafe, recheck, age):
    """Expired within the grace period (still polled, but not checked yet) or long after it
    (the poller gave it up): either way the guest who paid is not shown a new QR."""
    order_id, md5 = cafe.khqr_order(at=age)
    if age < timedelta(hours=-1):
        assert cafe.poll(later=timedelta(0)) == {md5: "abandoned"}
    recheck.pay(md5, "1.50")
    response = new_qr_request(cafe, order_id)
    assert response.status_code == 200
    assert "Paid" in response.text and "<svg" not in response.text
    order = cafe.order(order_id)
    assert order.payment_status == "paid" and order.kitchen_status == "queued"
    assert count_txns(order_id) == 1
    txn = cafe.txn(md5)
    assert txn.status == "paid" and txn.counts_for_order and txn.last_result == "paid"


def test_a_new_qr_after_a_not_found_recheck(ctx, cafe, recheck):
    order_id, md5 = cafe.khqr_order(at=timedelta(minutes=-15))
    response = new_qr_request(cafe, order_id)
    assert response.status_code == 200 and "<svg" in response.text
    assert recheck.calls == [md5]
    assert count_txns(order_id) == 2
    old = cafe.txn(md5)
    assert old.status == "superseded" and old.last_result == "not_found"
    # Asking again while the new QR is fresh changes nothing and asks Bakong nothing.
    assert new_qr_request(cafe, order_id).status_code == 200
    assert recheck.calls == [md5] and count_txns(order_id) == 2


@pytest.mark.parametrize("trouble", ["timeout", "no client", "raises"])
def test_when_the_recheck_fails_the_guest_still_gets_a_qr_and_the_old_md5_stays_polled(
        ctx, cafe, monkeypatch, trouble):
    order_id, md5 = cafe.khqr_order(at=timedelta(hours=-2))
    assert cafe.poll(later=timedelta(0)) == {md5: "abandoned"}
    if trouble == "timeout":
        cafe.bakong.fail = CheckStatus.TIMEOUT
        monkeypatch.setattr(payments, "recheck_client", lambda config: cafe.bakong, raising=False)
    elif trouble == "no client":
        monkeypatch.setattr(payments, "recheck_client", lambda config: None, raising=False)
    else:
        class Broken:
            def check_transaction_by_md5(self, md5):
                raise RuntimeError("boom")
        monkeypatch.setattr(payments, "recheck_client", lambda config: Broken(), raising=False)
    response = new_qr_request(cafe, order_id)
    assert response.status_code == 200 and "<svg" in response.text
    assert count_txns(order_id) == 2
    old = cafe.txn(md5)
    assert old.status == "superseded" and old.last_error
    # The poller keeps asking about the old md5 and finds the payment when Bakong answers.
    cafe.bakong.fail = None
    cafe.bakong.pay(md5, "1.50")
    assert cafe.poll(later=timedelta(minutes=2))[md5] == "paid"
    assert cafe.order(order_id).payment_status == "paid"


def test_the_real_client_for_the_recheck_has_a_short_timeout(app):
    client = payments.recheck_client(app.config)
    assert client is not None and client.timeout[0] <= 2 and client.timeout[1] <= 3
    app.config.update(BAKONG_SIMULATOR=False, BAKONG_API_URL=None)
    assert payments.recheck_client(app.config) is None


@pytest.mark.parametrize("answer,outcome,status", [
    ("not_found", "abandoned", "abandoned"),
    ("paid", "paid", "paid"),
    ("timeout", "error", "pending"),
])
def test_the_last_check_after_the_grace_period_is_recorded(ctx, cafe, answer, outcome, status):
    order_id, md5 = cafe.khqr_order()
    give_up = cafe.txn(md5).give_up_at
    if answer == "paid":
        cafe.bakong.pay(md5, "1.50")
    elif answer == "timeout":
        cafe.bakong.fail = CheckStatus.TIMEOUT
    now = give_up + timedelta(seconds=1)
    report = poller.poll_once(cafe.app, "p1", client=cafe.bakong, now=now)
    assert report.outcomes == {md5: outcome}
    txn = cafe.txn(md5)
    assert txn.status == status and txn.last_checked_at == now and txn.check_count == 1
    assert txn.last_result == answer
    if answer == "timeout":  # an outage at the last check is not "nothing was paid"
        cafe.bakong.fail = None
        cafe.bakong.pay(md5, "1.50")
        later = poller.poll_once(cafe.app, "p1", client=cafe.bakong,
                                 now=now + timedelta(minutes=5))
        assert later.outcomes == {md5: "paid"}
        assert db.session.get(Order, order_id).payment_status == "paid"


def test_an_outage_that_never_ends_gives_up_eventually(cafe):
    _order_id, md5 = cafe.khqr_order()
    cafe.bakong.fail = CheckStatus.SERVER_ERROR
    give_up = cafe.txn(md5).give_up_at
    late = give_up + payments.FINAL_ERROR_WINDOW + timedelta(seconds=1)
    assert poller.poll_once(cafe.app, "p1", client=cafe.bakong, now=late).outcomes == {
        md5: "abandoned"}


def test_the_guest_page_says_an_expired_qr_is_still_being_checked_and_gets_bakong_nothing(
        cafe, recheck):
    order_id, md5 = cafe.khqr_order(at=timedelta(minutes=-15))
    token = cafe.order(order_id).public_token
    guest = cafe.app.test_client()
    page = guest.get(f"/s/{cafe.slug}/orders/{token}").text
    assert "This QR code has expired." in page and "still checking it" in page
    status = guest.get(f"/s/{cafe.slug}/orders/{token}/status", headers={"HX-Request": "true"})
    assert "still checking it" in status.text
    assert recheck.calls == []  # a GET asks Bakong nothing and changes nothing
    cashier_page = cafe.pos(f"/orders/{order_id}")
    assert "still checking it" in cashier_page


def test_a_used_qr_is_not_shown_again_when_the_order_waits_for_payment_again(ctx, cafe, recheck):
    """A wrong amount refunded: the order waits again, and its paid QR is not offered."""
    order_id, md5 = cafe.khqr_order()
    cafe.bakong.pay(md5, "1.00")
    cafe.poll()
    assert cafe.resolve(cafe.txn(md5).id, "refunded", "Sent $1 back").status_code == 303
    token = cafe.order(order_id).public_token
    page = cafe.app.test_client().get(f"/s/{cafe.slug}/orders/{token}").text
    assert "This QR code was already used." in page and 'data-md5="' not in page
    recheck.calls.clear()
    response = new_qr_request(cafe, order_id)
    assert response.status_code == 200 and 'data-md5="' in response.text
    assert recheck.calls == []  # the used QR is not asked about again
    assert count_txns(order_id) == 2


def test_a_payment_found_by_two_checks_at_once_is_recorded_once(cafe, app, ctx):
    """The poller and a guest's "new QR" recheck find the same payment at the same moment:
    the one that records it second sees it was recorded, and flags nothing."""
    order_id, md5 = cafe.khqr_order()
    txn_id = cafe.txn(md5).id
    with Session(db.engine) as other:  # another process, which read the row before
        stale = other.get(Transaction, txn_id)
        assert stale.paid_at is None
        cafe.bakong.pay(md5, "1.50")
        assert cafe.poll() == {md5: "paid"}
        result = CheckResult(CheckStatus.PAID, md5, Payment(
            hash=f"hash-{md5[:12]}", from_account="guest@abaa", to_account=None,
            currency="USD", amount=Decimal("1.50")))
        outcome = payments.apply_result(other, get_bus(app), stale, result, utcnow())
        other.commit()
    assert outcome == "duplicate"
    txn = cafe.txn(md5)
    assert txn.status == "paid" and txn.attention is None and txn.counts_for_order
    assert cafe.order(order_id).payment_status == "paid"


def test_one_md5_that_cannot_be_recorded_does_not_hold_up_the_others(cafe, monkeypatch):
    first_order, first = cafe.khqr_order()
    second_order, second = cafe.khqr_order()
    cafe.bakong.pay(first, "1.50")
    cafe.bakong.pay(second, "1.50")
    real = payments.apply_result

    def broken_for_the_first(db_, bus, txn, result, now):
        if txn.md5 == first:
            raise RuntimeError("a bug while recording")
        return real(db_, bus, txn, result, now)

    monkeypatch.setattr(payments, "apply_result", broken_for_the_first)
    for _tick in range(2):  # the broken one is first in line on every tick
        outcomes = cafe.poll()
    assert cafe.order(second_order).payment_status == "paid"
    assert outcomes.get(first, "failed") == "failed"
    stuck = cafe.txn(first)
    assert stuck.status == "pending" and stuck.last_error.startswith("recording the answer")
    monkeypatch.setattr(payments, "apply_result", real)
    assert cafe.poll(later=timedelta(minutes=2)) == {first: "paid"}
    assert cafe.order(first_order).payment_status == "paid"
