"""Each cart line shows who added it (issue 13 §2, docs/phones.md): every phone that joins a
table's session gets the next number ("Phone 2") and may give a name ("Dara"); the cart panel,
cached on the cart's version and the same on every phone, labels each line; naming a phone
moves the cart's version, so no phone keeps a stale panel."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import CartItem, Order, TableSession, TableSessionPhone
from tests.factories import make_cafe, make_table, run_together

HX = {"HX-Request": "true"}


@pytest.fixture
def cafe(app, ctx):
    shop, table, latte, cake = make_cafe("phone-cafe", "Phone Cafe", "Table 3")
    db.session.commit()
    return shop, table, latte, cake


def scan(client, shop, table) -> None:
    assert client.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303


def add(client, shop, product, note=None):
    form = {"product_id": str(product.id), "quantity": "1"}
    if note:
        form["note"] = note
    return client.post(f"/s/{shop.slug}/cart/items", data=form, headers=HX)


def name(client, shop, text):
    return client.post(f"/s/{shop.slug}/cart/name", data={"name": text}, headers=HX)


def panel(client, shop) -> str:
    response = client.get(f"/s/{shop.slug}/cart", headers=HX)
    assert response.status_code == 200
    return response.text.split('<a id="cart-badge"')[0]


def labels(html: str) -> list[tuple[str, str]]:
    """(product, who) for each line of a cart panel, in order."""
    return re.findall(r'class="line-name">([^<]+)</span>.*?class="line-by">Added by ([^<]+)<',
                      html, flags=re.S)


def without_form(html: str) -> str:
    html = re.sub(r'<form id="phone-name".*?</form>', "", html, flags=re.S)
    html = re.sub(r'name="csrf_token" value="[^"]+"', "", html)
    return re.sub(r'name="checkout_key" value="[^"]+"', "", html)


def the_session(table) -> TableSession:
    db.session.expire_all()
    return db.session.scalar(select(TableSession).where(
        TableSession.table_id == table.id, TableSession.active_table_id.is_not(None)))


def test_two_phones_lines_show_a_name_or_the_phones_number(app, cafe):
    shop, table, latte, cake = cafe
    dara, other = app.test_client(), app.test_client()
    scan(dara, shop, table)
    scan(other, shop, table)
    assert name(dara, shop, "  Dara ").status_code == 200
    add(dara, shop, latte)
    add(other, shop, cake)
    add(other, shop, latte)  # the same item from another phone is its own line

    for phone in (dara, other):
        assert labels(panel(phone, shop)) == [
            ("Latte", "Dara"), ("Banana Cake", "Phone 2"), ("Latte", "Phone 2")]
    # every phone sees the same panel; only its own name form differs
    assert without_form(panel(dara, shop)) == without_form(panel(other, shop))
    assert 'value="Dara"' in panel(dara, shop)
    assert 'show as "Phone 2"' in panel(other, shop)

    # a second scan of the same phone keeps its number and name
    scan(dara, shop, table)
    scan(other, shop, table)
    assert db.session.scalars(select(TableSessionPhone.seq)).all() == [1, 2]
    assert labels(panel(other, shop))[0] == ("Latte", "Dara")


def test_renaming_moves_the_cart_version_and_every_phone_sees_it(app, cafe):
    shop, table, latte, _ = cafe
    mine, theirs = app.test_client(), app.test_client()
    scan(mine, shop, table)
    scan(theirs, shop, table)
    add(mine, shop, latte)
    assert labels(panel(theirs, shop)) == [("Latte", "Phone 1")]  # cached at this version
    before = the_session(table).cart_version

    renamed = name(mine, shop, "Sokha")
    assert renamed.status_code == 200
    assert "Name saved" in renamed.text
    assert labels(renamed.text) == [("Latte", "Sokha")]
    assert the_session(table).cart_version == before + 1
    # the other phone's watcher hears of it, and its panel is the new one (never the cached)
    watch = theirs.get(f"/s/{shop.slug}/cart/watch?v={before}", headers=HX)
    assert watch.status_code == 200 and watch.headers["HX-Trigger"] == "cart-changed"
    assert labels(panel(theirs, shop)) == [("Latte", "Sokha")]

    # an empty name takes it away: the number again
    assert "Name removed" in name(mine, shop, "   ").text
    assert labels(panel(theirs, shop)) == [("Latte", "Phone 1")]
    assert the_session(table).cart_version == before + 2


def test_a_name_is_checked_and_escaped(app, cafe):
    shop, table, latte, _ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, latte)
    before = the_session(table).cart_version
    too_long = name(phone, shop, "x" * 25)
    assert too_long.status_code == 400
    assert "at most 24 characters" in too_long.text
    assert the_session(table).cart_version == before  # nothing changed

    assert name(phone, shop, "<b>Vy</b>\u202e").status_code == 200
    html = panel(phone, shop)
    assert "<b>Vy</b>" not in html
    assert "Added by &lt;b&gt;Vy&lt;/b&gt;" in html
    assert db.session.scalar(select(TableSessionPhone.name)) == "<b>Vy</b>"  # bidi control out

    # without the htmx header: back to the cart page, which has the labelled form
    plain = phone.post(f"/s/{shop.slug}/cart/name", data={"name": "Vy"})
    assert plain.status_code == 303
    page = phone.get(f"/s/{shop.slug}/cart").text
    assert '<label for="phone-name-input">Your name (optional)</label>' in page
    assert "Added by Vy" in page


def test_a_phone_that_joined_before_phones_were_recorded_joins_when_it_adds(app, cafe):
    """A phone with the table's cookie but no phone cookie (or a forged one) gets a fresh
    phone cookie and the next number on its first add."""
    shop, table, latte, _ = cafe
    first = app.test_client()
    scan(first, shop, table)
    old = app.test_client()
    old.set_cookie("shopqr_table", the_session(table).token, path=f"/s/{shop.slug}/")
    old.set_cookie("shopqr_phone", "<not a token>", path=f"/s/{shop.slug}/")
    response = add(old, shop, latte)
    assert response.status_code == 200
    assert "shopqr_phone=" in response.headers["Set-Cookie"]
    add(old, shop, latte)  # the same phone again: merged into its line
    item = db.session.scalar(select(CartItem))
    assert item.quantity == 2
    assert labels(panel(first, shop)) == [("Latte", "Phone 2")]


def test_lines_keep_their_phone_through_an_order_and_a_cancel(app, cafe):
    shop, table, latte, cake = cafe
    dara, other = app.test_client(), app.test_client()
    scan(dara, shop, table)
    scan(other, shop, table)
    name(dara, shop, "Dara")
    add(dara, shop, latte)
    add(other, shop, cake)
    placed = dara.post(f"/s/{shop.slug}/checkout",
                       data={"method": "cash", "checkout_key": "phones-key-000000000001"})
    assert placed.status_code == 303
    order = db.session.scalar(select(Order))
    by_product = {line.product_name: line.phone_id for line in order.lines}
    phones = {p.seq: p.id for p in db.session.scalars(select(TableSessionPhone))}
    assert by_product == {"Latte": phones[1], "Banana Cake": phones[2]}

    cancelled = other.post(f"/s/{shop.slug}/orders/{order.public_token}/cancel")
    assert cancelled.status_code == 303
    assert sorted(labels(panel(other, shop))) == [("Banana Cake", "Phone 2"), ("Latte", "Dara")]


def test_phones_and_names_stay_in_their_own_shop_and_table(app, cafe):
    shop, table, latte, _ = cafe
    other_shop, other_table, other_latte, _ = make_cafe("phone-cafe-2", "Other Cafe", "Table 1")
    second_table = make_table(shop, "Table 4")
    db.session.commit()
    phone = app.test_client()
    scan(phone, shop, table)
    name(phone, shop, "Dara")
    token = phone.get_cookie("shopqr_phone", path=f"/s/{shop.slug}/").value

    # the same phone token at another shop is a new phone there, with its own number and name
    elsewhere = app.test_client()
    elsewhere.set_cookie("shopqr_phone", token, path=f"/s/{other_shop.slug}/")
    scan(elsewhere, other_shop, other_table)
    add(elsewhere, other_shop, other_latte)
    assert labels(panel(elsewhere, other_shop)) == [("Latte", "Phone 1")]
    name(elsewhere, other_shop, "Mallory")
    add(phone, shop, latte)
    assert labels(panel(phone, shop)) == [("Latte", "Dara")]

    # and at another table of the same shop
    neighbour = app.test_client()
    neighbour.set_cookie("shopqr_phone", token, path=f"/s/{shop.slug}/")
    scan(neighbour, shop, second_table)
    name(neighbour, shop, "Eve")
    assert labels(panel(phone, shop)) == [("Latte", "Dara")]
    assert sorted(db.session.scalars(select(TableSessionPhone.name))) == [
        "Dara", "Eve", "Mallory"]

    # a phone of no table cannot name anything
    stranger = app.test_client()
    assert name(stranger, shop, "Nobody").status_code == 403


@pytest.mark.mariadb
def test_phones_joining_one_table_at_once_get_distinct_numbers(app, cafe):
    """A group of 24 scans the table's QR code at the same instant, twice over (the second time
    with a session already open): every phone gets its own number, 1 to 24, once."""
    shop, table, _, _ = cafe
    phones = [app.test_client() for _ in range(24)]
    url = f"/s/{shop.slug}/t/{table.qr_token}"
    db.session.commit()
    assert run_together(app, 24, lambda n: phones[n].get(url).status_code) == [303] * 24
    session = the_session(table)
    seqs = db.session.scalars(select(TableSessionPhone.seq).where(
        TableSessionPhone.session_id == session.id)).all()
    assert sorted(seqs) == list(range(1, 25))
    assert session.phone_count == 24
    assert run_together(app, 24, lambda n: phones[n].get(url).status_code) == [303] * 24
    db.session.expire_all()
    assert db.session.query(TableSessionPhone).count() == 24  # scanning again: the same phones


@pytest.mark.mariadb
def test_phones_adding_the_same_item_at_once_each_get_their_line(app, cafe):
    """24 phones of one table add the same item at the same instant: 24 lines, one per phone,
    each labelled with its own phone, and the cart's version moved 24 times."""
    shop, table, _, cake = cafe
    phones = [app.test_client() for _ in range(24)]
    for phone in phones:
        scan(phone, shop, table)
    start = the_session(table).cart_version
    # (read here: the threads must not touch this test's session or its objects)
    url, form = f"/s/{shop.slug}/cart/items", {"product_id": str(cake.id), "quantity": "1"}
    slug = shop.slug
    db.session.commit()
    statuses = run_together(app, 24, lambda n: phones[n].post(
        url, data=form, headers=HX).status_code)
    assert statuses == [200] * 24
    db.session.expire_all()
    items = db.session.scalars(select(CartItem)).all()
    assert [item.quantity for item in items] == [1] * 24
    assert len({item.phone_id for item in items}) == 24
    assert the_session(table).cart_version == start + 24
    html = phones[0].get(f"/s/{slug}/cart", headers=HX).text
    assert sorted(int(who.split()[1]) for _, who in labels(html)) == list(range(1, 25))
