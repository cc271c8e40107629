"""Events reach the live screens only for work that was committed: nothing before the commit,
nothing from a transaction that was rolled back or whose commit failed, even when the same
session commits something else later."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from shopqr.extensions import db
from shopqr.models import Shop
from shopqr.services.events import Event, get_bus, publish_after_commit
from tests.factories import make_shop, make_table


def kinds_received(sub) -> list[str]:
    received = []
    while (ev := sub.get(timeout=0.2)) is not None:
        received.append(ev.kind)
    return received


def test_an_event_goes_out_only_when_its_transaction_commits(app, ctx):
    shop = make_shop()
    bus = get_bus(app)
    with bus.subscribe(shop.id) as sub:
        shop.name = "Renamed Cafe"
        publish_after_commit(db.session, bus, Event(shop.id, "menu.changed", {}))
        assert kinds_received(sub) == []  # not before the commit
        db.session.commit()
        assert kinds_received(sub) == ["menu.changed"]


def test_a_rolled_back_transaction_publishes_nothing_even_after_a_later_commit(app, ctx):
    shop = make_shop()
    bus = get_bus(app)
    with bus.subscribe(shop.id) as sub:
        shop.name = "Never Saved"
        publish_after_commit(db.session, bus, Event(shop.id, "order.paid", {"order_id": 1}))
        db.session.flush()
        db.session.rollback()
        make_table(shop)  # the session's next transaction commits
        assert kinds_received(sub) == []
        assert db.session.get(Shop, shop.id).name != "Never Saved"


def test_a_commit_that_fails_publishes_nothing(app, ctx):
    """The shape of two checkouts racing with one key: the loser's commit fails, it rolls
    back, and its "order.created" must not reach the POS."""
    shop, other = make_shop(), make_shop()
    bus = get_bus(app)
    with bus.subscribe(shop.id) as sub:
        publish_after_commit(db.session, bus, Event(shop.id, "order.created", {"order_id": 1}))
        db.session.add(Shop(slug=other.slug, name="Duplicate", currency="USD"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        make_table(shop)
        assert kinds_received(sub) == []
