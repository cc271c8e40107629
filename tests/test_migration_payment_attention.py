"""Migration 0003payattention moves the old one-slot order flags onto the payments they are
about (nothing flagged is forgotten), drops ``orders.flag_reason``, and goes back down."""

from __future__ import annotations

from sqlalchemy import inspect, text

from shopqr.extensions import db
from tests.test_migrations import empty_database_url, flask_db, migrating_app  # noqa: F401

NOW = "2026-11-30 10:00:00"


def insert(table: str, **values: object) -> None:
    columns = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    with db.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), values)


def order(id_: int, status: str, method: str, flag: str | None) -> None:
    insert("orders", id=id_, shop_id=1, number=f"261130-00{id_}", seq=id_,
           public_token=f"tok{id_}", source="table", payment_method=method,
           payment_status=status, currency="USD", total="1.50", created_at=NOW,
           flag_reason=flag)


def txn(id_: int, order_id: int, status: str, hash_: str | None) -> None:
    insert("transactions", id=id_, shop_id=1, order_id=order_id, md5=f"{id_:032d}",
           qr_string="qr", amount="1.50", currency="USD", bill_number="b", to_account="a@b",
           status=status, created_at=NOW, expires_at=NOW, give_up_at=NOW, next_check_at=NOW,
           check_count=1, error_count=0, bakong_hash=hash_,
           paid_at=NOW if hash_ else None)


def test_old_flags_move_onto_their_payments(migrating_app):  # noqa: F811
    flask_db(migrating_app, "upgrade", "b7cd7a62a9ea")
    insert("shops", id=1, slug="old", name="Old", currency="USD", khr_per_usd="4100",
           round_riel_change=True, allow_short_pins=False, menu_version=1,
           bakong_account_type="individual", khqr_merchant_city="Phnom Penh", is_active=True,
           created_at=NOW)
    order(1, "mismatch", "khqr", "Bakong reported $1.00 USD for a $1.50 order")
    txn(11, 1, "mismatch", "hash-wrong")
    order(2, "paid", "khqr", "A second KHQR payment arrived (Bakong hash hash-two): refund it")
    txn(21, 2, "paid", "hash-one")
    txn(22, 2, "paid", "hash-two")
    order(3, "cancelled", "khqr",
          "A KHQR payment for this cancelled order arrived (Bakong hash hash-void): refund it")
    txn(31, 3, "paid", "hash-void")
    txn(32, 3, "superseded", None)
    order(4, "paid", "cash", None)
    flask_db(migrating_app, "upgrade")
    assert "flag_reason" not in {c["name"] for c in inspect(db.engine).get_columns("orders")}
    with db.engine.connect() as conn:
        rows = {r.id: (r.attention, r.attention_kind, r.attention_reason) for r in conn.execute(
            text("SELECT id, attention, attention_kind, attention_reason FROM transactions"))}
    assert rows[11] == ("due", "amount", "Bakong reported $1.00 USD for a $1.50 order")
    assert rows[21] == (None, None, None)
    assert rows[22][:2] == ("due", "khqr") and "hash-two" in rows[22][2]
    assert rows[31][:2] == ("due", "cancelled")
    assert rows[32] == (None, None, None)
    flask_db(migrating_app, "downgrade", "b7cd7a62a9ea")
    with db.engine.connect() as conn:
        flags = dict(conn.execute(text("SELECT id, flag_reason FROM orders")).all())
    assert flags[4] is None and "hash-two" in flags[2] and flags[1].startswith("Bakong")
