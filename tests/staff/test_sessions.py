"""Sessions die when their reason dies: sign-out (a copied cookie too), a PIN reset, a removal,
a PIN lock; open staff websockets close within seconds; sign-ins rotate the CSRF token; a
websocket from another site's page is refused; `next` after a sign-in stays on the site."""

from __future__ import annotations

import re

import pytest
import requests
import simple_websocket

from shopqr.extensions import db
from shopqr.models import AdminUser, LoginSession, utcnow
from shopqr.services import auth, logins
from shopqr.services.events import get_bus
from shopqr.services.shops import add_staff, hash_secret
from tests.factories import close_code, make_shop, make_staff, sign_in_staff

PASSWORD = "correct-horse-battery"


def make_owner(shop):
    owner = add_staff(db.session, shop, name="Sokha", role="owner", pin="135790",
                      email=f"owner@{shop.slug}.example", password=PASSWORD)
    db.session.commit()
    return owner


def copy_of_cookie(client):
    return client.get_cookie("session").value


def replay(app, cookie_value):
    thief = app.test_client()
    thief.set_cookie("session", cookie_value)
    return thief


def test_a_cookie_copied_before_sign_out_is_dead_after_it(app, ctx):
    shop = make_shop("copy-cafe")
    cashier = make_staff(shop, "cashier", "481516")
    till = app.test_client()
    sign_in_staff(till, cashier)
    stolen = copy_of_cookie(till)
    assert replay(app, stolen).get("/s/copy-cafe/pos/").status_code == 200
    till.post("/s/copy-cafe/staff/sign-out")
    thief = replay(app, stolen)
    assert thief.get("/s/copy-cafe/pos/").status_code == 303
    assert thief.post("/s/copy-cafe/pos/tables/1/close").status_code == 401


@pytest.mark.parametrize("action", ["pin", "remove"])
def test_a_cashiers_session_ends_when_the_owner_resets_their_pin_or_removes_them(app, ctx, action):
    shop = make_shop("reset-cafe")
    owner = make_owner(shop)
    cashier = make_staff(shop, "cashier", "481516")
    till = app.test_client()
    sign_in_staff(till, cashier)
    assert till.get("/s/reset-cafe/pos/").status_code == 200
    office = app.test_client()
    office.post("/s/reset-cafe/settings/login", data={"email": owner.email,
                                                      "password": PASSWORD})
    path = {"pin": f"/s/reset-cafe/settings/staff/{cashier.id}/pin",
            "remove": f"/s/reset-cafe/settings/staff/{cashier.id}/remove"}[action]
    assert office.post(path, data={"pin": "271828"}).status_code == 303
    assert till.get("/s/reset-cafe/pos/").status_code == 303


def test_signing_out_of_settings_and_admin_ends_those_sessions_too(app, ctx):
    shop = make_shop("settings-out")
    owner = make_owner(shop)
    office = app.test_client()
    office.post("/s/settings-out/settings/login", data={"email": owner.email,
                                                        "password": PASSWORD})
    stolen = copy_of_cookie(office)
    office.post("/s/settings-out/settings/logout")
    assert replay(app, stolen).get("/s/settings-out/settings/").status_code == 303

    db.session.add(AdminUser(email="ops@shopqr.example",
                             password_hash=hash_secret("platform-admin-pass")))
    db.session.commit()
    admin = app.test_client()
    admin.post("/admin/login", data={"email": "ops@shopqr.example",
                                     "password": "platform-admin-pass"})
    stolen = copy_of_cookie(admin)
    assert replay(app, stolen).get("/admin/").status_code == 200
    admin.post("/admin/logout")
    assert replay(app, stolen).get("/admin/").status_code == 303


