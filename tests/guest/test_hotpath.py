"""The guest hot paths (services/hotpath.py and the cached table fragments) answer what the ORM
code answers, every cart change moves the cart's version, and a cached fragment is never stale:
a phone sees another phone's change, a checkout, and a price edit on its next request."""

from __future__ import annotations

import random
import re
from dataclasses import fields
from datetime import date
from decimal import Decimal

import pytest
from flask import render_template
from markupsafe import Markup
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.guest import menu_cache
from shopqr.models import CartItem, Order, Shop, TableSession
from shopqr.models.tenancy import GUEST_COLUMNS
from shopqr.services import cart, hotpath, menu_admin, tables
from shopqr.services.money import format_money
from shopqr.web import partial
from tests.factories import make_cafe, make_product, option_id, run_together

PARTIALS = "guest/_partials.html"


@pytest.fixture
def cafe(app, ctx):
    shop, table, latte, cake = make_cafe("hot-cafe", "Hot Cafe", "Table 7", latte_km="ឡាតេ")
    tea = make_product(shop, "Milk Tea", "1.80", options={
        "Size": [("Small", "0"), ("Large", "0.40")],
        "Topping": [("None", "0"), ("Pearls", "0.35")]})
    sold_out = make_product(shop, "Mango Juice", "2.25")
    return shop, table, latte, cake, tea, sold_out


def scan(client, shop, table) -> None:
    assert client.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303


def add(client, shop, product, quantity="1", note=None, **choices):
    form = {"product_id": str(product.id), "quantity": quantity, **(
        {"note": note} if note else {})}
    for group, option in choices.items():
        group_row = next(g for g in product.option_groups if g.name == group)
        form[f"group-{group_row.id}"] = str(option_id(product, group, option))
    return client.post(f"/s/{shop.slug}/cart/items", data=form, headers={"HX-Request": "true"})


def sell_out(shop, product) -> None:
    """The owner's one-tap sold out (it bumps the menu version)."""
    product.is_available = False
    menu_admin.bump(db.session, shop)
    db.session.commit()


def the_session(table) -> TableSession:
    db.session.expire_all()
    return db.session.scalar(select(TableSession).where(TableSession.table_id == table.id,
                                                        TableSession.active_table_id.is_not(None)))


def version(table) -> int:
    return the_session(table).cart_version


def cart_button(shop, count, total, cart_version) -> Markup:
    """The cart button rendered straight from the template, for a cart of ``count`` items
    costing ``total`` (the views fill a shell of it)."""
    return partial(PARTIALS, "cart_button", shop=shop, count=count,
                   total=format_money(total, shop.currency), has_items=count > 0,
                   cart_version=cart_version)


def badge_of(html: str) -> tuple[str, str]:
    count = re.search(r'class="cart-count" data-count="(\d+)"', html).group(1)
    total = re.search(r'class="cart-total">([^<]+)<', html).group(1)
    return count, total


def test_two_phones_get_the_same_cart_as_the_orm_prices_it(app, cafe):
    """Random adds and changes by two phones (options, notes, a line that sells out): after each
    step, both phones' badge and cart panel agree with the cart priced by the ORM."""
    shop, table, latte, cake, tea, sold_out = cafe
    phones = [app.test_client(), app.test_client()]
    for phone in phones:
        scan(phone, shop, table)
    rng = random.Random(7)
    choices = [(latte, {"Size": "Large"}), (latte, {}), (tea, {"Size": "Large",
                                                             "Topping": "Pearls"}),
               (cake, {}), (sold_out, {}), (tea, {"Topping": "Pearls"})]
    for step in range(24):
        phone = phones[step % 2]
        product, chosen = rng.choice(choices)
        if step == 12:  # the owner marks the juice sold out: the carts keep it, flagged
            sell_out(shop, sold_out)
        if step % 5 == 4:
            item = db.session.scalars(select(CartItem).order_by(CartItem.id.desc())).first()
            if item is not None:
                db.session.expire_all()
                phone.post(f"/s/{shop.slug}/cart/items/{item.id}/quantity",
                           data={"quantity": str(rng.randint(0, 3))},
                           headers={"HX-Request": "true"})
        else:
            add(phone, shop, product, str(rng.randint(1, 2)),
                note=rng.choice([None, "no ice"]), **chosen)
        session = the_session(table)
        summary = cart.summarize(db.session, session)
        with app.test_request_context():
            expected = cart_button(shop, summary.count, summary.total, session.cart_version)
        for other in phones:
            badge = other.get(f"/s/{shop.slug}/cart/badge", headers={"HX-Request": "true"})
            assert badge_of(badge.text) == badge_of(str(expected))
            panel = other.get(f"/s/{shop.slug}/cart", headers={"HX-Request": "true"}).text
            with app.test_request_context():
                orm_panel = str(partial(PARTIALS, "cart_panel", shop=shop, summary=summary,
                                        checkout_key="K" * 32, error=None, oob=False))
            assert _without_tokens(panel.split('<a id="cart-badge"')[0]) == \
                _without_tokens(orm_panel)
    assert cart.summarize(db.session, the_session(table)).lines  # the walk did build a cart


