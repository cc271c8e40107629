"""Security headers (shopqr/security_headers.py) on every kind of response, HSTS only in
production, and templates that a strict Content-Security-Policy allows (no inline code or
style). Each app here sets SHOPQR_ENV itself, so the result does not hang on the default."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from flask import Flask

from shopqr.extensions import db
from shopqr.models import AdminUser
from shopqr.services.shops import add_staff, hash_secret
from tests.conftest import CSRFClient, LiveServer, build_app
from tests.factories import (
    make_order,
    make_product,
    make_shop,
    make_staff,
    make_table,
    sign_in_staff,
)

TEMPLATES = Path(__file__).resolve().parents[1] / "shopqr/templates"
OWNER_PASSWORD = "owner-password-long"
ADMIN_PASSWORD = "platform-admin-pass"
EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in out, f"{name} twice in {policy!r}"
        out[name] = values
    return out


def assert_secure_headers(response, *, hsts: bool) -> None:
    headers = response.headers
    for name, value in EXPECTED.items():
        assert headers.get_all(name) == [value], (name, response.request.path)
    [policy] = headers.get_all("Content-Security-Policy")
    csp = directives(policy)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"][0] == "'self'"
    assert not any("unsafe" in value or value == "*" for values in csp.values()
                   for value in values), policy
    if hsts:
        assert headers.get_all("Strict-Transport-Security") == [
            "max-age=31536000; includeSubDomains"]
    else:
        assert "Strict-Transport-Security" not in headers


def env_app(database_url: str, env: str) -> Flask:
    extra = {"SHOPQR_ENV": env}
    if env == "production":  # a real key, and no simulator (production refuses it)
        extra.update(SECRET_KEY="a-production-secret-for-the-test", BAKONG_SIMULATOR=False)
    return build_app(database_url, **extra)


@pytest.fixture
def shop_with_everyone(app, ctx):
    shop = make_shop("headers-cafe", name="Headers Cafe")
    table = make_table(shop, "Table 1")
    latte = make_product(shop, "Latte", "2.50")
    # A sale of each kind: the reports page fails (500) for a period without one (it formats
    # the int 0 as money), a bug outside this test's subject.
    for method in ("khqr", "cash"):
        make_order(shop, latte, method=method, table=table, paid=True)
    cashier = make_staff(shop, "cashier", "481516", name="Dara")
    owner = add_staff(db.session, shop, name="Owner", role="owner", pin="135790",
                      email="owner@headers.example", password=OWNER_PASSWORD)
    db.session.add(AdminUser(email="root@headers.example",
                             password_hash=hash_secret(ADMIN_PASSWORD)))
    db.session.commit()
    return shop, table, cashier, owner


@pytest.mark.parametrize("env", ["development", "production"])
def test_every_kind_of_page_has_the_headers_and_hsts_only_in_production(
        app, database_url, shop_with_everyone, env):
    shop, table, cashier, owner = shop_with_everyone
    the_app = env_app(database_url, env)
    production = env == "production"
    # Production cookies are Secure: speak HTTPS to it, as its proxy would.
    base_url = "https://localhost" if production else "http://localhost"

    def client() -> CSRFClient:
        c = the_app.test_client()
        # Over HTTPS, Flask-WTF wants a same-origin Referer on every POST (what the
        # same-origin Referrer-Policy still sends).
        c.environ_base["HTTP_REFERER"] = base_url + "/"
        return c

    def check(c, path: str, status: int = 200, **kwargs) -> None:
        response = c.get(path, base_url=base_url, **kwargs)
        assert response.status_code == status, (path, response.status_code)
        assert_secure_headers(response, hsts=production)

    slug = shop.slug
    guest = client()
    scan = guest.get(f"/s/{slug}/t/{table.qr_token}", base_url=base_url)
    assert_secure_headers(scan, hsts=production)  # a redirect has them too
    check(guest, f"/s/{slug}/menu")
    check(guest, f"/s/{slug}/cart", headers={"HX-Request": "true"})  # an htmx fragment
    check(guest, f"/s/{slug}/staff/")  # the PIN pad's first screen

    staff = client()
    response = staff.post(f"/s/{slug}/staff/sign-in", base_url=base_url,
                          data={"user_id": str(cashier.id), "pin": "481516"})
    assert response.status_code == 303
    assert_secure_headers(response, hsts=production)
    check(staff, f"/s/{slug}/pos/")
    check(staff, f"/s/{slug}/pos/orders")
    check(staff, f"/s/{slug}/kitchen/")

    settings = client()
    response = settings.post(f"/s/{slug}/settings/login", base_url=base_url,
                             data={"email": owner.email, "password": OWNER_PASSWORD})
    assert response.status_code == 303
    for page in ("", "menu", "tables", "tables/print", "staff", "payments", "reports"):
        check(settings, f"/s/{slug}/settings/{page}")

    admin = client()
    check(admin, "/admin/login")
    response = admin.post("/admin/login", base_url=base_url,
                          data={"email": "root@headers.example", "password": ADMIN_PASSWORD})
    assert response.status_code == 303
    check(admin, "/admin/")

    check(client(), "/s/no-such-shop/menu", status=404)
    check(client(), "/no/such/page", status=404)
    check(client(), "/healthz")
    with client().get("/static/js/app.js", base_url=base_url) as static:
        assert static.status_code == 200
        assert_secure_headers(static, hsts=production)


def test_a_view_that_sets_a_header_keeps_it_and_nothing_is_doubled(app, client, tmp_path):
    """media.py sets nosniff itself on uploaded photos; the header appears once."""
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    with client.get("/media/photo.jpg") as response:
        assert response.status_code == 200
        assert_secure_headers(response, hsts=False)


def test_the_websocket_host_is_in_connect_src_only_when_it_is_a_plain_host(app, client):
    policy = directives(client.get("/healthz", headers={"Host": "cafe.example:8443"})
                        .headers["Content-Security-Policy"])
    assert policy["connect-src"] == ["'self'", "ws://cafe.example:8443", "wss://cafe.example:8443"]
    odd = client.get("/healthz", headers={"Host": "x; script-src *"})
    assert directives(odd.headers["Content-Security-Policy"])["connect-src"] == ["'self'"]


def test_the_websocket_gets_no_page_headers(app, ctx):
    """The socket library writes the 101 handshake itself. Under Werkzeug's server, flask-sock
    then lets Werkzeug write the view's (empty) response after the socket closes; the page
    headers are not added to that (they would mean nothing there)."""
    shop = make_shop("socket-headers")
    cashier = make_staff(shop, "cashier", "481516")
    web = app.test_client()
    sign_in_staff(web, cashier)
    cookie = web.get_cookie("session").value
    server = LiveServer(app).start()
    data = b""
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            raw.sendall((
                f"GET /s/{shop.slug}/kitchen/ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                f"Cookie: session={cookie}\r\n\r\n").encode())
            while b"kitchen-board" not in data:  # the handshake and the first message
                chunk = raw.recv(65536)
                assert chunk, data
                data += chunk
            raw.sendall(bytes([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2]))  # close, 1000
            while chunk := raw.recv(65536):
                data += chunk
    finally:
        server.stop()
    assert data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n"), data[:200]
    assert b"Content-Security-Policy" not in data and b"X-Frame-Options" not in data


INLINE = re.compile(r"""\son[a-z]+\s*=|hx-on[:-]|\sstyle\s*=|<style|javascript:"""
                    r"""|<script(?![^>]*\ssrc=)""", re.IGNORECASE)


def test_templates_have_no_inline_script_or_style():
    """What the policy refuses: event handler attributes, hx-on (htmx evals it), style
    attributes and blocks, javascript: URLs, and script elements without a src."""
    found = [f"{path.relative_to(TEMPLATES)}:{n}: {line.strip()}"
             for path in sorted(TEMPLATES.rglob("*.html"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if INLINE.search(line)]
    assert found == []


def test_htmx_runs_without_eval_or_its_own_style_element():
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert '"allowEval":false' in base.replace(" ", "")
    assert '"includeIndicatorStyles":false' in base.replace(" ", "")
