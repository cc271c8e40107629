"""The demo and create-shop commands."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import OptionGroup, Product, Shop, ShopTable, User


def test_demo_seeds_lucky_cafe_once_and_prints_every_url(runner, client):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(Shop)) == 1
    shop = db.session.scalar(select(Shop).where(Shop.slug == "lucky-cafe"))
    links = re.findall(r"http://\S+/s/lucky-cafe/t/(\S+)", first.output)
    assert len(links) == 6
    for screen in ("/s/lucky-cafe/staff/", "/s/lucky-cafe/pos/", "/s/lucky-cafe/kitchen/"):
        assert screen in first.output
    assert "PIN 135790" in first.output and "PIN 246802" in first.output
    products = db.session.scalar(select(func.count()).select_from(Product)
                                 .where(Product.shop_id == shop.id))
    assert products >= 20
    assert db.session.scalar(select(func.count()).select_from(OptionGroup)) > 20
    assert db.session.scalar(select(func.count()).select_from(ShopTable)) == 6
    staff = db.session.scalars(select(User).where(User.shop_id == shop.id)).all()
    assert {u.role for u in staff} == {"owner", "cashier", "barista"}
    assert all(u.pin_hash and "135790" not in u.pin_hash for u in staff)
    # a printed table URL opens a working menu
    scan = client.get(f"/s/lucky-cafe/t/{links[0]}")
    menu = client.get(scan.headers["Location"])
    assert menu.status_code == 200 and b"Iced Khmer Coffee" in menu.data


def test_create_shop(runner):
    result = runner.invoke(args=[
        "create-shop", "--slug", "sunrise-cafe", "--name", "Sunrise Cafe", "--currency", "KHR",
        "--tables", "3", "--owner-name", "Chenda", "--owner-email", "chenda@example.com",
    ], input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    assert re.search(r"PIN \d{6}", result.output)
    shop = db.session.scalar(select(Shop).where(Shop.slug == "sunrise-cafe"))
    assert shop.currency == "KHR" and len(shop.tables) == 3
    owner = db.session.scalar(select(User).where(User.email == "chenda@example.com"))
    assert owner.role == "owner" and owner.password_hash


def test_create_shop_refuses_bad_and_taken_slugs_and_writes_nothing(runner):
    args = ["--name", "X", "--owner-name", "O", "--owner-email", "o@example.com",
            "--owner-password", "a-long-password"]
    bad = runner.invoke(args=["create-shop", "--slug", "Bad Slug!", *args])
    assert bad.exit_code != 0 and "web address" in bad.output
    reserved = runner.invoke(args=["create-shop", "--slug", "admin", *args])
    assert reserved.exit_code != 0 and "reserved" in reserved.output
    assert db.session.scalar(select(func.count()).select_from(Shop)) == 0
    ok = runner.invoke(args=["create-shop", "--slug", "taken-slug", *args])
    assert ok.exit_code == 0
    again = runner.invoke(args=["create-shop", "--slug", "taken-slug", "--name", "Y",
                                "--owner-name", "P", "--owner-email", "p@example.com",
                                "--owner-password", "a-long-password"])
    assert again.exit_code != 0 and "taken" in again.output
    assert db.session.scalar(select(func.count()).select_from(Shop)) == 1
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
