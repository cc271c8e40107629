"""The menu as the screens read it: categories with their products (the guest's menu, the
POS, the owner's menu page). Editing is in ``services.menu_admin``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shopqr.models import Category, Product, Shop


def categories(db: Session, shop: Shop, *, with_options: bool = False) -> list[Category]:
    """The shop's categories in order, each with its products (deleted ones included: the
    screens leave them out); ``with_options`` also loads each product's option groups."""
    products = selectinload(Category.products)
    return list(db.scalars(
        select(Category).where(Category.shop_id == shop.id)
        .order_by(Category.sort_order, Category.id)
        .options(products.selectinload(Product.option_groups) if with_options else products)))


def uncategorised(db: Session, shop: Shop) -> list[Product]:
    """Products in no category (not deleted), for the owner's menu page."""
    return list(db.scalars(select(Product).where(
        Product.shop_id == shop.id, Product.category_id.is_(None),
        Product.is_deleted.is_(False)).order_by(Product.id)))
