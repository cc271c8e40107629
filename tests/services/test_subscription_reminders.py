"""Subscription reminders, 7 days before the end: a banner on the staff screens, and one
Telegram message per shop and end date when a chat is linked (docs/admin.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import Shop, TelegramMessage, utcnow
from shopqr.services import telegram
from shopqr.services.numbering import business_date
from tests.factories import make_shop, make_staff, run_together, sign_in_staff
from tests.services.test_telegram import Fake, link, rows, run, telegram_settings


@pytest.fixture
def app_settings() -> dict[str, object]:
    return telegram_settings()


def _today():
    return business_date(utcnow())


@pytest.mark.parametrize("days,shown", [(8, False), (7, True), (3, True), (0, True)])
def test_the_pos_and_kitchen_show_a_reminder_in_the_last_week(app, ctx, client, days, shown):
    shop = make_shop(f"remind-{days}", subscription_expires_on=_today() + timedelta(days=days))
    cashier = make_staff(shop, "cashier", "481516")
    sign_in_staff(client, cashier)
    for screen in ("pos", "kitchen"):
        html = client.get(f"/s/{shop.slug}/{screen}/").text
        assert ('id="renewal-notice"' in html) is shown, screen
        if shown:
            end = (_today() + timedelta(days=days)).isoformat()
            assert end in html and ("ends today" in html if days == 0 else
                                    f"in {days} days" in html)


def test_the_reminder_is_translated(app, ctx, client):
    shop = make_shop("remind-km", subscription_expires_on=_today() + timedelta(days=2))
    cashier = make_staff(shop, "cashier", "481516")
    sign_in_staff(client, cashier)
    client.set_cookie(app.config["LANG_COOKIE_NAME"], "km")
    html = client.get(f"/s/{shop.slug}/pos/").text
    assert 'id="renewal-notice"' in html and "shopqr subscription" not in html


@pytest.fixture
def fake(app, live_server) -> Fake:
    return Fake(live_server.url)


def test_a_linked_shop_gets_one_telegram_reminder_per_end_date(app, ctx, fake):
    shop = make_shop("remind-tg", name="Remind Cafe",
                     subscription_expires_on=_today() + timedelta(days=20))
    other = make_shop("remind-tg-other", subscription_expires_on=_today() + timedelta(days=2))
    link(app, shop, fake)
    run(app)
    run(app)
    assert not [m for m in fake.messages() if "subscription" in m]  # 20 days: nothing yet
    shop = db.session.get(Shop, shop.id)
    shop.subscription_expires_on = _today() + timedelta(days=6)
    db.session.commit()
    for _ in range(3):
        run(app)
    reminders = [m for m in fake.messages() if "subscription" in m]
    assert len(reminders) == 1 and "Remind Cafe" in reminders[0] and "in 6 days" in reminders[0]
    # renewed, then close to the new end again: one more
    shop = db.session.get(Shop, shop.id)
    shop.subscription_expires_on = _today() + timedelta(days=5)
    db.session.commit()
    run(app)
    run(app)
    assert len([m for m in fake.messages() if "subscription" in m]) == 2
    # a shop without a linked chat gets none (only the staff screens show it)
    assert rows(other.id) == []


def test_parallel_jobs_queue_a_reminder_once(app, ctx, fake):
    shop = make_shop("remind-par", subscription_expires_on=_today() + timedelta(days=1))
    link(app, shop, fake)
    db.session.execute(TelegramMessage.__table__.delete().where(
        TelegramMessage.kind == "subscription"))
    db.session.commit()

    def queue(n: int) -> int:
        return telegram.queue_subscription_reminders(db.session, utcnow())

    run_together(app, 24, queue)
    assert db.session.scalar(select(func.count(TelegramMessage.id)).where(
        TelegramMessage.kind == "subscription")) == 1
