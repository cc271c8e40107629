"""Owner settings: sign-in rule, menu, photos, sold out, tables and QR, staff, payments,
reports, and other shops' ids."""

from __future__ import annotations

import gc
import io
import warnings
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import (
    Category,
    Order,
    Product,
    ShopTable,
    Transaction,
    User,
    utcnow,
)
from shopqr.services import payments
from shopqr.services.shops import add_staff
from tests.factories import (
    make_order,
    make_product,
    make_shop,
    make_staff,
    make_table,
    option_id,
    sign_in_staff,
)

PASSWORD = "correct-horse-battery"


def make_owner(shop, email=None):
    owner = add_staff(db.session, shop, name="Owner", role="owner", pin="135790",
                      email=email or f"owner@{shop.slug}.example", password=PASSWORD)
    db.session.commit()
    return owner


def owner_login(client, shop, owner):
    response = client.post(f"/s/{shop.slug}/settings/login",
                           data={"email": owner.email, "password": PASSWORD})
    assert response.status_code == 303, response.data
    return response


@pytest.fixture
def owned(app, ctx):
    shop = make_shop("owned-cafe", name="Owned Cafe")
    owner = make_owner(shop)
    client = app.test_client()
    owner_login(client, shop, owner)
    return shop, owner, client


def png(width=1600, height=1200) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def test_settings_need_the_owner_password(app, ctx):
    shop = make_shop()
    owner = make_owner(shop)
    pin_only = app.test_client()
    sign_in_staff(pin_only, owner, "135790")
    response = pin_only.get(f"/s/{shop.slug}/settings/")
    assert response.status_code == 303 and "/settings/login" in response.headers["Location"]
    wrong = pin_only.post(f"/s/{shop.slug}/settings/login",
                          data={"email": owner.email, "password": "nope-nope-nope"})
    assert wrong.status_code == 401 and b"Email or password is wrong" in wrong.data
    db.session.expire_all()
    assert db.session.get(User, owner.id).failed_password_attempts == 1
    owner_login(pin_only, shop, owner)
    assert pin_only.get(f"/s/{shop.slug}/settings/").status_code == 200


def test_a_cashier_cannot_use_settings(app, ctx):
    shop = make_shop()
    cashier = add_staff(db.session, shop, name="C", role="cashier", pin="481516",
                        email="c@example.com", password=PASSWORD)
    db.session.commit()
    client = app.test_client()
    response = client.post(f"/s/{shop.slug}/settings/login",
                           data={"email": cashier.email, "password": PASSWORD})
    assert response.status_code == 401


def test_password_failures_slow_down(app, ctx):
    shop = make_shop()
    owner = make_owner(shop)
    client = app.test_client()
    statuses = [client.post(f"/s/{shop.slug}/settings/login",
                            data={"email": owner.email, "password": "wrong-guess"}).status_code
                for _ in range(5)]
    assert statuses[:3] == [401, 401, 401] and statuses[-1] == 429