def _without_tokens(html: str) -> str:
    """The panel without its per-request values (CSRF token, checkout key) and without the
    phone's own name form (the one part that differs between the phones of a table)."""
    html = re.sub(r'<form id="phone-name".*?</form>', "", html, flags=re.S)
    html = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)
    return re.sub(r'name="checkout_key" value="[^"]+"', 'name="checkout_key" value=""', html)


def test_the_menu_page_is_the_page_the_orm_renders(app, cafe):
    shop, table, latte, cake, tea, sold_out = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, tea, "2", Size="Large", Topping="Pearls")
    add(phone, shop, latte, "1", note="hot")
    sell_out(shop, sold_out)
    placed = phone.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "hot-path-key-0000000001"})
    assert placed.status_code == 303
    add(phone, shop, cake)
    page = phone.get(f"/s/{shop.slug}/menu").text
    session = the_session(table)
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    with app.test_request_context(f"/s/{shop.slug}/menu"):
        from shopqr.guest.views import _menu_html

        shop_row = db.session.get(Shop, shop.id)
        orm = cart.summarize(db.session, session)
        orders = list(db.session.scalars(select(Order).where(Order.session_id == session.id)
                                         .order_by(Order.id.desc())))
        expected = render_template(
            "guest/menu.html", shop=shop_row, menu_html=_menu_html(shop_row),
            table_name=session.table.name,
            orders_html=partial(PARTIALS, "table_orders", shop=shop_row, orders=orders),
            badge_html=cart_button(shop_row, orm.count, orm.total, session.cart_version),
            service_html=partial(PARTIALS, "service_status", shop=shop_row, calls=0, kinds=[]),
            csrf_token=lambda: Markup(csrf))
    assert page == expected
    assert "Mango Juice" in page and "#1" in page


def test_every_cart_change_moves_the_cart_version(app, client, cafe):
    shop, table, latte, cake, *_ = cafe
    scan(client, shop, table)
    seen = [version(table)]

    def moved(response) -> None:
        assert response.status_code in (200, 303), response.text
        seen.append(version(table))
        assert seen[-1] == seen[-2] + 1, seen

    moved(add(client, shop, latte, Size="Large"))
    moved(add(client, shop, latte, Size="Large"))  # merged into the same line
    item = db.session.scalars(select(CartItem)).first().id
    moved(client.post(f"/s/{shop.slug}/cart/items/{item}/quantity", data={"quantity": "5"}))
    moved(client.post(f"/s/{shop.slug}/cart/items/{item}/note", data={"note": "hot"}))
    moved(add(client, shop, cake))
    moved(client.post(f"/s/{shop.slug}/cart/items/{item}/delete"))
    moved(client.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "hot-path-key-0000000002"}))
    # refused changes leave it alone
    before = version(table)
    assert add(client, shop, latte, "99").status_code == 422
    assert client.post(f"/s/{shop.slug}/cart/items/{item}/quantity",
                       data={"quantity": "2"}).status_code == 404
    assert version(table) == before


def test_a_phone_sees_another_phones_change_and_a_price_edit_at_once(app, cafe):
    shop, table, latte, cake, *_ = cafe
    a, b = app.test_client(), app.test_client()
    scan(a, shop, table)
    scan(b, shop, table)
    add(a, shop, cake)
    assert badge_of(b.get(f"/s/{shop.slug}/cart/badge").text) == ("1", "$1.75")
    add(b, shop, latte, Size="Large")
    assert badge_of(a.get(f"/s/{shop.slug}/cart/badge").text) == ("2", "$4.75")
    assert "Latte" in a.get(f"/s/{shop.slug}/cart", headers={"HX-Request": "true"}).text
    menu_admin.save_product(db.session, shop, {"name": "Banana Cake", "price": "2.00",
                                               "category_id": str(cake.category_id)},
                            product=cake)
    db.session.commit()
    assert badge_of(a.get(f"/s/{shop.slug}/menu").text) == ("2", "$5.00")
    assert "$2.00" in b.get(f"/s/{shop.slug}/cart", headers={"HX-Request": "true"}).text
    a.post(f"/s/{shop.slug}/checkout", data={"method": "cash",
                                             "checkout_key": "hot-path-key-0000000003"})
    assert badge_of(b.get(f"/s/{shop.slug}/cart/badge").text) == ("0", "$0.00")
    assert "Your cart is empty" in b.get(f"/s/{shop.slug}/cart",
                                         headers={"HX-Request": "true"}).text


