"""0007optionrules keeps the menu's meaning: existing option groups become single-choice
groups (exactly one option, the default when none is picked), nothing is deleted; going down
drops what the old schema cannot express (multi-select groups, soft-deleted rows)."""

from __future__ import annotations

from sqlalchemy import text

from shopqr.extensions import db
from tests.test_migrations import (  # noqa: F401
    empty_database_url,
    flask_db,
    migrating_app,
    script_directory,
)

NOW = "2026-12-01 10:00:00"


def seed_old_menu() -> None:
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO shops (id, slug, name, currency, khr_per_usd, round_riel_change, "
            "allow_short_pins, menu_version, bakong_account_type, khqr_merchant_city, "
            "is_active, created_at) VALUES (1, 'old', 'Old Cafe', 'USD', 4100, 1, 0, 1, "
            "'personal', 'Phnom Penh', 1, :now)"), {"now": NOW})
        conn.execute(text(
            "INSERT INTO products (id, shop_id, name, price, is_available, is_deleted, "
            "sort_order, created_at) VALUES (1, 1, 'Latte', 2.50, 1, 0, 0, :now)"),
            {"now": NOW})
        conn.execute(text("INSERT INTO option_groups (id, product_id, name, sort_order) "
                          "VALUES (1, 1, 'Size', 0)"))
        conn.execute(text(
            "INSERT INTO options (id, group_id, name, extra_price, is_default, sort_order) "
            "VALUES (1, 1, 'Small', 0, 0, 0), (2, 1, 'Regular', 0.50, 1, 1)"))


def test_existing_groups_become_single_choice_and_survive_the_round_trip(migrating_app):  # noqa: F811
    before = script_directory(migrating_app).get_revision("0007optionrules").down_revision
    flask_db(migrating_app, "upgrade", before)
    seed_old_menu()
    flask_db(migrating_app, "upgrade")
    with db.engine.connect() as conn:
        assert conn.execute(text(
            "SELECT kind, min_choices, max_choices, is_deleted FROM option_groups")).all() == [
            ("single", 0, 1, False)]
        assert conn.execute(text("SELECT name, is_deleted FROM options ORDER BY id")).all() == [
            ("Small", False), ("Regular", False)]
    from shopqr.models import Product
    from shopqr.services import cart

    latte = db.session.get(Product, 1)
    assert [o.name for o in cart.choose_options(latte, {})] == ["Regular"]
    assert cart.initial_price(latte) == 3
    db.session.remove()
    with db.engine.begin() as conn:  # a multi-select group and a deleted option, then down
        conn.execute(text("INSERT INTO option_groups (id, product_id, name, sort_order, kind, "
                          "min_choices, max_choices, is_deleted) "
                          "VALUES (2, 1, 'Toppings', 1, 'multi', 0, 3, 0)"))
        conn.execute(text("UPDATE options SET is_deleted = 1 WHERE id = 1"))
    flask_db(migrating_app, "downgrade", before)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM option_groups")).all() == [("Size",)]
        assert conn.execute(text("SELECT name FROM options")).all() == [("Regular",)]
