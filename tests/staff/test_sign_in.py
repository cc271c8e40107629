"""PIN sign-in on the shop's device: success, failures, delays, lock-out, roles, other shops."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from shopqr import create_app
from shopqr.extensions import db
from shopqr.models import AuditLog, User, utcnow
from shopqr.services import auth
from shopqr.services.events import get_bus
from shopqr.services.shops import add_staff, check_secret
from tests.conftest import settings_for
from tests.factories import make_shop, make_staff, sign_in_staff


def test_pin_pad_lists_staff_and_signs_in_to_the_right_screen(client, app, ctx):
    shop = make_shop("cafe-one")
    cashier = make_staff(shop, "cashier", "481516", name="Dara")
    barista = make_staff(shop, "barista", "271828", name="Vanna")
    page = client.get("/s/cafe-one/staff/")
    assert page.status_code == 200 and b"Dara" in page.data and b"Vanna" in page.data
    response = client.post("/s/cafe-one/staff/sign-in",
                           data={"user_id": cashier.id, "pin": "481516"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/pos/")
    other = app.test_client()
    response = other.post("/s/cafe-one/staff/sign-in", data={"user_id": barista.id,
                                                             "pin": "271828"})
    assert response.headers["Location"].endswith("/kitchen/")
    assert db.session.query(AuditLog).filter_by(action="staff.sign_in").count() == 2


def test_pins_are_stored_hashed(app, ctx):
    shop = make_shop()
    user = make_staff(shop, pin="481516")
    assert user.pin_hash and "481516" not in user.pin_hash


def test_a_shop_hashes_pins_and_passwords_with_scrypt(app, database_url):
    """The tests hash with one PBKDF2 round (tests/conftest.py); an app with the default
    settings hashes with scrypt, and checks the tests' hashes as well (each names its method)."""
    settings = settings_for(database_url)
    del settings["PASSWORD_HASH_METHOD"]
    with create_app(settings).app_context():
        shop = make_shop()
        owner = make_staff(shop, "owner", "481516", email="owner@example.com",
                           password="a long password")
        quick = User(shop_id=shop.id, name="Quick", role="cashier",
                     pin_hash=generate_password_hash("271828", "pbkdf2:sha256:1"))
        assert owner.pin_hash.startswith("scrypt:") and owner.password_hash.startswith("scrypt:")
        assert check_secret(owner.pin_hash, "481516") and not check_secret(owner.pin_hash, "481517")
        assert check_secret(owner.password_hash, "a long password")
        assert check_secret(quick.pin_hash, "271828")
        db.engine.dispose()  # the app fixture's teardown empties the tables


@pytest.mark.parametrize("pin", ["", "12345", "1234567", "abcdef", "111111", "123456"])
def test_weak_or_malformed_pins_are_refused(app, ctx, pin):
    shop = make_shop()
    with pytest.raises(auth.DomainError):
        add_staff(db.session, shop, name="X", role="cashier", pin=pin)


def test_four_digit_pins_only_when_the_owner_allows_them(app, ctx):
    shop = make_shop()
    with pytest.raises(auth.DomainError):
        add_staff(db.session, shop, name="Short", role="cashier", pin="4815")
    shop.allow_short_pins = True
    assert add_staff(db.session, shop, name="Short", role="cashier", pin="4815").id


def test_pins_are_unique_within_a_shop_but_not_across_shops(app, ctx):
    one, two = make_shop(), make_shop()
    make_staff(one, pin="481516")
    with pytest.raises(auth.DomainError, match="already uses"):
        make_staff(one, pin="481516")
    assert make_staff(two, pin="481516").id


def test_wrong_pin_is_generic_counted_and_delayed(client, app, ctx):
    shop = make_shop("cafe-two")
    user = make_staff(shop, pin="481516")
    for _ in range(auth.FREE_TRIES):
        response = client.post("/s/cafe-two/staff/sign-in", data={"user_id": user.id,
                                                                   "pin": "000001"})
        assert response.status_code == 401
        assert b"That PIN did not work" in response.data
    # Now a delay applies, even for the right PIN.
    response = client.post("/s/cafe-two/staff/sign-in", data={"user_id": user.id,
                                                               "pin": "481516"})
    assert response.status_code == 429 and b"Wait" in response.data
    db.session.expire_all()
    assert db.session.get(User, user.id).failed_pin_attempts == auth.FREE_TRIES


def test_delay_grows_and_is_capped():
    delays = [auth.delay_for(n) for n in range(0, 20)]
    assert delays[: auth.FREE_TRIES] == [0] * auth.FREE_TRIES
    assert delays == sorted(delays) and max(delays) == auth.MAX_DELAY


