"""TRUSTED_PROXIES: behind a proxy every client has the proxy's address, so the per-device
sign-in counters need the client's own address from X-Forwarded-For; a forged header must not
count when no proxy is trusted. And the staff screens say when nothing confirms KHQR payments."""

from __future__ import annotations

import pytest

from shopqr.services import auth
from tests.conftest import build_app
from tests.factories import make_shop, make_staff


def wrong_pins_from(client, shop, users, addresses):
    """One wrong PIN for each user, each sent with its own X-Forwarded-For."""
    return [client.post(f"/s/{shop.slug}/staff/sign-in",
                        data={"user_id": user.id, "pin": "000001"},
                        headers={"X-Forwarded-For": address}).status_code
            for user, address in zip(users, addresses, strict=True)]


@pytest.mark.parametrize("trusted", [0, 1])
def test_the_device_counter_uses_the_forwarded_address_only_behind_a_trusted_proxy(
        database_url, trusted):
    app = build_app(database_url, TRUSTED_PROXIES=trusted)
    from tests.conftest import _empty_all_tables

    with app.app_context():
        _empty_all_tables()
        try:
            shop = make_shop("proxy-cafe")
            users = [make_staff(shop, "cashier", pin)
                     for pin in ("481516", "271828", "314159", "161803")]
            client = app.test_client()  # every request comes from the proxy, 127.0.0.1
            addresses = [f"203.0.113.{n}" for n in range(1, 5)]
            statuses = wrong_pins_from(client, shop, users, addresses)
            if trusted:
                # four clients, each with its own counter: none of them is slowed yet
                assert statuses == [401] * 4
            else:
                # the header is ignored: one device, slowed after the free tries
                assert statuses == [401] * auth.FREE_TRIES + [429]
        finally:
            _empty_all_tables()


def test_trusted_proxies_must_be_a_whole_number(database_url):
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        build_app(database_url, TRUSTED_PROXIES=-1)


@pytest.mark.parametrize(("settings", "warned"), [
    ({"BAKONG_SIMULATOR": False}, True),
    ({"BAKONG_SIMULATOR": False, "BAKONG_API_URL": "https://relay.example"}, False),
    ({"BAKONG_SIMULATOR": True}, False),
])
def test_the_pos_and_kitchen_say_when_no_bakong_api_confirms_payments(database_url, settings,
                                                                     warned):
    from tests.conftest import _empty_all_tables
    from tests.factories import sign_in_staff

    app = build_app(database_url, **settings)
    with app.app_context():
        _empty_all_tables()
        try:
            shop = make_shop("no-bakong")
            client = app.test_client()
            sign_in_staff(client, make_staff(shop, "cashier", "481516"))
            for path in ("/s/no-bakong/pos/", "/s/no-bakong/kitchen/"):
                page = client.get(path).text
                assert ("KHQR payments are not being confirmed" in page) is warned
        finally:
            _empty_all_tables()
