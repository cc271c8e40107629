"""The platform admin: separate accounts, shops, subscriptions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import AdminUser, Shop, User
from shopqr.services.shops import hash_secret
from tests.conftest import ADMIN_PASSWORD
from tests.factories import make_shop, make_staff, make_table, sign_in_staff


def test_create_admin_cli(ctx, runner):
    result = runner.invoke(args=["create-admin", "--email", "Ops@Example.com"],
                           input="a-very-long-pass\na-very-long-pass\n")
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(AdminUser))
    assert admin.email == "ops@example.com" and "a-very-long-pass" not in admin.password_hash
    short = runner.invoke(args=["create-admin", "--email", "x@example.com",
                                "--password", "short"])
    assert short.exit_code != 0 and "12 characters" in short.output


@pytest.mark.parametrize("method,path", [
    ("get", "/admin/"), ("get", "/admin/shops/new"), ("post", "/admin/shops/new"),
    ("get", "/admin/shops/1"), ("post", "/admin/shops/1"),
])
def test_every_admin_route_needs_an_admin(client, app, ctx, method, path):
    shop = make_shop()
    owner = make_staff(shop, "owner", "135790")
    sign_in_staff(client, owner, "135790")  # a shop session is not an admin session
    response = getattr(client, method)(path)
    assert response.status_code in (303, 401)
    if response.status_code == 303:
        assert "/admin/login" in response.headers["Location"]


def test_wrong_password_is_generic_and_slowed(app, ctx):
    db.session.add(AdminUser(email="a@example.com", password_hash=hash_secret(ADMIN_PASSWORD)))
    db.session.commit()
    client = app.test_client()
    statuses = [client.post("/admin/login", data={"email": "a@example.com",
                                                  "password": "nope"}).status_code
                for _ in range(5)]
    assert statuses[:3] == [401] * 3 and statuses[-1] == 429
    # an unknown email gets the same answer (from another device: this one is slowed now)
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    unknown = elsewhere.post("/admin/login", data={"email": "b@example.com", "password": "x"})
    assert unknown.status_code == 401 and b"Email or password is wrong" in unknown.data


def test_create_a_shop_and_its_owner_signs_in(app, ctx, admin_client):
    response = admin_client.post("/admin/shops/new", data={
        "name": "Riverside Cafe", "slug": "riverside", "currency": "USD", "tables": "4",
        "expires": (date.today() + timedelta(days=365)).isoformat(),
        "owner_name": "Sophea", "owner_email": "sophea@example.com",
        "owner_password": "riverside-owner"})
    assert response.status_code == 200 and b'id="owner-pin"' in response.data
    shop = db.session.scalar(select(Shop).where(Shop.slug == "riverside"))
    assert len(shop.tables) == 4
    owner = app.test_client()
    login = owner.post("/s/riverside/settings/login",
                       data={"email": "sophea@example.com", "password": "riverside-owner"})
    assert login.status_code == 303
    listing = admin_client.get("/admin/").text
    assert "Riverside Cafe" in listing and "/s/riverside/" in listing


@pytest.mark.parametrize("slug,message", [
    ("Bad Slug", b"web address"), ("ab", b"web address"), ("admin", b"reserved"),
    ("taken-one", b"taken"),
])
def test_bad_slugs_are_422_and_write_nothing(ctx, admin_client, slug, message):
    make_shop("taken-one")
    response = admin_client.post("/admin/shops/new", data={
        "name": "X", "slug": slug, "currency": "USD", "tables": "1", "owner_name": "O",
        "owner_email": "o@example.com", "owner_password": "long-enough-pw"})
    assert response.status_code == 422 and message in response.data
    assert db.session.scalar(select(func.count()).select_from(Shop)) == 1
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_expired_subscription_stops_guests_and_renewal_restores(app, ctx, admin_client):
    shop = make_shop("subscriber")
    table = make_table(shop)
    cashier = make_staff(shop, "cashier", "481516")
    guest = app.test_client()
    base = f"/admin/shops/{shop.id}"
    admin_client.post(base, data={"expires": (date.today() - timedelta(days=1)).isoformat()})
    assert guest.get(f"/s/subscriber/t/{table.qr_token}").status_code == 403
    staff = app.test_client()
    sign_in_staff(staff, cashier)
    pos = staff.get("/s/subscriber/pos/")
    assert pos.status_code == 200 and b'id="renewal-notice"' in pos.data
    admin_client.post(base, data={"expires": (date.today() + timedelta(days=30)).isoformat()})
    assert guest.get(f"/s/subscriber/t/{table.qr_token}").status_code == 303
    admin_client.post(base, data={"expires": "", "active": "0"})
    assert guest.get(f"/s/subscriber/t/{table.qr_token}").status_code == 403
    assert admin_client.post(base, data={"expires": "31/12/2026"}).status_code == 422
    assert admin_client.get("/admin/shops/999999").status_code == 404


def test_a_new_admin_password_from_the_cli_signs_the_old_sessions_out(app, admin_client,
                                                                       runner):
    assert admin_client.get("/admin/").status_code == 200
    result = runner.invoke(args=["create-admin", "--email", "root@shopqr.example",
                                 "--password", "another-long-password"])
    assert result.exit_code == 0 and "signed out" in result.output
    assert admin_client.get("/admin/").status_code == 303


@pytest.mark.parametrize("tables", ["١", "2" * 30, "-1", "201", "four", "1.5"])
def test_the_number_of_tables_must_be_ascii_digits_from_0_to_200(ctx, admin_client, tables):
    response = admin_client.post("/admin/shops/new", data={
        "name": "X", "slug": "tables-check", "currency": "USD", "tables": tables,
        "owner_name": "O", "owner_email": "o@example.com", "owner_password": "long-enough-pw"})
    assert response.status_code == 422 and b"Tables must be a number from 0 to 200" in \
        response.data
    assert db.session.scalar(select(func.count(Shop.id))) == 0
