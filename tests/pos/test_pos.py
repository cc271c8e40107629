"""The cashier's POS: cash to kitchen, change, manual orders, voids, flags, closing tables."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import AuditLog, Order, TableSession, Transaction, utcnow
from shopqr.services import payments, pos, tables
from shopqr.services.bakong import CheckResult, CheckStatus, Payment
from shopqr.services.events import get_bus
from shopqr.services.money import format_money
from tests.factories import (
    group_id,
    make_order,
    make_product,
    make_shop,
    make_table,
    option_id,
)

HX = {"HX-Request": "true"}


def test_cash_received_sends_the_order_to_the_kitchen(app, cashier_client):
    shop = make_shop()
    order = make_order(shop, make_product(shop, "Latte", "2.50"), 2)
    cashier = cashier_client(shop)
    page = cashier.get(f"/s/{shop.slug}/pos/")
    assert f'id="pos-order-{order.id}"'.encode() in page.data
    response = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash",
                            data={"usd": "10"}, headers={"HX-Request": "true"})
    # The shop prints a receipt after cash (the default): on to its print view, which shows
    # the change (docs/receipts.md).
    assert response.status_code == 204
    target = response.headers["HX-Redirect"]
    assert target == f"/s/{shop.slug}/pos/orders/{order.id}/receipt?print=1"
    receipt = cashier.get(target).text
    assert "data-auto-print" in receipt and "change $5.00 (or 20,500៛)" in receipt
    db.session.expire_all()
    paid = db.session.get(Order, order.id)
    assert paid.payment_status == "paid" and paid.kitchen_status == "queued"
    kitchen = cashier.get(f"/s/{shop.slug}/kitchen/")
    assert f"kitchen-order-{order.id}".encode() in kitchen.data
    assert db.session.scalar(select(AuditLog.detail).where(
        AuditLog.action == "pos.cash_received")).startswith("total $5.00")


@pytest.mark.parametrize("total,usd,khr,change,split_usd,split_khr", [
    ("5.00", "10", "", "5.00", "5", "0"),
    ("2.75", "5", "", "2.25", "2", "1000"),  # 0.25 * 4100 = 1025 -> 1,000 riel
    ("2.75", "2", "4100", "0.25", "0", "1000"),
    ("1.10", "", "5000", "0.11", "0", "500"),  # 5000 riel = $1.21
])
def test_change_in_dollars_and_riel(app, ctx, total, usd, khr, change, split_usd, split_khr):
    shop = make_shop()
    result = pos.compute_change(shop, Decimal(total), usd, khr)
    assert result.change == Decimal(change)
    assert (result.split_usd, result.split_khr) == (Decimal(split_usd), Decimal(split_khr))
    assert result.split_khr % 100 == 0


def test_riel_shop_change(app, ctx):
    shop = make_shop(currency="KHR")
    result = pos.compute_change(shop, Decimal("9500"), "", "20000")
    assert result.change == Decimal("10500") and result.split_khr == Decimal("10500")


@pytest.mark.parametrize("usd,khr,message", [
    ("", "", b"Enter the cash received"),
    ("1", "", b"short"),
    ("abc", "", b"must be a number"),
    ("-5", "", b"between"),
    ("1.234", "", b"at most 2 decimals"),
    ("", "100.5", b"whole riel"),
    ("៥", "", b"digits 0-9"),  # Khmer 5: Decimal() reads it, the till must not
    ("", "២០០០០", b"digits 0-9"),  # Khmer 20000
    ("٥", "", b"digits 0-9"),  # Arabic-Indic 5
    ("1" * 5000, "", b"between"),
    ("1e999999", "", b"between"),
])
def test_bad_cash_input_is_a_clear_4xx_and_nothing_changes(app, cashier_client, usd, khr,
                                                           message):
    shop = make_shop()
    order = make_order(shop, make_product(shop, "Latte", "2.50"), 2)
    response = cashier_client(shop).post(f"/s/{shop.slug}/pos/orders/{order.id}/cash",
                                         data={"usd": usd, "khr": khr})
    assert response.status_code == 422 and message in response.data
    db.session.expire_all()
    assert db.session.get(Order, order.id).payment_status == "pending"


def test_cash_twice_is_refused(app, cashier_client):
    shop = make_shop()
    order = make_order(shop, make_product(shop), paid=True)
    response = cashier_client(shop).post(f"/s/{shop.slug}/pos/orders/{order.id}/cash",
                                         data={"usd": "10"})
    assert response.status_code == 409


def test_manual_order_for_a_walk_in(app, cashier_client):
    shop = make_shop()
    latte = make_product(shop, "Latte", "2.50", options={"Size": [("Small", "0"),
                                                                  ("Large", "0.50")]})
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos"
    cashier.post(f"{base}/ticket/items", data={
        "product_id": latte.id, "quantity": "2",
        f"group-{group_id(latte, 'Size')}": option_id(latte, "Size", "Large"),
        "price": "0.01",  # ignored: prices come from the database
    })
    response = cashier.post(f"{base}/ticket/checkout",
                            data={"method": "cash", "checkout_key": "w" * 24})
    assert response.status_code == 303
    order = db.session.scalar(select(Order).where(Order.shop_id == shop.id))
    assert order.source == "pos" and order.total == Decimal("6.00") and order.table_id is None
    assert order.lines[0].options[0]["option"] == "Large"
    # Same form submitted again: still one order.
    again = cashier.post(f"{base}/ticket/checkout",
                         data={"method": "cash", "checkout_key": "w" * 24})
    assert again.status_code == 303
    assert db.session.query(Order).count() == 1


def test_manual_khqr_order_shows_the_qr_on_the_pos(app, cashier_client):
    shop = make_shop()
    product = make_product(shop, "Latte", "2.50")
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos"
    cashier.post(f"{base}/ticket/items", data={"product_id": product.id})
    response = cashier.post(f"{base}/ticket/checkout",
                            data={"method": "khqr", "checkout_key": "k" * 24})
    detail = cashier.get(response.headers["Location"])
    assert detail.status_code == 200 and b"<svg" in detail.data and b"KHQR" in detail.data


def test_empty_ticket_cannot_be_ordered(app, cashier_client):
    shop = make_shop()
    response = cashier_client(shop).post(f"/s/{shop.slug}/pos/ticket/checkout",
                                         data={"method": "cash", "checkout_key": "e" * 24})
    assert response.status_code == 422
    assert db.session.query(Order).count() == 0


def test_void_needs_a_reason_and_only_unpaid_orders(app, cashier_client):
    shop = make_shop()
    unpaid = make_order(shop, make_product(shop))
    paid = make_order(shop, make_product(shop), paid=True)
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos/orders"
    assert cashier.post(f"{base}/{unpaid.id}/cancel", data={"reason": " "}).status_code == 422
    assert cashier.post(f"{base}/{unpaid.id}/cancel",
                        data={"reason": "Guest left"}).status_code == 303
    assert cashier.post(f"{base}/{paid.id}/cancel", data={"reason": "x"}).status_code == 409
    db.session.expire_all()
    assert db.session.get(Order, unpaid.id).payment_status == "cancelled"
    assert db.session.get(Order, unpaid.id).cancel_reason == "Guest left"
    assert db.session.get(Order, paid.id).payment_status == "paid"


def test_mismatch_is_shown_and_can_be_accepted(app, cashier_client):
    shop = make_shop()
    order = make_order(shop, make_product(shop), method="khqr")
    txn = payments.create_khqr(db.session, shop, order, now=utcnow(), ttl_seconds=600,
                               grace_seconds=60)
    db.session.commit()
    result = CheckResult(CheckStatus.PAID, txn.md5, Payment(
        hash="h1", from_account="guest@abaa", to_account=None, currency="USD",
        amount=Decimal("2.00")))
    assert payments.apply_result(db.session, get_bus(app), txn, result, utcnow()) == "mismatch"
    db.session.commit()
    cashier = cashier_client(shop)
    page = cashier.get(f"/s/{shop.slug}/pos/")
    assert b"Wrong amount: Bakong reported $2.00 for a $2.50 order" in page.data
    response = cashier.post(f"/s/{shop.slug}/pos/payments/{txn.id}/resolve",
                            data={"action": "accept", "note": "Collected 50 cents in cash"})
    assert response.status_code == 303
    db.session.expire_all()
    fixed = db.session.get(Order, order.id)
    assert fixed.payment_status == "paid" and fixed.kitchen_status == "queued"
    assert db.session.get(Transaction, txn.id).attention == "accepted"


def test_close_table_then_rescan_starts_an_empty_cart(app, cashier_client):
    shop = make_shop()
    table = make_table(shop)
    product = make_product(shop, "Secret Dessert")
    guest = app.test_client()
    guest.get(f"/s/{shop.slug}/t/{table.qr_token}")
    guest.post(f"/s/{shop.slug}/cart/items", data={"product_id": product.id})
    cashier = cashier_client(shop)
    page = cashier.get(f"/s/{shop.slug}/pos/")
    assert b"Ordering" in page.data
    assert cashier.post(f"/s/{shop.slug}/pos/tables/{table.id}/close").status_code == 303
    # the phone still at the table: its menu link joins the table's new, empty session
    rejoined = guest.get(f"/s/{shop.slug}/menu")
    assert rejoined.status_code == 303 and rejoined.headers["Location"].endswith("/menu")
    assert b"Secret Dessert" not in guest.get(f"/s/{shop.slug}/cart").data
    newcomer = app.test_client()
    newcomer.get(f"/s/{shop.slug}/t/{table.qr_token}")
    cart = newcomer.get(f"/s/{shop.slug}/cart")
    assert cart.status_code == 200 and b"Secret Dessert" not in cart.data
    assert db.session.query(TableSession).filter(
        TableSession.active_table_id.is_not(None)).count() == 1


def test_table_states(app, ctx):
    shop = make_shop()
    make_table(shop, "T1")
    ordering, awaiting = make_table(shop, "T2"), make_table(shop, "T3")
    for table in (ordering, awaiting):
        tables.join_or_start(db.session, table)
    db.session.commit()
    order = make_order(shop, make_product(shop), table=awaiting)
    order.session_id = tables.active_session(db.session, awaiting).id
    db.session.commit()
    states = {s.table.name: s.state for s in pos.table_states(db.session, shop)}
    assert states == {"T1": "free", "T2": "ordering", "T3": "awaiting"}


def test_todays_orders_filters_and_totals(app, cashier_client):
    shop = make_shop()
    product = make_product(shop, "Latte", "2.50")
    make_order(shop, product, 2, paid=True)
    make_order(shop, product, 1, method="khqr", paid=True)
    make_order(shop, product, 1)
    cashier = cashier_client(shop)
    page = cashier.get(f"/s/{shop.slug}/pos/orders")
    assert b"$7.50" in page.data  # paid total
    only_cash = cashier.get(f"/s/{shop.slug}/pos/orders?payment=paid&method=cash")
    assert only_cash.data.count(b'id="row-') == 1


def test_other_shops_ids_are_404_on_the_pos(app, cashier_client):
    mine, theirs = make_shop(), make_shop()
    foreign = make_order(theirs, make_product(theirs))
    foreign_table = make_table(theirs)
    tables.join_or_start(db.session, foreign_table)
    db.session.commit()
    cashier = cashier_client(mine)
    base = f"/s/{mine.slug}/pos"
    assert cashier.get(f"{base}/orders/{foreign.id}").status_code == 404
    assert cashier.post(f"{base}/orders/{foreign.id}/cash", data={"usd": "100"}).status_code == 404
    assert cashier.post(f"{base}/orders/{foreign.id}/cancel",
                        data={"reason": "x"}).status_code == 404
    assert cashier.post(f"{base}/tables/{foreign_table.id}/close").status_code == 404
    db.session.expire_all()
    assert db.session.get(Order, foreign.id).payment_status == "pending"
    assert tables.active_session(db.session, foreign_table) is not None


def test_every_pos_action_is_audited(app, cashier_client):
    shop = make_shop()
    table = make_table(shop)
    tables.join_or_start(db.session, table)
    db.session.commit()
    a = make_order(shop, make_product(shop))
    b = make_order(shop, make_product(shop))
    cashier = cashier_client(shop)
    base = f"/s/{shop.slug}/pos"
    cashier.post(f"{base}/orders/{a.id}/cash", data={"usd": "20"})
    cashier.post(f"{base}/orders/{b.id}/cancel", data={"reason": "Duplicate"})
    cashier.post(f"{base}/tables/{table.id}/close")
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.shop_id == shop.id)))
    assert {"pos.cash_received", "pos.void", "pos.close_table"} <= actions


def _cash_screens(cashier, shop, order):
    """What the cashier sees for: too little cash, a typo in the dollars, a blank void reason,
    closing a free table, then paying (the toast with the change)."""
    base = f"/s/{shop.slug}/pos"
    free = make_table(shop, "Patio")
    short = cashier.post(f"{base}/orders/{order.id}/cash", data={"usd": "2"})
    typo = cashier.post(f"{base}/orders/{order.id}/change", data={"usd": "abc"}, headers=HX)
    void = cashier.post(f"{base}/orders/{order.id}/cancel", data={"reason": " "})
    close = cashier.post(f"{base}/tables/{free.id}/close")
    assert (short.status_code, typo.status_code, void.status_code, close.status_code) == (
        422, 200, 422, 409)
    paid = cashier.post(f"{base}/orders/{order.id}/cash", data={"usd": "10"}, headers=HX)
    assert paid.status_code == 200
    return short.text, typo.text, void.text, close.text, paid.text


def test_cashier_messages_in_khmer(app, cashier_client, khmer):
    shop = make_shop(print_receipt_after_cash=False)  # the toast, not the receipt
    order = make_order(shop, make_product(shop, "Latte", "2.50"), 2)
    cashier = cashier_client(shop)
    cashier.set_cookie("shopqr_lang", "km")
    short, typo, void, close, paid = _cash_screens(cashier, shop, order)
    assert khmer["Not enough: %(short)s short of %(total)s."] % {
        "short": "$3.00", "total": "$5.00"} in short
    assert khmer["%(field)s must be a number."] % {"field": khmer["US dollars received"]} in typo
    assert khmer["Give a reason."] in void
    assert khmer["%(table)s is already free."] % {"table": "Patio"} in close
    change = pos.compute_change(shop, order.total, "10", "")
    # no "+ 0៛" part (issue 14): the dollars, or all of it in riel
    summary = khmer["change %(change)s (or %(all_khr)s)"] % {
        "change": "$5.00", "all_khr": format_money(change.change_khr, "KHR")}
    assert khmer["#%(number)s paid: %(change)s"] % {"number": order.seq, "change": summary} in paid
    for english, text in [("Not enough", short), ("must be a number", typo),
                          ("Give a reason", void), ("is already free", close),
                          (f"#{order.seq} paid: change", paid)]:
        assert english not in text
    db.session.expire_all()  # the audit log stays English whatever the screen's language
    assert db.session.scalar(select(AuditLog.detail).where(
        AuditLog.action == "pos.cash_received")).endswith("change $5.00 (or 20,500៛)")


def test_cashier_messages_in_english_are_unchanged(app, cashier_client):
    shop = make_shop(print_receipt_after_cash=False)  # the toast, not the receipt
    order = make_order(shop, make_product(shop, "Latte", "2.50"), 2)
    short, typo, void, close, paid = _cash_screens(cashier_client(shop), shop, order)
    assert "Not enough: $3.00 short of $5.00." in short
    assert "US dollars received must be a number." in typo
    assert "Give a reason." in void
    assert "Patio is already free." in close
    assert f"#{order.seq} paid: change $5.00 (or 20,500៛)" in paid
    db.session.expire_all()
    assert db.session.scalar(select(AuditLog.detail).where(
        AuditLog.action == "pos.cash_received")).endswith("change $5.00 (or 20,500៛)")


def test_walk_in_ticket_errors_in_khmer(app, cashier_client, khmer):
    shop = make_shop()
    latte = make_product(shop, "Latte", "2.50")
    cashier = cashier_client(shop)
    cashier.set_cookie("shopqr_lang", "km")
    base = f"/s/{shop.slug}/pos"
    cashier.post(f"{base}/ticket/items", data={"product_id": latte.id})
    latte.is_available = False
    db.session.commit()
    response = cashier.post(f"{base}/ticket/checkout",
                            data={"method": "cash", "checkout_key": "t" * 24}, headers=HX)
    assert response.status_code == 422
    assert khmer["%(name)s is sold out. Remove it to go on."] % {"name": "Latte"} in response.text
    assert "sold out" not in response.text


@pytest.mark.parametrize("lang", ["en", "km"])
def test_names_in_translated_messages_are_escaped(app, cashier_client, lang):
    shop = make_shop()
    table = make_table(shop, "<i>Patio</i>")
    cashier = cashier_client(shop)
    cashier.set_cookie("shopqr_lang", lang)
    response = cashier.post(f"/s/{shop.slug}/pos/tables/{table.id}/close", headers=HX)
    assert response.status_code == 409
    assert "&lt;i&gt;Patio&lt;/i&gt;" in response.text and "<i>Patio</i>" not in response.text