def csrf_from(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owner_and_admin_sign_ins_rotate_the_csrf_token(app, ctx, who):
    shop = make_shop("rotate-cafe")
    owner = make_owner(shop)
    db.session.add(AdminUser(email="ops@shopqr.example",
                             password_hash=hash_secret("platform-admin-pass")))
    db.session.commit()
    phone = app.test_client()
    login, data, after = {
        "owner": ("/s/rotate-cafe/settings/login",
                  {"email": owner.email, "password": PASSWORD},
                  ("/s/rotate-cafe/settings/menu/categories", {"name": "Teas"})),
        "admin": ("/admin/login",
                  {"email": "ops@shopqr.example", "password": "platform-admin-pass"},
                  (f"/admin/shops/{shop.id}", {"expires": ""})),
    }[who]
    before = csrf_from(phone.get(login))  # a token seen before signing in
    signed_in = phone.post(login, data={**data, "csrf_token": before}, csrf=False)
    assert signed_in.status_code == 303
    path, form = after
    assert phone.post(path, data={**form, "csrf_token": before}, csrf=False).status_code == 400
    page = phone.get("/s/rotate-cafe/settings/" if who == "owner" else "/admin/")
    fresh = csrf_from(page)
    assert fresh != before
    assert phone.post(path, data={**form, "csrf_token": fresh}, csrf=False).status_code == 303


@pytest.mark.parametrize(("form", "path"), [
    ("staff", "/s/next-cafe/staff/sign-in"),
    ("owner", "/s/next-cafe/settings/login"),
    ("admin", "/admin/login"),
])
@pytest.mark.parametrize("target", [
    "/s/next-cafe/pos/\r\nSet-Cookie: evil=1",
    "/s/next-cafe/settings/\nX: y",
    "/admin/\r",
    "//evil.example/s/next-cafe/",
    "/s/next-cafe/\\evil",
    "https://evil.example/s/next-cafe/",
])
def test_next_after_a_sign_in_never_breaks_or_leaves_the_site(app, ctx, form, path, target):
    shop = make_shop("next-cafe")
    owner = make_owner(shop)
    db.session.add(AdminUser(email="ops@shopqr.example",
                             password_hash=hash_secret("platform-admin-pass")))
    db.session.commit()
    data = {"staff": {"user_id": owner.id, "pin": "135790"},
            "owner": {"email": owner.email, "password": PASSWORD},
            "admin": {"email": "ops@shopqr.example", "password": "platform-admin-pass"}}[form]
    client = app.test_client()
    if form == "admin":  # the admin form reads `next` from its URL
        response = client.post(path, query_string={"next": target}, data=data)
    else:
        response = client.post(path, data={**data, "next": target})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location and "evil" not in location
    assert location.startswith(("/s/next-cafe/", "/admin/", "http://localhost/"))


# --- websockets: Origin, and closing when the sign-in ends ---

# simple_websocket's client sends `Host: 127.0.0.1` without the port (a browser sends the
# port), so the page's own origin, as the server sees it, is this:
OWN_ORIGIN = "http://127.0.0.1"


def kitchen_socket(server, shop, cookie, origin=None):
    url = server.url.replace("http://", "ws://") + f"/s/{shop.slug}/kitchen/ws"
    headers = {"Cookie": f"session={cookie}"}
    if origin is not None:
        headers["Origin"] = origin
    return simple_websocket.Client.connect(url, headers=headers)


@pytest.mark.live
@pytest.mark.parametrize("screen", ["kitchen", "pos"])
def test_a_staff_socket_from_another_sites_page_is_refused(app, ctx, live_server, screen):
    shop = make_shop("origin-cafe")
    cashier = make_staff(shop, "cashier", "481516")
    till = app.test_client()
    sign_in_staff(till, cashier)
    cookie = {"Cookie": f"session={copy_of_cookie(till)}"}
    handshake = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", **cookie}
    refused = requests.get(f"{live_server.url}/s/origin-cafe/{screen}/ws", timeout=10,
                           headers={**handshake, "Origin": "https://evil.example"})
    assert refused.status_code == 403  # refused before the handshake: no 101, no CSRF tokens
    url = live_server.url.replace("http://", "ws://") + f"/s/origin-cafe/{screen}/ws"
    ws = simple_websocket.Client.connect(url, headers={**cookie, "Origin": OWN_ORIGIN})
    try:
        assert ws.receive(timeout=5)  # the snapshot
    finally:
        ws.close()



@pytest.mark.live
@pytest.mark.parametrize("how", ["sign-out", "lock", "remove", "pin-reset", "missed-event"])
def test_an_open_kitchen_socket_closes_within_seconds_when_its_sign_in_ends(
        app, ctx, live_server, how):
    shop = make_shop("socket-end")
    owner = make_owner(shop)
    barista = make_staff(shop, "barista", "271828")
    screen = app.test_client()
    sign_in_staff(screen, barista, "271828")
    ws = kitchen_socket(live_server, shop, copy_of_cookie(screen), origin=OWN_ORIGIN)
    try:
        assert ws.receive(timeout=5)  # the snapshot
        assert close_code(ws, 1.5) is None  # it stays open while the sign-in holds
        office = app.test_client()
        if how == "sign-out":
            screen.post("/s/socket-end/staff/sign-out")
        elif how == "lock":
            auth.lock_pin(db.session, get_bus(app), barista, now=utcnow(), failures=10,
                          device="x")
            db.session.commit()
        elif how in ("remove", "pin-reset"):
            office.post("/s/socket-end/settings/login", data={"email": owner.email,
                                                              "password": PASSWORD})
            path = "remove" if how == "remove" else "pin"
            assert office.post(f"/s/socket-end/settings/staff/{barista.id}/{path}",
                               data={"pin": "314159"}).status_code == 303
        else:  # the session ends with no event (say, Redis dropped it): the periodic check
            db.session.query(LoginSession).update({"ended_at": utcnow()})
            db.session.commit()
        assert close_code(ws, 5.0) == 1008
    finally:
        if ws.connected:
            ws.close()


def test_ending_sessions_touches_only_that_person(app, ctx):
    shop = make_shop("only-one")
    a, b = make_staff(shop, "cashier", "481516"), make_staff(shop, "cashier", "271828")
    one, two = app.test_client(), app.test_client()
    sign_in_staff(one, a)
    sign_in_staff(two, b, "271828")
    logins.end_all(db.session, get_bus(app), a, reason="test", now=utcnow())
    db.session.commit()
    assert one.get("/s/only-one/pos/").status_code == 303
    assert two.get("/s/only-one/pos/").status_code == 200