def test_the_cache_holds_a_fragment_under_the_version_it_was_read_at(app, cafe):
    shop, table, _, cake, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, cake)
    phone.get(f"/s/{shop.slug}/cart/badge")
    cache = menu_cache.table_fragments(app)
    keys = [key for key in cache._entries if key[0] == "badge-False"]
    assert keys and {key[4] for key in keys} <= {version(table)}


def test_the_order_poll_is_an_empty_204_until_something_changes(app, cafe):
    shop, table, latte, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, latte)
    page = phone.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "hot-path-key-0000000004"}, follow_redirects=True)
    poll = re.search(r'hx-get="([^"]+/status\?v=[^"]+)"', page.text).group(1)
    poll = poll.replace("&amp;", "&")
    assert phone.get(poll, headers={"HX-Request": "true"}).status_code == 204
    order = db.session.scalar(select(Order))
    order.payment_status, order.kitchen_status = "paid", "queued"
    db.session.commit()
    changed = phone.get(poll, headers={"HX-Request": "true"})
    assert changed.status_code == 200 and "Paid" in changed.text
    new_poll = re.search(r'hx-get="([^"]+/status\?v=[^"]+)"', changed.text).group(1)
    assert new_poll != poll
    assert phone.get(new_poll.replace("&amp;", "&"),
                     headers={"HX-Request": "true"}).status_code == 204
    # another shop's slug never finds the order
    other = make_cafe("other-hot", "Other", "T1")[0]
    assert phone.get(poll.replace(f"/s/{shop.slug}/", f"/s/{other.slug}/"),
                     headers={"HX-Request": "true"}).status_code == 404


def csrf_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', html))


def test_the_phones_of_a_table_share_one_render_of_a_changed_order(app, cafe):
    """After a change every phone of the table gets the same regions (rendered once per
    fingerprint), each with its own phone's CSRF token in the forms it can submit."""
    shop, table, latte, *_ = cafe
    phones = [app.test_client() for _ in range(3)]
    for phone in phones:
        scan(phone, shop, table)
    add(phones[0], shop, latte)
    page = phones[0].post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "hot-path-key-0000000005"}, follow_redirects=True)
    stale = re.search(r'hx-get="([^"]+/status\?v=[^"]+)"', page.text).group(1)
    stale = stale.replace("&amp;", "&").replace("v=", "v=old-")
    answers = [phone.get(stale, headers={"HX-Request": "true"}) for phone in phones]
    assert [a.status_code for a in answers] == [200] * 3
    assert "Please pay" in answers[0].text  # cash: the "change your mind" forms are there
    tokens = [csrf_tokens(a.text) for a in answers]
    assert all(len(t) == 1 for t in tokens) and len(set.union(*tokens)) == 3
    bare = {re.sub(r'name="csrf_token" value="[^"]+"', "", a.text) for a in answers}
    assert len(bare) == 1


def test_a_running_qr_countdown_is_rendered_fresh_for_every_poll(app, cafe, monkeypatch):
    """A KHQR still counting down shows the time left: two answers a minute apart differ by
    that minute (a shared copy would show the first one's time)."""
    from datetime import timedelta

    from shopqr.guest import views
    from shopqr.models import utcnow

    shop, table, latte, *_ = cafe
    shop.bakong_account_id = "hot_cafe@aclb"
    db.session.commit()
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, latte)
    page = phone.post(f"/s/{shop.slug}/checkout", data={
        "method": "khqr", "checkout_key": "hot-path-key-0000000006"}, follow_redirects=True)
    assert "countdown" in page.text
    stale = re.search(r'hx-get="([^"]+/status\?v=[^"]+)"', page.text).group(1)
    stale = stale.replace("&amp;", "&").replace("v=", "v=old-")
    start = utcnow()
    shown = []
    for minutes in (0, 1):
        monkeypatch.setattr(views, "utcnow", lambda m=minutes: start + timedelta(minutes=m))
        answer = phone.get(stale, headers={"HX-Request": "true"})
        assert answer.status_code == 200
        shown.append(int(re.search(r'data-now="(\d+)"', answer.text).group(1)))
    assert shown[1] - shown[0] == 60_000


