"""Money after payment (issue 14 items 4-5; docs/shifts.md, docs/refunds.md): the cash drawer's
shifts (float, cash in and out, the count at close, expected against counted per currency, the
Z-report), cash refused outside a shift, refunds whole or by line with who may make them, what
reports and the CSV make of them, tenant isolation, and the limits under parallel requests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import AuditLog, Order, Refund, Shift, Shop, User, utcnow
from shopqr.services import DomainError, refunds, shifts
from shopqr.services.events import get_bus
from tests.factories import (
    make_order,
    make_product,
    make_shop,
    make_staff,
    run_together,
    sign_in_staff,
)
from tests.settings.test_settings_pages import make_owner, owner_login

HX = {"HX-Request": "true"}


def owner_at_the_till(app, shop, float_usd="0"):
    """A POS signed in as the shop's owner (PIN 135790), the drawer's shift open with a float
    in dollars: the client."""
    owner = make_owner(shop)
    client = app.test_client()
    sign_in_staff(client, owner, "135790")
    shifts.open_shift(db.session, get_bus(app), shop, usd=float_usd, khr="0", by=owner,
                      now=utcnow())
    db.session.commit()
    return client


def pay_cash(client, shop, order, usd="", khr=""):
    return client.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash",
                       data={"usd": usd, "khr": khr, "next": "order"})


def test_cash_outside_a_shift_is_refused_with_a_clear_message(app, cashier_client):
    shop = make_shop()
    order = make_order(shop, make_product(shop, "Latte", "2.50"))
    cashier = cashier_client(shop, shift=False)
    page = cashier.get(f"/s/{shop.slug}/pos/orders/{order.id}").text
    assert "No shift is open. Open a shift and count the float before taking cash." in page
    assert 'class="btn btn-primary cash-received"' not in page  # no cash form to tap
    refused = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/cash", data={"usd": "5"},
                           headers=HX)
    assert refused.status_code == 409 and "No shift is open" in refused.text
    db.session.expire_all()
    assert db.session.get(Order, order.id).payment_status == "pending"


def test_a_shift_from_float_to_z_report(app, cashier_client):
    """A USD shop's drawer holds dollars and riel apart: cash received minus the change given
    (whole dollars + riel), minus cash refunds, plus cash in, minus cash out."""
    shop = make_shop()
    latte = make_product(shop, "Latte", "2.75")
    cashier = cashier_client(shop, shift=False)
    page = cashier.get(f"/s/{shop.slug}/pos/shift").text
    assert "No shift is open" in page
    bad = cashier.post(f"/s/{shop.slug}/pos/shift/open", data={"usd": "abc", "khr": ""})
    assert bad.status_code == 422 and "must be a number" in bad.text
    opened = cashier.post(f"/s/{shop.slug}/pos/shift/open", data={"usd": "20", "khr": "40000"})
    assert opened.status_code == 303
    again = cashier.post(f"/s/{shop.slug}/pos/shift/open", data={"usd": "1"})
    assert again.status_code == 409 and "already open" in again.text

    first = make_order(shop, latte)  # $2.75 paid with $5: change $2.00 + 1,000 riel
    assert pay_cash(cashier, shop, first, usd="5").status_code == 303
    second = make_order(shop, latte, 2)  # $5.50 paid with $5 + 4,100 riel: change 2,100 riel
    assert pay_cash(cashier, shop, second, usd="5", khr="4100").status_code == 303
    voided = make_order(shop, latte)
    assert cashier.post(f"/s/{shop.slug}/pos/orders/{voided.id}/cancel",
                        data={"reason": "guest left"}).status_code in (200, 303)
    for data in ({"kind": "in", "amount": "10000", "currency": "KHR", "reason": "small notes"},
                 {"kind": "out", "amount": "3", "currency": "USD", "reason": "ice"}):
        assert cashier.post(f"/s/{shop.slug}/pos/shift/cash", data=data).status_code == 303
    no_reason = cashier.post(f"/s/{shop.slug}/pos/shift/cash",
                             data={"kind": "out", "amount": "1", "currency": "USD"})
    assert no_reason.status_code == 422 and "Give a reason." in no_reason.text

    owner = make_owner(shop)  # owners may refund; a cash refund of one latte: $2 + 3,100 riel
    owner_device = app.test_client()
    sign_in_staff(owner_device, owner, "135790")
    refunded = owner_device.post(f"/s/{shop.slug}/pos/orders/{second.id}/refund", data={
        "scope": "lines", f"qty-{second.lines[0].id}": "1", "method": "cash",
        "reason": "spilt"})
    assert refunded.status_code == 303
    order_page = owner_device.get(refunded.headers["Location"]).text
    assert "Refunded $2.75 (Cash back). Hand back $2.00 + 3,100៛." in order_page

    progress = cashier.get(f"/s/{shop.slug}/pos/shift").text
    # USD: 20 + 5 + 5 - 2 (change) - 2 (refund) - 3 (out) = 23
    # KHR: 40,000 + 4,100 - 1,000 - 2,100 (change) - 3,100 (refund) + 10,000 (in) = 47,900
    assert 'id="expected-usd">$23.00<' in progress
    assert 'id="expected-khr">47,900៛<' in progress

    closed = cashier.post(f"/s/{shop.slug}/pos/shift/close",
                          data={"usd": "22.50", "khr": "48400", "note": "one note torn"})
    assert closed.status_code == 303
    report = cashier.get(closed.headers["Location"]).text
    for fragment in ('id="z-cash-sales">$8.25<', 'id="z-refunds">−$2.75<', 'id="z-net">$5.50<',
                     'id="z-voids">$2.75<', 'id="z-expected-usd">$23.00<',
                     'id="z-counted-usd">$22.50<', 'id="z-difference-usd">-$0.50',
                     'id="z-difference-khr">+500៛', "small notes", "ice", "spilt",
                     "one note torn"):
        assert fragment in report, fragment
    shift = db.session.scalar(select(Shift).where(Shift.shop_id == shop.id))
    assert shift.open_shop_id is None and shift.expected_usd == Decimal("23.00")
    assert shift.expected_khr == Decimal("47900")
    # the shift is over: no more cash until the next one opens
    late = make_order(shop, latte)
    assert pay_cash(cashier, shop, late, usd="5").status_code == 409
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.shop_id == shop.id)).all()
    for action in ("pos.shift_open", "pos.cash_in", "pos.cash_out", "pos.refund",
                   "pos.shift_close"):
        assert action in actions

    # the owner sees the shift in the reports, with its Z-report
    settings = app.test_client()
    owner_login(settings, shop, owner)
    reports_page = settings.get(f"/s/{shop.slug}/settings/reports").text
    assert f'id="report-shift-{shift.id}"' in reports_page
    assert reports_page.count('id="report-shifts"') == 1  # once, in the page's content
    assert "report-shifts" not in reports_page[:reports_page.index("<body")]
    assert 'id="refunded-total">$2.75<' in reports_page
    assert 'id="revenue">$5.50<' in reports_page  # $8.25 paid - $2.75 refunded
    z = settings.get(f"/s/{shop.slug}/settings/reports/shifts/{shift.id}?paper=a4")
    assert z.status_code == 200 and "paper-a4" in z.text and 'id="z-net">$5.50<' in z.text


def test_refunds_need_the_owner_or_a_cashier_the_owner_allows(app, cashier_client):
    shop = make_shop()
    order = make_order(shop, make_product(shop, "Latte", "2.50"), 2)
    cashier = cashier_client(shop)
    assert pay_cash(cashier, shop, order, usd="5").status_code == 303
    page = cashier.get(f"/s/{shop.slug}/pos/orders/{order.id}").text
    assert "Only the owner, or a cashier the owner allows, can refund." in page
    data = {"scope": "all", "method": "cash", "reason": "wrong order"}
    refused = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/refund", data=data)
    assert refused.status_code == 403

    owner = make_owner(shop)
    settings = app.test_client()
    owner_login(settings, shop, owner)
    user = db.session.scalar(select(User).where(User.shop_id == shop.id,
                                                User.role == "cashier"))
    staff_page = settings.get(f"/s/{shop.slug}/settings/staff").text
    assert "Allow refunds" in staff_page
    assert settings.post(f"/s/{shop.slug}/settings/staff/{user.id}/refunds",
                         data={"allow": "1"}).status_code == 303
    allowed = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/refund", data=data)
    assert allowed.status_code == 303
    page = cashier.get(allowed.headers["Location"]).text
    assert "Refunded $5.00" in page and 'id="refunded-total"' in page
    twice = cashier.post(f"/s/{shop.slug}/pos/orders/{order.id}/refund", data=data)
    assert twice.status_code == 409
    # the owner takes it back: it holds at once
    settings.post(f"/s/{shop.slug}/settings/staff/{user.id}/refunds", data={"allow": "0"})
    db.session.expire_all()
    assert db.session.get(User, user.id).can_refund is False
    assert db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action == "settings.staff_refunds")) == 2


def test_line_refunds_add_up_and_never_exceed_what_was_paid(app, ctx, cashier_client):
    shop = make_shop()
    client = owner_at_the_till(app, shop, float_usd="0")
    order = make_order(shop, make_product(shop, "Latte", "2.50"), 3)
    assert pay_cash(client, shop, order, usd="10").status_code == 303
    line = order.lines[0].id
    url = f"/s/{shop.slug}/pos/orders/{order.id}/refund"
    base = {"scope": "lines", "method": "cash", "reason": "cold"}
    for qty, status in (("0", 422), ("x", 400), ("4", 409), ("2", 303), ("2", 409),
                        ("1", 303)):
        assert client.post(url, data={**base, f"qty-{line}": qty}).status_code == status, qty
    not_ours = client.post(url, data={**base, "qty-999999": "1"})
    assert not_ours.status_code == 400
    bank = client.post(url, data={**base, "method": "bank_app", f"qty-{line}": "1"})
    assert bank.status_code == 409  # a cash order cannot be refunded in the bank app
    db.session.expire_all()
    assert db.session.get(Order, order.id).refunded_total == Decimal("7.50")
    assert db.session.get(Order, order.id).refund_state == "full"


def test_a_khqr_order_refunded_in_the_bank_app_is_a_resolved_refund_in_reconciliation(
        app, ctx):
    from tests.services.test_payment_attention import Cafe

    cafe = Cafe(app)
    order_id, md5 = cafe.khqr_order()
    cafe.bakong.pay(md5, "1.50", hash_="hash-paid")
    cafe.poll()
    shop = cafe.shop
    owner = make_owner(shop)
    device = app.test_client()
    sign_in_staff(device, owner, "135790")
    done = device.post(f"/s/{shop.slug}/pos/orders/{order_id}/refund", data={
        "scope": "all", "method": "bank_app", "reason": "guest paid twice by mistake"})
    assert done.status_code == 303
    refund = db.session.scalar(select(Refund).where(Refund.order_id == order_id))
    assert refund.method == "bank_app" and refund.cash_usd == 0 and refund.cash_khr == 0
    settings = app.test_client()
    owner_login(settings, shop, owner)
    page = settings.get(f"/s/{shop.slug}/settings/reports").text
    bank = page[page.index('id="bank-refunds"'):]
    assert "hash-paid" in bank and "Resolved: refunded" in bank and "$1.50" in bank
    csv = settings.get(f"/s/{shop.slug}/settings/reports.csv").text
    rows = [r for r in csv.splitlines() if ",refunded," in r]
    assert len(rows) == 1 and ",-1.50,USD," in rows[0]


def test_another_shops_staff_cannot_refund_or_see_a_shift(app, ctx, cashier_client):
    shop, other = make_shop(), make_shop()
    order = make_order(shop, make_product(shop, "Latte", "2.50"), paid=True)
    shift = shifts.open_shift(db.session, get_bus(app), shop, usd="1", khr="0",
                              by=make_staff(shop), now=utcnow())
    db.session.commit()
    intruder = make_staff(other, "owner", "246813")
    client = app.test_client()
    sign_in_staff(client, intruder, "246813")
    assert client.post(f"/s/{other.slug}/pos/orders/{order.id}/refund", data={
        "scope": "all", "method": "cash", "reason": "x"}).status_code == 404
    assert client.get(f"/s/{other.slug}/pos/shifts/{shift.id}/report").status_code == 404
    # and the other shop's drawer is its own: no shift open there
    assert shifts.current(db.session, db.session.get(Shop, other.id)) is None


def test_parallel_refunds_never_give_back_more_than_the_total(app, ctx):
    shop = make_shop()
    owner = make_owner(shop)
    order = make_order(shop, make_product(shop, "Latte", "2.50"), 5, paid=True)
    shifts.open_shift(db.session, get_bus(app), shop, usd="50", khr="0", by=owner, now=utcnow())
    db.session.commit()
    order_id, line_id, shop_id, owner_id = order.id, order.lines[0].id, shop.id, owner.id

    def work(n: int) -> str:
        try:
            refunds.refund(db.session, get_bus(app), db.session.get(Shop, shop_id), order_id,
                           scope="all" if n % 4 == 0 else "lines",
                           form={f"qty-{line_id}": str(1 + n % 2)}, method="cash",
                           reason=f"tap {n}", by=db.session.get(User, owner_id), now=utcnow())
            db.session.commit()
            return "ok"
        except DomainError as exc:
            db.session.rollback()
            return str(exc.status)

    results = run_together(app, 24, work)
    assert "ok" in results and set(results) <= {"ok", "409"}
    db.session.expire_all()
    given = db.session.scalars(select(Refund.amount).where(Refund.order_id == order_id)).all()
    paid = db.session.get(Order, order_id)
    assert sum(given) == paid.refunded_total <= paid.total == Decimal("12.50")
    assert paid.lines[0].refunded_qty <= 5
    assert len(given) == results.count("ok")


def test_parallel_opens_make_one_open_shift(app, ctx):
    shop = make_shop()
    people = [make_staff(shop, "cashier", pin=f"5{n:02d}731", name=f"c{n}").id for n in range(4)]
    shop_id = shop.id

    def work(n: int) -> str:
        try:
            shifts.open_shift(db.session, get_bus(app), db.session.get(Shop, shop_id),
                              usd=str(n), khr="0", by=db.session.get(User, people[n % 4]),
                              now=utcnow())
            db.session.commit()
            return "ok"
        except DomainError as exc:
            db.session.rollback()
            return str(exc.status)

    results = run_together(app, 24, work)
    assert results.count("ok") == 1 and set(results) == {"ok", "409"}
    assert db.session.scalar(select(func.count(Shift.id)).where(Shift.shop_id == shop_id)) == 1


def test_cash_and_close_at_once_count_every_payment_once(app, ctx):
    """Payments taken while the shift closes are in the closed shift's expected cash, or
    refused: never paid without a shift that counts them."""
    shop = make_shop()
    cashier = make_staff(shop)
    shifts.open_shift(db.session, get_bus(app), shop, usd="0", khr="0", by=cashier,
                      now=utcnow())
    latte = make_product(shop, "Latte", "1.00")
    ids = [make_order(shop, latte).id for _ in range(20)]
    shop_id, cashier_id = shop.id, cashier.id
    from shopqr.services import pos

    def work(n: int) -> str:
        shop_ = db.session.get(Shop, shop_id)
        by = db.session.get(User, cashier_id)
        try:
            if n == 20:
                shifts.close_shift(db.session, get_bus(app), shop_, usd="0", khr="0", note=None,
                                   by=by, now=utcnow())
            else:
                pos.confirm_cash(db.session, get_bus(app), shop_, ids[n], usd="1", khr=None,
                                 by=by, now=utcnow())
            db.session.commit()
            return "ok"
        except DomainError as exc:
            db.session.rollback()
            return str(exc.status)

    results = run_together(app, 21, work)
    assert results[20] == "ok"
    db.session.expire_all()
    shift = db.session.scalar(select(Shift).where(Shift.shop_id == shop_id))
    paid = db.session.scalars(select(Order).where(Order.id.in_(ids),
                                                  Order.payment_status == "paid")).all()
    assert all(o.shift_id == shift.id for o in paid)
    assert shift.expected_usd == Decimal(len(paid))
    assert results[:20].count("ok") == len(paid)


@pytest.mark.parametrize("currency,amount,expected", [
    ("USD", "2.75", ("2", "3100")), ("USD", "0.40", ("0", "1600")), ("KHR", "9500", ("0", "9500")),
])
def test_cash_refunds_leave_the_drawer_as_change_does(app, ctx, currency, amount, expected):
    shop = make_shop(currency=currency)
    got = refunds.cash_split(shop, Decimal(amount), currency)
    assert got == (Decimal(expected[0]), Decimal(expected[1]))


def test_a_line_refund_gives_back_its_share_of_added_charges(app, ctx):
    """docs/refunds.md, docs/taxes.md: with VAT added to the prices, a refunded line gives back
    its price and its VAT; refunding the rest gives back exactly what is left."""
    from tests.services.test_charges import charge_on

    shop = make_shop()
    charge_on(shop, vat="10")
    client = owner_at_the_till(app, shop, float_usd="20")
    order = make_order(shop, make_product(shop, "Latte", "2.50"), 3)  # 7.50 + VAT 0.75
    assert order.total == Decimal("8.25")
    assert pay_cash(client, shop, order, usd="10").status_code == 303
    url = f"/s/{shop.slug}/pos/orders/{order.id}/refund"
    line = order.lines[0].id
    base = {"scope": "lines", "method": "cash", "reason": "spilled"}
    assert client.post(url, data={**base, f"qty-{line}": "1"}).status_code == 303
    amounts = db.session.scalars(select(Refund.amount).order_by(Refund.id)).all()
    assert amounts == [Decimal("2.75")]  # 2.50 and its 10% VAT
    assert client.post(url, data={**base, f"qty-{line}": "2"}).status_code == 303
    db.session.expire_all()
    assert db.session.scalars(select(Refund.amount).order_by(Refund.id)).all() == [
        Decimal("2.75"), Decimal("5.50")]
    assert db.session.get(Order, order.id).refund_state == "full"


def test_todays_orders_on_the_pos_show_refunds_and_net_totals(app, ctx):
    """The POS's today's orders: a refunded order says how much went back, and the day's paid
    total and the cash figure are net of it (as the reports are)."""
    shop = make_shop()
    client = owner_at_the_till(app, shop, float_usd="20")
    order = make_order(shop, make_product(shop, "Latte", "2.50"), 2)
    assert pay_cash(client, shop, order, usd="5").status_code == 303
    line = order.lines[0].id
    assert client.post(f"/s/{shop.slug}/pos/orders/{order.id}/refund", data={
        "scope": "lines", f"qty-{line}": "1", "method": "cash",
        "reason": "cold"}).status_code == 303
    page = client.get(f"/s/{shop.slug}/pos/orders").text
    totals = page[page.index('id="day-totals"'):].split("</p>")[0]
    assert "<strong>$2.50</strong>" in totals and "Cash $2.50" in totals
    assert "Refunded $2.50" in totals
    row = page[page.index(f'id="row-{order.id}"'):].split("</tr>")[0]
    assert "$5.00" in row and "Refunded −$2.50" in row


def test_reports_chart_refunds_against_voids_and_cash_by_cashier(app, ctx):
    """Issue 17's report charts from the POS's money: refunds against voids, and the cash each
    cashier's shifts took (cash sales less cash refunds), drawn as SVG with their values."""
    from shopqr.services import pos

    shop = make_shop()
    owner = make_owner(shop)
    sophea = make_staff(shop, "cashier", "246810", name="Sophea")
    client = app.test_client()
    sign_in_staff(client, owner, "135790")
    bus = get_bus(app)
    shifts.open_shift(db.session, bus, shop, usd="20", khr="0", by=sophea, now=utcnow())
    db.session.commit()
    latte = make_product(shop, "Latte", "2.50")
    order = make_order(shop, latte, 2)
    assert pay_cash(client, shop, order, usd="5").status_code == 303
    assert client.post(f"/s/{shop.slug}/pos/orders/{order.id}/refund", data={
        "scope": "lines", f"qty-{order.lines[0].id}": "1", "method": "cash",
        "reason": "cold"}).status_code == 303
    voided = make_order(shop, latte, 3)
    pos.cancel_order(db.session, bus, shop, voided.id, reason="changed mind", by=owner,
                     now=utcnow())
    shifts.close_shift(db.session, bus, shop, usd="17.50", khr="0", note=None, by=sophea,
                       now=utcnow())
    db.session.commit()
    settings = app.test_client()
    owner_login(settings, shop, owner)
    page = settings.get(f"/s/{shop.slug}/settings/reports").text
    chart = page[page.index('id="chart-refunds-voids"'):].split("</svg>")[0]
    assert "Refunds: $2.50." in chart and "Voids: $7.50." in chart
    cashiers = page[page.index('id="chart-cashier"'):].split("</svg>")[0]
    assert "Sophea: $2.50." in cashiers  # $5.00 of cash sales less the $2.50 given back
