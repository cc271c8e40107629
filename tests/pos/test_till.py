"""The walk-in till, the cash tender and receipts (issue 14, POS items 1, 2, 3 and 7; docs/pos.md,
docs/receipts.md)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from shopqr.extensions import db
from shopqr.models import OptionGroup, Order, utcnow
from shopqr.services import pos, till
from tests.factories import (
    group_id,
    make_order,
    make_product,
    make_shop,
    make_staff,
    open_shift,
    option_id,
)

HX = {"HX-Request": "true"}


def ticket_lines(html: str) -> list[str]:
    """The ticket's lines as the cashier reads them: "2 × Croissant ..."."""
    lines = []
    for chunk in html.split('class="ticket-line"')[1:]:
        name = re.search(r'class="ticket-name">([^<]*)<', chunk).group(1)
        qty = re.search(r'class="ticket-qty"[^>]*>(\d+)<', chunk).group(1)
        options = re.search(r'class="line-options">([^<]*)<', chunk)
        note = re.search(r'class="line-note">“([^”]*)”', chunk)
        lines.append(" ".join(filter(None, [f"{qty} × {name}", options and options.group(1),
                                            note and f"note {note.group(1)}"])))
    return lines


def add(cashier, shop, product, **fields):
    return cashier.post(f"/s/{shop.slug}/pos/ticket/items",
                        data={"product_id": product.id, **fields}, headers=HX)


# --- 1. the walk-in till ----------------------------------------------------------------

def test_a_product_without_a_required_choice_goes_on_at_once_others_open_the_sheet(
        app, cashier_client):
    shop = make_shop()
    croissant = make_product(shop, "Croissant", "1.75")
    latte = make_product(shop, "Latte", "2.50", options={"Size": [("Small", "0"),
                                                                  ("Large", "0.50")]})
    toppings = make_product(shop, "Tea", "2.00", options={"Pearls": [("Pearls", "0.30"),
                                                                    ("Jelly", "0.30")]})
    group = db.session.get(OptionGroup, group_id(toppings, "Pearls"))
    group.kind, group.min_choices, group.max_choices = "multi", 1, 2
    db.session.commit()
    assert not till.requires_choice(croissant)
    assert not till.requires_choice(latte)  # Small is the default: one tap adds it
    assert till.requires_choice(toppings)  # pick at least one
    page = cashier_client(shop).get(f"/s/{shop.slug}/pos/").text
    # a tap posts the product at once ...
    assert re.search(rf'name="product_id" value="{croissant.id}"', page)
    assert re.search(rf'name="product_id" value="{latte.id}"', page)
    # ... or opens the shared option sheet, with no add form of its own
    assert f'/pos/products/{toppings.id}/sheet' in page
    assert f'name="product_id" value="{toppings.id}"' not in page
    # a product with optional choices keeps the sheet one tap away
    assert f'/pos/products/{latte.id}/sheet' in page
    assert f'/pos/products/{croissant.id}/sheet' not in page
    # category tabs and a labelled search field
    assert 'data-category-tab="all"' in page
    assert '<label class="product-search" for="pos-search">' in page


def test_equal_lines_merge_and_the_stepper_changes_them(app, cashier_client):
    shop = make_shop()
    croissant = make_product(shop, "Croissant", "1.75")
    latte = make_product(shop, "Latte", "2.50", options={"Size": [("Small", "0"),
                                                                  ("Large", "0.50")]})
    cashier = cashier_client(shop)
    large = {f"group-{group_id(latte, 'Size')}": option_id(latte, "Size", "Large")}
    add(cashier, shop, croissant)
    add(cashier, shop, croissant)
    add(cashier, shop, latte, **large)
    add(cashier, shop, latte, **large, quantity="2")
    add(cashier, shop, latte)  # Small: another line
    html = add(cashier, shop, croissant, note="warm").text  # another note: another line
    assert ticket_lines(html) == ["2 × Croissant", "3 × Latte Size: Large",
                                  "1 × Latte Size: Small", "1 × Croissant note warm"]
    assert "$16.75" in html  # 3.50 + 9.00 + 2.50 + 1.75, priced from the database
    step = f"/s/{shop.slug}/pos/ticket/items/0/step"
    html = cashier.post(step, data={"delta": "1"}, headers=HX).text
    assert ticket_lines(html)[0] == "3 × Croissant"
    for _ in range(3):
        html = cashier.post(step, data={"delta": "-1"}, headers=HX).text
    assert ticket_lines(html) == ["3 × Latte Size: Large", "1 × Latte Size: Small",
                                  "1 × Croissant note warm"]
    bad = cashier.post(step, data={"delta": "5"}, headers=HX)
    assert bad.status_code == 422
    gone = cashier.post(f"/s/{shop.slug}/pos/ticket/items/9/step", data={"delta": "1"},
                        headers=HX)
    assert gone.status_code == 404