@pytest.mark.mariadb
def test_parallel_adds_of_one_line_from_phones_of_one_table_lose_nothing(app, cafe):
    """24 taps add the same line of one phone at the same instant: one line of 24, and the
    cart's version moved 24 times. (Each thread has its own test client, as a test client's
    cookie jar is not for sharing between threads; all of them carry the same phone's cookie,
    since each phone has lines of its own: tests/guest/test_phones.py.)"""
    shop, table, latte, *_ = cafe
    phones = [app.test_client() for _ in range(24)]
    for phone in phones:
        scan(phone, shop, table)
    same = phones[0].get_cookie("shopqr_phone", path=f"/s/{shop.slug}/").value
    for phone in phones:
        phone.set_cookie("shopqr_phone", same, path=f"/s/{shop.slug}/")
    start = version(table)
    form = {"product_id": str(latte.id), "quantity": "1",
            f"group-{latte.option_groups[0].id}": str(option_id(latte, "Size", "Large"))}
    url = f"/s/{shop.slug}/cart/items"
    db.session.commit()
    statuses = run_together(app, 24, lambda n: phones[n].post(
        url, data=form, headers={"HX-Request": "true"}).status_code)
    assert statuses == [200] * 24
    db.session.expire_all()
    items = db.session.scalars(select(CartItem)).all()
    assert [item.quantity for item in items] == [24]
    assert version(table) == start + 24
    assert cart.summarize(db.session, the_session(table)).total == Decimal("72.00")


def test_an_ended_session_refuses_changes(app, cafe):
    shop, table, latte, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, latte)
    tables.end_session(db.session, the_session(table), "closed by test")
    db.session.commit()
    assert add(phone, shop, latte).status_code == 410


def test_raw_reads_give_what_sqlalchemy_gives(app, cafe):
    """The hot reads skip SQLAlchemy's execution machinery; their rows (with Decimal, dates,
    booleans and UTC datetimes converted) equal the rows of the same statements run through
    ``Connection.execute``."""
    shop, table, latte, cake, *_ = cafe
    shop.subscription_expires_on = date(2027, 1, 31)
    db.session.commit()
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, latte, "2", Size="Large")
    placed = phone.post(f"/s/{shop.slug}/checkout", data={
        "method": "khqr", "checkout_key": "hot-path-key-0000000005"}, follow_redirects=True)
    assert placed.status_code == 200
    add(phone, shop, cake)
    session = the_session(table)
    order = db.session.scalar(select(Order))
    cookie = session.token
    own = phone.get_cookie("shopqr_phone", path=f"/s/{shop.slug}/").value  # the phone's row too
    checks = [(hotpath._SHOP, {"shop_id": shop.id}),
              (hotpath._GUEST, {"slug": shop.slug, "token": cookie, "phone": own}),
              (hotpath._GUEST_ADDING, {"slug": shop.slug, "token": cookie, "phone": own,
                                       "product_id": cake.id}),
              (hotpath._GUEST_ADDING, {"slug": shop.slug, "token": cookie, "phone": own,
                                       "product_id": latte.id}),
              (hotpath._SCAN, {"slug": shop.slug, "qr": table.qr_token, "phone": own}),
              (hotpath._BADGE, {"session_id": session.id}),
              (hotpath._SAME_PRODUCT, {"session_id": session.id, "product_id": cake.id}),
              (hotpath._SAME_PRODUCT, {"session_id": session.id, "product_id": latte.id}),
              (hotpath._ORDERS, {"session_id": session.id}),
              (hotpath._ORDER_STATE, {"slug": shop.slug, "token": order.public_token})]
    for read, params in checks:
        raw = read.rows(db.session, params)
        try:
            hotpath.Read.enabled = False
            through_sqlalchemy = read.rows(db.session, params)
        finally:
            hotpath.Read.enabled = True
        assert raw and raw == through_sqlalchemy, read.statement
        assert [type(value) for value in raw[0]] == \
            [type(value) for value in through_sqlalchemy[0]]


def test_a_raw_read_that_fails_raises_sqlalchemys_error(app, ctx):
    from sqlalchemy import column, exc, table

    missing = hotpath.Read(select(column("x")).select_from(table("no_such_table")))
    with pytest.raises(exc.DBAPIError):
        missing.rows(db.session, {})


