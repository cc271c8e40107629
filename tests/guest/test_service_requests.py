"""Issue 13, "Call staff, ask for the bill": one open request per table and kind, shown on the
guest's pages until a cashier marks it handled on the POS table map."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shopqr.extensions import db
from shopqr.models import AuditLog, ServiceRequest, TableSession
from shopqr.services import tables
from shopqr.services.events import get_bus
from tests.factories import make_cafe, make_staff, make_table, run_together, sign_in_staff

HTMX = {"HX-Request": "true"}


@pytest.fixture
def cafe(app, ctx):
    shop, table, latte, cake = make_cafe("call-cafe", "Call Cafe", "Table 5")
    return shop, table, latte, cake


def scan(phone, shop, table):
    assert phone.get(f"/s/{shop.slug}/t/{table.qr_token}").status_code == 303


def ask(phone, shop, kind="bill", note=None, headers=HTMX):
    data = {"kind": kind}
    if note is not None:
        data["note"] = note
    return phone.post(f"/s/{shop.slug}/service", data=data, headers=headers)


def cashier(app, shop, pin="481516"):
    client = app.test_client()
    sign_in_staff(client, make_staff(shop, "cashier", pin), pin)
    return client


def open_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ServiceRequest)
                             .where(ServiceRequest.open_table_id.is_not(None)))


def test_a_call_for_the_bill_shows_on_the_pos_until_handled(app, cafe):
    shop, table, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    menu = phone.get(f"/s/{shop.slug}/menu").text
    assert "Call staff or ask for the bill" in menu and "Bill is coming" not in menu
    answer = ask(phone, shop, "bill", note="  Split in two, please\n")
    assert answer.status_code == 200 and "Bill is coming" in answer.text
    menu = phone.get(f"/s/{shop.slug}/menu").text
    assert "Bill is coming" in menu and "Staff is coming" not in menu
    assert 'hx-get="/s/call-cafe/service?v=2"' in menu  # polls while open
    assert phone.get(f"/s/{shop.slug}/service?v=2", headers=HTMX).status_code == 204

    pos = cashier(app, shop)
    page = pos.get(f"/s/{shop.slug}/pos/").text
    assert "Bill requested" in page and "Split in two, please" in page
    found = db.session.scalar(select(ServiceRequest))
    assert found.note == "Split in two, please" and found.table_id == table.id
    done = pos.post(f"/s/{shop.slug}/pos/requests/{found.id}/handled", headers=HTMX)
    assert done.status_code == 200 and "Table 5: handled" in done.text
    assert "Bill requested" not in done.text
    db.session.expire_all()
    found = db.session.get(ServiceRequest, found.id)
    assert found.handled_at is not None and found.handled_by_id is not None
    assert db.session.scalar(select(AuditLog.action).where(
        AuditLog.action == "pos.service_handled")) == "pos.service_handled"

    poll = phone.get(f"/s/{shop.slug}/service?v=2", headers=HTMX)
    assert poll.status_code == 200 and "Bill is coming" not in poll.text
    assert "hx-get" not in poll.text  # nothing open: the poll stops
    assert "Bill is coming" not in phone.get(f"/s/{shop.slug}/menu").text
    again = pos.post(f"/s/{shop.slug}/pos/requests/{found.id}/handled", headers=HTMX)
    assert again.status_code == 409


def test_one_open_request_per_table_and_kind(app, cafe):
    shop, table, *_ = cafe
    first, second = app.test_client(), app.test_client()
    scan(first, shop, table)
    scan(second, shop, table)
    assert ask(first, shop, "staff").status_code == 200
    repeat = ask(second, shop, "staff")
    assert repeat.status_code == 409
    assert "You have already called staff: someone is on the way." in repeat.text
    both = ask(second, shop, "bill")  # the other kind is fine
    assert both.status_code == 200
    assert "Staff is coming" in both.text and "Bill is coming" in both.text
    assert open_count() == 2


def test_bad_input_gets_a_clear_message(app, cafe):
    shop, table, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    wrong = ask(phone, shop, "dessert")
    assert wrong.status_code == 422 and "need staff or the bill" in wrong.text
    long = ask(phone, shop, "staff", note="x" * 121)
    assert long.status_code == 422 and "at most 120 characters" in long.text
    refused = phone.post(f"/s/{shop.slug}/service", data={"kind": "staff"}, csrf=False)
    assert refused.status_code == 400
    stranger = app.test_client()
    assert ask(stranger, shop).status_code == 403
    assert open_count() == 0


def test_a_plain_form_returns_to_the_page_it_came_from(app, cafe):
    shop, table, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    answer = phone.post(f"/s/{shop.slug}/service",
                        data={"kind": "staff", "next": "https://evil.example/"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/s/call-cafe/menu"


def test_the_order_page_shows_the_call_to_the_tables_current_group_only(app, cafe):
    shop, table, latte, cake = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    phone.post(f"/s/{shop.slug}/cart/items", data={"product_id": cake.id}, headers=HTMX)
    order_url = phone.post(f"/s/{shop.slug}/checkout", data={
        "method": "cash", "checkout_key": "call-order-0000000001"}).headers["Location"]
    ask(phone, shop, "staff")
    page = phone.get(order_url).text
    assert "Staff is coming" in page and "Ask for the bill" in page
    outsider = app.test_client()  # the order's link, without a seat at the table
    page = outsider.get(order_url).text
    assert "Banana Cake" in page and "Staff is coming" not in page
    assert "Ask for the bill" not in page


def test_another_table_never_sees_the_call(app, cafe):
    shop, table, *_ = cafe
    other_table = make_table(shop, "Table 6")
    mine, theirs = app.test_client(), app.test_client()
    scan(mine, shop, table)
    scan(theirs, shop, other_table)
    ask(mine, shop, "bill")
    assert "Bill is coming" not in theirs.get(f"/s/{shop.slug}/menu").text
    poll = theirs.get(f"/s/{shop.slug}/service?v=0", headers=HTMX)
    assert poll.status_code == 204
    assert ask(theirs, shop, "bill").status_code == 200  # its own table may ask too


def test_another_shops_staff_cannot_handle_it(app, cafe):
    shop, table, *_ = cafe
    other, *_ = make_cafe("rival-cafe", "Rival Cafe", "Table 5")
    phone = app.test_client()
    scan(phone, shop, table)
    ask(phone, shop, "bill")
    found = db.session.scalar(select(ServiceRequest))
    rival = cashier(app, other, "271828")
    assert rival.post(f"/s/{other.slug}/pos/requests/{found.id}/handled",
                      headers=HTMX).status_code == 404
    assert "Bill requested" not in rival.get(f"/s/{other.slug}/pos/").text
    # nor through the first shop's address without a sign-in there
    assert rival.post(f"/s/{shop.slug}/pos/requests/{found.id}/handled",
                      headers=HTMX).status_code in (401, 403)
    barista = app.test_client()
    sign_in_staff(barista, make_staff(shop, "barista", "161803"), "161803")
    assert barista.post(f"/s/{shop.slug}/pos/requests/{found.id}/handled",
                        headers=HTMX).status_code in (401, 403)
    db.session.expire_all()
    assert db.session.get(ServiceRequest, found.id).is_open


def test_an_open_call_ends_with_the_table_session(app, cafe):
    shop, table, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    ask(phone, shop, "bill")
    tables.end_session(db.session, tables.active_session(db.session, table), "closed by staff")
    db.session.commit()
    assert open_count() == 0
    newcomer = app.test_client()
    scan(newcomer, shop, table)
    assert "Bill is coming" not in newcomer.get(f"/s/{shop.slug}/menu").text
    assert ask(newcomer, shop, "bill").status_code == 200  # the next group may ask


def test_the_request_is_published_after_commit(app, cafe):
    shop, table, *_ = cafe
    phone = app.test_client()
    scan(phone, shop, table)
    with get_bus(app).subscribe(shop.id) as sub:
        ask(phone, shop, "staff")
        ev = sub.get(timeout=2)
    assert ev is not None and ev.kind == "service.requested"
    assert ev.data == {"table_id": table.id, "kind": "staff"}


@pytest.mark.mariadb
def test_parallel_calls_open_one_request_per_table_and_kind(app, cafe):
    """24 phones of one table ask at the same instant, half for staff, half for the bill: one
    open request of each kind, the rest told they already asked."""
    shop, table, *_ = cafe
    phones = [app.test_client() for _ in range(24)]
    for phone in phones:
        scan(phone, shop, table)
    url = f"/s/{shop.slug}/service"  # read here: the threads never touch the test's session
    db.session.commit()
    statuses = run_together(app, 24, lambda n: phones[n].post(
        url, data={"kind": "staff" if n % 2 else "bill"}, headers=HTMX).status_code)
    assert sorted(statuses) == [200, 200] + [409] * 22
    db.session.expire_all()
    kinds = sorted(db.session.scalars(select(ServiceRequest.kind)))
    assert kinds == ["bill", "staff"]
    session = db.session.scalar(select(TableSession))
    assert session.service_calls == 3