def test_a_line_stops_at_the_most_of_one_item(app, cashier_client):
    shop = make_shop()
    croissant = make_product(shop, "Croissant", "1.75")
    cashier = cashier_client(shop)
    add(cashier, shop, croissant, quantity="50")
    response = add(cashier, shop, croissant)
    assert response.status_code == 422 and "At most 50" in response.text
    html = cashier.get(f"/s/{shop.slug}/pos/").text
    assert ticket_lines(html) == ["50 × Croissant"]


@pytest.mark.parametrize("field", ["group-abc", "group-999999", "other"])
def test_a_bad_choice_is_refused_on_the_pos_too(app, cashier_client, field):
    """The guest's parser refuses a group or option that is not this product's; the POS uses
    the same one and no longer drops it silently."""
    shop = make_shop()
    latte = make_product(shop, "Latte", "2.50", options={"Size": [("Small", "0"),
                                                                  ("Large", "0.50")]})
    other = make_product(shop, "Tea", "2.00", options={"Sugar": [("0%", "0"), ("50%", "0")]})
    cashier = cashier_client(shop)
    key = f"group-{group_id(other, 'Sugar')}" if field == "other" else field
    response = add(cashier, shop, latte, **{key: option_id(other, "Sugar", "50%")})
    assert response.status_code == 400
    assert "That choice is not available for this item." in response.text
    assert ticket_lines(cashier.get(f"/s/{shop.slug}/pos/").text) == []


def test_charge_leads_straight_to_the_cash_tender(app, cashier_client):
    shop = make_shop()
    croissant = make_product(shop, "Croissant", "1.75")
    cashier = cashier_client(shop)
    add(cashier, shop, croissant, quantity="2")
    response = cashier.post(f"/s/{shop.slug}/pos/ticket/checkout",
                            data={"method": "cash", "checkout_key": "c" * 24}, headers=HX)
    order = db.session.scalar(select(Order).where(Order.shop_id == shop.id))
    assert response.headers["HX-Redirect"] == f"/s/{shop.slug}/pos/orders/{order.id}"
    page = cashier.get(response.headers["HX-Redirect"]).text
    # the payment is right there: quick cash, the fields, "Cash received"
    assert f'action="/s/{shop.slug}/pos/orders/{order.id}/cash"' in page
    assert 'data-cash-set-usd="3.50"' in page and 'data-cash-set-usd="5"' in page
    assert 'data-cash-add-khr="10000"' in page
    assert '<label for="usd-' in page and '<label for="khr-' in page
    assert "Cash received" in page
    paid = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash",
                        data={"usd": "5", "khr": "", "next": "order"}, headers=HX)
    assert paid.headers["HX-Redirect"] == f"/s/{shop.slug}/pos/orders/{order.id}/receipt?print=1"
    db.session.expire_all()
    assert db.session.get(Order, order.id).payment_status == "paid"


# --- 2. the cash tender ------------------------------------------------------------------

