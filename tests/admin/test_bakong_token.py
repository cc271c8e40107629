"""The platform admin's Bakong API token page: the expiry read from the JWT, the warning 14 days
before, renewal through the simulator's /v1/renew_token, and every process using the newest
token afterwards (docs/bakong-token.md)."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import BakongTokenRenewal, utcnow
from shopqr.services import bakong_token
from shopqr.services.bakong import client_from_config, token_expiry
from tests.factories import make_shop, make_staff, sign_in_staff
from tests.settings.test_settings_pages import make_owner, owner_login


def jwt(expires: datetime) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    exp = int((expires - datetime(1970, 1, 1)).total_seconds())
    return f"{part({'alg': 'HS256'})}.{part({'exp': exp})}.signature"


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.mark.parametrize("days,level", [(40, "ok"), (15, "ok"), (13, "warn"), (-2, "bad")])
def test_expiry_is_read_from_the_jwt_and_warned_14_days_before(app, admin_client, days, level):
    expires = (utcnow() + timedelta(days=days, hours=1)).replace(microsecond=0)
    app.config["BAKONG_TOKEN"] = jwt(expires)
    page = admin_client.get("/admin/bakong")
    assert page.status_code == 200
    assert f"{expires:%Y-%m-%d %H:%M} UTC" in text(page)
    warned = 'id="bakong-warning"' in page.get_data(as_text=True)
    assert warned is (level != "ok")
    index = admin_client.get("/admin/").get_data(as_text=True)
    assert ('id="bakong-banner"' in index) is (level != "ok")


def test_renewal_through_the_simulator_is_shown_and_used(app, ctx, admin_client, live_server):
    old = jwt(utcnow() + timedelta(days=3))
    app.config.update(BAKONG_TOKEN=old, BAKONG_EMAIL="ops@shopqr.example")
    assert client_from_config(app.config).token == old
    response = admin_client.post("/admin/bakong/renew")
    assert response.status_code == 303
    page = admin_client.get(response.headers["Location"])
    assert page.status_code == 200
    row = db.session.scalar(select(BakongTokenRenewal))
    assert row.token and row.error is None and row.email == "ops@shopqr.example"
    assert row.expires_at > utcnow() + timedelta(days=89)
    shown = text(page)
    assert "Token renewed" in shown and f"{row.expires_at:%Y-%m-%d %H:%M} UTC" in shown
    assert 'id="bakong-warning"' not in page.get_data(as_text=True)
    assert "root@shopqr.example" in shown  # who renewed it, in the history
    # every new client (poller, payment pages) now sends the renewed token
    assert client_from_config(app.config).token == row.token
    # the simulator accepts it for a payment check
    answer = requests.post(f"{live_server.url}/_bakong/v1/check_transaction_by_md5",
                           json={"md5": "0" * 32}, timeout=10,
                           headers={"Authorization": f"Bearer {row.token}"})
    assert answer.status_code == 200


def test_a_fresher_configured_token_wins_over_an_older_renewal(app, ctx):
    renewed = jwt(utcnow() + timedelta(days=20))
    db.session.add(BakongTokenRenewal(email="ops@x.example", token=renewed,
                                      expires_at=token_expiry(renewed)))
    db.session.commit()
    app.config["BAKONG_TOKEN"] = jwt(utcnow() + timedelta(days=10))
    assert bakong_token.current(db.session, app.config).token == renewed
    fresher = jwt(utcnow() + timedelta(days=80))
    app.config["BAKONG_TOKEN"] = fresher
    state = bakong_token.current(db.session, app.config)
    assert state.token == fresher and state.source == "config"


def test_a_refused_renewal_is_shown_and_kept_with_its_reason(app, ctx, admin_client, live_server):
    app.config.update(BAKONG_TOKEN=jwt(utcnow() + timedelta(days=3)),
                      BAKONG_EMAIL="not-an-address")
    response = admin_client.post("/admin/bakong/renew")
    assert response.status_code == 502
    assert "not registered" in text(response)
    row = db.session.scalar(select(BakongTokenRenewal))
    assert row.token is None and "not registered" in row.error
    # the token in use did not change
    assert client_from_config(app.config).token == app.config["BAKONG_TOKEN"]
    # an outage is reported the same way, and nothing is lost
    requests.post(f"{live_server.url}/_bakong/faults", timeout=10,
                  json={"mode": "500", "count": 1}).raise_for_status()
    app.config["BAKONG_EMAIL"] = "ops@shopqr.example"
    failed = admin_client.post("/admin/bakong/renew")
    assert failed.status_code == 502 and "did not renew" in text(failed)


def test_without_bakong_email_renewal_is_refused_clearly(app, admin_client):
    app.config.update(BAKONG_TOKEN=jwt(utcnow() + timedelta(days=3)), BAKONG_EMAIL=None)
    page = admin_client.get("/admin/bakong")
    assert "Set BAKONG_EMAIL on the server" in text(page)
    refused = admin_client.post("/admin/bakong/renew")
    assert refused.status_code == 409 and "BAKONG_EMAIL" in text(refused)


@pytest.mark.parametrize("method,path", [("get", "/admin/bakong"),
                                         ("post", "/admin/bakong/renew")])
def test_only_a_platform_admin_sees_or_renews_the_token(client, app, ctx, method, path):
    shop = make_shop()
    owner = make_staff(shop, "owner", "135790")
    sign_in_staff(client, owner, "135790")
    response = getattr(client, method)(path)
    assert response.status_code in (303, 401)
    assert db.session.scalar(select(BakongTokenRenewal)) is None


def test_owners_banner_clears_once_the_token_is_renewed(app, ctx, client):
    app.config.update(BAKONG_TOKEN=jwt(utcnow() + timedelta(days=2)), BAKONG_API_URL="http://x")
    shop = make_shop()
    owner_login(client, shop, make_owner(shop))
    before = client.get(f"/s/{shop.slug}/settings/").get_data(as_text=True)
    assert "Bakong API token expires" in before
    renewed = jwt(utcnow() + timedelta(days=90))
    db.session.add(BakongTokenRenewal(email="ops@x.example", token=renewed,
                                      expires_at=token_expiry(renewed)))
    db.session.commit()
    after = client.get(f"/s/{shop.slug}/settings/").get_data(as_text=True)
    assert "Bakong API token expires" not in after
