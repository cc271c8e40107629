"""The platform admin's shops list (search, filters, 30-day figures) and the owners' accounts
(unlock, password reset, email change), every change audited (docs/admin.md)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from shopqr.extensions import db
from shopqr.models import AuditLog, LoginSession, Order, User, utcnow
from shopqr.services.numbering import business_date
from tests.factories import make_order, make_product, make_shop, make_staff


def _today():
    return business_date(utcnow())


@pytest.fixture
def shops(ctx):
    today = _today()
    river = make_shop("riverside", name="Riverside Cafe",
                      subscription_expires_on=today - timedelta(days=1))
    lotus = make_shop("lotus-tea", name="Lotus Tea", currency="KHR",
                      subscription_expires_on=today + timedelta(days=3))
    mango = make_shop("mango", name="Mango Corner", subscription_expires_on=None,
                      is_active=False)
    return river, lotus, mango


def _row(html: str, shop_id: int) -> str:
    match = re.search(rf'<tr id="admin-shop-{shop_id}">(.*?)</tr>', html, re.S)
    assert match, f"shop {shop_id} not listed"
    return match.group(1)


def test_search_and_filters(admin_client, shops):
    river, lotus, mango = shops
    listed = lambda **q: {s.id for s in shops if f'id="admin-shop-{s.id}"' in  # noqa: E731
                          admin_client.get("/admin/", query_string=q).text}
    assert listed() == {river.id, lotus.id, mango.id}
    assert listed(q="lotus") == {lotus.id}
    assert listed(q="RIVER") == {river.id}  # names, any case
    assert listed(q="mango") == {mango.id}
    assert listed(q="%") == set()  # a wildcard is searched for literally
    assert listed(status="suspended") == {mango.id}
    assert listed(status="active") == {river.id, lotus.id}
    assert listed(expiry="expired") == {river.id}
    assert listed(expiry="soon") == {lotus.id}
    assert listed(expiry="ok") == {mango.id}
    assert listed(status="active", expiry="ok") == set()
    assert "No shops match" in admin_client.get("/admin/?q=nothing-like-it").text
    assert listed(status="bogus", expiry="bogus") == {river.id, lotus.id, mango.id}


def test_each_shop_shows_30_days_of_paid_orders_and_revenue_per_currency(app, admin_client,
                                                                         shops):
    river, lotus, mango = shops
    tea = make_product(river, "Tea", "1.50")
    rice = make_product(lotus, "Rice", "8000")
    make_order(river, tea, 2, paid=True)
    make_order(river, tea, 1, paid=True)
    make_order(river, tea, 5)  # pending: not revenue
    old = make_order(river, tea, 4, paid=True)
    old.created_at = utcnow() - timedelta(days=31)
    make_order(lotus, rice, 1, paid=True)
    # a USD order in the KHR shop (the shop changed currency): kept apart, never added
    odd = make_order(lotus, rice, 1, paid=True)
    odd.currency, odd.total = "USD", Decimal("2.25")
    db.session.commit()

    statements = []
    listen = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        html = admin_client.get("/admin/").text
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    orders_queries = [s for s in statements if "FROM orders" in s and "GROUP BY" in s]
    assert len(orders_queries) == 1, orders_queries  # one aggregate for the page

    river_row = _row(html, river.id)
    assert '<td class="num orders">2</td>' in river_row
    assert "$4.50" in river_row
    lotus_row = _row(html, lotus.id)
    assert '<td class="num orders">2</td>' in lotus_row
    assert "8,000" in lotus_row and "$2.25" in lotus_row
    mango_row = _row(html, mango.id)
    assert "No orders yet" in mango_row and '<td class="num orders">0</td>' in mango_row
    latest = db.session.scalar(select(Order.created_at).where(Order.shop_id == river.id)
                               .order_by(Order.created_at.desc()).limit(1))
    from shopqr.filters import local_time
    assert local_time(latest, "%Y-%m-%d %H:%M") in river_row


def test_owner_unlock_and_password_reset_end_sessions(app, admin_client, ctx):
    shop = make_shop("locked-cafe")
    owner = make_staff(shop, "owner", "135790", email="o@locked.example",
                       password="the-old-password")
    owner_browser = app.test_client()
    assert owner_browser.post("/s/locked-cafe/settings/login", data={
        "email": "o@locked.example", "password": "the-old-password"}).status_code == 303
    assert owner_browser.get("/s/locked-cafe/settings/").status_code == 200
    owner.locked_at, owner.failed_pin_attempts = utcnow(), 10
    db.session.commit()
    page = admin_client.get(f"/admin/shops/{shop.id}").text
    assert "Locked" in page and "Unlock" in page

    response = admin_client.post(f"/admin/shops/{shop.id}/staff/{owner.id}/unlock")
    assert response.status_code == 303
    page = admin_client.get(response.headers["Location"]).text
    assert "Saved." in page and ">Locked<" not in page
    db.session.expire_all()
    assert db.session.get(User, owner.id).locked_at is None

    short = admin_client.post(f"/admin/shops/{shop.id}/staff/{owner.id}/password",
                              data={"password": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    reset = admin_client.post(f"/admin/shops/{shop.id}/staff/{owner.id}/password",
                              data={"password": "a-brand-new-password"})
    assert reset.status_code == 303
    # the owner's open settings session has ended; the new password works
    assert owner_browser.get("/s/locked-cafe/settings/").status_code in (302, 303)
    assert db.session.scalar(select(LoginSession.end_reason).where(
        LoginSession.user_id == owner.id)) == "password reset"
    fresh = app.test_client()
    assert fresh.post("/s/locked-cafe/settings/login", data={
        "email": "o@locked.example", "password": "a-brand-new-password"}).status_code == 303
    actions = set(db.session.scalars(select(AuditLog.action).where(
        AuditLog.shop_id == shop.id, AuditLog.detail.like("%root@shopqr.example%"))))
    assert {"staff.unlock", "owner.password_reset"} <= actions


@pytest.mark.parametrize("email,message", [
    ("", "required"), ("not-an-email", "valid email"), ("a@b", "valid email"),
    ("two@@x.example", "valid email"), ("taken@other.example", "already in use"),
    ("x" * 120 + "@long.example", "valid email"),
])
def test_a_bad_owner_email_is_a_clear_422_and_changes_nothing(admin_client, ctx, email,
                                                              message):
    other = make_shop("other-shop")
    make_staff(other, "owner", "135790", email="taken@other.example", password="x" * 12)
    shop = make_shop("email-cafe")
    owner = make_staff(shop, "owner", "246802", email="old@email.example", password="x" * 12)
    response = admin_client.post(f"/admin/shops/{shop.id}/staff/{owner.id}/email",
                                 data={"email": email})
    assert response.status_code == 422 and message in response.text
    db.session.expire_all()
    assert db.session.get(User, owner.id).email == "old@email.example"


def test_change_an_owner_email_then_sign_in_with_it(app, admin_client, ctx):
    shop = make_shop("email-ok")
    owner = make_staff(shop, "owner", "135790", email="old@ok.example", password="owner-pass-1")
    cashier = make_staff(shop, "cashier", "246802")
    response = admin_client.post(f"/admin/shops/{shop.id}/staff/{owner.id}/email",
                                 data={"email": "  New@OK.example "})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, owner.id).email == "new@ok.example"
    assert app.test_client().post("/s/email-ok/settings/login", data={
        "email": "new@ok.example", "password": "owner-pass-1"}).status_code == 303
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "admin.owner_email"))
    assert "old@ok.example -> new@ok.example" in entry.detail
    assert "root@shopqr.example" in entry.detail
    # only owners have a sign-in email here; another shop's owner is 404
    assert admin_client.post(f"/admin/shops/{shop.id}/staff/{cashier.id}/email",
                             data={"email": "c@ok.example"}).status_code == 404
    other = make_shop("email-other")
    assert admin_client.post(f"/admin/shops/{other.id}/staff/{owner.id}/email",
                             data={"email": "z@ok.example"}).status_code == 404
    # and without the CSRF token nothing happens
    assert admin_client.post(f"/admin/shops/{shop.id}/staff/{owner.id}/email",
                             data={"email": "y@ok.example"}, csrf=False).status_code == 400


def test_subscription_changes_and_new_shops_are_audited(admin_client, ctx):
    shop = make_shop("audit-cafe")
    end = (_today() + timedelta(days=90)).isoformat()
    assert admin_client.post(f"/admin/shops/{shop.id}", data={"expires": end}).status_code == 303
    assert admin_client.post(f"/admin/shops/{shop.id}",
                             data={"expires": end, "active": "0"}).status_code == 303
    bad = admin_client.post(f"/admin/shops/{shop.id}", data={"expires": "31/12/2026"})
    assert bad.status_code == 422 and "2026-12-31" in bad.text
    created = admin_client.post("/admin/shops/new", data={
        "name": "Audit Two", "slug": "audit-two", "currency": "USD", "tables": "1",
        "owner_name": "Vanna", "owner_email": "vanna@audit.example",
        "owner_password": "audit-two-pass"})
    assert created.status_code == 200
    actions = [a for a, in db.session.execute(select(AuditLog.action).where(
        AuditLog.action.like("admin.%")).order_by(AuditLog.id))]
    assert actions == ["admin.subscription", "admin.suspended", "admin.shop_created"]
    page = admin_client.get(f"/admin/shops/{shop.id}").text
    assert "admin.suspended" in page and "by platform admin root@shopqr.example" in page


def test_the_new_shop_form_shows_every_error_at_once(admin_client, ctx):
    make_shop("taken-one")
    response = admin_client.post("/admin/shops/new", data={
        "name": "", "slug": "Bad Slug", "currency": "EUR", "tables": "x",
        "expires": "soon", "owner_name": "", "owner_email": "nope",
        "owner_password": "short"})
    assert response.status_code == 422
    for field in ("name", "slug", "currency", "tables", "expires", "owner_name",
                  "owner_email", "owner_password"):
        assert f'id="error-{field}"' in response.text, field
    assert "web address" in response.text and "at least 10 characters" in response.text
    # the typed values stay, the password does not
    assert 'value="Bad Slug"' in response.text and "short" not in response.text.split(
        'name="owner_password"')[1][:80]
    taken = admin_client.post("/admin/shops/new", data={
        "name": "X", "slug": "taken-one", "owner_name": "Y", "owner_email": "y@y.example",
        "owner_password": "long-enough-pass"})
    assert taken.status_code == 422 and 'id="error-slug"' in taken.text \
        and "taken" in taken.text


def test_the_admin_pages_switch_language(app, admin_client, ctx):
    page = admin_client.get("/admin/").text
    assert 'action="/admin/language"' in page
    response = admin_client.post("/admin/language", data={"lang": "km", "next": "/admin/"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/"
    assert "ហាង" in admin_client.get("/admin/").text
    assert admin_client.post("/admin/language", data={"lang": "fr"}).status_code == 400
    # an outside address is not followed
    away = admin_client.post("/admin/language", data={"lang": "en",
                                                      "next": "https://evil.example/"})
    assert away.headers["Location"] == "/admin/"
    # the sign-in page has it too
    assert 'action="/admin/language"' in app.test_client().get("/admin/login").text


def test_the_shop_page_has_one_audit_table_and_a_plain_title(admin_client, ctx):
    shop = make_shop("title-cafe", name="Title Cafe")
    page = admin_client.get(f"/admin/shops/{shop.id}").text
    assert "<title>Title Cafe · shopqr</title>" in page
    assert page.count('id="audit-log"') == 1
