"""The counter's QR code in the owner's settings (takeaway, docs/takeaway.md): shown next to the
tables, first on the printable sheet, downloadable as a PNG, regenerable; only the shop's own
owner gets it. And migration 0012takeaway gives every existing shop a code of its own."""

from __future__ import annotations

import io

from PIL import Image, ImageChops
from sqlalchemy import text

from shopqr.extensions import db
from shopqr.models import AuditLog, Shop
from shopqr.services import counter_qr
from shopqr.services.khqr_card import PAD, WIDTH, _qr_image
from tests.factories import make_shop
from tests.settings.test_settings_pages import make_owner, owned, owner_login  # noqa: F401
from tests.test_migrations import (  # noqa: F401
    empty_database_url,
    flask_db,
    migrating_app,
    script_directory,
)


def counter_url(shop) -> str:
    return f"http://localhost/s/{shop.slug}/c/{shop.counter_token}"


def test_the_tables_page_offers_the_counter_code(owned):  # noqa: F811
    shop, _, client = owned
    page = client.get(f"/s/{shop.slug}/settings/tables").text
    assert "Counter QR code (takeaway)" in page
    assert f"/s/{shop.slug}/c/{shop.counter_token}" in page  # open as a guest
    assert f"/s/{shop.slug}/settings/tables/counter.png" in page
    assert f"/s/{shop.slug}/settings/tables/counter/regenerate" in page


def test_the_printed_sheet_has_the_counter_card_first(owned):  # noqa: F811
    shop, _, client = owned
    client.post(f"/s/{shop.slug}/settings/tables/add", data={"name": "Table 1"})
    sheet = client.get(f"/s/{shop.slug}/settings/tables/print").text
    assert sheet.index('id="qr-counter"') < sheet.index('class="qr-card"')
    card = sheet[sheet.index('id="qr-counter"'):sheet.index('class="qr-card"')]
    assert "Takeaway · ខ្ចប់យកទៅ" in card and "<svg" in card


def find_code(png: bytes, url: str) -> bool:
    """Whether the image holds the QR code of exactly ``url`` (drawn as the card draws it)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    code = _qr_image(url, WIDTH - 2 * PAD)
    x = (WIDTH - code.width) // 2
    for y in range(0, image.height - code.height):
        crop = image.crop((x, y, x + code.width, y + code.height))
        if ImageChops.difference(crop, code).getbbox() is None:
            return True
    return False


def test_the_counter_png_is_the_code_of_the_counter_url(owned):  # noqa: F811
    shop, _, client = owned
    response = client.get(f"/s/{shop.slug}/settings/tables/counter.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "attachment" in response.headers["Content-Disposition"]
    assert f"counter-qr-{shop.slug}.png" in response.headers["Content-Disposition"]
    assert find_code(response.data, counter_url(shop))
    assert not find_code(response.data, counter_url(shop) + "x")
    assert Image.open(io.BytesIO(response.data)).size[0] == WIDTH


def test_a_new_counter_code_changes_the_png_and_is_audited(owned):  # noqa: F811
    shop, _, client = owned
    old = client.get(f"/s/{shop.slug}/settings/tables/counter.png").data
    assert client.post(f"/s/{shop.slug}/settings/tables/counter/regenerate").status_code == 303
    db.session.expire_all()
    shop = db.session.get(Shop, shop.id)
    new = client.get(f"/s/{shop.slug}/settings/tables/counter.png").data
    assert old != new and find_code(new, counter_url(shop))
    assert db.session.query(AuditLog).filter_by(
        action="settings.counter_qr_regenerated").count() == 1


def test_only_the_shops_owner_gets_or_changes_its_counter_code(app, owned):  # noqa: F811
    shop, _, client = owned
    other = make_shop("other-counter-owner")
    before = other.counter_token
    # signed in at one shop, not at another: no image (to the other's sign-in page), and a
    # new code is refused
    image = client.get(f"/s/{other.slug}/settings/tables/counter.png")
    assert image.status_code == 303 and "/settings/login" in image.headers["Location"]
    assert client.post(f"/s/{other.slug}/settings/tables/counter/regenerate").status_code == 401
    stranger = app.test_client()
    assert stranger.get(f"/s/{shop.slug}/settings/tables/counter.png").status_code == 303
    db.session.expire_all()
    assert db.session.get(Shop, other.id).counter_token == before


def test_the_png_draws_khmer(app):
    png = counter_qr.render("http://example.test/s/a/c/b", "ហាងកាហ្វេ")
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_existing_shops_get_a_counter_code_of_their_own(migrating_app):  # noqa: F811
    before = script_directory(migrating_app).get_revision("0012takeaway").down_revision
    flask_db(migrating_app, "upgrade", before)
    with db.engine.begin() as conn:
        for n in (1, 2):
            conn.execute(text(
                "INSERT INTO shops (id, slug, name, currency, khr_per_usd, round_riel_change, "
                "allow_short_pins, menu_version, bakong_account_type, khqr_merchant_city, "
                "is_active, created_at, khqr_deeplinks, kitchen_warn_minutes, "
                "kitchen_late_minutes) VALUES (:n, :slug, 'Old Cafe', 'USD', 4100, 1, 0, 1, "
                "'personal', 'Phnom Penh', 1, '2026-12-01 10:00:00', 0, 5, 10)"),
                {"n": n, "slug": f"old-{n}"})
    flask_db(migrating_app, "upgrade")
    with db.engine.connect() as conn:
        codes = [row[0] for row in conn.execute(text("SELECT counter_token FROM shops"))]
    assert len(codes) == 2 and len(set(codes)) == 2 and all(len(c) >= 43 for c in codes)
    flask_db(migrating_app, "downgrade", before)
    flask_db(migrating_app, "upgrade")
