"""Issue 14, POS item 6, the table map (docs/tablemap.md): each table's time since the first
order, the amount open and a needs-attention badge; the table sheet with its orders, Add items
for the table's group, Move to another table and Close; another shop's cashier can do none of
it; parallel moves on MariaDB never put a group on two tables nor two groups on one."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import AuditLog, Order, ServiceRequest, Shop, TableSession, User
from shopqr.services import DomainError, tablemap
from shopqr.services.events import get_bus
from shopqr.services.money import format_money
from tests.factories import make_cafe, make_table, run_together

HX = {"HX-Request": "true"}


@pytest.fixture
def cafe(app, ctx):
    shop, table, latte, cake = make_cafe("map-cafe", "Map Cafe", "Table 5")
    patio = make_table(shop, "Patio")
    return shop, table, patio, latte, cake


def seat(app, shop, table, product=None, *, order=False, method="cash"):
    """A guest's phone at ``table``: scanned, with ``product`` in the cart, and checked out
    when ``order``. Returns the phone."""
    phone = app.test_client()
    assert phone.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303
    if product is not None:
        assert phone.post(f"/s/{shop.slug}/cart/items",
                          data={"product_id": product.id}).status_code in (200, 303)
    if order:
        key = f"order-key-{table.id:08d}-{method}"
        placed = phone.post(f"/s/{shop.slug}/checkout",
                            data={"method": method, "checkout_key": key})
        assert placed.status_code == 303, placed.text
    return phone


def group_of(table) -> TableSession | None:
    db.session.expire_all()
    return db.session.scalar(select(TableSession).where(TableSession.active_table_id == table.id))


def tile(page: str, table) -> str:
    found = re.search(rf'<article id="pos-table-{table.id}".*?</article>', page, re.S)
    assert found, page
    return found.group(0)


def test_tiles_show_time_open_amount_and_attention(app, cafe, cashier_client):
    shop, table, patio, latte, cake = cafe
    phone = seat(app, shop, table, cake, order=True)  # $1.75 awaiting cash
    cashier = cashier_client(shop)
    page = tile(cashier.get(f"/s/{shop.slug}/pos/").text, table)
    assert "$1.75" in page and format_money(Decimal("1.75") * shop.khr_per_usd, "KHR") in page
    assert 'data-since="' in page and "0 min" in page  # ticks in the browser from here
    assert "Needs attention: 1" in page  # the cash to take
    # the guest asks for the bill: one more thing to see to, on the tile
    assert phone.post(f"/s/{shop.slug}/service", data={"kind": "bill"}, headers=HX).status_code \
        == 200
    page = tile(cashier.get(f"/s/{shop.slug}/pos/regions").text, table)
    assert "Needs attention: 2" in page and "Bill requested" in page
    # a free table: no clock, no amount, no badge
    free = tile(cashier.get(f"/s/{shop.slug}/pos/").text, patio)
    assert "Free" in free and "data-since" not in free and "$" not in free \
        and "attention-badge" not in free


def test_only_the_groups_unpaid_orders_are_open(app, cafe, cashier_client):
    shop, table, _patio, latte, cake = cafe
    seat(app, shop, table, cake, order=True)
    cashier = cashier_client(shop)
    order = db.session.scalar(select(Order))
    assert cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash",
                        data={"usd": "2"}).status_code == 303
    summary = next(t for t in tablemap.table_map(db.session, shop) if t.table.id == table.id)
    assert (summary.open_amount, summary.open_orders, summary.attention) == (0, 0, 0)
    assert summary.since == order.created_at


def test_sheet_lists_orders_and_add_items_orders_for_the_group(app, cafe, cashier_client):
    shop, table, _patio, latte, cake = cafe
    seat(app, shop, table, cake, order=True)
    group = group_of(table)
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos"
    sheet = cashier.get(f"{base}/tables/{table.id}").text
    assert "Banana Cake" in sheet and "Waiting for cash payment" in sheet and "$1.75" in sheet
    bound = cashier.post(f"{base}/tables/{table.id}/add-items", headers=HX)
    assert bound.status_code == 204 and bound.headers["HX-Redirect"].endswith("/pos/?tab=menu")
    till = cashier.post(f"{base}/ticket/items", data={"product_id": cake.id}, headers=HX).text
    assert "New order for Table 5" in till and 'name="table_id"' not in till
    placed = cashier.post(f"{base}/ticket/checkout",
                          data={"method": "cash", "checkout_key": "k" * 24}, headers=HX)
    assert placed.status_code == 204, placed.text
    db.session.expire_all()
    orders = db.session.scalars(select(Order).order_by(Order.id)).all()
    assert [(o.session_id, o.table_name, o.source) for o in orders] == [
        (group.id, "Table 5", "table"), (group.id, "Table 5", "pos")]
    # the ticket is a walk-in again; the tile counts both orders
    assert "New order for" not in cashier.get(f"{base}/").text
    assert "$3.50" in tile(cashier.get(f"{base}/regions").text, table)


def test_add_items_at_a_free_table_seats_a_group(app, cafe, cashier_client):
    shop, _table, patio, _latte, cake = cafe
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos"
    cashier.post(f"{base}/tables/{patio.id}/add-items")
    cashier.post(f"{base}/ticket/items", data={"product_id": cake.id})
    assert cashier.post(f"{base}/ticket/checkout",
                        data={"method": "cash", "checkout_key": "f" * 24}).status_code == 303
    group = group_of(patio)
    assert group is not None
    assert db.session.scalar(select(Order.session_id)) == group.id


def test_a_ticket_bound_to_a_group_that_left_orders_nothing(app, cafe, cashier_client):
    shop, table, _patio, latte, cake = cafe
    seat(app, shop, table, cake)
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos"
    cashier.post(f"{base}/tables/{table.id}/add-items")
    cashier.post(f"{base}/ticket/items", data={"product_id": cake.id})
    assert cashier.post(f"{base}/tables/{table.id}/close").status_code == 303
    refused = cashier.post(f"{base}/ticket/checkout",
                           data={"method": "cash", "checkout_key": "g" * 24}, headers=HX)
    assert refused.status_code == 409 and "group has left" in refused.text
    assert db.session.scalar(select(Order.id)) is None
    # the ticket keeps its lines and asks for a table again
    assert 'name="table_id"' in refused.text and "Banana Cake" in refused.text


def test_a_bound_ticket_follows_the_group_to_its_new_table(app, cafe, cashier_client):
    shop, table, patio, latte, cake = cafe
    seat(app, shop, table, cake)
    group = group_of(table)
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos"
    cashier.post(f"{base}/tables/{table.id}/add-items")
    cashier.post(f"{base}/ticket/items", data={"product_id": cake.id})
    assert cashier.post(f"{base}/tables/{table.id}/move",
                        data={"to_table_id": patio.id}).status_code == 303
    assert cashier.post(f"{base}/ticket/checkout",
                        data={"method": "cash", "checkout_key": "h" * 24}).status_code == 303
    order = db.session.scalar(select(Order))
    assert (order.session_id, order.table_id, order.table_name) == (group.id, patio.id, "Patio")


def test_move_takes_the_cart_orders_and_calls_to_a_free_table(app, cafe, cashier_client):
    shop, table, patio, latte, cake = cafe
    phone = seat(app, shop, table, cake, order=True)
    phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": cake.id})  # in the cart
    phone.post(f"/s/{shop.slug}/service", data={"kind": "staff"}, headers=HX)
    group = group_of(table)
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos"
    moved = cashier.post(f"{base}/tables/{table.id}/move", data={"to_table_id": patio.id},
                         headers=HX)
    assert moved.status_code == 204
    assert moved.headers["HX-Redirect"].endswith(f"/pos/tables/{patio.id}")
    assert group_of(table) is None and group_of(patio).id == group.id
    assert db.session.scalar(select(Order.table_name)) == "Patio"
    call = db.session.scalar(select(ServiceRequest))
    assert (call.table_id, call.open_table_id) == (patio.id, patio.id)
    regions = cashier.get(f"{base}/regions").text
    assert "Free" in tile(regions, table)
    assert "Staff called" in tile(regions, patio) and "$1.75" in tile(regions, patio)
    assert "moved from Table 5 to Patio" in cashier.get(f"{base}/tables/{patio.id}").text
    # the group's phones follow it; the old table's QR code seats the next group afresh
    assert "Patio" in phone.get(f"/s/{shop.slug}/menu").text
    newcomer = seat(app, shop, table)
    assert group_of(table).id != group.id
    assert "Table 5" in newcomer.get(f"/s/{shop.slug}/menu").text
    assert "pos.move_table" in db.session.scalars(select(AuditLog.action)).all()


def test_move_refusals(app, cafe, cashier_client):
    shop, table, patio, latte, cake = cafe
    seat(app, shop, table, cake)
    seat(app, shop, patio, cake)
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos"
    busy = cashier.post(f"{base}/tables/{table.id}/move", data={"to_table_id": patio.id},
                        headers=HX)
    assert busy.status_code == 409 and "Patio is not free" in busy.text
    same = cashier.post(f"{base}/tables/{table.id}/move", data={"to_table_id": table.id})
    blank = cashier.post(f"{base}/tables/{table.id}/move", data={"to_table_id": ""})
    junk = cashier.post(f"{base}/tables/{table.id}/move", data={"to_table_id": "x' or 1=1"})
    empty = make_table(shop, "Bar")
    nobody = cashier.post(f"{base}/tables/{empty.id}/move", data={"to_table_id": patio.id})
    assert (same.status_code, blank.status_code, junk.status_code, nobody.status_code) == (
        422, 422, 404, 409)
    assert group_of(table) is not None and group_of(patio) is not None


def test_close_refuses_while_money_is_open_unless_confirmed(app, cafe, cashier_client):
    shop, table, _patio, latte, cake = cafe
    seat(app, shop, table, cake, order=True)
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos"
    sheet = cashier.get(f"{base}/tables/{table.id}").text
    assert "still has 1 unpaid order(s), $1.75" in sheet  # the confirmation says it
    refused = cashier.post(f"{base}/tables/{table.id}/close", data={"next": "map"}, headers=HX)
    assert refused.status_code == 409 and "$1.75" in refused.text
    assert group_of(table) is not None
    closed = cashier.post(f"{base}/tables/{table.id}/close",
                          data={"next": "map", "unpaid_ok": "1"}, headers=HX)
    assert closed.status_code == 204 and closed.headers["HX-Redirect"].endswith("?tab=tables")
    assert group_of(table) is None
    # the unpaid order still waits on the awaiting-payment list
    assert db.session.scalar(select(Order.payment_status)) == "pending"
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert {"pos.close_table", "pos.close_table_unpaid"} <= set(actions)


def test_close_without_open_money_needs_no_confirmation(app, cafe, cashier_client):
    shop, table, _patio, latte, cake = cafe
    seat(app, shop, table, cake)  # a cart, no order
    cashier = cashier_client(shop)
    assert cashier.post(f"/s/{shop.slug}/pos/tables/{table.id}/close").status_code == 303
    assert group_of(table) is None


def test_another_shops_cashier_can_do_nothing_to_a_table(app, cafe, cashier_client):
    shop, table, patio, latte, cake = cafe
    seat(app, shop, table, cake, order=True)
    other, other_table, *_ = make_cafe("rival-cafe", "Rival Cafe", "Rival 1")
    thief = cashier_client(other)
    base = f"/s/{other.slug}/pos"
    assert thief.get(f"{base}/tables/{table.id}").status_code == 404
    assert thief.get(f"{base}/tables/{table.id}/live").status_code == 404
    assert thief.post(f"{base}/tables/{table.id}/add-items").status_code == 404
    assert thief.post(f"{base}/tables/{table.id}/move",
                      data={"to_table_id": other_table.id}).status_code == 404
    assert thief.post(f"{base}/tables/{table.id}/close",
                      data={"unpaid_ok": "1"}).status_code == 404
    # nor move its own group onto the other shop's table, nor see the other shop's tiles
    seat(app, other, other_table)
    assert thief.post(f"{base}/tables/{other_table.id}/move",
                      data={"to_table_id": patio.id}).status_code == 404
    assert "Table 5" not in thief.get(f"{base}/").text
    # nor bind a ticket to the other shop's group through its own session cookie
    with thief.session_transaction() as cookie:
        cookie["pos_ticket_for"] = {"t": table.id, "g": group_of(table).id}
    thief.post(f"{base}/ticket/items", data={"product_id": _a_product(other)})
    refused = thief.post(f"{base}/ticket/checkout",
                         data={"method": "cash", "checkout_key": "z" * 24}, headers=HX)
    assert refused.status_code == 409
    assert group_of(table) is not None and group_of(other_table) is not None
    assert group_of(table).table_id == table.id
    assert db.session.scalar(select(Order.id).where(Order.shop_id == other.id)) is None


def _a_product(shop: Shop) -> int:
    from shopqr.models import Product
    return db.session.scalar(select(Product.id).where(Product.shop_id == shop.id))


def test_the_sheet_poll_answers_204_until_something_changes(app, cafe, cashier_client):
    shop, table, _patio, latte, cake = cafe
    phone = seat(app, shop, table, cake, order=True)
    cashier = cashier_client(shop)
    sheet = cashier.get(f"/s/{shop.slug}/pos/tables/{table.id}").text
    poll = re.search(r'hx-get="([^"]+/live\?v=[^"]+)"', sheet).group(1).replace("&amp;", "&")
    assert cashier.get(poll).status_code == 204
    phone.post(f"/s/{shop.slug}/service", data={"kind": "bill"}, headers=HX)
    changed = cashier.get(poll)
    assert changed.status_code == 200 and "Bill requested" in changed.text


@pytest.mark.mariadb
def test_parallel_moves_never_split_or_stack_groups(app, ctx):
    """24 cashiers move 4 groups to 4 free tables at the same instant, each group to every
    free table several times over, and the free tables back onto the groups' tables: each
    group ends on exactly one table, no table holds two groups, and each group's orders and
    calls name the table it is at."""
    shop, first, _latte, cake = make_cafe("race-cafe", "Race Cafe", "G0")
    seated = [first] + [make_table(shop, f"G{n}") for n in range(1, 4)]
    free = [make_table(shop, f"F{n}") for n in range(4)]
    for table in seated:
        phone = seat(app, shop, table, cake, order=True)
        phone.post(f"/s/{shop.slug}/service", data={"kind": "staff"}, headers=HX)
    from tests.factories import make_staff
    staff_id = make_staff(shop, "cashier", "481516").id
    groups = {group_of(t).id for t in seated}
    ids = {"shop": shop.id, "seated": [t.id for t in seated], "free": [t.id for t in free]}
    db.session.commit()

    def move(n: int) -> str:
        s = db.session.get(Shop, ids["shop"])
        by = db.session.get(User, staff_id)
        if n % 6 == 5:  # a crossing move: from a free table onto a seated one
            source, target = ids["free"][n % 4], ids["seated"][(n + 1) % 4]
        else:
            source, target = ids["seated"][n % 4], ids["free"][(n // 4) % 4]
        try:
            tablemap.move_group(db.session, get_bus(app), s, source, target, by=by)
            db.session.commit()
            return "moved"
        except DomainError as exc:
            db.session.rollback()
            assert exc.status == 409, exc.message
            return "refused"

    results = run_together(app, 24, move)
    # each seated group leaves its table once at most (again only after a crossing move)
    assert "moved" in results and results.count("refused") >= 12
    db.session.expire_all()
    active = db.session.scalars(select(TableSession).where(
        TableSession.shop_id == shop.id, TableSession.active_table_id.is_not(None))).all()
    assert {s.id for s in active} == groups  # no group lost, none doubled
    tables_held = [s.active_table_id for s in active]
    assert len(set(tables_held)) == 4
    for s in active:
        assert s.table_id == s.active_table_id
        orders = db.session.scalars(select(Order).where(Order.session_id == s.id)).all()
        assert orders and all(o.table_id == s.table_id for o in orders)
        calls = db.session.scalars(select(ServiceRequest).where(
            ServiceRequest.session_id == s.id)).all()
        assert calls and all(c.open_table_id == s.table_id for c in calls)
    moves = db.session.scalars(select(AuditLog).where(AuditLog.action == "pos.move_table")).all()
    assert len(moves) == results.count("moved")
