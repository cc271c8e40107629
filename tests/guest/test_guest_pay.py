"""Paying from the phone that shows the QR: the KHQR card as an image, the optional "open in a
banking app" link, switching to cash or cancelling while unpaid (the cart comes back, the QR
is withdrawn but a late payment of it is still seen), and the e-receipt."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import AuditLog, CartItem, Order, Product, TableSession, Transaction, utcnow
from shopqr.services import guest_pay, payments, poller, tables
from shopqr.services.bakong import CheckResult, CheckStatus
from tests.factories import (
    FakeBakong,
    group_id,
    make_cafe,
    make_shop,
    make_table,
    option_id,
    run_together,
)

HX = {"HX-Request": "true"}
COOKIE = "shopqr_table"


class FakeLinks(FakeBakong):
    """A fake Bakong that also answers the deeplink call (or fails it)."""

    def __init__(self) -> None:
        super().__init__()
        self.link: str | None = "https://bakong.page.link/abc123"
        self.raise_error = False
        self.link_calls: list[dict] = []

    def generate_deeplink(self, qr: str, **source: str) -> str | None:
        self.link_calls.append({"qr": qr, **source})
        if self.raise_error:
            raise RuntimeError("boom")
        return self.link


@pytest.fixture
def bakong(monkeypatch) -> FakeLinks:
    fake = FakeLinks()
    monkeypatch.setattr(payments, "recheck_client", lambda config: fake)
    monkeypatch.setattr(guest_pay, "deeplink_client", lambda config: fake)
    return fake


@pytest.fixture
def cafe(app, ctx):
    return make_cafe("phone-cafe", "Phone Cafe", "Table 3")


def scan(client, shop, table):
    assert client.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303


def add(client, shop, product, quantity="1", **fields):
    response = client.post(f"/s/{shop.slug}/cart/items", headers=HX,
                           data={"product_id": product.id, "quantity": quantity, **fields})
    assert response.status_code == 200, response.text


def cart_lines() -> list[tuple[str, int, str | None, list[str]]]:
    db.session.expire_all()
    return [(i.product.name, i.quantity, i.note, sorted(o.option.name for o in i.options))
            for i in db.session.scalars(select(CartItem).order_by(CartItem.id))]


def order_for(client, shop, method="khqr", key="phone-key-000000001") -> Order:
    response = client.post(f"/s/{shop.slug}/checkout", data={"method": method,
                                                            "checkout_key": key})
    assert response.status_code == 303, response.text
    db.session.expire_all()
    return db.session.scalar(select(Order).order_by(Order.id.desc()).limit(1))


@pytest.fixture
def ordered(client, cafe, bakong):
    """Table 3 ordered 2 large half-sugar lattes ("extra hot") and a cake, to pay by KHQR."""
    shop, table, latte, cake = cafe
    scan(client, shop, table)
    add(client, shop, latte, "2", note="extra hot", **{
        f"group-{group_id(latte, 'Size')}": option_id(latte, "Size", "Large"),
        f"group-{group_id(latte, 'Sugar')}": option_id(latte, "Sugar", "50%")})
    add(client, shop, cake)
    order = order_for(client, shop)
    assert cart_lines() == []
    return shop, table, latte, cake, order


def txn_of(order: Order) -> Transaction:
    db.session.expire_all()
    return db.session.scalar(select(Transaction).where(Transaction.order_id == order.id)
                             .order_by(Transaction.id.desc()).limit(1))


def page(client, shop, order) -> str:
    response = client.get(f"/s/{shop.slug}/orders/{order.public_token}")
    assert response.status_code == 200
    return response.text


# --- the card image ---

def image_url(shop, order, txn) -> str:
    return f"/s/{shop.slug}/orders/{order.public_token}/khqr/{txn.md5}.png"


def test_the_page_offers_save_image_first_with_a_download_link(client, ordered):
    shop, _, _, _, order = ordered
    txn = txn_of(order)
    html = page(client, shop, order)
    link = f'href="{image_url(shop, order, txn)}" download="khqr-{order.number}.png"'
    assert link in html
    # On the phone it comes before the QR card itself, and the share button waits for JS.
    assert html.index("Save image") < html.index('class="khqr-card')
    assert 'data-share-image="' in html and "hidden data-share-image" in html
    assert "Open in a banking app" not in html  # the setting is off


def test_the_card_image_is_a_png_of_the_whole_card(client, ordered):
    shop, _, _, _, order = ordered
    txn = txn_of(order)
    response = client.get(image_url(shop, order, txn))
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers["ETag"] == f'"{txn.md5}"'
    image = Image.open(io.BytesIO(response.data)).convert("RGB")
    width, height = image.size
    assert width == 600 and height > width  # header, amount and merchant above the QR
    assert image.getpixel((10, 10)) == (225, 35, 46)  # the red header
    assert image.getpixel((10, height - 10)) == (255, 255, 255)
    # The QR in it is the order's exact KHQR string: module for module the code that string
    # makes (the only pure black in the card is the QR's).
    expected = expected_modules(txn.qr_string)
    assert qr_modules(image, len(expected)) == expected
    # Asked again with its ETag: nothing to send.
    again = client.get(image_url(shop, order, txn), headers={"If-None-Match": f'"{txn.md5}"'})
    assert again.status_code == 304
    # GET changed nothing.
    assert txn_of(order).status == "pending" and order.payment_status == "pending"


def qr_modules(image: Image.Image, size: int) -> list[list[bool]]:
    """The dark modules of the ``size`` x ``size`` QR drawn in the card, read at their centres."""
    pixels = image.convert("L")
    left, top, right, _ = Image.eval(pixels, lambda v: 255 if v == 0 else 0).getbbox()
    box = (right - left) // size
    assert box * size == right - left  # whole pixels per module: a crisp code
    return [[pixels.getpixel((left + x * box + box // 2, top + y * box + box // 2)) == 0
             for x in range(size)] for y in range(size)]


def expected_modules(data: str) -> list[list[bool]]:
    import qrcode
    import qrcode.constants

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def test_the_card_image_is_only_for_its_own_order_and_live_qr(client, ordered, app):
    shop, _, _, _, order = ordered
    txn = txn_of(order)
    other_shop = make_shop("other-phone-cafe")
    assert client.get(f"/s/{other_shop.slug}/orders/{order.public_token}/khqr/{txn.md5}.png"
                      ).status_code == 404
    assert client.get(f"/s/{shop.slug}/orders/{order.public_token}/khqr/{'0' * 32}.png"
                      ).status_code == 404
    assert client.get(f"/s/{shop.slug}/orders/{order.public_token}/khqr/x.png"
                      ).status_code == 404
    assert client.get(f"/s/{shop.slug}/orders/nope/khqr/{txn.md5}.png").status_code == 404
    txn.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    gone = client.get(image_url(shop, order, txn))
    assert gone.status_code == 410 and "no longer valid" in gone.text


def test_the_card_draws_khmer_names_and_survives_without_fonts(monkeypatch):
    from shopqr.services import khqr_card

    qr = "00020101021229170013democafe@aclb5204599953031165802KH5909Demo Cafe6010Phnom Penh63043048"
    png = khqr_card.render(qr, "ហាងកាហ្វេ", "15,000៛", "KHR")
    assert Image.open(io.BytesIO(png)).size[0] == 600
    khqr_card.font.cache_clear()
    khqr_card.render.cache_clear()
    monkeypatch.setattr(khqr_card, "FONT_DIRS", ())
    try:
        assert Image.open(io.BytesIO(khqr_card.render(qr, "ហាងកាហ្វេ", "15,000៛", "KHR")))
    finally:
        khqr_card.font.cache_clear()
        khqr_card.render.cache_clear()


# --- open in a banking app ---

def deeplinks_on(shop) -> None:
    shop.khqr_deeplinks = True
    db.session.commit()


def test_with_the_setting_on_the_link_is_asked_for_once_and_shown(client, cafe, bakong, app):
    shop, table, latte, _ = cafe
    deeplinks_on(shop)
    scan(client, shop, table)
    add(client, shop, latte)
    order = order_for(client, shop)
    txn = txn_of(order)
    assert txn.deeplink == "https://bakong.page.link/abc123"
    [call] = bakong.link_calls
    assert call["qr"] == txn.qr_string and call["app_name"] == "Phone Cafe"
    assert call["callback"] == (app.config["PUBLIC_BASE_URL"]
                                + f"/s/{shop.slug}/orders/{order.public_token}")
    assert call["icon_url"].endswith("/static/img/icon-192.png")
    html = page(client, shop, order)
    assert 'href="https://bakong.page.link/abc123"' in html and "Open in a banking app" in html
    page(client, shop, order)
    assert len(bakong.link_calls) == 1  # showing the page again asks nothing


@pytest.mark.parametrize("failure", ["no link", "raises"])
def test_a_failed_link_call_never_blocks_payment(client, cafe, bakong, failure):
    shop, table, latte, _ = cafe
    deeplinks_on(shop)
    bakong.link = None
    bakong.raise_error = failure == "raises"
    scan(client, shop, table)
    add(client, shop, latte)
    order = order_for(client, shop)
    txn = txn_of(order)
    assert txn is not None and txn.deeplink is None and order.payment_status == "pending"
    html = page(client, shop, order)
    assert "Open in a banking app" not in html and "Save image" in html and "<svg" in html


def test_a_new_qr_gets_its_own_link(client, cafe, bakong):
    shop, table, latte, _ = cafe
    deeplinks_on(shop)
    scan(client, shop, table)
    add(client, shop, latte)
    order = order_for(client, shop)
    first = txn_of(order)
    first.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    bakong.link = "https://bakong.page.link/second"
    response = client.post(f"/s/{shop.slug}/orders/{order.public_token}/khqr", headers=HX)
    assert response.status_code == 200
    assert txn_of(order).deeplink == "https://bakong.page.link/second"
    assert 'href="https://bakong.page.link/second"' in response.text


def test_the_owner_turns_deeplinks_on_and_off(app, ctx):
    from shopqr.services.payments import save_settings
    from tests.factories import make_staff

    shop = make_shop()
    owner = make_staff(shop, "owner")
    form = {"bakong_account_id": "cafe@aclb", "khqr_merchant_name": "Cafe",
            "khqr_merchant_city": "Phnom Penh", "currency": "USD", "khr_per_usd": "4100"}
    assert shop.khqr_deeplinks is False
    save_settings(db.session, shop, {**form, "khqr_deeplinks": "1"}, by=owner)
    assert shop.khqr_deeplinks is True
    save_settings(db.session, shop, form, by=owner)
    assert shop.khqr_deeplinks is False


# --- changing one's mind ---

def post(client, shop, order, what: str, **kwargs):
    return client.post(f"/s/{shop.slug}/orders/{order.public_token}/{what}", **kwargs)


def test_switch_to_cash_withdraws_the_qr_but_keeps_it_checked(client, ordered, bakong, app):
    shop, _, _, _, order = ordered
    txn = txn_of(order)
    response = post(client, shop, order, "cash")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/s/{shop.slug}/orders/{order.public_token}"
    assert bakong.calls == [txn.md5]  # asked once more before switching
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.payment_method == "cash" and order.payment_status == "pending"
    old = txn_of(order)
    assert old.status == "superseded" and old.expires_at <= utcnow()
    html = page(client, shop, order)
    assert "at the counter" in html and "<svg" not in html and "Save image" not in html
    assert "Pay cash at the counter instead" not in html and "Cancel the order" in html
    # The image of the withdrawn QR is gone too.
    assert client.get(image_url(shop, order, old)).status_code == 410
    # A late payment of the withdrawn QR pays the order (by KHQR), it is not lost.
    bakong.pay(old.md5, "7.75")
    report = poller.poll_once(app, "p1", client=bakong, now=utcnow() + timedelta(minutes=1))
    assert report.outcomes == {old.md5: "paid"}
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.payment_status == "paid" and order.payment_method == "khqr"


def test_switch_twice_is_one_switch(client, ordered):
    shop, _, _, _, order = ordered
    assert post(client, shop, order, "cash").status_code == 303
    assert post(client, shop, order, "cash").status_code == 303
    db.session.expire_all()
    assert db.session.get(Order, order.id).payment_method == "cash"


def test_a_payment_found_by_the_last_check_wins_over_the_switch(client, ordered, bakong):
    shop, _, _, _, order = ordered
    bakong.pay(txn_of(order).md5, "7.75")
    response = post(client, shop, order, "cash")
    assert response.status_code == 409 and "already paid" in response.text
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.payment_status == "paid" and order.payment_method == "khqr"
    assert order.kitchen_status == "queued"


def test_cancel_puts_the_lines_back_in_the_cart(client, ordered, bakong, app):
    shop, _, _, _, order = ordered
    response = post(client, shop, order, "cancel")
    assert response.status_code == 303
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.payment_status == "cancelled" and order.cancel_reason == "cancelled by the guest"
    assert cart_lines() == [("Latte", 2, "extra hot", ["50%", "Large"]),
                            ("Banana Cake", 1, None, [])]
    html = page(client, shop, order)
    assert "Its items are back in your cart" in html and "<svg" not in html
    assert 'hx-trigger="every 4s"' not in html  # the page stops polling
    cart = client.get(f"/s/{shop.slug}/cart", headers=HX).text
    assert "$7.75" in cart
    # Cancelling again changes nothing: the cart is not filled twice.
    assert post(client, shop, order, "cancel").status_code == 303
    assert len(cart_lines()) == 2 and cart_lines()[0][1] == 2
    # A late payment of the cancelled order's QR goes to the cashier, not into silence.
    txn = txn_of(order)
    assert txn.status == "superseded"
    bakong.pay(txn.md5, "7.75")
    report = poller.poll_once(app, "p1", client=bakong, now=utcnow() + timedelta(minutes=1))
    assert report.outcomes == {txn.md5: "attention"}
    txn = txn_of(order)
    assert txn.attention == "due" and txn.attention_kind == "cancelled"
    assert db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action == "payment.attention")) == 1


def test_cancel_a_cash_order_too(client, cafe, bakong):
    shop, table, latte, _ = cafe
    scan(client, shop, table)
    add(client, shop, latte, "3")
    order = order_for(client, shop, method="cash")
    html = page(client, shop, order)
    assert "Cancel the order" in html and "Pay cash at the counter instead" not in html
    assert post(client, shop, order, "cancel").status_code == 303
    assert cart_lines() == [("Latte", 3, None, ["100%", "Small"])]
    assert bakong.calls == []  # no QR to ask about


def test_cancel_merges_with_what_the_table_added_since_and_leaves_out_what_is_gone(
        client, cafe, bakong):
    shop, table, latte, cake = cafe
    scan(client, shop, table)
    add(client, shop, latte)
    add(client, shop, cake)
    order = order_for(client, shop)
    add(client, shop, latte)  # the table goes on ordering meanwhile
    db.session.get(Product, cake.id).is_available = False
    db.session.commit()
    response = post(client, shop, order, "cancel")
    assert response.status_code == 303
    assert cart_lines() == [("Latte", 2, None, ["100%", "Small"])]
    html = client.get(response.headers["Location"]).text
    assert "Not put back in the cart" in html and "Banana Cake" in html


def test_cancel_after_the_table_closed_says_the_cart_is_gone(client, ordered):
    shop, table, _, _, order = ordered
    session = db.session.get(TableSession, order.session_id)
    tables.end_session(db.session, session, "closed by staff")
    db.session.commit()
    assert post(client, shop, order, "cancel").status_code == 303
    assert cart_lines() == []
    assert "session has ended" in page(client, shop, order)


@pytest.mark.parametrize("what", ["cash", "cancel"])
def test_a_paid_order_cannot_be_changed(client, ordered, what):
    shop, _, _, _, order = ordered
    order.payment_status, order.kitchen_status = "paid", "queued"
    db.session.commit()
    response = post(client, shop, order, what)
    assert response.status_code == 409 and "already paid" in response.text
    db.session.expire_all()
    assert db.session.get(Order, order.id).payment_status == "paid"
    assert cart_lines() == []


@pytest.mark.parametrize("what", ["cash", "cancel"])
def test_changes_need_csrf_and_the_right_shop(client, ordered, what):
    shop, _, _, _, order = ordered
    assert post(client, shop, order, what, csrf=False).status_code == 400
    other = make_shop("elsewhere-cafe")
    make_table(other, "T1")
    assert client.post(f"/s/{other.slug}/orders/{order.public_token}/{what}").status_code == 404
    assert client.get(f"/s/{shop.slug}/orders/{order.public_token}/{what}").status_code == 405
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.payment_status, order.payment_method) == ("pending", "khqr")


def test_the_recheck_failing_does_not_block_a_switch(client, ordered, bakong):
    shop, _, _, _, order = ordered
    bakong.fail = CheckStatus.TIMEOUT
    assert post(client, shop, order, "cash").status_code == 303
    db.session.expire_all()
    assert db.session.get(Order, order.id).payment_method == "cash"
    assert txn_of(order).status == "superseded"  # still polled


# --- the e-receipt ---

def test_the_receipt_lists_everything_and_stays_at_its_url(client, ordered, bakong, app):
    shop, _, _, _, order = ordered
    receipt_url = f"/s/{shop.slug}/orders/{order.public_token}/receipt"
    assert client.get(receipt_url).status_code == 404  # not paid yet
    txn = txn_of(order)
    bakong.pay(txn.md5, "7.75", hash_="a1b2c3d4e5f6")
    poller.poll_once(app, "p1", client=bakong, now=utcnow())
    html = page(client, shop, order)
    assert f'href="{receipt_url}"' in html
    receipt = client.get(receipt_url)
    assert receipt.status_code == 200
    text = receipt.text
    for part in ("Phone Cafe", f"#{order.seq}", order.number, "Table 3", "Latte",
                 "Size: Large", "Sugar: 50%", "extra hot", "Banana Cake", "$7.75", "KHQR",
                 "a1b2c3d4e5f6", "31,775៛", "data-print", "receipt.css"):
        assert part in text, part
    # It stays: even after the table closes.
    session = db.session.get(TableSession, order.session_id)
    tables.end_session(db.session, session, "closed by staff")
    db.session.commit()
    assert client.get(receipt_url).status_code == 200


def test_a_riel_shop_receipt_has_no_riel_equivalent_line(client, app, ctx, bakong):
    shop = make_shop("riel-cafe", currency="KHR", name="Riel Cafe")
    table = make_table(shop, "T9")
    from tests.factories import make_product
    soup = make_product(shop, "Soup", "15000")
    scan(client, shop, table)
    add(client, shop, soup)
    order = order_for(client, shop, method="cash")
    order.payment_status, order.kitchen_status, order.paid_at = "paid", "queued", utcnow()
    db.session.commit()
    text = client.get(f"/s/{shop.slug}/orders/{order.public_token}/receipt").text
    assert "15,000៛" in text and "In riel" not in text and "Cash" in text
    assert "Bakong hash" not in text


def test_the_receipt_in_khmer(client, ordered, bakong, app):
    shop, _, _, _, order = ordered
    bakong.pay(txn_of(order).md5, "7.75")
    poller.poll_once(app, "p1", client=bakong, now=utcnow())
    client.set_cookie("shopqr_lang", "km")
    text = client.get(f"/s/{shop.slug}/orders/{order.public_token}/receipt").text
    assert 'lang="km"' in text and "បង្កាន់ដៃ" in text


# --- the service on its own ---

def test_restore_from_order_needs_an_active_session(ctx, ordered):
    from shopqr.services import cart
    from shopqr.services.events import get_bus

    _, _, _, _, order = ordered
    session = db.session.get(TableSession, order.session_id)
    bus = get_bus(ctx)
    restored = cart.restore_from_order(db.session, bus, session, order)
    assert restored.count == 3 and restored.left_out == []
    tables.end_session(db.session, session, "closed by staff")
    assert cart.restore_from_order(db.session, bus, session, order) is None
    assert cart.restore_from_order(db.session, bus, None, order) is None


def test_check_result_of_the_last_check_is_recorded(ctx, ordered, bakong):
    from shopqr.services.events import get_bus

    _, _, _, _, order = ordered
    bakong.fail = None
    guest_pay.switch_to_cash(db.session, get_bus(ctx), order, client=bakong, now=utcnow())
    assert txn_of(order).last_result == CheckResult(CheckStatus.NOT_FOUND, "x").status.value


# --- double submits racing (MariaDB) ---

def phone_with_cookie(app, slug: str, token: str):
    phone = app.test_client()
    phone.set_cookie(COOKIE, token, path=f"/s/{slug}/")
    return phone


@pytest.mark.mariadb
@pytest.mark.parametrize("what", ["cancel", "cash"])
def test_twenty_parallel_changes_happen_once(app, client, ordered, what):
    shop, _, _, _, order = ordered
    slug, token, order_id = shop.slug, order.public_token, order.id
    cookie = client.get_cookie(COOKIE, path=f"/s/{slug}/").value

    def submit(n: int) -> int:
        return phone_with_cookie(app, slug, cookie).post(
            f"/s/{slug}/orders/{token}/{what}").status_code

    statuses = run_together(app, 20, submit)
    assert statuses == [303] * 20
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    if what == "cancel":
        assert order.payment_status == "cancelled"
        assert cart_lines() == [("Latte", 2, "extra hot", ["50%", "Large"]),
                                ("Banana Cake", 1, None, [])]
    else:
        assert (order.payment_status, order.payment_method) == ("pending", "cash")
        assert cart_lines() == []
    assert db.session.scalar(select(func.count(Transaction.id))
                             .where(Transaction.order_id == order_id)) == 1
    assert txn_of(order).status == "superseded"
    assert order.total == Decimal("7.75")


# --- the deeplink over real HTTP, against the simulator and its faults ---

@pytest.mark.live
@pytest.mark.parametrize("fault", [None, "link_failed", "500", "timeout"])
def test_the_simulators_deeplink_and_its_faults_over_http(app, client, cafe, live_server,
                                                          fault):
    import requests

    shop, table, latte, _ = cafe
    deeplinks_on(shop)
    if fault:
        assert requests.post(f"{live_server.url}/_bakong/faults", timeout=5, json={
            "mode": fault, "count": 1, "delay_seconds": 3.5}).status_code == 200
    scan(client, shop, table)
    add(client, shop, latte)
    order = order_for(client, shop)
    txn = txn_of(order)
    assert order.payment_status == "pending" and txn.status == "pending"
    html = page(client, shop, order)
    assert "Save image" in html and "<svg" in html
    if fault:
        assert txn.deeplink is None and "Open in a banking app" not in html
        return
    assert txn.deeplink.startswith(f"{live_server.url}/_bakong/open/{txn.md5}?")
    assert f'href="{txn.deeplink}"' in html.replace("&amp;", "&")
    app_page = requests.get(txn.deeplink, timeout=5)
    assert app_page.status_code == 200 and "$2.50" in app_page.text
    assert f'value="/s/{shop.slug}/orders/{order.public_token}"' in app_page.text


def test_the_receipt_is_only_for_its_own_shop(client, ordered, bakong, app):
    shop, _, _, _, order = ordered
    bakong.pay(txn_of(order).md5, "7.75")
    poller.poll_once(app, "p1", client=bakong, now=utcnow())
    other = make_shop("receipt-elsewhere")
    assert client.get(f"/s/{other.slug}/orders/{order.public_token}/receipt").status_code == 404
    assert client.get(f"/s/{shop.slug}/orders/{order.public_token}x/receipt").status_code == 404


def test_the_pos_screen_of_a_khqr_order_offers_no_guest_actions(app, ctx, bakong):
    from tests.services.test_payment_attention import Cafe

    cafe = Cafe(app)
    order_id, _ = cafe.khqr_order()
    html = cafe.pos(f"/orders/{order_id}")
    assert "<svg" in html  # the cashier shows the QR
    assert "Save image" not in html and "Cancel the order" not in html
    assert "Pay cash at the counter instead" not in html


def test_the_cart_shown_before_a_cancel_is_not_shown_after_it(client, ordered, bakong):
    """The cart panel and badge the phone saw empty after checkout show the restored lines:
    a cancel changes the cart like any other cart change (its version moves)."""
    shop, _, _, _, order = ordered
    assert "$7.75" not in client.get(f"/s/{shop.slug}/cart", headers=HX).text
    assert post(client, shop, order, "cancel").status_code == 303
    panel = client.get(f"/s/{shop.slug}/cart", headers=HX).text
    assert "$7.75" in panel and "Banana Cake" in panel
    assert 'data-count="3"' in client.get(f"/s/{shop.slug}/cart/badge").text