def test_quick_cash_buttons(app, ctx):
    usd = make_shop()
    buttons = pos.quick_cash(usd, Decimal("2.75"))
    assert [(b.kind, b.usd, b.add_khr) for b in buttons][:5] == [
        ("exact", Decimal("2.75"), None), ("round", Decimal("3"), None),
        ("round", Decimal("5"), None), ("round", Decimal("10"), None),
        ("round", Decimal("20"), None)]
    assert [b.add_khr for b in buttons if b.kind == "note"] == [
        Decimal(n) for n in ("1000", "5000", "10000", "20000", "50000")]
    assert [b.usd for b in pos.quick_cash(usd, Decimal("20"))][:4] == [
        Decimal("20"), Decimal("21"), Decimal("25"), Decimal("30")]
    riel = make_shop(currency="KHR")
    buttons = pos.quick_cash(riel, Decimal("9500"))
    assert [b.khr for b in buttons if b.kind in ("exact", "round")] == [
        Decimal(n) for n in ("9500", "10000", "20000", "50000", "100000")]
    assert [b.add_usd for b in buttons if b.kind == "note"] == [
        Decimal(n) for n in ("1", "5", "10", "20")]


@pytest.mark.parametrize("currency,total,usd,khr,give,summary", [
    ("USD", "7.00", "20", "", "$13.00", "change $13.00 (or 53,300៛)"),  # not "$13.00 + 0៛"
    ("USD", "2.75", "5", "", "$2.00 + 1,000៛", "change $2.25 = $2.00 + 1,000៛ (or 9,200៛)"),
    ("USD", "4.50", "5", "", "2,100៛", "change $0.50 = 2,100៛"),  # not "$0.00 + 2,100៛"
    ("USD", "2.75", "2", "4100", "1,000៛", "change $0.25 = 1,000៛"),  # dollars and riel mixed
    ("USD", "5.00", "5", "", "$0.00", "no change"),
    ("USD", "4.99", "5", "", "$0.00", "no change"),  # 41 riel: below the 100 riel step
    ("KHR", "9500", "", "20000", "10,500៛", "change 10,500៛"),
    ("KHR", "9500", "5", "", "11,000៛", "change 11,000៛"),  # dollars for a riel bill
])
def test_change_reads_in_the_shops_rounding(app, ctx, currency, total, usd, khr, give, summary):
    shop = make_shop(currency=currency)
    if currency == "KHR":
        shop.round_riel_change = False
    change = pos.compute_change(shop, Decimal(total), usd, khr)
    assert change.give(currency) == give
    assert str(change.summary(currency)) == summary


def test_the_change_preview_leaves_out_zero_parts(app, cashier_client):
    shop = make_shop()
    order = make_order(shop, make_product(shop, "Cake", "7.00"))
    cashier = cashier_client(shop)
    html = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/change", data={"usd": "20"},
                        headers=HX).text
    assert "$13.00" in html and "+ 0៛" not in html and "53,300៛" in html


def test_cash_fields_show_on_a_khqr_order_only_behind_take_cash_instead(app, cashier_client):
    shop = make_shop()
    order = make_order(shop, make_product(shop, "Latte", "2.50"), method="khqr")
    cashier = cashier_client(shop)
    for url in (f"/s/{shop.slug}/pos/", f"/s/{shop.slug}/pos/orders/{order.id}"):
        html = cashier.get(url).text
        card = html[html.index(f'action="/s/{shop.slug}/pos/orders/{order.id}/cash"') - 2000:]
        details = card[card.rindex('<details class="take-cash"'):]
        assert "data-confirm-open=" in details[:300] and "Take cash instead" in details
        assert details.index('name="usd"') > details.index("</summary>")
        assert '<input type="hidden" name="instead" value="1">' in details
    # one stray POST without the confirmed switch is refused, nothing changes
    refused = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash", data={"usd": "5"},
                           headers=HX)
    assert refused.status_code == 409 and "Take cash instead" in refused.text
    db.session.expire_all()
    assert db.session.get(Order, order.id).payment_status == "pending"
    taken = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash",
                         data={"usd": "5", "instead": "1"}, headers=HX)
    assert taken.status_code == 204
    db.session.expire_all()
    paid = db.session.get(Order, order.id)
    assert (paid.payment_status, paid.payment_method) == ("paid", "cash")