def test_lock_out_after_ten_failures_and_owner_unlocks(app, ctx):
    shop = make_shop()
    owner = make_staff(shop, "owner", "135790")
    user = make_staff(shop, pin="481516")
    now = utcnow()
    for i in range(auth.LOCK_AFTER):
        # far enough apart that no delay applies: only the lock-out can stop it
        with pytest.raises(auth.SignInError):
            auth.sign_in_with_pin(db.session, get_bus(app), shop, user.id, "000001",
                                  device=f"d{i}", now=now + timedelta(hours=i))
        db.session.commit()
    assert db.session.get(User, user.id).locked_at is not None
    with pytest.raises(auth.SignInError, match="locked"):
        auth.sign_in_with_pin(db.session, get_bus(app), shop, user.id, "481516",
                              device="d-new", now=now + timedelta(days=2))
    auth.unlock(db.session, shop, user, by=owner)
    db.session.commit()
    signed = auth.sign_in_with_pin(db.session, get_bus(app), shop, user.id, "481516",
                                   device="d-new", now=now + timedelta(days=2))
    assert signed.id == user.id


def test_failures_are_counted_per_device_across_users(app, ctx):
    shop = make_shop()
    users = [make_staff(shop, pin=pin) for pin in ("481516", "271828", "314159", "161803")]
    now = utcnow()
    for u in users[:3]:
        with pytest.raises(auth.SignInError):
            auth.sign_in_with_pin(db.session, get_bus(app), shop, u.id, "000001",
                                  device="till", now=now)
        db.session.commit()
    # The fourth user's first try from the same device waits: guessing across users is slow.
    with pytest.raises(auth.SignInError, match="Wait"):
        auth.sign_in_with_pin(db.session, get_bus(app), shop, users[3].id, "161803",
                              device="till", now=now)


def test_sign_out_and_idle_time_out(client, app, ctx):
    shop = make_shop("cafe-three")
    user = make_staff(shop, pin="481516")
    sign_in_staff(client, user)
    assert client.get("/s/cafe-three/pos/").status_code == 200
    client.post("/s/cafe-three/staff/sign-out")
    assert client.get("/s/cafe-three/pos/").status_code == 303
    sign_in_staff(client, user)
    with client.session_transaction() as sess:
        sess["staff"]["seen"] -= app.config["STAFF_IDLE_SECONDS"] + 5
    response = client.get("/s/cafe-three/pos/")
    assert response.status_code == 303 and "/staff/" in response.headers["Location"]


def test_a_session_of_shop_a_is_not_accepted_by_shop_b(client, app, ctx):
    a, b = make_shop("shop-aa"), make_shop("shop-bb")
    sign_in_staff(client, make_staff(a, "owner", "135790"), "135790")
    make_staff(b, "owner", "135790")
    assert client.get("/s/shop-aa/pos/").status_code == 200
    for path in ("/s/shop-bb/pos/", "/s/shop-bb/kitchen/", "/s/shop-bb/pos/orders"):
        response = client.get(path)
        assert response.status_code == 303 and "/s/shop-bb/staff/" in response.headers["Location"]


def test_user_of_another_shop_cannot_sign_in_here(client, app, ctx):
    a, b = make_shop(), make_shop()
    foreign = make_staff(b, pin="481516")
    make_staff(a, pin="271828")
    response = client.post(f"/s/{a.slug}/staff/sign-in",
                           data={"user_id": foreign.id, "pin": "481516"})
    assert response.status_code == 422


def test_next_cannot_leave_the_shop(client, app, ctx):
    shop = make_shop("cafe-four")
    user = make_staff(shop, pin="481516")
    response = client.post("/s/cafe-four/staff/sign-in",
                           data={"user_id": user.id, "pin": "481516",
                                 "next": "//evil.example/s/cafe-four/"})
    assert response.headers["Location"].endswith("/s/cafe-four/pos/")


@pytest.mark.parametrize("role,path,status", [
    ("barista", "/pos/", 403),
    ("barista", "/pos/orders", 403),
    ("barista", "/kitchen/", 200),
    ("cashier", "/kitchen/", 200),
    ("cashier", "/pos/", 200),
    ("owner", "/pos/", 200),
    ("owner", "/kitchen/", 200),
])
def test_roles(client, app, ctx, role, path, status):
    shop = make_shop()
    user = make_staff(shop, role, "481516")
    sign_in_staff(client, user)
    assert client.get(f"/s/{shop.slug}{path}").status_code == status


def test_barista_cannot_post_pos_actions(client, app, ctx):
    shop = make_shop()
    sign_in_staff(client, make_staff(shop, "barista", "481516"))
    assert client.post(f"/s/{shop.slug}/pos/tables/1/close").status_code == 403
    assert client.post(f"/s/{shop.slug}/pos/orders/1/cash", data={"usd": "5"}).status_code == 403


@pytest.mark.parametrize(("page", "action", "sign_in"), [
    ("/s/door-cafe/pos/", "/s/door-cafe/pos/orders/1/cash", "/s/door-cafe/staff/"),
    ("/s/door-cafe/settings/menu", "/s/door-cafe/settings/menu/categories",
     "/s/door-cafe/settings/login"),
])
def test_signed_out_visitors_are_sent_to_sign_in_and_nothing_acts(client, app, ctx, page, action,
                                                                  sign_in):
    make_shop("door-cafe")
    loaded = client.get(page)
    assert loaded.status_code == 303
    assert loaded.headers["Location"].startswith(sign_in) and "next=" in loaded.headers["Location"]
    fragment = client.get(page, headers={"HX-Request": "true"})
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith(sign_in)
    assert client.post(action, data={"name": "Teas", "usd": "5"}).status_code == 401
