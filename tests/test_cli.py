"""The command-line tools: `flask demo` seeds Lucky Cafe and prints every URL; `flask create-shop`
makes a real shop with its owner and tables, or refuses with a clear message and writes nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import Order, Product, Shop, ShopTable, User
from shopqr.services.demo import DEMO_STAFF
from shopqr.services.shops import check_secret

TABLE_URL = re.compile(r"(http://\S+/s/lucky-cafe/t/([A-Za-z0-9_-]+))")
OWNER_ARGS = ["--owner-name", "Chenda", "--owner-email", "chenda@example.com",
              "--owner-password", "a-long-password"]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def demo_output(runner) -> str:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_prints_a_table_url_for_each_of_six_tables(ctx, demo_output):
    found = TABLE_URL.findall(demo_output)
    assert len(found) == 6
    shop = db.session.scalar(select(Shop).where(Shop.slug == "lucky-cafe"))
    assert {token for _, token in found} == {t.qr_token for t in shop.tables}
    assert all(url.startswith("http://127.0.0.1:5000/s/lucky-cafe/t/") for url, _ in found)
    for n in range(1, 7):
        assert f"Table {n}" in demo_output


def test_demo_prints_the_counter_url_for_takeaway(app, ctx, demo_output):
    found = re.findall(r"(http://\S+/s/lucky-cafe/c/([A-Za-z0-9_-]+))", demo_output)
    shop = db.session.scalar(select(Shop).where(Shop.slug == "lucky-cafe"))
    assert [token for _, token in found] == [shop.counter_token]
    path = urlsplit(found[0][0]).path
    assert app.test_client().get(path).status_code == 303  # it opens the menu


def test_demo_prints_the_staff_pins_and_screens(demo_output):
    for name, role, pin, _, _ in DEMO_STAFF:
        assert re.search(rf"{name}\s+{role}\s+PIN {pin}", demo_output)
    for screen in ("/s/lucky-cafe/staff/", "/s/lucky-cafe/pos/", "/s/lucky-cafe/kitchen/",
                   "/healthz"):
        assert screen in demo_output


def test_demo_is_idempotent(ctx, runner, demo_output):
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert count(Shop) == 1 and count(ShopTable) == 6 and count(User) == 3
    assert count(Product) == 21
    # the QR codes already printed for the tables stay valid
    assert TABLE_URL.findall(again.output) == TABLE_URL.findall(demo_output)


def test_demo_shop_has_a_menu_with_options_tables_and_staff(ctx, demo_output):
    shop = db.session.scalar(select(Shop).where(Shop.slug == "lucky-cafe"))
    products = db.session.scalars(select(Product).where(Product.shop_id == shop.id)).all()
    assert 20 <= len(products) <= 25
    by_name = {p.name: p for p in products}
    latte = by_name["Latte"]
    assert [g.name for g in latte.option_groups] == ["Size", "Sugar", "Extra shot"]
    assert latte.option_groups[0].default_option.name == "Regular"
    assert all(p.name_km for p in products)  # every item has its Khmer name
    assert sum(1 for p in products if p.option_groups) >= 15
    assert [t.name for t in shop.tables] == [f"Table {n}" for n in range(1, 7)]
    assert shop.khqr_ready and shop.currency == "USD"


def test_demo_staff_pins_are_hashed_not_stored_in_clear(ctx, demo_output):
    staff = {u.name: u for u in db.session.scalars(select(User))}
    assert {u.role for u in staff.values()} == {"owner", "cashier", "barista"}
    for name, _, pin, _, _ in DEMO_STAFF:
        user = staff[name]
        assert pin not in user.pin_hash
        assert check_secret(user.pin_hash, pin)
        assert not check_secret(user.pin_hash, "000000")
    owner = staff["Sokha"]
    assert owner.email == "owner@lucky-cafe.example"
    assert "lucky-owner-demo" not in owner.password_hash


def test_a_printed_table_url_opens_a_working_menu(ctx, client, demo_output):
    url, _ = TABLE_URL.findall(demo_output)[0]
    scan = client.get(urlsplit(url).path)
    assert scan.status_code == 303
    menu = client.get(scan.headers["Location"])
    assert menu.status_code == 200
    assert "Lucky Cafe" in menu.text and "Table 1" in menu.text
    assert "Iced Khmer Coffee" in menu.text and "$1.75" in menu.text
    # and the guest can order from it
    latte = db.session.scalar(select(Product).where(Product.name == "Latte"))
    client.post("/s/lucky-cafe/cart/items", data={"product_id": latte.id, "quantity": "2"})
    placed = client.post("/s/lucky-cafe/checkout",
                         data={"method": "khqr", "checkout_key": "demo-checkout-0001"})
    assert placed.status_code == 303
    order = db.session.scalar(select(Order))
    assert order.total == 6  # 2 x (2.50 + Regular 0.50)
    page = client.get(placed.headers["Location"])
    assert "$6.00" in page.text and "KHQR" in page.text


def test_create_shop_makes_the_shop_its_owner_and_tables(ctx, runner):
    result = runner.invoke(args=[
        "create-shop", "--slug", "sunrise-cafe", "--name", "Sunrise Cafe", "--currency", "KHR",
        "--tables", "3", "--owner-name", "Chenda", "--owner-email", "Chenda@Example.com",
    ], input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    assert "Created Sunrise Cafe at /s/sunrise-cafe/ with 3 tables." in result.output
    pin = re.search(r"PIN (\d{6})", result.output).group(1)
    shop = db.session.scalar(select(Shop).where(Shop.slug == "sunrise-cafe"))
    assert shop.currency == "KHR" and shop.name == "Sunrise Cafe"
    assert [t.name for t in shop.tables] == ["Table 1", "Table 2", "Table 3"]
    assert all(len(t.qr_token) >= 22 for t in shop.tables)  # at least 128 bits
    assert len({t.qr_token for t in shop.tables}) == 3
    owner = db.session.scalar(select(User).where(User.shop_id == shop.id))
    assert owner.role == "owner" and owner.email == "chenda@example.com"
    assert check_secret(owner.pin_hash, pin) and pin not in owner.pin_hash
    assert check_secret(owner.password_hash, "a-long-password")


def test_create_shop_warns_about_a_past_subscription_date(runner):
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    result = runner.invoke(args=["create-shop", "--slug", "late-cafe", "--name", "Late",
                                 "--expires", yesterday, *OWNER_ARGS])
    assert result.exit_code == 0, result.output
    assert "guests cannot order" in result.output


@pytest.mark.parametrize(("slug", "message"), [
    ("Bad Slug!", "web address must be"),
    ("ab", "web address must be"),
    ("-cafe", "web address must be"),
    ("cafe-", "web address must be"),
    ("two--hyphens", "web address must be"),
    ("caf\u00e9", "web address must be"),
    ("x" * 49, "web address must be"),
    ("admin", "reserved"),
    ("healthz", "reserved"),
])
def test_create_shop_refuses_a_bad_slug_and_writes_nothing(ctx, runner, slug, message):
    result = runner.invoke(args=["create-shop", "--slug", slug, "--name", "X", *OWNER_ARGS])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert count(Shop) == count(User) == count(ShopTable) == 0


def test_create_shop_refuses_a_taken_slug_and_writes_nothing(ctx, runner):
    first = runner.invoke(args=["create-shop", "--slug", "taken-slug", "--name", "First",
                                "--tables", "2", *OWNER_ARGS])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["create-shop", "--slug", "taken-slug", "--name", "Second",
                                "--owner-name", "Piseth", "--owner-email", "p@example.com",
                                "--owner-password", "a-long-password"])
    assert again.exit_code != 0 and "That web address is taken." in again.output
    assert count(Shop) == 1 and count(User) == 1 and count(ShopTable) == 2
    assert db.session.scalar(select(Shop.name)) == "First"


@pytest.mark.parametrize(("args", "message"), [
    (["--owner-email", "chenda@example.com", "--owner-password", "a-long-password"],
     "email address is already in use"),
    (["--owner-email", "new@example.com", "--owner-password", "short"],
     "at least 10 characters"),
    (["--owner-email", "not-an-email", "--owner-password", "a-long-password"],
     "valid email address"),
])
def test_create_shop_failing_on_the_owner_leaves_no_half_made_shop(ctx, runner, args, message):
    first = runner.invoke(args=["create-shop", "--slug", "first-cafe", "--name", "First",
                                "--tables", "1", *OWNER_ARGS])
    assert first.exit_code == 0, first.output
    result = runner.invoke(args=["create-shop", "--slug", "second-cafe", "--name", "Second",
                                 "--tables", "4", "--owner-name", "Piseth", *args])
    assert result.exit_code != 0 and message in result.output
    # the shop and its tables were flushed before the owner failed: all rolled back
    assert db.session.scalar(select(Shop.id).where(Shop.slug == "second-cafe")) is None
    assert count(Shop) == 1 and count(User) == 1 and count(ShopTable) == 1


def test_the_demo_cashier_takes_cash_at_once(app, ctx, demo_output):
    """The demo's cash drawer is open (a $50 + 100,000 riel float), so the first cash order the
    cashier confirms on the POS is paid and counted in that shift."""
    from tests.factories import make_order, sign_in_staff

    shop = db.session.scalar(select(Shop).where(Shop.slug == "lucky-cafe"))
    latte = db.session.scalar(select(Product).where(Product.name == "Latte"))
    order = make_order(shop, latte, 1)
    dara = db.session.scalar(select(User).where(User.shop_id == shop.id, User.role == "cashier"))
    cashier = app.test_client()
    sign_in_staff(cashier, dara, "246802")
    paid = cashier.post(f"/s/lucky-cafe/pos/orders/{order.id}/cash", data={"usd": "5"})
    assert paid.status_code == 303
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.payment_status == "paid" and order.shift_id is not None