def test_a_cached_product_follows_every_menu_change(app, cafe):
    """add-to-cart checks the guest's choices against a product cached per menu version: a
    product sold out, an option gone or a product deleted after it was cached is seen at once."""
    shop, table, latte, cake, tea, _ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    assert add(phone, shop, cake).status_code == 200  # now cached
    sell_out(shop, cake)
    assert add(phone, shop, cake).status_code == 409
    assert add(phone, shop, latte, Size="Large").status_code == 200
    large = next(o for g in latte.option_groups for o in g.options if o.name == "Large")
    form = {"product_id": str(latte.id), f"group-{large.group_id}": str(large.id)}
    db.session.delete(large)
    menu_admin.bump(db.session, shop)
    db.session.commit()
    gone = phone.post(f"/s/{shop.slug}/cart/items", data=form, headers={"HX-Request": "true"})
    assert gone.status_code == 400
    tea.is_deleted = True
    menu_admin.bump(db.session, shop)
    db.session.commit()
    assert add(phone, shop, tea).status_code == 404


def test_a_phone_hears_of_another_phones_change_through_the_cart_watch(app, cafe):
    shop, table, latte, cake, *_ = cafe
    a, b = app.test_client(), app.test_client()
    scan(a, shop, table)
    scan(b, shop, table)
    watch = re.search(r'id="cart-watch"[^>]*hx-get="([^"]+)"',
                      b.get(f"/s/{shop.slug}/menu").text).group(1).replace("&amp;", "&")
    assert b.get(watch).status_code == 204  # nothing changed: nothing to send
    add(a, shop, cake)
    heard = b.get(watch)
    assert heard.status_code == 200 and heard.headers["HX-Trigger"] == "cart-changed"
    assert badge_of(heard.text) == ("1", "$1.75")
    watch = re.search(r'id="cart-watch"[^>]*hx-get="([^"]+)"', heard.text).group(1)
    assert b.get(watch.replace("&amp;", "&")).status_code == 204


@pytest.mark.mariadb
def test_phones_tapping_plus_at_once_all_count(app, cafe):
    """The cart's −/+ send a step, not a number: 24 phones tapping "+" on one line at the same
    instant make 24 more."""
    shop, table, latte, *_ = cafe
    phones = [app.test_client() for _ in range(24)]
    for phone in phones:
        scan(phone, shop, table)
    add(phones[0], shop, latte)
    item = db.session.scalars(select(CartItem)).one().id
    db.session.commit()
    url = f"/s/{shop.slug}/cart/items/{item}/quantity"
    statuses = run_together(app, 24, lambda n: phones[n].post(
        url, data={"delta": "1"}, headers={"HX-Request": "true"}).status_code)
    assert statuses == [200] * 24
    db.session.expire_all()
    assert db.session.get(CartItem, item).quantity == 25