def test_add_product_with_a_photo_and_bad_input(owned):
    shop, _, client = owned
    client.post(f"/s/{shop.slug}/settings/menu/categories", data={"name": "Coffee"})
    category = db.session.scalar(select(Category))
    response = client.post(f"/s/{shop.slug}/settings/menu/products", data={
        "name": "Flat White", "name_km": "ហ្វ្លាតវ៉ាយ", "price": "3.25",
        "category_id": category.id, "image": (io.BytesIO(png()), "big.png")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    product = db.session.scalar(select(Product).where(Product.name == "Flat White"))
    assert product.price == Decimal("3.25") and product.image.startswith("uploads/")
    with client.get(f"/media/{product.image.removeprefix('uploads/')}") as photo:
        assert photo.status_code == 200
        with Image.open(io.BytesIO(photo.data)) as image:
            assert image.format == "JPEG" and image.width <= 800 and image.height <= 600
    for price in ("abc", "-1", "1.234", ""):
        bad = client.post(f"/s/{shop.slug}/settings/menu/products",
                          data={"name": "X", "price": price})
        assert bad.status_code == 422 and b"Price" in bad.data
    assert db.session.scalar(select(func.count()).select_from(Product)) == 1


@pytest.mark.parametrize("data,status", [
    (b"not an image at all", 422),
    (b"GIF89a" + b"\x00" * 50, 422),
])
def test_non_images_are_refused(owned, data, status):
    shop, _, client = owned
    response = client.post(f"/s/{shop.slug}/settings/menu/products", data={
        "name": "Bad Photo", "price": "1", "image": (io.BytesIO(data), "photo.jpg")},
        content_type="multipart/form-data")
    assert response.status_code == status and b"not a photo" in response.data
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_oversize_upload_is_a_friendly_413(owned):
    shop, _, client = owned
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(
        path=f"/s/{shop.slug}/settings/menu/products", method="POST",
        headers={"X-CSRFToken": client.csrf_token()},
        data={"name": "Huge", "price": "1",
              "image": (io.BytesIO(b"x" * (5 * 1024 * 1024)), "a.png")})
    try:
        response = client.open(builder)
    finally:
        builder.close()  # the test client spools a large body to a temporary file
    assert response.status_code == 413 and b"<html" in response.data
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0
    # werkzeug's test client spooled the 5 MB body to a temporary file it never closes:
    # collect it here, quietly, rather than in whichever test runs next.
    del response, builder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_options_can_be_added_and_defaulted(owned):
    shop, _, client = owned
    product = make_product(shop, "Tea", "1.50")
    base = f"/s/{shop.slug}/settings/menu"
    client.post(f"{base}/products/{product.id}/groups", data={"name": "Size"})
    db.session.refresh(product)
    group = product.option_groups[0]
    client.post(f"{base}/groups/{group.id}/options", data={"name": "Small", "extra": "0"})
    client.post(f"{base}/groups/{group.id}/options", data={"name": "Large", "extra": "0.75"})
    bad = client.post(f"{base}/groups/{group.id}/options", data={"name": "Odd", "extra": "x"})
    assert bad.status_code == 422
    db.session.expire_all()
    large = option_id(db.session.get(Product, product.id), "Size", "Large")
    client.post(f"{base}/options/{large}/default")
    db.session.expire_all()
    group = db.session.get(Product, product.id).option_groups[0]
    assert [(o.name, o.extra_price, o.is_default) for o in group.options] == [
        ("Small", Decimal("0"), False), ("Large", Decimal("0.75"), True)]


def test_sold_out_reaches_open_guest_menus_and_blocks_checkout(app, owned):
    shop, _, client = owned
    table = make_table(shop)
    product = make_product(shop, "Mango Smoothie", "2.75")
    guest = app.test_client()
    guest.get(f"/s/{shop.slug}/t/{table.qr_token}")
    guest.post(f"/s/{shop.slug}/cart/items", data={"product_id": product.id})
    version = db.session.get(type(shop), shop.id).menu_version
    assert guest.get(f"/s/{shop.slug}/menu/changes?v={version}").status_code == 204
    toggled = client.post(f"/s/{shop.slug}/settings/menu/products/{product.id}/sold-out",
                          headers={"HX-Request": "true"})
    assert toggled.status_code == 200 and b"Sold out" in toggled.data
    changes = guest.get(f"/s/{shop.slug}/menu/changes?v={version}")
    assert changes.status_code == 200
    assert f'id="product-{product.id}"'.encode() in changes.data
    assert b"badge-sold-out" in changes.data and b'hx-swap-oob="true"' in changes.data
    checkout = guest.post(f"/s/{shop.slug}/checkout",
                          data={"method": "cash", "checkout_key": "s" * 20})
    assert checkout.status_code == 422 and b"sold out" in checkout.data


def test_regenerating_a_tables_qr_kills_the_old_one(app, owned):
    shop, _, client = owned
    table = make_table(shop, "Patio")
    old = table.qr_token
    client.post(f"/s/{shop.slug}/settings/tables/{table.id}/regenerate")
    db.session.expire_all()
    new = db.session.get(ShopTable, table.id).qr_token
    guest = app.test_client()
    assert guest.get(f"/s/{shop.slug}/t/{old}").status_code == 404
    assert guest.get(f"/s/{shop.slug}/t/{new}").status_code == 303


def test_tables_add_rename_remove_and_print(owned):
    shop, _, client = owned
    base = f"/s/{shop.slug}/settings/tables"
    client.post(f"{base}/add", data={"name": "Table 1"})
    client.post(f"{base}/add", data={"name": "Table 2"})
    assert client.post(f"{base}/add", data={"name": "Table 1"}).status_code == 422
    assert client.post(f"{base}/add", data={"name": ""}).status_code == 422
    first, second = db.session.scalars(select(ShopTable).order_by(ShopTable.id)).all()
    client.post(f"{base}/{first.id}", data={"name": "Window"})
    client.post(f"{base}/{second.id}/remove")
    sheet = client.get(f"{base}/print").text
    assert sheet.count('class="qr-card"') == 1 and "Window" in sheet
    assert "Scan to order · ស្កេនដើម្បីកុម្ម៉ង់" in sheet and "<svg" in sheet
    assert "/static/css/qr_sheet.css" in sheet  # the print layout, a file (no inline <style>)
    with client.get("/static/css/qr_sheet.css") as css:
        assert "@page { size: A4" in css.text


def test_staff_management(owned):
    shop, owner, client = owned
    base = f"/s/{shop.slug}/settings/staff"
    assert client.post(f"{base}/add", data={"name": "Dara", "role": "cashier",
                                            "pin": "246802"}).status_code == 303
    weak = client.post(f"{base}/add", data={"name": "Lina", "role": "barista", "pin": "1234"})
    assert weak.status_code == 422 and b"6 digits" in weak.data
    taken = client.post(f"{base}/add", data={"name": "Lina", "role": "barista",
                                             "pin": "246802"})
    assert taken.status_code == 422 and b"already uses" in taken.data
    dara = db.session.scalar(select(User).where(User.name == "Dara"))
    dara.locked_at, dara.failed_pin_attempts = utcnow(), 10
    db.session.commit()
    client.post(f"{base}/{dara.id}/unlock")
    db.session.expire_all()
    assert db.session.get(User, dara.id).locked_at is None
    client.post(f"{base}/{dara.id}/pin", data={"pin": "975310"})
    client.post(f"{base}/{dara.id}/role", data={"role": "barista"})
    assert client.post(f"{base}/{owner.id}/role", data={"role": "cashier"}).status_code == 422
    assert client.post(f"{base}/{owner.id}/remove").status_code == 422
    client.post(f"{base}/{dara.id}/remove")
    db.session.expire_all()
    assert db.session.get(User, dara.id).is_active is False


@pytest.mark.parametrize("field,value,message", [
    ("bakong_account_id", "no-at-sign", b"name@bank"),
    ("bakong_account_id", "x" * 30 + "@aclb", b"at most 32"),
    ("khqr_merchant_name", "n" * 26, b"at most 25"),
    ("khqr_merchant_city", "c" * 16, b"at most 15"),
    ("khqr_merchant_name", "", b"is required"),
    ("khr_per_usd", "abc", b"must be a number"),
    ("khr_per_usd", "\u17e4\u17e1\u17e0\u17e0", b"digits 0-9"),  # Khmer 4100
    ("currency", "EUR", b"USD or KHR"),
    ("bakong_account_type", "merchant", b"Merchant ID is required"),
])
def test_payment_settings_validation(owned, field, value, message):
    shop, _, client = owned
    form = {"bakong_account_id": "owned@aclb", "bakong_account_type": "individual",
            "khqr_merchant_name": "Owned Cafe", "khqr_merchant_city": "Phnom Penh",
            "currency": "USD", "khr_per_usd": "4100", field: value}
    response = client.post(f"/s/{shop.slug}/settings/payments", data=form)
    assert response.status_code == 422 and message in response.data


def test_payment_settings_save_and_test_khqr(owned):
    shop, _, client = owned
    response = client.post(f"/s/{shop.slug}/settings/payments", data={
        "bakong_account_id": "owned@aclb", "bakong_account_type": "merchant",
        "bakong_merchant_id": "M-1", "bakong_bank": "Dev Bank",
        "khqr_merchant_name": "Owned Cafe", "khqr_merchant_city": "Kampot",
        "currency": "USD", "khr_per_usd": "4050", "round_riel_change": "1"})
    assert response.status_code == 303
    preview = client.post(f"/s/{shop.slug}/settings/payments/test",
                          headers={"HX-Request": "true"})
    assert preview.status_code == 200 and b"<svg" in preview.data
    assert b"owned@aclb" in preview.data and b"Kampot" in preview.data
    assert b"Yes" in preview.data  # verified


def test_currency_cannot_change_with_unpaid_orders(owned):
    shop, _, client = owned
    make_order(shop, make_product(shop))
    response = client.post(f"/s/{shop.slug}/settings/payments", data={
        "bakong_account_id": "owned@aclb", "bakong_account_type": "individual",
        "khqr_merchant_name": "Owned Cafe", "khqr_merchant_city": "Phnom Penh",
        "currency": "KHR", "khr_per_usd": "4100"})
    assert response.status_code == 422 and b"unpaid orders" in response.data


def test_switching_to_riel_moves_the_menu_version_once_and_phones_see_riel(app, owned):
    shop, _, client = owned
    table = make_table(shop)
    make_product(shop, "Latte", "2.50")
    guest = app.test_client()
    guest.get(f"/s/{shop.slug}/t/{table.qr_token}")
    assert b"$2.50" in guest.get(f"/s/{shop.slug}/menu").data  # cached for this version
    version = db.session.get(type(shop), shop.id).menu_version
    response = client.post(f"/s/{shop.slug}/settings/payments", data={
        "bakong_account_id": "owned@aclb", "bakong_account_type": "individual",
        "khqr_merchant_name": "Owned Cafe", "khqr_merchant_city": "Phnom Penh",
        "currency": "KHR", "khr_per_usd": "4100"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(type(shop), shop.id).menu_version == version + 1
    menu = guest.get(f"/s/{shop.slug}/menu").get_data(as_text=True)
    assert "៛" in menu and "$2.50" not in menu


def test_reports_and_csv(owned):
    shop, _, client = owned
    latte = make_product(shop, "Latte", "2.50")
    cake = make_product(shop, "=cmd|calc", "1.00")
    make_order(shop, latte, 2, paid=True)
    khqr = make_order(shop, latte, 1, method="khqr", paid=True)
    make_order(shop, cake, 3, paid=True)
    make_order(shop, latte, 5)  # unpaid: not revenue
    other = make_shop()
    make_order(other, make_product(other, "Foreign"), 9, paid=True)
    txn = payments.create_khqr(db.session, shop, make_order(shop, latte, 1, method="khqr"),
                               now=utcnow(), ttl_seconds=600, grace_seconds=60)
    txn.status, txn.order_id, txn.bakong_hash = "paid", khqr.id, "abc123hash"
    txn.bakong_amount, txn.bakong_currency, txn.paid_at = Decimal("2.50"), "USD", utcnow()
    db.session.commit()
    page = client.get(f"/s/{shop.slug}/settings/reports?range=today")
    assert page.status_code == 200
    text = page.text
    assert "$10.50" in text  # 5.00 + 2.50 + 3.00
    assert "abc123hash" in text and "Foreign" not in text
    assert client.get(f"/s/{shop.slug}/settings/reports?range=1y").status_code == 400
    csv = client.get(f"/s/{shop.slug}/settings/reports.csv?range=7d")
    assert csv.headers["Content-Type"].startswith("text/csv")
    body = csv.data.decode("utf-8")
    assert body.startswith("\ufeff") and body.count("\n") == 5 + 1
    assert "abc123hash" in body


def test_report_hours_are_local_time(owned):
    from shopqr.services.reports import local_hour

    moment = utcnow().replace(hour=1, minute=30)
    assert local_hour(moment) == 8
    assert local_hour(moment - timedelta(hours=2)) == 6


SETTINGS_ROUTES = [
    ("get", "/menu/products/{product}"),
    ("post", "/menu/products/{product}"),
    ("post", "/menu/products/{product}/delete"),
    ("post", "/menu/products/{product}/sold-out"),
    ("post", "/menu/products/{product}/groups"),
    ("post", "/menu/categories/{category}"),
    ("post", "/menu/categories/{category}/delete"),
    ("post", "/menu/categories/{category}/move"),
    ("post", "/menu/groups/{group}"),
    ("post", "/menu/groups/{group}/move"),
    ("post", "/menu/groups/{group}/delete"),
    ("post", "/menu/groups/{group}/options"),
    ("post", "/menu/options/{option}"),
    ("post", "/menu/options/{option}/move"),
    ("post", "/menu/options/{option}/default"),
    ("post", "/menu/options/{option}/delete"),
    ("post", "/tables/{table}"),
    ("post", "/tables/{table}/remove"),
    ("post", "/tables/{table}/regenerate"),
    ("post", "/staff/{user}/role"),
    ("post", "/staff/{user}/pin"),
    ("post", "/staff/{user}/unlock"),
    ("post", "/staff/{user}/remove"),
]


@pytest.mark.parametrize("method,path", SETTINGS_ROUTES)
def test_other_shops_ids_are_404_and_unchanged(owned, method, path):
    shop, _, client = owned
    theirs = make_shop()
    product = make_product(theirs, "Their Latte", options={"Size": [("S", "0"), ("L", "1")]})
    table = make_table(theirs)
    user = make_staff(theirs, pin="481516")
    ids = {"product": product.id, "category": product.category_id,
           "group": product.option_groups[0].id, "option": product.option_groups[0].options[1].id,
           "table": table.id, "user": user.id}
    before = (product.name, product.is_available, table.qr_token, user.role)
    url = f"/s/{shop.slug}/settings" + path.format(**ids)
    response = getattr(client, method)(url, data={"name": "Hacked", "role": "owner",
                                                  "pin": "975310", "direction": "up"})
    assert response.status_code == 404
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    after = (product.name, product.is_available, db.session.get(ShopTable, table.id).qr_token,
             db.session.get(User, user.id).role)
    assert before == after


def test_owner_of_shop_a_is_not_signed_in_at_shop_b(app, owned):
    _, _, client = owned
    other = make_shop("other-owned")
    response = client.get(f"/s/{other.slug}/settings/")
    assert response.status_code == 303 and "/s/other-owned/settings/login" in \
        response.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert db.session.scalar(select(func.count()).select_from(Transaction)) == 0


def _owner_refusals(client, shop):
    """A price that is not a number, a category with no name, a weak PIN, a table name taken,
    a file that is not a photo, a product that does not exist."""
    base = f"/s/{shop.slug}/settings"
    price = client.post(f"{base}/menu/products", data={"name": "Tea", "price": "abc"})
    unnamed = client.post(f"{base}/menu/categories", data={"name": " "})
    pin = client.post(f"{base}/staff/add", data={"name": "Lina", "role": "barista",
                                                 "pin": "1234"})
    assert client.post(f"{base}/tables/add", data={"name": "Patio"}).status_code == 303
    taken = client.post(f"{base}/tables/add", data={"name": "Patio"})
    photo = client.post(f"{base}/menu/products", data={
        "name": "Bad Photo", "price": "1", "image": (io.BytesIO(b"not a photo"), "a.jpg")},
        content_type="multipart/form-data")
    missing = client.get(f"{base}/menu/products/999999")
    statuses = [r.status_code for r in (price, unnamed, pin, taken, photo, missing)]
    assert statuses == [422, 422, 422, 422, 422, 404]
    return price.text, unnamed.text, pin.text, taken.text, photo.text, missing.text


def test_owner_messages_in_khmer(owned, khmer):
    shop, _, client = owned
    client.set_cookie("shopqr_lang", "km")
    price, unnamed, pin, taken, photo, missing = _owner_refusals(client, shop)
    assert khmer["%(field)s must be a number."] % {"field": khmer["Price"]} in price
    assert khmer["%(label)s is required."] % {"label": khmer["Name"]} in unnamed
    assert khmer["A PIN must be 6 digits."] in pin
    assert khmer["There is already a table called %(name)s."] % {"name": "Patio"} in taken
    assert khmer["That file is not a photo we can read."] in photo
    assert khmer["Product not found."] in missing
    for english, text in [("must be a number", price), ("is required", unnamed),
                          ("6 digits", pin), ("already a table", taken),
                          ("not a photo", photo), ("Product not found", missing)]:
        assert english not in text
    # Without the cookie, the browser's language counts.
    client.delete_cookie("shopqr_lang")
    browser = client.post(f"/s/{shop.slug}/settings/tables/999999", data={"name": "x"},
                          headers={"Accept-Language": "km-KH,km;q=0.9"})
    assert browser.status_code == 404 and khmer["Table not found."] in browser.text
    assert "Table not found" not in browser.text


def test_owner_messages_in_english_are_unchanged(owned):
    shop, _, client = owned
    price, unnamed, pin, taken, photo, missing = _owner_refusals(client, shop)
    assert "Price must be a number." in price
    assert "Name is required." in unnamed
    assert "A PIN must be 6 digits." in pin
    assert "There is already a table called Patio." in taken
    assert "That file is not a photo we can read." in photo
    assert "Product not found." in missing
    gone = client.post(f"/s/{shop.slug}/settings/tables/999999", data={"name": "x"})
    assert gone.status_code == 404 and "Table not found." in gone.text


def test_a_table_gets_a_khmer_label_that_khmer_guests_see(app, owned):
    shop, _, client = owned
    base = f"/s/{shop.slug}/settings"
    assert client.post(f"{base}/tables/add", data={"name": "Table 7",
                                                   "name_km": " តុ 7 "}).status_code == 303
    table = db.session.scalar(select(ShopTable).where(ShopTable.shop_id == shop.id))
    assert table.name_km == "តុ 7"
    assert client.post(f"{base}/tables/{table.id}", data={
        "name": "Table 7", "name_km": "ក" * 41}).status_code == 422
    guest = app.test_client()
    guest.get(f"/s/{shop.slug}/t/{table.qr_token}")
    assert "Table 7" in guest.get(f"/s/{shop.slug}/menu").text
    guest.post(f"/s/{shop.slug}/lang", data={"lang": "km"})
    khmer_menu = guest.get(f"/s/{shop.slug}/menu").text
    assert "តុ 7" in khmer_menu and "Table 7" not in khmer_menu
    assert client.post(f"{base}/tables/{table.id}", data={"name": "Table 7",
                                                          "name_km": ""}).status_code == 303
    assert "Table 7" in guest.get(f"/s/{shop.slug}/menu").text  # no label: the name


def test_counts_and_dates_read_in_the_owners_language(app, owned):
    """Khmer puts the number after the noun with its classifier, and dates get month names."""
    from datetime import timedelta

    shop, _, client = owned
    shop.subscription_expires_on = utcnow().date() + timedelta(days=3)
    db.session.commit()
    english = client.get(f"/s/{shop.slug}/settings/").text
    assert "<strong>1</strong> staff" in english
    month = shop.subscription_expires_on.strftime("%b")
    assert f"ends on {month} " in english and "-" not in english.split("ends on ")[1][:12]
    client.set_cookie("shopqr_lang", "km")
    khmer = client.get(f"/s/{shop.slug}/settings/").text
    assert "បុគ្គលិក <strong>1</strong> នាក់" in khmer
    assert shop.subscription_expires_on.isoformat() not in khmer
