"""Telegram notifications against the fake Bot API on a real loopback server: linking with a
one-time code, delivery of paid orders, payments needing attention and the daily summary, retry
with back-off, Telegram's 429 retry_after, a timeout, giving up, unlink, the owner's choices,
tenant isolation, and at most once (also 20+ at once on MariaDB)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from shopqr import create_app
from shopqr.extensions import db
from shopqr.models import Order, Shop, TelegramLink, TelegramMessage, User, utcnow
from shopqr.services import DomainError, payments, poller, pos, tables, telegram
from shopqr.services.events import get_bus
from shopqr.services.numbering import SHOP_TZ, UTC
from tests.conftest import _empty_all_tables, build_app, settings_for
from tests.factories import (
    FakeBakong,
    make_order,
    make_product,
    make_shop,
    make_staff,
    make_table,
    open_shift,
    run_together,
)

TOKEN = "123456:fake-token"
CHAT = 700001


def telegram_settings(**extra: object) -> dict[str, object]:
    return {"TELEGRAM_FAKE": True, "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_READ_TIMEOUT": 1.0, **extra}


@pytest.fixture
def app_settings() -> dict[str, object]:
    """The app with the fake Bot API and a bot token (tests/conftest.py's app)."""
    return telegram_settings()


class Fake:
    """The fake Bot API seen from outside, as the person in Telegram and the test's switches."""

    def __init__(self, base: str) -> None:
        self.base = f"{base}/_telegram"

    def press_start(self, code: str, chat_id: int = CHAT) -> None:
        r = requests.post(f"{self.base}/_fake/updates",
                          json={"chat_id": chat_id, "text": f"/start {code}"}, timeout=5)
        assert r.status_code == 200

    def fault(self, mode: str, count: int = 1, **kw: object) -> None:
        r = requests.post(f"{self.base}/_fake/faults", json={"mode": mode, "count": count, **kw},
                          timeout=5)
        assert r.status_code == 200

    def messages(self, chat_id: int | None = CHAT) -> list[str]:
        got = requests.get(f"{self.base}/_fake/messages", timeout=5).json()["messages"]
        return [m["text"] for m in got if chat_id is None or m["chat_id"] == chat_id]

    def sends(self) -> int:
        calls = requests.get(f"{self.base}/_fake/messages", timeout=5).json()["calls"]
        return calls.count("sendMessage")


@pytest.fixture
def fake(app, live_server) -> Fake:
    return Fake(live_server.url)


def run(app, now: datetime | None = None, holder: str = "t1") -> dict:
    report = telegram.tick(app, holder, now=now)
    db.session.expire_all()
    return report


def before_closing() -> datetime:
    """Now, or 21:00 today in Phnom Penh when it is later than that (naive UTC): before the
    default closing time (22:00), so no daily summary goes out with a link's confirmation."""
    now = datetime.now(SHOP_TZ)
    if now.hour >= 21:
        now = now.replace(hour=21, minute=0, second=0, microsecond=0)
    return now.astimezone(UTC).replace(tzinfo=None)


def link(app, shop: Shop, fake: Fake, chat_id: int = CHAT) -> None:
    """Link the shop's chat as the owner does: a code, Start in Telegram, the job reads it."""
    code = telegram.start_link(db.session, shop, "en", utcnow())
    db.session.commit()
    fake.press_start(code, chat_id)
    report = run(app, before_closing())  # whatever the hour the tests run at
    assert report["bound"] == 1
    # No daily summary unless a test asks for it (the job runs at the real time of day)
    db.session.execute(update(TelegramLink).where(TelegramLink.shop_id == shop.id)
                       .values(notify_daily=False))
    db.session.commit()


def rows(shop_id: int) -> list[TelegramMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(TelegramMessage).where(
        TelegramMessage.shop_id == shop_id).order_by(TelegramMessage.id)))


def pay_cash(app, shop: Shop, order: Order) -> None:
    cashier = db.session.scalar(select(User).where(User.shop_id == shop.id,
                                                   User.role == "cashier")) \
        or make_staff(shop, "cashier")
    pos.confirm_cash(db.session, get_bus(app), shop, order.id, usd="20", khr=None, by=cashier,
                     now=utcnow())
    db.session.commit()