def test_the_cart_steppers_refuse_anything_but_one_step(app, cafe):
    shop, table, latte, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, latte, "50")
    item = db.session.scalars(select(CartItem)).one().id
    url = f"/s/{shop.slug}/cart/items/{item}/quantity"
    assert phone.post(url, data={"delta": "5"}).status_code == 422
    assert phone.post(url, data={"delta": "1"}).status_code == 422  # already 50
    assert phone.post(url, data={"delta": "-1"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(CartItem, item).quantity == 49


def test_a_menu_page_takes_one_query_before_the_first_order_and_two_after(app, cafe):
    """Counted as any listener of the engine's cursor events sees them (the benchmark counts
    this way): the raw reads are not hidden from it."""
    from sqlalchemy import event

    shop, table, latte, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    menu = f"/s/{shop.slug}/menu"  # (read now: the test's own objects expire on commits)
    phone.get(menu)  # warm: the page and the cart button are cached
    statements: list[str] = []

    def seen(conn, cursor, statement, *rest):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert phone.get(menu).status_code == 200
        assert len(statements) == 1, statements
        add(phone, shop, latte)
        phone.post(f"/s/{shop.slug}/checkout", data={
            "method": "cash", "checkout_key": "hot-path-key-0000000009"})
        phone.get(menu)
        statements.clear()
        assert phone.get(menu).status_code == 200
        assert len(statements) == 2, statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def _orm_badge(shop, table) -> tuple[str, str]:
    """The cart's count and total as the ORM prices it (what checkout will charge)."""
    summary = cart.summarize(db.session, the_session(table))
    return str(summary.count), f"${summary.total:,.2f}"


def test_an_add_tells_the_new_badge_without_summing_the_cart_again(app, cafe):
    """After an add the badge shows the cart's new count and total. When the add knows the
    cart as it was (the table's last add or badge), it works them out from that and its own
    line, options and quantity included, instead of summing the whole cart again; they are
    still what the ORM prices. Another phone's change in between, a price edit and a refused
    add each leave the next badge right."""
    from sqlalchemy import event

    shop, table, latte, cake, tea, _ = cafe
    a, b = app.test_client(), app.test_client()
    scan(a, shop, table)
    scan(b, shop, table)
    sums: list[str] = []

    def seen(conn, cursor, statement, *rest):
        if "sum(" in statement.lower():
            sums.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        steps = [(a, tea, "2", {"Size": "Large", "Topping": "Pearls"}),
                 (a, latte, "1", {"Size": "Large"}),
                 (a, tea, "1", {"Size": "Large", "Topping": "Pearls"}),  # merges: 3 of them
                 (b, cake, "3", {}),  # the other phone: the table's cart, known the same
                 (a, latte, "2", {})]
        for n, (phone, product, quantity, choices) in enumerate(steps):
            sums.clear()
            added = add(phone, shop, product, quantity, **choices)
            assert added.status_code == 200
            assert badge_of(added.text) == _orm_badge(shop, table)
            if n:  # the first add read the cart; the others knew it
                assert sums == []
        # the other phone changes a quantity (that answer sums the cart): the next add of the
        # first phone builds on it
        b.post(f"/s/{shop.slug}/cart/items/"
               f"{db.session.scalars(select(CartItem.id).order_by(CartItem.id)).first()}"
               "/quantity", data={"quantity": "1"}, headers={"HX-Request": "true"})
        assert badge_of(add(a, shop, cake).text) == _orm_badge(shop, table)
        # a price edit: the next add prices every line at the new price
        menu_admin.save_product(db.session, shop, {"name": "Banana Cake", "price": "2.10",
                                                   "category_id": str(cake.category_id)},
                                product=cake)
        db.session.commit()
        assert badge_of(add(a, shop, cake).text) == _orm_badge(shop, table)
        # a refused add (too many of one line) changes nothing the next add relies on
        assert add(a, shop, cake, "99").status_code in (400, 422)
        assert badge_of(add(a, shop, latte).text) == _orm_badge(shop, table)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def test_an_add_from_a_stale_view_of_the_cart_sums_it_again(app, cafe):
    """An add whose request read the cart before another change (its version moved on) does
    not build on the sums it knew: it reads the cart after its commit."""
    from flask import current_app

    from shopqr.services.events import get_bus

    shop, table, latte, cake, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, cake)  # the sums at this version are known now
    with app.test_request_context():
        stale = hotpath.snapshot(the_session(table))
        menu_version = db.session.get(Shop, shop.id).menu_version
    add(phone, shop, latte, "2")  # another change: the version moves on
    with app.test_request_context():
        added = hotpath.add_item(db.session, get_bus(current_app), stale, cake.id, {}, "1",
                                 None, menu_version=menu_version)
        assert added.summed is None
        db.session.commit()
        fresh = hotpath.badge_after_add(db.session, stale.id, hotpath.GuestShop(
            *[getattr(db.session.get(Shop, shop.id), c.name) for c in hotpath._SHOP_COLUMNS]),
            added)
    assert (str(fresh.count), f"${fresh.total:,.2f}") == _orm_badge(shop, table)


def _read_for_add(app, shop, client, product):
    """What an add request reads first (``guest_adding``): the shop, the phone's session and
    the cart's lines of the product, with the phone's cookie tokens; nothing stays open."""
    path = f"/s/{shop.slug}/"
    tokens = tuple(client.get_cookie(app.config[name], path=path).value
                   for name in ("GUEST_COOKIE_NAME", "PHONE_COOKIE_NAME"))
    with app.test_request_context():
        guest_shop, session, seen = hotpath.guest_adding(db.session, shop.slug, *tokens,
                                                         str(product.id))
        db.session.rollback()
    return guest_shop, session, seen, tokens[1]


def test_an_add_reads_nothing_but_the_guest_statement_before_it_writes(app, cafe):
    """The cart's lines of the product come with the shop and session in one statement: an
    add of a known cart at a known menu version runs that one SELECT, then writes."""
    from sqlalchemy import event

    shop, table, latte, cake, tea, _ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, cake)
    add(phone, shop, tea, Size="Large")  # the product and the cart's sums are known now
    url, size = f"/s/{shop.slug}/cart/items", f"group-{tea.option_groups[0].id}"
    forms = [{"product_id": str(tea.id), "quantity": "2",  # merged into the line
              size: str(option_id(tea, "Size", "Large"))},
             {"product_id": str(tea.id), size: str(option_id(tea, "Size", "Small"))}]  # new
    statements: list[str] = []

    def seen(conn, cursor, statement, *rest):
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        for form, badge in zip(forms, [("4", "$8.35"), ("5", "$10.15")], strict=True):
            statements.clear()
            answer = phone.post(url, data=form, headers={"HX-Request": "true"})
            assert badge_of(answer.text) == badge
            assert statements.count("SELECT") == 1, statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert _orm_badge(shop, table) == ("5", "$10.15")


