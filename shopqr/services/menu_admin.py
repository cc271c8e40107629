"""The owner's menu editing. Every change bumps the shop's menu version so open guest menus
and every process's menu cache pick it up."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shopqr.models import Category, Option, OptionGroup, Product, Shop, User
from shopqr.services import clean_text, get_for_shop
from shopqr.services.audit import audit
from shopqr.services.events import Event, EventBus, publish_after_commit
from shopqr.services.money import parse_amount


def bump(db: Session, shop: Shop) -> None:
    db.execute(update(Shop).where(Shop.id == shop.id)
               .values(menu_version=Shop.menu_version + 1)
               .execution_options(synchronize_session="fetch"))


# What the owner's menu pages load by id (get_for_shop): the model, its conditions, the
# parents that carry shop_id, and the message when it is not this shop's.

def load_category(db: Session, shop: Shop, category_id: object) -> Category:
    return get_for_shop(db, Category, shop, category_id, message=_l("Category not found."))


def load_product(db: Session, shop: Shop, product_id: object) -> Product:
    """A product of the shop that is not deleted."""
    return get_for_shop(db, Product, shop, product_id, Product.is_deleted.is_(False),
                        message=_l("Product not found."))


def load_group(db: Session, shop: Shop, group_id: object) -> OptionGroup:
    return get_for_shop(db, OptionGroup, shop, group_id, via=(Product,),
                        message=_l("Option group not found."))


def load_option(db: Session, shop: Shop, option_id: object) -> Option:
    return get_for_shop(db, Option, shop, option_id, via=(OptionGroup, Product),
                        message=_l("Option not found."))


def save_category(db: Session, shop: Shop, *, name: str | None, name_km: str | None,
                  category: Category | None = None) -> Category:
    clean = clean_text(name, _l("Name"), 60, required=True)
    clean_km = clean_text(name_km, _l("Khmer name"), 60, required=False)
    if category is None:
        last = db.scalar(select(Category.sort_order).where(Category.shop_id == shop.id)
                         .order_by(Category.sort_order.desc()).limit(1))
        category = Category(shop_id=shop.id, sort_order=(last or 0) + 1)
        db.add(category)
    category.name, category.name_km = clean or "", clean_km
    bump(db, shop)
    db.flush()
    return category


def move_category(db: Session, shop: Shop, category: Category, direction: int) -> None:
    ordered = list(db.scalars(select(Category).where(Category.shop_id == shop.id)
                              .order_by(Category.sort_order, Category.id)))
    index = ordered.index(category)
    target = index + direction
    if 0 <= target < len(ordered):
        ordered[index], ordered[target] = ordered[target], ordered[index]
        for position, item in enumerate(ordered):
            item.sort_order = position
        bump(db, shop)


def delete_category(db: Session, shop: Shop, category: Category) -> None:
    for product in category.products:
        product.category_id = None
    db.delete(category)
    bump(db, shop)


def save_product(db: Session, shop: Shop, form: dict[str, str], *,
                 product: Product | None = None, image: str | None = None) -> Product:
    name = clean_text(form.get("name"), _l("Name"), 80, required=True)
    name_km = clean_text(form.get("name_km"), _l("Khmer name"), 80, required=False)
    description = clean_text(form.get("description"), _l("Description"), 1000, required=False,
                             multiline=True)
    description_km = clean_text(form.get("description_km"), _l("Khmer description"), 1000,
                                required=False, multiline=True)
    price = parse_amount(form.get("price"), shop.currency, field=_l("Price"))
    category = None
    if form.get("category_id"):
        category = load_category(db, shop, form["category_id"])
    if product is None:
        product = Product(shop_id=shop.id, price=Decimal("0"))
        db.add(product)
    product.name, product.name_km = name or "", name_km
    product.description, product.description_km = description, description_km
    product.price = price
    product.category_id = category.id if category else None
    if image:
        product.image = image
    bump(db, shop)
    db.flush()
    return product


def delete_product(db: Session, shop: Shop, product: Product) -> None:
    """Soft delete: old orders keep their snapshot and carts holding it see it as gone."""
    product.is_deleted = True
    bump(db, shop)


def set_sold_out(db: Session, bus: EventBus, shop: Shop, product: Product, sold_out: bool,
                 by: User) -> Product:
    product.is_available = not sold_out
    bump(db, shop)
    audit(db, shop, by, "menu.sold_out" if sold_out else "menu.available", product.name)
    publish_after_commit(db, bus, Event(shop.id, "menu.changed", {"product_id": product.id}))
    return product


def add_group(db: Session, shop: Shop, product: Product, name: str | None) -> OptionGroup:
    group = OptionGroup(name=clean_text(name, _l("Group name"), 40, required=True) or "",
                        sort_order=len(product.option_groups))
    product.option_groups.append(group)
    bump(db, shop)
    db.flush()
    return group


def delete_group(db: Session, shop: Shop, group: OptionGroup) -> None:
    db.delete(group)
    bump(db, shop)


def add_option(db: Session, shop: Shop, group: OptionGroup, name: str | None,
               extra: str | None) -> Option:
    option = Option(name=clean_text(name, _l("Option name"), 40, required=True) or "",
                    extra_price=parse_amount(extra or "0", shop.currency, field=_l("Extra price")),
                    is_default=not group.options, sort_order=len(group.options))
    group.options.append(option)
    bump(db, shop)
    db.flush()
    return option


def set_default_option(db: Session, shop: Shop, option: Option) -> None:
    for other in option.group.options:
        other.is_default = other.id == option.id
    bump(db, shop)


def delete_option(db: Session, shop: Shop, option: Option) -> None:
    group = option.group
    db.delete(option)
    db.flush()
    if group.options and not any(o.is_default for o in group.options):
        group.options[0].is_default = True
    bump(db, shop)
