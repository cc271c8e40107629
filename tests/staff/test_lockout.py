"""Lock-outs that stop guessing without locking an owner out: the PIN path locks, the owner's
password lifts it, the platform admin can unlock anyone and reset an owner's password; and
every failure counter holds under 20+ parallel tries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import AdminUser, AuditLog, ThrottleCounter, User, utcnow
from shopqr.services import auth
from shopqr.services.events import get_bus
from shopqr.services.shops import add_staff, hash_secret
from tests.conftest import ADMIN_PASSWORD
from tests.factories import make_shop, make_staff, run_together, sign_in_staff

PASSWORD = "correct-horse-battery"


def make_owner(shop, pin="135790"):
    owner = add_staff(db.session, shop, name="Sokha", role="owner", pin=pin,
                      email=f"owner@{shop.slug}.example", password=PASSWORD)
    db.session.commit()
    return owner


def lock_by_guessing(app, shop, user):
    """What a stranger at the public PIN pad can do: ten wrong PINs, spaced past every delay."""
    start = utcnow() - timedelta(days=1)
    for i in range(auth.LOCK_AFTER):
        with pytest.raises(auth.SignInError):
            auth.sign_in_with_pin(db.session, get_bus(app), shop, user.id, "000001",
                                  device=f"stranger-{i}", now=start + timedelta(minutes=10 * i))
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_at is not None


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def test_a_pin_lock_never_blocks_the_owners_password_which_lifts_it(app, ctx):
    shop = make_shop("lock-cafe")
    owner = make_owner(shop)
    lock_by_guessing(app, shop, owner)
    phone = app.test_client()
    # the PIN pad tells the owner what to do
    refused = phone.post("/s/lock-cafe/staff/sign-in", data={"user_id": owner.id,
                                                             "pin": "135790"})
    assert refused.status_code == 423
    assert b"Sign in with your email and password to unlock it" in refused.data
    # the password still works, and lifts the PIN lock
    signed_in = phone.post("/s/lock-cafe/settings/login",
                           data={"email": owner.email, "password": PASSWORD})
    assert signed_in.status_code == 303
    assert fresh(User, owner.id).locked_at is None
    assert fresh(User, owner.id).failed_pin_attempts == 0
    # ... and the owner is told
    settings = phone.get("/s/lock-cafe/settings/")
    assert b"Your PIN had been locked after too many wrong tries" in settings.data
    assert db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action == "staff.unlock", AuditLog.user_id == owner.id)) == 1
    # the PIN works again
    assert phone.post("/s/lock-cafe/staff/sign-in", data={"user_id": owner.id,
                                                          "pin": "135790"}).status_code == 303


def test_the_owner_sees_locked_staff_on_every_settings_page_and_unlocks_them(app, ctx):
    shop = make_shop("staff-lock")
    owner = make_owner(shop)
    cashier = make_staff(shop, "cashier", "481516", name="Dara")
    lock_by_guessing(app, shop, cashier)
    phone = app.test_client()
    refused = phone.post("/s/staff-lock/staff/sign-in", data={"user_id": cashier.id,
                                                              "pin": "481516"})
    assert refused.status_code == 423 and b"Ask the owner to unlock it" in refused.data
    phone.post("/s/staff-lock/settings/login", data={"email": owner.email, "password": PASSWORD})
    for path in ("/s/staff-lock/settings/", "/s/staff-lock/settings/menu"):
        assert b"Locked after too many wrong PINs: Dara" in phone.get(path).data
    assert phone.post(f"/s/staff-lock/settings/staff/{cashier.id}/unlock").status_code == 303
    assert b"Locked after too many wrong PINs" not in phone.get("/s/staff-lock/settings/").data
    assert fresh(User, cashier.id).locked_at is None


def test_the_owners_password_is_slowed_but_never_locked(app, ctx):
    shop = make_shop("slow-cafe")
    owner = make_owner(shop)
    start = utcnow() - timedelta(days=1)
    for i in range(3 * auth.LOCK_AFTER):  # far more failures than lock a PIN, spaced out
        with pytest.raises(auth.SignInError) as failed:
            auth.sign_in_with_password(db.session, shop, owner.email, "wrong", device=f"d{i}",
                                       now=start + timedelta(minutes=i))
        assert failed.value.status == 401
        db.session.commit()
    # a stranger's failures slow the owner's password for at most PASSWORD_MAX_DELAY seconds
    later = start + timedelta(minutes=3 * auth.LOCK_AFTER, seconds=auth.PASSWORD_MAX_DELAY)
    signed = auth.sign_in_with_password(db.session, shop, owner.email, PASSWORD,
                                        device="owner-phone", now=later)
    assert signed.user.id == owner.id




def test_the_platform_admin_unlocks_any_account(app, ctx, admin_client):
    shop = make_shop("admin-unlock")
    make_owner(shop)
    cashier = make_staff(shop, "cashier", "481516", name="Dara")
    lock_by_guessing(app, shop, cashier)
    page = admin_client.get(f"/admin/shops/{shop.id}")
    assert page.status_code == 200 and b"Dara" in page.data and b"Locked" in page.data
    assert "<title>admin-unlock-shop · shopqr</title>".replace("admin-unlock-shop", shop.name) \
        in page.text
    response = admin_client.post(f"/admin/shops/{shop.id}/staff/{cashier.id}/unlock")
    assert response.status_code == 303
    assert fresh(User, cashier.id).locked_at is None
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "staff.unlock"))
    assert "root@shopqr.example" in audit.detail
    sign_in_staff(app.test_client(), cashier)


def test_the_platform_admin_resets_an_owners_password_and_ends_their_sessions(app, ctx,
                                                                              admin_client):
    shop = make_shop("admin-reset")
    owner = make_owner(shop)
    owner_phone = app.test_client()
    owner_phone.post("/s/admin-reset/settings/login",
                     data={"email": owner.email, "password": PASSWORD})
    assert owner_phone.get("/s/admin-reset/settings/").status_code == 200
    short = admin_client.post(f"/admin/shops/{shop.id}/staff/{owner.id}/password",
                              data={"password": "short"})
    assert short.status_code == 422 and b"at least 10 characters" in short.data
    done = admin_client.post(f"/admin/shops/{shop.id}/staff/{owner.id}/password",
                             data={"password": "a-brand-new-password"})
    assert done.status_code == 303
    # the old settings session is over; the old password fails, the new one works
    assert owner_phone.get("/s/admin-reset/settings/").status_code == 303
    assert owner_phone.post("/s/admin-reset/settings/login", data={
        "email": owner.email, "password": PASSWORD}).status_code == 401
    assert owner_phone.post("/s/admin-reset/settings/login", data={
        "email": owner.email, "password": "a-brand-new-password"}).status_code == 303
    # a cashier is not an owner: no password to reset; another shop's staff are not found
    cashier = make_staff(shop, "cashier", "481516")
    other = make_owner(make_shop("admin-other"), pin="246802")
    assert admin_client.post(f"/admin/shops/{shop.id}/staff/{cashier.id}/password",
                             data={"password": "a-brand-new-password"}).status_code == 404
    assert admin_client.post(f"/admin/shops/{shop.id}/staff/{other.id}/password",
                             data={"password": "a-brand-new-password"}).status_code == 404
    assert admin_client.post(f"/admin/shops/{shop.id}/staff/{other.id}/unlock").status_code \
        == 404


# --- parallel tries: every attempt that is checked is counted, and the back-off holds ---

PARALLEL = 24


@pytest.fixture
def frozen_now(monkeypatch):
    """Every sign-in in the burst happens at the same instant: no back-off runs out during
    the test, so exactly the free tries may be checked, however the threads interleave."""
    now = utcnow()
    for module in ("shopqr.staff.views", "shopqr.settings.auth", "shopqr.admin.views"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: now)
    return now


def burst(app, count, request):
    """``request(client, n)`` from ``count`` clients at once, each from its own address."""
    def work(n):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.{n // 200}.{n % 200 + 1}"
        return request(client, n).status_code
    return run_together(app, count, work)


def test_parallel_wrong_pins_are_all_counted_and_the_back_off_holds(app, ctx, frozen_now):
    shop = make_shop("burst-pin")
    user = make_staff(shop, "cashier", "481516")
    uid = user.id  # threads must not touch this session's objects
    statuses = burst(app, PARALLEL, lambda c, n: c.post(
        "/s/burst-pin/staff/sign-in", data={"user_id": uid, "pin": "000001"}))
    checked = statuses.count(401)
    assert set(statuses) <= {401, 429}
    assert 1 <= checked <= auth.FREE_TRIES
    assert fresh(User, user.id).failed_pin_attempts == checked
    # once the free tries are used up, the right PIN waits: the back-off comes before the secret
    late = app.test_client()
    for n in range(auth.FREE_TRIES - checked):
        late.environ_base["REMOTE_ADDR"] = f"10.9.9.{n + 1}"
        assert late.post("/s/burst-pin/staff/sign-in",
                         data={"user_id": user.id, "pin": "000001"}).status_code == 401
    late.environ_base["REMOTE_ADDR"] = "10.9.9.99"
    assert late.post("/s/burst-pin/staff/sign-in",
                     data={"user_id": user.id, "pin": "481516"}).status_code == 429


def test_a_parallel_burst_with_the_right_pin_last_cannot_try_more_than_the_free_tries(
        app, ctx, frozen_now):
    shop = make_shop("burst-right")
    user = make_staff(shop, "cashier", "481516")
    pins = ["000001"] * (PARALLEL - 1) + ["481516"]
    uid = user.id
    statuses = burst(app, PARALLEL, lambda c, n: c.post(
        "/s/burst-right/staff/sign-in", data={"user_id": uid, "pin": pins[n]}))
    assert statuses.count(401) + statuses.count(303) <= auth.FREE_TRIES


def test_parallel_pins_from_one_device_are_counted_for_that_device(app, ctx, frozen_now):
    shop = make_shop("burst-device")
    uids = [make_staff(shop, "cashier", pin).id for pin in ("481516", "271828", "314159")]

    def one_device(n):
        client = app.test_client()  # every thread from the same address: 127.0.0.1
        return client.post("/s/burst-device/staff/sign-in",
                           data={"user_id": uids[n % len(uids)], "pin": "000009"})
    statuses = [r.status_code for r in run_together(app, PARALLEL, one_device)]
    checked = statuses.count(401)
    assert 1 <= checked <= auth.FREE_TRIES
    counter = db.session.scalar(select(ThrottleCounter).where(
        ThrottleCounter.scope == f"pin:{shop.id}"))
    db.session.refresh(counter)
    assert counter.failures == checked


def test_parallel_wrong_owner_passwords_are_all_counted(app, ctx, frozen_now):
    shop = make_shop("burst-owner")
    owner = make_owner(shop)
    email = owner.email
    statuses = burst(app, PARALLEL, lambda c, n: c.post(
        "/s/burst-owner/settings/login", data={"email": email, "password": "nope"}))
    checked = statuses.count(401)
    assert set(statuses) <= {401, 429} and 1 <= checked <= auth.FREE_TRIES
    assert fresh(User, owner.id).failed_password_attempts == checked


def test_parallel_wrong_admin_passwords_are_all_counted(app, ctx, frozen_now):
    admin = AdminUser(email="ops@shopqr.example", password_hash=hash_secret(ADMIN_PASSWORD))
    db.session.add(admin)
    db.session.commit()
    statuses = burst(app, PARALLEL, lambda c, n: c.post(
        "/admin/login", data={"email": "ops@shopqr.example", "password": "nope"}))
    checked = statuses.count(401)
    assert set(statuses) <= {401, 429} and 1 <= checked <= auth.FREE_TRIES
    assert fresh(AdminUser, admin.id).failed_attempts == checked