def test_the_order_page_polls_only_what_it_shows(app, cashier_client):
    """Before, the POS order page polled the guest's status fragment, whose out-of-band
    #payment-N had no target on a cash order: htmx logged an error every 4 s."""
    shop = make_shop()
    order = make_order(shop, make_product(shop, "Latte", "2.50"))
    cashier = cashier_client(shop)
    page = cashier.get(f"/s/{shop.slug}/pos/orders/{order.id}").text
    assert f"/s/{shop.slug}/orders/{order.public_token}/status" not in page
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    for target in re.findall(r'hx-target="#([^"]+)"', page):
        assert target in ids, target
    poll = re.search(r'hx-get="([^"]+/live\?v=[^"]+)"', page).group(1).replace("&amp;", "&")
    assert cashier.get(poll).status_code == 204  # nothing changed
    cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash", data={"usd": "5"})
    fresh = cashier.get(poll)
    assert fresh.status_code == 200
    assert set(re.findall(r'\bid="([^"]+)"', fresh.text)) <= ids | {f"receipt-{order.id}"}
    assert f'id="pos-order-live-{order.id}"' in fresh.text and "Print receipt" in fresh.text


# --- 3. receipts ------------------------------------------------------------------------

def test_the_receipt_after_cash_has_everything(app, cashier_client):
    shop = make_shop(name="Till Cafe", khr_per_usd=Decimal("4000"))
    latte = make_product(shop, "Latte", "2.50", options={"Size": [("Small", "0"),
                                                                  ("Large", "0.50")]})
    cashier = cashier_client(shop)
    add(cashier, shop, latte, quantity="2", note="extra hot",
        **{f"group-{group_id(latte, 'Size')}": option_id(latte, "Size", "Large")})
    done = cashier.post(f"/s/{shop.slug}/pos/ticket/checkout",
                        data={"method": "cash", "checkout_key": "r" * 24})
    order = db.session.scalar(select(Order).where(Order.shop_id == shop.id))
    assert done.status_code == 303
    paid = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash",
                        data={"usd": "5", "khr": "5000"})
    assert paid.headers["Location"] == f"/s/{shop.slug}/pos/orders/{order.id}/receipt?print=1"
    html = cashier.get(paid.headers["Location"]).text
    text = re.sub(r"<[^>]+>", " ", html)
    text = re.sub(r"\s+", " ", text)
    for part in ("Till Cafe", f"#{order.seq}", order.number, "Takeaway", "Latte",
                 "Size: Large (+$0.50)", "extra hot", "Total $6.00",
                 "In riel (at 4,000 riel per dollar) ≈ 24,000៛", "Paid by Cash",
                 "Cash received $5.00 + 5,000៛", "Change 1,000៛"):
        assert part in text, part
    assert "data-auto-print" in html and "receipt.css" in html
    assert 'class="pos receipt-page paper-80"' in html  # the shop's paper (default 80 mm)
    again = cashier.get(f"/s/{shop.slug}/pos/orders/{order.id}/receipt?paper=58")
    assert 'paper-58' in again.text and "data-auto-print" not in again.text
    # The guest's e-receipt is the same template, with the same payment lines.
    guest = app.test_client().get(f"/s/{shop.slug}/orders/{order.public_token}/receipt").text
    assert "receipt-change" in guest and "5,000៛" in guest


def test_reprint_from_any_paid_order_and_not_before(app, cashier_client):
    shop = make_shop()
    unpaid = make_order(shop, make_product(shop))
    khqr = make_order(shop, make_product(shop, "Tea", "2.00"), method="khqr", paid=True)
    cashier = cashier_client(shop)
    assert cashier.get(f"/s/{shop.slug}/pos/orders/{unpaid.id}/receipt").status_code == 404
    page = cashier.get(f"/s/{shop.slug}/pos/orders/{khqr.id}").text
    assert f'href="/s/{shop.slug}/pos/orders/{khqr.id}/receipt"' in page
    receipt = cashier.get(f"/s/{shop.slug}/pos/orders/{khqr.id}/receipt").text
    assert "Tea" in receipt and "KHQR" in receipt and "receipt-change" not in receipt


