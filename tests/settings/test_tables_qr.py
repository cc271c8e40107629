"""Tables and QR (docs/tables-and-qr.md): each table's QR code as a preview and as PNG and SVG
downloads that encode the URL the printed sheet does; the sheet's print button, back link and
logo; the shop's logo, uploaded under Overview, on the sheet, receipts and the KHQR payment
page; only the shop's own owner gets or changes any of it. And the one "expires soon" rule."""

from __future__ import annotations

import gc
import io
import re
import warnings
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from shopqr.extensions import db
from shopqr.models import AuditLog, Shop, ShopTable, utcnow
from shopqr.services import payments, platform, tables
from shopqr.services.numbering import business_date
from tests.factories import make_order, make_product, make_shop, make_table
from tests.settings.test_counter_qr import find_code
from tests.settings.test_settings_pages import make_owner, owned, owner_login  # noqa: F401

PATH = re.compile(r"M(\d+),(\d+)H\d+V\d+H\d+z")  # a square per module (qrcode's SVG images)
RUNS = re.compile(r"M(\d+),(\d+)h(\d+)v1h-\3z")  # a run per row (shopqr.filters.qr_svg)


def table_url(shop, table) -> str:
    return f"http://localhost/s/{shop.slug}/t/{table.qr_token}"


def modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules an SVG QR code draws, as (x, y) from its top-left dark module: equal
    sets are the same code, whatever the quiet zone or scale."""
    found = {(int(x), int(y)) for x, y in PATH.findall(svg)}
    found |= {(int(x) + i, int(y)) for x, y, width in RUNS.findall(svg) for i in range(int(width))}
    assert found, svg[:200]
    left, top = min(x for x, _ in found), min(y for _, y in found)
    return {(x - left, y - top) for x, y in found}


def logo_png(size=(900, 300), *, alpha: bool = True) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", size, (0, 0, 0, 0) if alpha else "white")
    for x in range(size[0] // 4, size[0] * 3 // 4):
        for y in range(size[1] // 3, size[1] * 2 // 3):
            image.putpixel((x, y), (200, 30, 40, 255) if alpha else (200, 30, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def upload(client, shop, data: bytes, filename: str = "logo.png"):
    return client.post(f"/s/{shop.slug}/settings/logo",
                       data={"logo": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


# --- a table's QR code: preview and downloads ------------------------------------------------

def test_each_row_has_a_lazy_preview_and_png_and_svg_downloads(owned):  # noqa: F811
    shop, _, client = owned
    five, window = make_table(shop, "Table 5"), make_table(shop, "Window")
    page = client.get(f"/s/{shop.slug}/settings/tables").text
    for table in (five, window):
        row = page[page.index(f'id="settings-table-{table.id}"'):]
        row = row[:row.index("</tr>")]
        base = f"/s/{shop.slug}/settings/tables/{table.id}"
        assert re.search(rf'<img class="qr-thumb" src="{base}/qr.svg" loading="lazy"', row)
        assert f'href="{base}/qr.png" download' in row and f'href="{base}/qr.svg" download' in row
        assert "Open as a guest" in row and 'class="btn-group row-actions"' in row


def test_the_png_is_the_tables_card_and_downloads_as_its_name(owned):  # noqa: F811
    shop, _, client = owned
    table = make_table(shop, "Table 5")
    response = client.get(f"/s/{shop.slug}/settings/tables/{table.id}/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == 'attachment; filename="table-5.png"'
    assert find_code(response.data, table_url(shop, table))
    assert not find_code(response.data, table_url(shop, table) + "x")
    # renamed, the card (it prints the name) is a new file, not the browser's old copy
    url, etag = f"/s/{shop.slug}/settings/tables/{table.id}/qr.png", response.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    client.post(f"/s/{shop.slug}/settings/tables/{table.id}", data={"name": "Table 6"})
    renamed = client.get(url, headers={"If-None-Match": etag})
    assert renamed.status_code == 200 and renamed.data != response.data
    assert 'filename="table-6.png"' in renamed.headers["Content-Disposition"]


def test_the_svg_encodes_the_url_the_printed_sheet_does(owned):  # noqa: F811
    shop, _, client = owned
    table, other = make_table(shop, "Window seat"), make_table(shop, "Bar")
    response = client.get(f"/s/{shop.slug}/settings/tables/{table.id}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="window-seat.svg"'
    assert response.text.startswith("<?xml") and 'fill="white"' in response.text  # a white square
    sheet = client.get(f"/s/{shop.slug}/settings/tables/print").text
    card = sheet[sheet.index(f'id="qr-{table.id}"'):]
    card = card[:card.index("</section>")]
    other_card = sheet[sheet.index(f'id="qr-{other.id}"'):]
    assert modules(response.text) == modules(card)
    assert modules(response.text) != modules(other_card[:other_card.index("</section>")])


def test_a_name_without_latin_letters_downloads_as_table_and_its_id(owned):  # noqa: F811
    shop, _, client = owned
    table = make_table(shop, "តុ ក")
    response = client.get(f"/s/{shop.slug}/settings/tables/{table.id}/qr.svg")
    assert f'filename="table-{table.id}.svg"' in response.headers["Content-Disposition"]


def test_a_new_code_is_a_new_download_and_an_unchanged_one_is_304(owned):  # noqa: F811
    shop, _, client = owned
    table = make_table(shop, "Patio")
    url = f"/s/{shop.slug}/settings/tables/{table.id}/qr.svg"
    first = client.get(url)
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert client.post(f"/s/{shop.slug}/settings/tables/{table.id}/regenerate").status_code == 303
    db.session.expire_all()
    table = db.session.get(ShopTable, table.id)
    second = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
    assert modules(second.text) != modules(first.text)
    png = client.get(f"/s/{shop.slug}/settings/tables/{table.id}/qr.png").data
    assert find_code(png, table_url(shop, table))


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_only_the_shops_owner_downloads_its_tables_codes(app, owned, kind):  # noqa: F811
    shop, _, client = owned
    other = make_shop("other-qr-shop")
    theirs, removed = make_table(other, "Table 1"), make_table(shop, "Gone")
    mine = make_table(shop, "Table 2")
    client.post(f"/s/{shop.slug}/settings/tables/{removed.id}/remove")
    # another shop's table through my shop's address, and my removed table: not found
    assert client.get(f"/s/{shop.slug}/settings/tables/{theirs.id}/qr.{kind}").status_code == 404
    assert client.get(f"/s/{shop.slug}/settings/tables/{removed.id}/qr.{kind}").status_code == 404
    # the other shop's own address: I am not signed in there
    there = client.get(f"/s/{other.slug}/settings/tables/{theirs.id}/qr.{kind}")
    assert there.status_code == 303 and "/settings/login" in there.headers["Location"]
    stranger = app.test_client().get(f"/s/{shop.slug}/settings/tables/{mine.id}/qr.{kind}")
    assert stranger.status_code == 303 and "/settings/login" in stranger.headers["Location"]


def test_the_counter_code_prints_alone(owned):  # noqa: F811
    shop, _, client = owned
    make_table(shop, "Table 1")
    page = client.get(f"/s/{shop.slug}/settings/tables").text
    assert f'href="/s/{shop.slug}/settings/tables/print?card=counter"' in page
    alone = client.get(f"/s/{shop.slug}/settings/tables/print?card=counter").text
    assert 'id="qr-counter"' in alone and 'class="qr-card"' not in alone
    assert "Takeaway · ខ្ចប់យកទៅ" in alone and "Counter QR code (takeaway)" in alone


def test_the_sheet_has_a_print_button_and_a_back_link_that_print_hides(owned):  # noqa: F811
    shop, _, client = owned
    sheet = client.get(f"/s/{shop.slug}/settings/tables/print").text
    toolbar = sheet[sheet.index('<nav class="sheet-toolbar no-print"'):sheet.index("</nav>")]
    assert "data-print" in toolbar and f'href="/s/{shop.slug}/settings/tables"' in toolbar
    assert "/static/js/app.js" in sheet  # data-print's listener (no inline script: CSP)
    with client.get("/static/css/qr_sheet.css") as css:
        assert re.search(r"@media print \{ \.no-print \{ display: none", css.text)


# --- the shop's logo ---------------------------------------------------------------------------

def test_the_owner_uploads_replaces_and_removes_the_logo(owned):  # noqa: F811
    shop, _, client = owned
    assert 'class="logo-preview"' not in client.get(f"/s/{shop.slug}/settings/").text
    assert upload(client, shop, logo_png()).status_code == 303
    db.session.expire_all()
    first = db.session.get(Shop, shop.id).logo
    assert first and first.startswith("uploads/logo-") and first.endswith(".png")
    page = client.get(f"/s/{shop.slug}/settings/").text
    assert "Saved." in page and f'src="/media/{first.removeprefix("uploads/")}"' in page
    with client.get(f"/media/{first.removeprefix('uploads/')}") as served:
        assert served.status_code == 200 and served.mimetype == "image/png"
        with Image.open(io.BytesIO(served.data)) as image:  # shrunk, transparency kept
            assert image.size == (480, 160) and image.mode == "RGBA"
            assert image.getpixel((0, 0))[3] == 0 and image.getpixel((240, 80))[3] == 255
    assert upload(client, shop, logo_png((200, 200), alpha=False), "new.jpg").status_code == 303
    db.session.expire_all()
    second = db.session.get(Shop, shop.id).logo
    assert second != first
    assert "Replace the logo" in client.get(f"/s/{shop.slug}/settings/").text
    assert client.post(f"/s/{shop.slug}/settings/logo/remove").status_code == 303
    db.session.expire_all()
    assert db.session.get(Shop, shop.id).logo is None
    assert 'class="logo-preview"' not in client.get(f"/s/{shop.slug}/settings/").text
    actions = db.session.scalars(select(AuditLog.action).where(
        AuditLog.action.like("settings.logo%")).order_by(AuditLog.id)).all()
    assert actions == ["settings.logo_added", "settings.logo_replaced", "settings.logo_removed"]


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize("data,filename,status,message", [
    (SVG, "logo.svg", 422, "SVG files cannot be uploaded"),
    (SVG, "logo.png", 422, "SVG files cannot be uploaded"),  # the name does not matter
    (b"\n  <svg xmlns='http://www.w3.org/2000/svg'/>", "logo", 422, "SVG files cannot"),
    (b"just some text", "logo.png", 422, "not an image we can read"),
    (b"GIF89a" + b"\x00" * 50, "logo.gif", 422, "not an image we can read"),
    (b"", "logo.png", 422, "Choose a logo to upload"),
    ("bmp", "logo.bmp", 422, "Upload the logo as a PNG, JPEG, WebP or GIF image"),
])
def test_bad_logo_files_say_why_and_change_nothing(owned, data, filename, status,  # noqa: F811
                                                    message):
    shop, _, client = owned
    if data == "bmp":
        out = io.BytesIO()
        Image.new("RGB", (10, 10)).save(out, "BMP")
        data = out.getvalue()
    response = upload(client, shop, data, filename)
    assert response.status_code == status and message in response.text
    assert 'role="alert"' in response.text  # on the page, next to the form
    db.session.expire_all()
    assert db.session.get(Shop, shop.id).logo is None
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action.like("settings.logo%"))) == 0


def test_a_huge_logo_is_a_friendly_413(owned):  # noqa: F811
    shop, _, client = owned
    builder = EnvironBuilder(
        path=f"/s/{shop.slug}/settings/logo", method="POST",
        headers={"X-CSRFToken": client.csrf_token()},
        data={"logo": (io.BytesIO(logo_png() + b"\x00" * (4 * 1024 * 1024)), "big.png")})
    try:
        response = client.open(builder)
    finally:
        builder.close()
    assert response.status_code == 413
    assert "That file is too large (4 MB at most)" in response.text
    db.session.expire_all()
    assert db.session.get(Shop, shop.id).logo is None
    del response, builder  # the test client's spooled body (see test_settings_pages)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_another_shops_owner_cannot_change_the_logo(app, owned):  # noqa: F811
    shop, _, client = owned
    other = make_shop("other-logo-shop")
    assert upload(client, other, logo_png()).status_code == 401
    assert client.post(f"/s/{other.slug}/settings/logo/remove").status_code == 401
    assert upload(app.test_client(), shop, logo_png()).status_code == 401
    db.session.expire_all()
    assert db.session.get(Shop, other.id).logo is None
    assert db.session.get(Shop, shop.id).logo is None


def test_the_logo_is_on_the_sheet_receipts_and_the_khqr_page(app, owned):  # noqa: F811
    shop, _, client = owned
    table = make_table(shop, "Table 1")
    tea = make_product(shop, "Tea", "1.50")
    paid = make_order(shop, tea, paid=True)
    tables.join_or_start(db.session, table)
    pending = make_order(shop, tea, method="khqr", table=table)
    payments.create_khqr(db.session, shop, pending, now=utcnow(), ttl_seconds=600,
                         grace_seconds=1800)
    db.session.commit()
    guest = app.test_client()
    pages = {
        "sheet": lambda: client.get(f"/s/{shop.slug}/settings/tables/print").text,
        "receipt": lambda: guest.get(f"/s/{shop.slug}/orders/{paid.public_token}/receipt").text,
        "khqr": lambda: guest.get(f"/s/{shop.slug}/orders/{pending.public_token}").text,
    }
    marks = {"sheet": 'class="qr-logo"', "receipt": 'class="receipt-logo"',
             "khqr": 'class="khqr-shop-logo"'}
    without = {name: get() for name, get in pages.items()}
    for name, html in without.items():  # a shop without a logo looks as before
        assert marks[name] not in html and "/media/logo-" not in html, name
    assert "khqr-card" in without["khqr"] and "receipt-shop" in without["receipt"]
    upload(client, shop, logo_png())
    db.session.expire_all()
    src = f'src="/media/{db.session.get(Shop, shop.id).logo.removeprefix("uploads/")}"'
    for name, get in pages.items():
        html = get()
        assert f'{marks[name]} {src}' in html, name
    sheet = pages["sheet"]()
    assert sheet.count('class="qr-logo"') == 2  # the counter's card and the table's


def test_the_logos_translations_read_in_khmer(owned, khmer):  # noqa: F811
    shop, _, client = owned
    client.set_cookie("shopqr_lang", "km")
    response = upload(client, shop, SVG, "logo.svg")
    assert response.status_code == 422
    message = "SVG files cannot be uploaded: save the logo as a PNG and upload that."
    assert khmer[message] and khmer[message] in response.text
    assert khmer["Shop profile"] in response.text


# --- one "expires soon" rule --------------------------------------------------------------------

def test_expires_soon_is_one_seven_day_rule(app, admin_client, ctx):  # noqa: F811
    today = business_date(utcnow())
    shops = {days: make_shop(f"ends-in-{days}", name=f"Ends in {days}",
                             subscription_expires_on=today + timedelta(days=days))
             for days in (0, 7, 8, 14)}
    listed = admin_client.get("/admin/", query_string={"expiry": "soon"}).text
    everything = admin_client.get("/admin/").text
    for days, shop in shops.items():
        soon = days <= platform.REMIND_DAYS
        row = re.search(rf'<tr id="admin-shop-{shop.id}">(.*?)</tr>', everything, re.S).group(1)
        assert ("expires soon" in row) is soon, (days, row)  # the list's status ...
        assert (f'id="admin-shop-{shop.id}"' in listed) is soon, days  # ... and its filter
        assert (platform.reminder_text(shop, today) is not None) is soon, days  # reminders
        owner = make_owner(shop)
        owner_client = app.test_client()
        owner_login(owner_client, shop, owner)
        banner = "Please renew" in owner_client.get(f"/s/{shop.slug}/settings/").text
        assert banner is soon, days  # the owner's settings banner
