"""Staff pick English or Khmer on their own screens, as guests do on theirs."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_shop, make_staff, sign_in_staff

SWITCH = re.compile(r'<form class="lang-switch" action="([^"]+)" method="post">.*?'
                    r'name="next" value="([^"]+)".*?<button name="lang" value="(\w+)"', re.S)


def _switch(page: str) -> tuple[str, str, str]:
    match = SWITCH.search(page)
    assert match, "no language switch on the page"
    return match.group(1), match.group(2), match.group(3)


@pytest.mark.parametrize(("role", "screen"), [("cashier", "pos/"), ("barista", "kitchen/")])
def test_a_signed_in_screen_switches_to_khmer_and_back(app, ctx, khmer, role, screen):
    shop = make_shop()
    client = app.test_client()
    sign_in_staff(client, make_staff(shop, role))
    page = client.get(f"/s/{shop.slug}/{screen}")
    action, back, lang = _switch(page.text)
    assert (action, back, lang) == (f"/s/{shop.slug}/lang", f"/s/{shop.slug}/{screen}", "km")
    assert khmer["Sign out"] not in page.text

    switched = client.post(action, data={"lang": lang, "next": back})
    assert switched.status_code == 303 and switched.headers["Location"] == back
    page = client.get(back)
    assert '<html lang="km">' in page.text and khmer["Sign out"] in page.text
    assert _switch(page.text)[2] == "en"

    client.post(action, data={"lang": "en", "next": back})
    assert '<html lang="en">' in client.get(back).text


@pytest.mark.parametrize("path", ["staff/", "settings/login"])
def test_sign_in_pages_offer_the_switch_before_anyone_signs_in(ctx, client, path):
    shop = make_shop()
    make_staff(shop)
    page = client.get(f"/s/{shop.slug}/{path}")
    assert page.status_code == 200
    action, back, lang = _switch(page.text)
    assert action == f"/s/{shop.slug}/lang" and back == f"/s/{shop.slug}/{path}" and lang == "km"


def test_the_pin_pad_refuses_in_khmer(ctx, client, khmer):
    shop = make_shop()
    user = make_staff(shop, pin="481516")
    client.set_cookie("shopqr_lang", "km")
    base = f"/s/{shop.slug}/staff/sign-in"
    wrong = client.post(base, data={"user_id": user.id, "pin": "000001"},
                        headers={"HX-Request": "true"})
    assert wrong.status_code == 401
    assert khmer["That PIN did not work. Try again."] in wrong.text
    assert "did not work" not in wrong.text
    for _ in range(3):
        delayed = client.post(base, data={"user_id": user.id, "pin": "000001"})
    assert delayed.status_code == 429
    expected = khmer["Too many wrong PINs. Wait %(seconds)s seconds and try again."]
    before, after = expected.split("%(seconds)s")
    assert re.search(re.escape(before) + r"\d+" + re.escape(after), delayed.text)
    nameless = client.post(base, data={"user_id": "x", "pin": "481516"})
    assert nameless.status_code == 422 and khmer["Choose your name first."] in nameless.text