def test_an_add_that_read_the_cart_before_another_change_reads_it_again(app, cafe):
    """The lines an add read with the session are trusted only if the cart's version has not
    moved since. Here the same phone's other tab adds the product in between: the add sees
    that line under the cart's lock and merges into it instead of making a second one."""
    from flask import current_app

    from shopqr.services.events import get_bus

    shop, table, latte, cake, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, cake)
    guest_shop, stale, seen, phone_token = _read_for_add(app, shop, phone, latte)
    assert seen.count == 1 and seen.lines == {}  # no latte yet
    add(phone, shop, latte)  # the other tab
    with app.test_request_context():
        hotpath.add_item(db.session, get_bus(current_app), stale, latte.id, {}, "2", None,
                         menu_version=guest_shop.menu_version, phone_token=phone_token,
                         seen=seen)
        db.session.commit()
    lattes = db.session.scalars(select(CartItem).where(CartItem.product_id == latte.id)).all()
    assert [line.quantity for line in lattes] == [3]
    assert _orm_badge(shop, table) == ("4", "$9.25")


def test_an_add_that_read_a_cart_with_room_is_refused_when_it_filled_up_since(app, cafe):
    """A cart holds at most MAX_LINES lines. An add read the cart one line short; another
    phone adds the last one before the add locks the cart: the add counts again and is refused."""
    from flask import current_app

    from shopqr.services.events import get_bus

    shop, table, latte, cake, *_ = cafe
    phone, other = app.test_client(), app.test_client()
    scan(phone, shop, table)
    scan(other, shop, table)
    for n in range(cart.MAX_LINES - 1):
        assert add(other, shop, cake, note=f"slice {n}").status_code == 200
    guest_shop, stale, seen, phone_token = _read_for_add(app, shop, phone, latte)
    assert seen.count == cart.MAX_LINES - 1
    assert add(other, shop, cake, note="the last slice").status_code == 200
    with app.test_request_context():
        with pytest.raises(cart.DomainError, match=f"at most {cart.MAX_LINES} different items"):
            hotpath.add_item(db.session, get_bus(current_app), stale, latte.id, {}, "1",
                             None, menu_version=guest_shop.menu_version,
                             phone_token=phone_token, seen=seen)
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == cart.MAX_LINES


def test_phones_adding_at_once_to_a_nearly_full_cart_never_pass_its_limit(app, cafe):
    """24 phones of one table add a new line each at the same instant to a cart three lines
    short of its limit, all having read the cart at the same version: three get in, the
    others are told the cart is full, and the cart holds exactly MAX_LINES lines."""
    shop, table, latte, cake, *_ = cafe
    phones = [app.test_client() for _ in range(24)]
    for phone in phones:
        scan(phone, shop, table)
    for n in range(cart.MAX_LINES - 3):
        assert add(phones[0], shop, cake, note=f"slice {n}").status_code == 200
    # read here: the threads must not load the test's own objects (one connection)
    url, product_id = f"/s/{shop.slug}/cart/items", str(latte.id)
    db.session.commit()
    answers = run_together(app, 24, lambda n: phones[n].post(
        url, data={"product_id": product_id, "note": f"phone {n}"},
        headers={"HX-Request": "true"}))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 3 + [422] * 21, statuses
    assert all("different items" in answer.text for answer in answers
               if answer.status_code == 422)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == cart.MAX_LINES