def test_print_after_cash_is_a_shop_setting(app, cashier_client):
    shop = make_shop(print_receipt_after_cash=False)
    order = make_order(shop, make_product(shop, "Latte", "2.50"))
    cashier = cashier_client(shop)
    response = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash", data={"usd": "10"},
                            headers=HX)
    assert response.status_code == 200 and "HX-Redirect" not in response.headers
    assert "change $7.50 = $7.00 + 2,100៛ (or 30,800៛)" in response.text  # the toast


def test_the_owner_turns_printing_off_and_picks_the_paper(app, ctx):
    from shopqr.services import payments
    from shopqr.services.shops import add_staff

    shop = make_shop()
    owner = add_staff(db.session, shop, name="Boss", role="owner", pin="135790")
    assert shop.print_receipt_after_cash and shop.receipt_paper_mm == 80
    form = {"bakong_account_id": shop.bakong_account_id, "khqr_merchant_name": "Cafe",
            "khqr_merchant_city": "Phnom Penh", "currency": "USD", "khr_per_usd": "4100",
            "round_riel_change": "1", "receipt_paper_mm": "58"}
    payments.save_settings(db.session, shop, form, by=owner)
    assert not shop.print_receipt_after_cash and shop.receipt_paper_mm == 58
    payments.save_settings(db.session, shop, {**form, "print_receipt_after_cash": "1",
                                              "receipt_paper_mm": "99"}, by=owner)
    assert shop.print_receipt_after_cash and shop.receipt_paper_mm == 58  # 99 mm: kept


# --- 7. statuses in Khmer; tenants --------------------------------------------------------

def test_statuses_are_translated_on_the_pos(app, cashier_client, khmer):
    shop = make_shop()
    make_order(shop, make_product(shop), paid=True)
    cancelled = make_order(shop, make_product(shop))
    cancelled.payment_status = "cancelled"
    db.session.commit()
    cashier = cashier_client(shop)
    cashier.set_cookie("shopqr_lang", "km")
    html = cashier.get(f"/s/{shop.slug}/pos/orders").text
    cells = re.findall(r'<td class="order-state">([^<]*)', html)
    assert f"{khmer['Paid']} / {khmer['Queued']}" in [c.strip() for c in cells]
    assert khmer["Cancelled"] in [c.strip() for c in cells]
    for english in ("paid", "queued", "cancelled"):
        assert all(english not in c.lower() for c in cells)


def test_other_shops_orders_and_products_are_404_on_the_till(app, cashier_client):
    mine, theirs = make_shop(), make_shop()
    foreign = make_order(theirs, make_product(theirs), paid=True)
    foreign_product = make_product(theirs, "Theirs", "1.00")
    cashier = cashier_client(mine)
    base = f"/s/{mine.slug}/pos"
    assert cashier.get(f"{base}/orders/{foreign.id}/receipt").status_code == 404
    assert cashier.get(f"{base}/orders/{foreign.id}/live").status_code == 404
    assert add(cashier, mine, foreign_product).status_code == 404
    assert cashier.post(f"{base}/orders/{foreign.id}/cash",
                        data={"usd": "9", "instead": "1"}).status_code == 404
    # and a cashier signed out cannot see a receipt at all
    stranger = app.test_client()
    assert stranger.get(f"/s/{theirs.slug}/pos/orders/{foreign.id}/receipt").status_code in (
        303, 401)


def test_the_tender_is_kept_with_the_order(app, ctx):
    from shopqr.services.events import get_bus
    from shopqr.services.receipts import parse_tender

    shop = make_shop()
    order = make_order(shop, make_product(shop, "Latte", "2.75"))
    cashier = make_staff(shop)
    open_shift(shop, cashier)
    pos.confirm_cash(db.session, get_bus(app), shop, order.id, usd="5", khr="", by=cashier,
                     now=utcnow())
    db.session.commit()
    tender = parse_tender(db.session.get(Order, order.id).cash_tendered)
    assert tender.usd == Decimal("5") and tender.tendered == Decimal("5.00")
    assert (tender.change, tender.change_usd, tender.change_khr) == (
        Decimal("2.25"), Decimal("2"), Decimal("1000"))
    assert parse_tender("USD 5 + KHR 0") is None  # a note from before: no tender lines