@pytest.fixture
def cafe(ctx):
    shop = make_shop("tg-cafe", name="Telegram Cafe")
    table = make_table(shop, "T4")
    tea = make_product(shop, "Tea", "1.50")
    open_shift(shop)  # the drawer is open: cash can be taken (docs/shifts.md)
    return shop, table, tea


def test_a_linked_chat_gets_a_confirmation_then_each_paid_order_once(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    chat = db.session.scalar(select(TelegramLink.chat_id).where(TelegramLink.shop_id == shop.id))
    assert chat == CHAT
    assert "now gets shopqr messages for Telegram Cafe" in fake.messages()[0]

    order = make_order(shop, tea, quantity=2, table=table)
    pay_cash(app, shop, order)
    assert [r.kind for r in rows(shop.id)] == ["linked", "paid"]
    run(app)
    run(app)  # nothing left to send
    texts = fake.messages()
    assert len(texts) == 2
    assert f"#{order.seq}" in texts[1] and order.number in texts[1]
    assert "Table T4" in texts[1] and "$3.00" in texts[1] and "Cash" in texts[1]
    assert [r.status for r in rows(shop.id)] == ["sent", "sent"]


def test_a_khqr_payment_and_a_wrong_amount_reach_the_owner(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    bakong = FakeBakong()
    md5s = []
    for _ in range(2):
        tables.join_or_start(db.session, table)
        order = make_order(shop, tea, method="khqr", table=table)
        txn = payments.create_khqr(db.session, shop, order, now=utcnow(), ttl_seconds=600,
                                   grace_seconds=1800)
        db.session.commit()
        md5s.append((order.seq, txn.md5))
    bakong.pay(md5s[0][1], "1.50")
    bakong.pay(md5s[1][1], "1.00")  # a wrong amount: needs a person
    poller.poll_once(app, "p1", client=bakong, now=utcnow() + timedelta(seconds=5))
    run(app)
    texts = fake.messages()[1:]
    assert len(texts) == 2, texts
    paid = next(t for t in texts if t.startswith("Paid"))
    flagged = next(t for t in texts if t.startswith("Needs attention"))
    assert f"#{md5s[0][0]}" in paid and "KHQR" in paid and "$1.50" in paid
    assert f"#{md5s[1][0]}" in flagged and "Wrong amount" in flagged and "$1.00" in flagged


def test_nothing_is_queued_when_the_change_rolls_back(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    order = make_order(shop, tea, table=table)
    cashier = make_staff(shop, "cashier")
    pos.confirm_cash(db.session, get_bus(app), shop, order.id, usd="5", khr=None, by=cashier,
                     now=utcnow())
    db.session.rollback()
    assert [r.kind for r in rows(shop.id)] == ["linked"]


def test_a_refused_send_is_retried_with_back_off(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    pay_cash(app, shop, make_order(shop, tea, table=table))
    fake.fault("500", count=2)
    now = utcnow()
    run(app, now)
    row = rows(shop.id)[-1]
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == now + timedelta(seconds=10)
    assert "Internal Server Error" in row.last_error
    run(app, now + timedelta(seconds=9))  # not due yet: no call
    assert rows(shop.id)[-1].attempts == 1
    run(app, now + timedelta(seconds=11))  # second attempt fails too: 20 s this time
    row = rows(shop.id)[-1]
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.next_attempt_at == now + timedelta(seconds=11 + 20)
    run(app, now + timedelta(seconds=32))
    assert rows(shop.id)[-1].status == "sent"
    assert len(fake.messages()) == 2  # the confirmation and the order, once


def test_a_429_waits_for_retry_after_and_holds_the_rest_of_the_batch(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    pay_cash(app, shop, make_order(shop, tea, table=table))
    pay_cash(app, shop, make_order(shop, tea, table=table))
    fake.fault("429", retry_after=42)
    sends_before = fake.sends()
    now = utcnow()
    run(app, now)
    first, second = rows(shop.id)[-2:]
    assert first.status == "pending" and first.next_attempt_at == now + timedelta(seconds=42)
    assert "retry after 42" in first.last_error
    assert second.attempts == 0  # not tried while the bot is over the limit
    assert fake.sends() == sends_before + 1
    run(app, now + timedelta(seconds=41))
    assert rows(shop.id)[-2].status == "pending"
    run(app, now + timedelta(seconds=43))
    assert [r.status for r in rows(shop.id)[-2:]] == ["sent", "sent"]
    assert len(fake.messages()) == 3


def test_a_timeout_is_not_resent_because_telegram_may_have_delivered_it(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    pay_cash(app, shop, make_order(shop, tea, table=table))
    fake.fault("slow", delay=2.5)  # longer than TELEGRAM_READ_TIMEOUT (1 s)
    now = utcnow()
    run(app, now)
    row = rows(shop.id)[-1]
    assert row.status == "failed" and "may have delivered it" in row.last_error
    run(app, now + timedelta(hours=1))
    assert len(fake.messages()) == 2  # delivered once (late), never twice


def test_it_gives_up_after_max_attempts_and_the_owner_sees_why(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    pay_cash(app, shop, make_order(shop, tea, table=table))
    fake.fault("500", count=telegram.MAX_ATTEMPTS + 2)
    at = utcnow()
    for _ in range(telegram.MAX_ATTEMPTS + 1):
        run(app, at)
        at += timedelta(minutes=10)  # past each back-off (at most 320 s here)
    row = rows(shop.id)[-1]
    assert row.kind == "paid"
    assert (row.status, row.attempts) == ("failed", telegram.MAX_ATTEMPTS)
    assert "Internal Server Error" in row.last_error


def test_a_chat_that_blocked_the_bot_is_not_retried(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    pay_cash(app, shop, make_order(shop, tea, table=table))
    fake.fault("403")
    run(app)
    row = rows(shop.id)[-1]
    assert (row.status, row.attempts) == ("failed", 1)
    assert "blocked" in row.last_error


def test_unlink_stops_sending_queued_and_new_messages(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    pay_cash(app, shop, make_order(shop, tea, table=table))
    telegram.unlink(db.session, shop, utcnow())
    db.session.commit()
    pay_cash(app, shop, make_order(shop, tea, table=table))
    run(app)
    assert [(r.kind, r.status) for r in rows(shop.id)] == [("linked", "sent"),
                                                           ("paid", "skipped")]
    assert len(fake.messages()) == 1


def test_the_owners_choices_are_respected(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    pay_cash(app, shop, make_order(shop, tea, table=table))  # queued while wanted
    telegram.save_choices(db.session, shop, {"notify_attention": "1", "notify_daily": "1",
                                             "daily_at": "21:30"}, utcnow())
    db.session.commit()
    pay_cash(app, shop, make_order(shop, tea, table=table))  # not wanted: not queued
    run(app)
    # (the daily summary also goes out when the test runs after 21:30 in Phnom Penh)
    assert [(r.kind, r.status) for r in rows(shop.id) if r.kind != "daily"] == [
        ("linked", "sent"), ("paid", "skipped")]


def local(hour: int, minute: int = 0, day: int = 3) -> datetime:
    """A naive-UTC instant at this Phnom Penh time on 2026-12-<day>."""
    return datetime(2026, 12, day, hour, minute, tzinfo=SHOP_TZ).astimezone(UTC) \
        .replace(tzinfo=None)


def test_the_daily_summary_goes_once_a_day_after_closing_time(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    telegram.save_choices(db.session, shop, {"notify_daily": "1", "daily_at": "22:00"},
                          utcnow())
    order = make_order(shop, tea, quantity=3, table=table, paid=True)
    order.created_at = order.paid_at = local(12)
    db.session.commit()
    run(app, local(21, 59))
    assert "daily" not in [r.kind for r in rows(shop.id)]
    run(app, local(22, 0))
    run(app, local(23, 30))
    daily = [r for r in rows(shop.id) if r.kind == "daily"]
    assert [(r.event_key, r.status) for r in daily] == [("2026-12-03", "sent")]
    summary = fake.messages()[-1]
    assert "Telegram Cafe · summary for 2026-12-03" in summary
    assert "Paid orders: 1 · $4.50" in summary
    run(app, local(22, 5, day=4))
    assert [r.event_key for r in rows(shop.id) if r.kind == "daily"] == ["2026-12-03",
                                                                         "2026-12-04"]


def test_a_code_works_once_for_its_own_shop_and_expires(app, fake, ctx):
    a, b = make_shop("tg-a", name="Shop A"), make_shop("tg-b", name="Shop B")
    now = utcnow()
    code_a = telegram.start_link(db.session, a, "en", now)
    code_b = telegram.start_link(db.session, b, "en", now)
    db.session.commit()
    fake.press_start(code_a, 111)
    fake.press_start(code_a, 222)  # someone else with the same link: already used
    fake.press_start("not-a-code", 333)
    run(app)
    chats = dict(db.session.execute(select(TelegramLink.shop_id, TelegramLink.chat_id)).all())
    assert chats == {a.id: 111, b.id: None}
    # Shop B's code, too late
    fake.press_start(code_b, 444)
    run(app, now + telegram.CODE_TTL + timedelta(seconds=1))
    assert db.session.scalar(select(TelegramLink.chat_id).where(
        TelegramLink.shop_id == b.id)) is None
    assert fake.messages(222) == [] and fake.messages(444) == []
    assert "Shop A" in fake.messages(111)[0]


def test_only_one_process_runs_the_job(app, fake, cafe):
    assert run(app, holder="first")["leader"] is True
    assert run(app, holder="second")["leader"] is False


def test_the_fake_bot_api_is_refused_in_production(database_url):
    with pytest.raises(RuntimeError, match="TELEGRAM_FAKE"):
        create_app(settings_for(database_url, SHOPQR_ENV="production", BAKONG_SIMULATOR=False,
                                SECRET_KEY="x" * 40, **telegram_settings()))
    plain = build_app(database_url)
    assert plain.test_client().get(f"/_telegram/bot{TOKEN}/getMe").status_code == 404


@pytest.mark.mariadb
def test_the_same_event_queued_24_times_at_once_is_one_row_sent_once(app, fake, cafe):
    shop, table, tea = cafe
    link(app, shop, fake)
    shop_id = shop.id

    def queue(n: int) -> bool:
        added = telegram.enqueue(db.session, shop_id, "paid", "order:999", f"copy {n}",
                                 utcnow())
        db.session.commit()
        return added

    assert sum(run_together(app, 24, queue)) == 1
    assert db.session.scalar(select(func.count(TelegramMessage.id)).where(
        TelegramMessage.kind == "paid")) == 1

    def send(n: int) -> dict:
        return telegram.send_due(db.session, telegram.client_from_config(app.config), utcnow())

    run_together(app, 24, send)
    assert len(fake.messages()) == 2  # the confirmation and the one copy


def test_the_webhook_binds_a_chat_only_with_the_secret(database_url):
    app = build_app(database_url, **telegram_settings(TELEGRAM_WEBHOOK_SECRET="s3cret-hook"))
    with app.app_context():
        _empty_all_tables()
        shop = make_shop("tg-hook", name="Hook Cafe")
        code = telegram.start_link(db.session, shop, "en", utcnow())
        db.session.commit()
        client = app.test_client()
        update_ = {"update_id": 9, "message": {"message_id": 1, "text": f"/start {code}",
                                               "chat": {"id": 4242, "first_name": "Sokha"}}}
        wrong = client.post("/telegram/webhook", json=update_, csrf=False,
                            headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
        assert wrong.status_code == 403
        assert client.post("/telegram/webhook", data="[", csrf=False, headers={
            "X-Telegram-Bot-Api-Secret-Token": "s3cret-hook"}).status_code == 400
        right = client.post("/telegram/webhook", json=update_, csrf=False,
                            headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-hook"})
        assert right.status_code == 200
        link_ = db.session.scalar(select(TelegramLink).where(TelegramLink.shop_id == shop.id))
        assert (link_.chat_id, link_.chat_title) == (4242, "Sokha")
        assert [r.kind for r in rows(shop.id)] == ["linked"]  # sent later by the job
        _empty_all_tables()
        db.session.remove()
    plain = build_app(database_url, **telegram_settings())
    assert plain.test_client().post("/telegram/webhook", json={}, csrf=False).status_code == 404


def test_the_cli_registers_the_webhook(app, ctx, fake):
    app.config["TELEGRAM_WEBHOOK_SECRET"] = "s3cret-hook"
    result = app.test_cli_runner().invoke(args=["telegram-webhook"])
    assert result.exit_code == 0, result.output
    hook = requests.get(f"{fake.base}/_fake/messages", timeout=5).json()["webhook"]
    assert hook == {"url": f"{app.config['PUBLIC_BASE_URL']}/telegram/webhook",
                    "secret_token": "s3cret-hook"}
    assert run(app)["bound"] == 0  # no getUpdates while the webhook is set


def test_the_platform_admin_sees_the_bot_and_undelivered_messages(app, ctx, fake, cafe,
                                                                   admin_client):
    shop, table, tea = cafe
    link(app, shop, fake)
    telegram.enqueue(db.session, shop.id, "paid", "order:1", "Paid", utcnow())
    db.session.commit()
    fake.fault("403")
    run(app)
    page = admin_client.get("/admin/").text
    assert "Bot @shopqr_fake_bot, updates by polling. Linked shops: 1. Last 24 hours: 1 sent, " \
        "0 waiting, 1 not delivered." in page


def test_bad_updates_and_bad_fake_calls_are_4xx_or_ignored(app, ctx, fake, cafe):
    shop, _table, _tea = cafe
    code = telegram.start_link(db.session, shop, "en", utcnow())
    db.session.commit()
    for bad in [None, [], {"message": "x"}, {"message": {"text": 5, "chat": {"id": 1}}},
                {"message": {"text": f"/start {code}", "chat": {"id": "1"}}},
                {"message": {"text": f"/start {code}", "chat": {"id": True}}},
                {"message": {"text": f"/start {code}", "chat": {"id": 2**70}}},
                {"message": {"text": f"/start {code} extra", "chat": {"id": 1}}},
                {"message": {"text": "/start " + "x" * 500, "chat": {"id": 1}}}]:
        assert telegram.handle_update(db.session, bad, utcnow()) is False
    assert telegram.linked_chat(db.session, shop.id) is None
    for body in [{"mode": "nope"}, {"mode": "429", "count": "many"}, [1, 2]]:
        r = requests.post(f"{fake.base}/_fake/faults", json=body, timeout=5)
        assert r.status_code == 400
    assert requests.post(f"{fake.base}/bot{TOKEN}/sendMessage", json={"chat_id": "x"},
                         timeout=5).status_code == 400
    assert requests.post(f"{fake.base}/botWRONG/getMe", timeout=5).status_code == 401


@pytest.mark.mariadb
def test_24_link_requests_at_once_make_one_row_and_the_last_code_works(app, ctx, fake, cafe):
    shop, _table, _tea = cafe
    shop_id = shop.id

    def ask(n: int) -> str:
        code = telegram.start_link(db.session, db.session.get(Shop, shop_id), "en", utcnow())
        db.session.commit()
        return code

    codes = run_together(app, 24, ask)
    assert db.session.scalar(select(func.count(TelegramLink.id))) == 1
    for code in codes:
        fake.press_start(code)
    assert run(app)["bound"] == 1
    assert telegram.linked_chat(db.session, shop_id).chat_id == CHAT


def test_finished_messages_are_forgotten_after_30_days(app, ctx, fake, cafe):
    shop, _table, _tea = cafe
    now = utcnow()
    for key, status, age in [("old-sent", "sent", 31), ("old-failed", "failed", 31),
                             ("old-pending", "pending", 31), ("new-sent", "sent", 29)]:
        db.session.add(TelegramMessage(shop_id=shop.id, kind="paid", event_key=key, text="x",
                                       status=status, created_at=now - timedelta(days=age),
                                       next_attempt_at=now + timedelta(days=1)))
    db.session.commit()
    assert run(app, now)["pruned"] == 2
    assert sorted(r.event_key for r in rows(shop.id)) == ["new-sent", "old-pending"]
    assert "pruned" not in run(app, now + timedelta(minutes=5))  # hourly


def test_a_refused_get_updates_is_a_warning_not_a_crash(app, ctx, fake, cafe, monkeypatch):
    shop, table, tea = cafe
    link(app, shop, fake)
    fake.fault("500", method="getUpdates", count=2)
    pay_cash(app, shop, make_order(shop, tea, table=table))
    seen: list[str] = []
    monkeypatch.setattr(telegram.log, "warning", lambda fmt, *args: seen.append(fmt % args))
    now = utcnow()
    report = run(app, now)
    assert report["sent"]  # sending goes on
    run(app, now + timedelta(seconds=2))
    assert seen == ["telegram job: bound: Internal Server Error"]  # once, not every tick


def test_paid_message_names_the_table_takeaway_or_counter(app, ctx):
    """The owner's paid-order message says where the order is for: a table, a takeaway order
    from the counter's QR code, or a walk-in POS sale."""
    from shopqr.services.telegram import paid_text
    from tests.factories import make_order, make_product, make_shop, make_table

    shop = make_shop()
    tea = make_product(shop, "Tea", "1.50")
    at_table = make_order(shop, tea, table=make_table(shop, "5"), paid=True)
    takeaway = make_order(shop, tea, paid=True)
    takeaway.source = "takeaway"
    walk_in = make_order(shop, tea, paid=True)
    walk_in.source = "pos"
    with app.test_request_context():
        assert "· Table 5 ·" in paid_text(at_table)
        assert "· Takeaway ·" in paid_text(takeaway)
        assert "· Counter ·" in paid_text(walk_in)


def test_the_shift_close_reaches_the_owner_once_and_only_if_chosen(app, fake, cafe):
    """docs/shifts.md: closing the drawer's shift queues one message, with the drawer's
    expected and counted cash per currency; a second close of the same shift cannot happen,
    and an owner who turned shift messages off gets none."""
    from shopqr.services import shifts

    shop, table, tea = cafe  # the fixture opened a shift (float $0)
    link(app, shop, fake)
    pay_cash(app, shop, make_order(shop, tea, table=table))  # $1.50 paid with $20
    by = db.session.scalar(select(User).where(User.shop_id == shop.id, User.role == "cashier"))
    shifts.close_shift(db.session, get_bus(app), shop, usd="1", khr="0", note=None, by=by,
                       now=utcnow())
    db.session.commit()
    with pytest.raises(DomainError):  # closed already: nothing more to close
        shifts.close_shift(db.session, get_bus(app), shop, usd="1", khr="0", note=None, by=by,
                           now=utcnow())
    db.session.rollback()
    run(app)
    shift_rows = [r for r in rows(shop.id) if r.kind == "shift"]
    assert [r.status for r in shift_rows] == ["sent"]
    text = next(t for t in fake.messages() if t.startswith("Shift closed"))
    assert f"Shift closed by {by.name}" in text
    assert "cash $1.50 (1)" in text
    # $20 in, $18 change handed back (+ 2,100 riel of the $0.50): $2 expected, $1 counted
    assert "Drawer USD: expected $2.00, counted $1.00, difference -$1.00" in text
    assert "Drawer KHR: expected -2,100៛, counted 0៛, difference +2,100៛" in text

    telegram.save_choices(db.session, shop, {"notify_paid": "1", "daily_at": "22:00"},
                          utcnow())
    db.session.commit()
    shifts.open_shift(db.session, get_bus(app), shop, usd="0", khr="0", by=by, now=utcnow())
    shifts.close_shift(db.session, get_bus(app), shop, usd="0", khr="0", note=None, by=by,
                       now=utcnow())
    db.session.commit()
    assert len([r for r in rows(shop.id) if r.kind == "shift"]) == 1  # not wanted: not queued