def test_parallel_adds_of_one_table_leave_the_known_sums_right(app, cafe):
    """24 phones of one table add at the same instant, each from the same cart version: one of
    them builds on the known sums, the others read the cart after their commit. Whatever each
    saw, the sums remembered for the next adds are the cart's: the adds after the burst show
    what the ORM prices."""
    shop, table, latte, cake, tea, _ = cafe
    phones = [app.test_client() for _ in range(24)]
    for phone in phones:
        scan(phone, shop, table)
    add(phones[0], shop, cake)  # known sums
    products = [cake, latte, tea]
    forms = [{"product_id": str(products[n % 3].id), "quantity": str(1 + n % 2)}
             for n in range(24)]
    url = f"/s/{shop.slug}/cart/items"
    db.session.commit()
    statuses = run_together(app, 24, lambda n: phones[n].post(
        url, data=forms[n], headers={"HX-Request": "true"}).status_code)
    assert statuses == [200] * 24
    db.session.expire_all()
    assert _orm_badge(shop, table)[0] == str(1 + sum(1 + n % 2 for n in range(24)))
    for phone in phones[:4]:
        assert badge_of(add(phone, shop, latte, Size="Large").text) == \
            _orm_badge(shop, table)


def test_a_cart_read_before_a_rollback_is_not_built_on(app, cafe):
    """A badge read inside a transaction that is then rolled back saw a cart version that never
    was: the next change made under that version number must not be priced from it."""
    from flask import current_app

    from shopqr.services.events import get_bus

    shop, table, latte, cake, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    add(phone, shop, cake)
    with app.test_request_context():
        mine = hotpath.snapshot(the_session(table))
        menu_version = db.session.get(Shop, shop.id).menu_version
        hotpath.add_item(db.session, get_bus(current_app), mine, latte.id, {}, "3", None,
                         menu_version=menu_version)
        assert hotpath.badge(db.session, mine.id).count == 4  # seen, not committed
        db.session.rollback()
        # the same version number again, by a change that reads no badge after it
        line = db.session.scalars(select(CartItem.id)).one()
        hotpath.set_quantity(db.session, get_bus(current_app), mine, line, "2")
        db.session.commit()
    assert badge_of(add(phone, shop, cake).text) == _orm_badge(shop, table) == ("3", "$5.25")


# --- the shop as the guest pages keep it (per process, under the shop's menu_version) ---

NEW_VALUES = {
    "slug": "hot-cafe-2", "name": "Hot Cafe Riverside", "name_km": "ហាងក្តៅ",
    "currency": "KHR", "khr_per_usd": Decimal("4050"), "bakong_account_id": "hot2@aclb",
    "khqr_merchant_name": "Hot Two", "is_active": False,
    "subscription_expires_on": date(2031, 1, 31), "service_on": True,
    "service_name": "Service", "service_name_km": "សេវា", "service_rate": Decimal("5.00"),
    "service_included": True, "vat_on": True, "vat_name": "Tax", "vat_name_km": "ពន្ធ",
    "vat_rate": Decimal("7.00"), "vat_included": True, "charge_rounding": "up",
}


def test_the_guest_shop_reads_the_columns_whose_changes_bump_the_menu_version():
    assert tuple(f.name for f in fields(hotpath.GuestShop)) == GUEST_COLUMNS
    assert set(NEW_VALUES) == set(GUEST_COLUMNS) - {"id", "menu_version"}


@pytest.mark.parametrize("name", sorted(NEW_VALUES))
def test_a_change_to_what_guests_see_of_the_shop_bumps_its_menu_version(app, cafe, name):
    shop = cafe[0]
    before = shop.menu_version
    assert getattr(shop, name) != NEW_VALUES[name]
    setattr(shop, name, NEW_VALUES[name])
    db.session.commit()
    db.session.expire_all()
    assert (getattr(shop, name), shop.menu_version) == (NEW_VALUES[name], before + 1)


def test_a_change_guests_do_not_see_leaves_the_menu_version(app, cafe):
    shop = cafe[0]
    before = shop.menu_version
    shop.kitchen_warn_minutes = 7
    shop.receipt_paper_mm = 58
    db.session.commit()
    db.session.expire_all()
    assert shop.menu_version == before


def test_a_phone_sees_the_shop_renamed_and_its_prices_in_riel_on_its_next_page(app, cafe):
    """The menu page (cached by the shop's menu version, and the shop itself kept per process
    under it) after the owner renames the shop and switches it to riel."""
    shop, table, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    menu = f"/s/{shop.slug}/menu"
    page = phone.get(menu).get_data(as_text=True)
    assert "Hot Cafe" in page and "$" in page and "៛" not in page
    shop.name = "Hot Cafe Riverside"
    shop.currency, shop.khr_per_usd = "KHR", Decimal("4000")
    db.session.commit()
    page = phone.get(menu).get_data(as_text=True)
    assert "Hot Cafe Riverside" in page and "៛" in page
