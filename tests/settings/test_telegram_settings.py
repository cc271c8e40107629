"""The owner's Telegram page: a one-time link, the page noticing the chat was linked, the
choices, unlink, and shop A's page never showing shop B's chat."""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import TelegramLink, TelegramMessage, utcnow
from shopqr.services import telegram
from tests.conftest import _empty_all_tables, build_app
from tests.factories import make_shop
from tests.services.test_telegram import TOKEN, Fake, run, telegram_settings
from tests.settings.test_settings_pages import make_owner, owner_login

HX = {"HX-Request": "true"}


@pytest.fixture
def app_settings() -> dict[str, object]:
    """The app with the fake Bot API and a bot token (tests/conftest.py's app)."""
    return telegram_settings()


def owner_client(app, slug: str, name: str):
    shop = make_shop(slug, name=name)
    owner = make_owner(shop)
    client = app.test_client()
    owner_login(client, shop, owner)
    return shop, client


def start_code(page: str) -> str:
    match = re.search(r"\?start=([A-Za-z0-9_-]+)", page)
    assert match, page
    return match.group(1)


def link_through_the_page(app, client, slug: str, fake: Fake, chat_id: int) -> None:
    page = client.post(f"/s/{slug}/settings/telegram/link")
    assert page.status_code == 200
    fake.press_start(start_code(page.text), chat_id)
    run(app)


def test_linking_from_settings_then_choosing_and_unlinking(app, ctx, live_server):
    fake = Fake(live_server.url)
    shop, client = owner_client(app, "tg-owner", "Owner Cafe")
    first = client.get(f"/s/{shop.slug}/settings/telegram")
    assert first.status_code == 200 and "Link Telegram" in first.text
    page = client.post(f"/s/{shop.slug}/settings/telegram/link")
    code = start_code(page.text)
    assert f"{live_server.url}/_telegram/chat?start={code}" in page.text
    assert "Waiting for you to press Start" in page.text
    # the code is shown once: it is kept hashed
    assert code not in client.get(f"/s/{shop.slug}/settings/telegram").text
    assert client.get(f"/s/{shop.slug}/settings/telegram/status",
                      headers=HX).status_code == 204
    fake.press_start(code, 5550001)
    run(app)
    status = client.get(f"/s/{shop.slug}/settings/telegram/status", headers=HX)
    assert status.status_code == 200
    assert status.headers["HX-Redirect"] == f"/s/{shop.slug}/settings/telegram"
    linked = client.get(f"/s/{shop.slug}/settings/telegram").text
    assert "Messages go to the Telegram chat Owner" in linked and "Unlink" in linked

    bad = client.post(f"/s/{shop.slug}/settings/telegram/choices",
                      data={"notify_paid": "1", "daily_at": "25:00"})
    assert bad.status_code == 400 and "Closing time must be a time like 22:00." in bad.text
    saved = client.post(f"/s/{shop.slug}/settings/telegram/choices",
                        data={"notify_attention": "1", "daily_at": "21:30"})
    assert saved.status_code == 303
    link = db.session.scalar(select(TelegramLink).where(TelegramLink.shop_id == shop.id))
    assert (link.notify_paid, link.notify_attention, link.notify_daily, link.daily_at) == \
        (False, True, False, "21:30")

    assert client.post(f"/s/{shop.slug}/settings/telegram/unlink").status_code == 303
    db.session.expire_all()
    assert db.session.get(TelegramLink, link.id).chat_id is None
    assert "Link Telegram" in client.get(f"/s/{shop.slug}/settings/telegram").text


