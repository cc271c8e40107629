"""The owner's "Taxes & charges" page (docs/taxes.md): saving, every mistake reported at once with
a 4xx, other shops, and what guests and the POS then see: the lines on the cart, a cached cart
total never stale after a change, the hot path's totals equal to the ORM's."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import AuditLog, Order, Shop, TableSession
from shopqr.services import cart, charges, hotpath
from shopqr.web import partial
from tests.factories import make_product, make_shop, make_table, sign_in_staff
from tests.settings.test_settings_pages import make_owner, owned, owner_login  # noqa: F401

HX = {"HX-Request": "true"}
PARTIALS = "guest/_partials.html"

BOTH = {"service_on": "1", "service_name": "Service charge", "service_name_km": "សេវាកម្ម",
        "service_rate": "5", "service_mode": "added",
        "vat_on": "1", "vat_name": "VAT", "vat_name_km": "អាករលើតម្លៃបន្ថែម (VAT)",
        "vat_rate": "10", "vat_mode": "added", "charge_rounding": "nearest"}


def fresh(shop) -> Shop:
    db.session.expire_all()
    return db.session.get(Shop, shop.id)


def test_the_page_saves_the_settings_and_says_saved(owned):  # noqa: F811
    shop, _, client = owned
    page = client.get(f"/s/{shop.slug}/settings/charges")
    assert page.status_code == 200
    for field in ("service-on", "service-name", "service-rate", "vat-name-km", "charge-rounding"):
        assert f'for="{field}"' in page.text or f'id="{field}"' in page.text
    assert 'id="vat-on"' in page.text and ' checked' not in page.text.split('id="vat-on"')[1][:60]
    version = shop.menu_version
    saved = client.post(f"/s/{shop.slug}/settings/charges", data={**BOTH, "vat_rate": "10.5"})
    assert saved.status_code == 303
    after = client.get(saved.headers["Location"])
    assert "Saved." in after.text
    shop = fresh(shop)
    assert (shop.service_on, shop.service_rate, shop.service_name_km) == (
        True, Decimal("5"), "សេវាកម្ម")
    assert (shop.vat_on, shop.vat_rate, shop.vat_included) == (True, Decimal("10.5"), False)
    assert shop.menu_version == version + 1  # open menus refresh; cached fragments drop
    # the example bill: $10.00 + 0.50 service + 10.5% of 10.50 (1.1025 -> 1.10)
    example = after.text.split('id="charges-example"')[1]
    assert "$0.50" in example and "$1.10" in example and "$11.60" in example
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.shop_id == shop.id)
                             .order_by(AuditLog.id.desc())) == "settings.charges"


def test_included_mode_and_turning_off(owned):  # noqa: F811
    shop, _, client = owned
    client.post(f"/s/{shop.slug}/settings/charges", data={**BOTH, "vat_mode": "included"})
    assert fresh(shop).vat_included is True
    off = {k: v for k, v in BOTH.items() if k not in ("service_on", "vat_on")}
    assert client.post(f"/s/{shop.slug}/settings/charges", data=off).status_code == 303
    shop = fresh(shop)
    assert (shop.service_on, shop.vat_on) == (False, False)
    assert charges.settings_of(shop).charges == ()


def test_every_mistake_is_reported_at_once_and_nothing_changes(owned):  # noqa: F811
    shop, _, client = owned
    bad = {**BOTH, "service_name": "", "service_rate": "101", "vat_rate": "2.555",
           "vat_mode": "sideways", "charge_rounding": "sometimes"}
    response = client.post(f"/s/{shop.slug}/settings/charges", data=bad)
    assert response.status_code == 422
    errors = response.text.split('id="charges-errors"')[1].split("</div>")[0]
    assert errors.count("<li>") == 5
    assert "Service charge name is required." in errors
    assert "rate must be a number from 0 to 100" in errors
    assert "at most 2 decimals" in errors
    assert "Choose how charges are rounded." in errors
    assert 'value="101"' in response.text  # what the owner typed stays in the form
    shop = fresh(shop)
    assert (shop.service_on, shop.vat_on, shop.charge_rounding) == (False, False, "nearest")


def test_a_name_is_needed_only_when_the_charge_is_on(owned):  # noqa: F811
    shop, _, client = owned
    response = client.post(f"/s/{shop.slug}/settings/charges",
                           data={"vat_on": "1", "vat_name": " ", "vat_rate": "10"})
    assert response.status_code == 422 and "VAT name is required." in response.text
    off = client.post(f"/s/{shop.slug}/settings/charges", data={"vat_name": "", "vat_rate": ""})
    assert off.status_code == 303 and fresh(shop).vat_name == "VAT"


def test_other_shops_owner_and_cashiers_cannot_change_them(app, ctx, owned):  # noqa: F811
    shop, _, _client = owned
    other = make_shop()
    intruder = app.test_client()
    owner_login(intruder, other, make_owner(other))
    response = intruder.post(f"/s/{shop.slug}/settings/charges", data=BOTH)
    assert response.status_code in (303, 401, 403, 404)
    assert fresh(shop).vat_on is False
    cashier = app.test_client()
    from tests.factories import make_staff

    sign_in_staff(cashier, make_staff(shop, "cashier", "246802"), "246802")
    refused = cashier.post(f"/s/{shop.slug}/settings/charges", data=BOTH)
    assert refused.status_code in (303, 401, 403)
    assert fresh(shop).vat_on is False


# --- what guests see --------------------------------------------------------------------------

@pytest.fixture
def table_cafe(app, ctx, owned):  # noqa: F811
    shop, _, owner_client = owned
    table = make_table(shop, "Table 3")
    latte = make_product(shop, "Latte", "2.25", options={
        "Size": [("Small", "0"), ("Large", "0.50")]})
    cake = make_product(shop, "Cake", "1.75")
    phone = app.test_client()
    assert phone.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    return shop, table, latte, cake, phone, owner_client


def add(phone, shop, product, quantity="1"):
    response = phone.post(f"/s/{shop.slug}/cart/items", headers=HX,
                          data={"product_id": str(product.id), "quantity": quantity})
    assert response.status_code == 200, response.text


def badge_total(phone, shop) -> str:
    html = phone.get(f"/s/{shop.slug}/cart/badge", headers=HX).text
    return re.search(r'class="cart-total">([^<]+)<', html).group(1)


def test_a_settings_change_reaches_a_cached_cart_at_once(table_cafe):
    """The badge and the panel are cached on the cart's version; saving the charges changes no
    cart, yet the next request shows the new total (and the menu poll brings the new badge)."""
    shop, table, latte, cake, phone, owner = table_cafe
    add(phone, shop, latte, "2")  # 4.50
    add(phone, shop, cake)  # 1.75 -> 6.25
    assert badge_total(phone, shop) == "$6.25"
    panel = phone.get(f"/s/{shop.slug}/cart", headers=HX).text
    assert "Subtotal" not in panel and 'id="cart-total">$6.25<' in panel
    version = fresh(shop).menu_version
    assert owner.post(f"/s/{shop.slug}/settings/charges", data=BOTH).status_code == 303
    # 6.25 + 5% 0.3125 -> 0.31; 10% of 6.56 = 0.656 -> 0.66: 7.22
    assert badge_total(phone, shop) == "$7.22"
    panel = phone.get(f"/s/{shop.slug}/cart", headers=HX).text
    assert "Subtotal" in panel and "$6.25" in panel
    assert "Service charge 5%" in panel and "$0.31" in panel
    assert "VAT 10%" in panel and "$0.66" in panel and 'id="cart-total">$7.22<' in panel
    poll = phone.get(f"/s/{shop.slug}/menu/changes?v={version}")
    assert poll.status_code == 200 and "$7.22" in poll.text
    assert poll.headers["HX-Trigger"] == "cart-changed"
    # and back off: the cached $7.22 is never served again
    off = {k: v for k, v in BOTH.items() if k not in ("service_on", "vat_on")}
    owner.post(f"/s/{shop.slug}/settings/charges", data=off)
    assert badge_total(phone, shop) == "$6.25"


def test_the_order_is_charged_what_the_cart_showed(table_cafe):
    shop, table, latte, cake, phone, owner = table_cafe
    owner.post(f"/s/{shop.slug}/settings/charges", data={**BOTH, "vat_mode": "included"})
    add(phone, shop, latte, "2")
    shown = badge_total(phone, shop)  # 4.50 + 5% 0.225 -> 0.23 = 4.73 (VAT inside)
    placed = phone.post(f"/s/{shop.slug}/checkout",
                        data={"method": "cash", "checkout_key": "tax-checkout-key-000001"})
    assert placed.status_code == 303
    order = db.session.scalar(select(Order).where(Order.shop_id == shop.id))
    assert shown == "$4.73" and order.total == Decimal("4.73")
    page = phone.get(placed.headers["Location"]).text
    assert re.search(r'incl\. VAT 10%</span><span class="charge-amount">\$0\.43<', page)
    # 4.73 x 10/110 = 0.43
    assert "Please pay $4.73" in page


def test_hot_path_badge_and_panel_agree_with_the_orm_with_charges(app, table_cafe):
    shop, table, latte, cake, phone, owner = table_cafe
    for rounding in ("nearest", "up", "down"):
        owner.post(f"/s/{shop.slug}/settings/charges",
                   data={**BOTH, "service_rate": "7.5", "charge_rounding": rounding})
        add(phone, shop, latte, "3")
        add(phone, shop, cake, "2")
        db.session.expire_all()
        session = db.session.scalar(select(TableSession).where(
            TableSession.table_id == table.id, TableSession.active_table_id.is_not(None)))
        shop_row = db.session.get(Shop, shop.id)
        summary = cart.summarize(db.session, session, shop_row)
        badge = hotpath.badge(db.session, session.id)  # reads the shop's charges itself
        assert badge.total == summary.total
        assert summary.total == summary.subtotal + sum(
            (line.amount for line in summary.charges), Decimal("0"))
        assert badge_total(phone, shop) == f"${summary.total}"
        panel = phone.get(f"/s/{shop.slug}/cart", headers=HX).text
        with app.test_request_context():
            orm_panel = str(partial(PARTIALS, "cart_panel", shop=shop_row, summary=summary,
                                    checkout_key="K" * 32, error=None, oob=False))
        section = panel.split('<a id="cart-badge"')[0]
        clean = re.compile(r'(name="(csrf_token|checkout_key)" value=)"[^"]+"')
        section = re.sub(r'<form id="phone-name".*?</form>', "", section, flags=re.S)
        assert clean.sub(r'\1""', section) == clean.sub(r'\1""', orm_panel)


def test_the_pos_ticket_shows_and_charges_the_lines(app, ctx, owned):  # noqa: F811
    from tests.factories import make_staff

    shop, _, owner = owned
    owner.post(f"/s/{shop.slug}/settings/charges", data=BOTH)
    croissant = make_product(shop, "Croissant", "2.00")
    cashier = app.test_client()
    sign_in_staff(cashier, make_staff(shop, "cashier", "246802"), "246802")
    html = cashier.post(f"/s/{shop.slug}/pos/ticket/items", headers=HX,
                        data={"product_id": croissant.id, "quantity": "3"}).text
    # 6.00 + 0.30 + 10% of 6.30 = 0.63: 6.93
    assert "Subtotal" in html and "$0.30" in html and "$0.63" in html
    assert "Charge $6.93" in html
    key = re.search(r'name="checkout_key" value="([^"]+)"', html).group(1)
    done = cashier.post(f"/s/{shop.slug}/pos/ticket/checkout", headers=HX,
                        data={"checkout_key": key, "method": "cash", "table_id": ""})
    assert done.status_code in (200, 204, 303)
    order = db.session.scalar(select(Order).where(Order.shop_id == shop.id))
    assert (order.subtotal, order.total) == (Decimal("6.00"), Decimal("6.93"))
    assert [c.amount for c in order.charges] == [Decimal("0.30"), Decimal("0.63")]


def test_phones_and_setting_changes_at_once_never_leave_a_stale_total(app, table_cafe):
    """20 requests at the same instant: 12 phones of the table add to the shared cart while the
    owner's settings change 8 times (service on and off, VAT added and included, rounding).
    Afterwards every phone's cart button, cached or not, shows the total of the cart as it is
    under the settings as they are."""
    from shopqr.models import User
    from tests.factories import run_together

    shop, table, latte, cake, first_phone, _owner = table_cafe
    slug, qr, latte_id, cake_id = shop.slug, table.qr_token, latte.id, cake.id
    owner_id = db.session.scalar(select(User.id).where(User.shop_id == shop.id,
                                                       User.role == "owner"))
    phones = [app.test_client() for _ in range(12)]
    for phone in phones:
        assert phone.get(f"/s/{slug}/t/{qr}").status_code == 303
        badge_total(phone, shop)  # each phone has a cached badge to go stale
    variants = [{**BOTH, "service_rate": "7.5"}, {**BOTH, "vat_mode": "included"},
                {k: v for k, v in BOTH.items() if k != "service_on"},
                {**BOTH, "charge_rounding": "up"}]

    def work(n: int) -> None:
        if n < 12:
            response = phones[n].post(f"/s/{slug}/cart/items", headers=HX, data={
                "product_id": str(latte_id if n % 2 else cake_id), "quantity": "1"})
            assert response.status_code == 200, response.text
            return
        owner_row = db.session.get(User, owner_id)
        charges.save_settings(db.session, db.session.get(Shop, owner_row.shop_id),
                              variants[n % len(variants)], by=owner_row)
        db.session.commit()

    run_together(app, 20, work)
    db.session.expire_all()
    session = db.session.scalar(select(TableSession).where(
        TableSession.table_id == table.id, TableSession.active_table_id.is_not(None)))
    summary = cart.summarize(db.session, session, db.session.get(Shop, shop.id))
    assert summary.count == 12
    assert summary.total == summary.subtotal + sum(
        (line.amount for line in summary.charges if not line.included), Decimal("0"))
    for phone in [first_phone, *phones]:
        assert badge_total(phone, shop) == f"${summary.total}"
