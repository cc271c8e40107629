"""Seed a benchmark shop: N products with options, 30 tables (or as many as the third
argument says), staff with known PINs."""

from __future__ import annotations

import sys
from decimal import Decimal

from shopqr import create_app
from shopqr.cli import upgrade_database
from shopqr.extensions import db
from shopqr.models import Category, Option, OptionGroup, Product
from shopqr.services.shops import add_staff, add_table, create_shop


def seed(slug: str, products: int, tables: int = 30) -> None:
    app = create_app()
    with app.app_context():
        upgrade_database()
        shop = create_shop(db.session, slug=slug, name=f"Bench {products}", currency="USD")
        shop.bakong_account_id = "bench@aclb"
        categories = [Category(shop_id=shop.id, name=f"Category {i}", sort_order=i)
                      for i in range(6)]
        db.session.add_all(categories)
        for i in range(products):
            product = Product(shop_id=shop.id, category=categories[i % 6], name=f"Drink {i}",
                              price=Decimal("1.50") + Decimal(i % 7) / 4,
                              image="demo/coffee.svg", sort_order=i)
            for g, (name, choices) in enumerate((("Size", ("Small", "Regular", "Large")),
                                                 ("Sugar", ("0%", "50%", "100%")))):
                group = OptionGroup(name=name, sort_order=g)
                group.options = [Option(name=c, extra_price=Decimal("0.25") * j,
                                        is_default=j == 0, sort_order=j)
                                 for j, c in enumerate(choices)]
                product.option_groups.append(group)
            db.session.add(product)
        for t in range(1, tables + 1):
            add_table(db.session, shop, f"T{t}", sort_order=t)
        add_staff(db.session, shop, name="Barista", role="barista", pin="271828")
        add_staff(db.session, shop, name="Cashier", role="cashier", pin="481516")
        db.session.commit()


if __name__ == "__main__":
    seed(sys.argv[1], int(sys.argv[2]), *(int(a) for a in sys.argv[3:4]))