def test_a_shops_page_shows_only_its_own_chat(app, ctx, live_server):
    fake = Fake(live_server.url)
    a, client_a = owner_client(app, "tg-a", "Shop A")
    b, client_b = owner_client(app, "tg-b", "Shop B")
    link_through_the_page(app, client_a, a.slug, fake, 1001)
    page_b = client_b.post(f"/s/{b.slug}/settings/telegram/link")
    code_b = start_code(page_b.text)
    requests.post(f"{live_server.url}/_telegram/_fake/updates",
                  json={"chat_id": 2002, "text": f"/start {code_b}", "name": "Bob"}, timeout=5)
    run(app)
    page_a = client_a.get(f"/s/{a.slug}/settings/telegram").text
    assert "chat Owner" in page_a and "Bob" not in page_a
    assert "chat Bob" in client_b.get(f"/s/{b.slug}/settings/telegram").text
    # Shop A's owner cannot reach shop B's page or unlink B's chat
    assert client_a.get(f"/s/{b.slug}/settings/telegram").status_code == 303
    assert client_a.post(f"/s/{b.slug}/settings/telegram/unlink").status_code in (303, 401)
    assert db.session.scalar(select(TelegramLink.chat_id).where(
        TelegramLink.shop_id == b.id)) == 2002


def test_undelivered_messages_are_listed_for_the_owner(app, ctx, live_server):
    fake = Fake(live_server.url)
    shop, client = owner_client(app, "tg-failed", "Failed Cafe")
    link_through_the_page(app, client, shop.slug, fake, 3003)
    telegram.enqueue(db.session, shop.id, "paid", "order:1", "Paid: order #1", utcnow())
    db.session.commit()
    fake.fault("403")
    run(app)
    assert db.session.scalar(select(TelegramMessage.status).where(
        TelegramMessage.event_key == "order:1")) == "failed"
    page = client.get(f"/s/{shop.slug}/settings/telegram").text
    assert "Not delivered" in page and "bot was blocked by the user" in page


def test_a_real_bot_link_is_a_t_me_link(database_url):
    app = build_app(database_url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BOT_USERNAME="@CafeBot")
    with app.app_context():
        _empty_all_tables()
        shop, client = owner_client(app, "tg-real", "Real Cafe")
        page = client.post(f"/s/{shop.slug}/settings/telegram/link").text
        assert re.search(r"https://t\.me/CafeBot\?start=[A-Za-z0-9_-]{32}\"", page)
        _empty_all_tables()
        db.session.remove()


def test_without_a_bot_token_the_page_says_so(database_url):
    app = build_app(database_url)
    with app.app_context():
        _empty_all_tables()
        shop, client = owner_client(app, "tg-none", "No Bot Cafe")
        page = client.get(f"/s/{shop.slug}/settings/telegram")
        assert "not set up on this shopqr server" in page.text
        assert client.post(f"/s/{shop.slug}/settings/telegram/link").status_code == 409
        _empty_all_tables()
        db.session.remove()


def test_the_page_and_the_messages_in_khmer(app, ctx, live_server, khmer):
    fake = Fake(live_server.url)
    shop, client = owner_client(app, "tg-km", "Khmer Cafe")
    client.set_cookie("shopqr_lang", "km")
    page = client.get(f"/s/{shop.slug}/settings/telegram").text
    assert khmer["Link Telegram"] in page
    link_through_the_page(app, client, shop.slug, fake, 6006)  # linked from a Khmer page
    assert khmer["Unlink"] in client.get(f"/s/{shop.slug}/settings/telegram").text
    confirmation = fake.messages(6006)[0]
    assert confirmation.startswith(khmer[
        "This chat now gets shopqr messages for %(shop)s. You can choose which ones, or "
        "unlink, in the shop's settings under Telegram."].split("%(shop)s")[0])


def test_the_waiting_page_says_when_the_link_expired(app, ctx, live_server):
    shop, client = owner_client(app, "tg-expired", "Expired Cafe")
    client.post(f"/s/{shop.slug}/settings/telegram/link")
    status = f"/s/{shop.slug}/settings/telegram/status"
    assert client.get(status, headers=HX).status_code == 204
    link = db.session.scalar(select(TelegramLink).where(TelegramLink.shop_id == shop.id))
    link.code_expires_at = utcnow()
    db.session.commit()
    expired = client.get(status, headers=HX)
    assert expired.status_code == 200 and "This link has expired" in expired.text
    assert "hx-trigger" not in expired.text  # the page stops asking
