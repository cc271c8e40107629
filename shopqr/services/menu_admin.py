"""The owner's menu editing. Every change bumps the shop's menu version so open guest menus
and every process's menu cache pick it up."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shopqr.models import Category, Option, OptionGroup, Product, Shop, User
from shopqr.models.menu import MAX_CHOICES, MULTI, SINGLE
from shopqr.services import DomainError, availability, clean_text, get_for_shop
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
    """A live option group of a live product of the shop (a deleted one is not found)."""
    return get_for_shop(db, OptionGroup, shop, group_id, OptionGroup.is_deleted.is_(False),
                        Product.is_deleted.is_(False), via=(Product,),
                        message=_l("Option group not found."))


def load_option(db: Session, shop: Shop, option_id: object) -> Option:
    """A live option of a live group of the shop."""
    return get_for_shop(db, Option, shop, option_id, Option.is_deleted.is_(False),
                        OptionGroup.is_deleted.is_(False), Product.is_deleted.is_(False),
                        via=(OptionGroup, Product), message=_l("Option not found."))


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


def duplicate_product(db: Session, shop: Shop, product: Product, *, by: User | None = None
                      ) -> Product:
    """A copy of a product ("<name> (copy)", same price, category, texts, photo and sold-out
    state) with copies of its live option groups and options, last in its category. Old
    orders and carts keep pointing at the original."""
    suffix = " (copy)"
    copy = Product(shop_id=shop.id, category_id=product.category_id,
                   name=product.name[:80 - len(suffix)] + suffix, name_km=product.name_km,
                   description=product.description, description_km=product.description_km,
                   price=product.price, image=product.image,
                   is_available=product.is_available, sort_order=product.sort_order,
                   schedule=product.schedule)
    for group in product.option_groups:
        twin = OptionGroup(name=group.name, name_km=group.name_km, sort_order=group.sort_order,
                           kind=group.kind, min_choices=group.min_choices,
                           max_choices=group.max_choices)
        twin.options = [Option(name=o.name, name_km=o.name_km, extra_price=o.extra_price,
                               is_default=o.is_default, sort_order=o.sort_order)
                        for o in group.options]
        copy.option_groups.append(twin)
    db.add(copy)
    bump(db, shop)
    db.flush()
    audit(db, shop, by, "menu.product_copied", copy.name, f"from product {product.id}")
    return copy


def save_hours(db: Session, shop: Shop, item: Category | Product, form: object, *,
               by: User | None = None) -> None:
    """The hours a category or product is offered (``availability.read_form``: up to three
    windows with their days; none: always). Every problem is reported at once (422)."""
    windows = availability.read_form(form)
    item.schedule = availability.dump(windows)
    bump(db, shop)
    kind = "category" if isinstance(item, Category) else "product"
    audit(db, shop, by, f"menu.{kind}_hours", item.name,
          availability.dump(windows) or "always")


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


def _count(raw: object, label: str | LazyString) -> int:
    """A number of choices typed by the owner: a whole number 0..MAX_CHOICES."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 3) or int(text) > MAX_CHOICES:
        raise DomainError(_l("%(label)s must be a whole number from 0 to %(high)s.", label=label,
                             high=MAX_CHOICES))
    return int(text)


def parse_rule(kind: object, min_choices: object, max_choices: object) -> tuple[str, int, int]:
    """An option group's selection rule from the owner's form: ("single", 0, 1) for exactly
    one option, or ("multi", min, max) with 0 <= min <= max and 1 <= max."""
    if kind in (None, "", SINGLE):
        return SINGLE, 0, 1
    if kind != MULTI:
        raise DomainError(_l("Choose one option or several."), 400)
    low = _count(min_choices if min_choices not in (None, "") else "0", _l("At least"))
    high = _count(max_choices, _l("At most"))
    if high < 1:
        raise DomainError(_l("At most must be 1 or more."))
    if low > high:
        raise DomainError(_l("At least cannot be more than at most."))
    return MULTI, low, high


def add_group(db: Session, shop: Shop, product: Product, name: str | None, *,
              name_km: str | None = None, kind: object = SINGLE, min_choices: object = None,
              max_choices: object = None) -> OptionGroup:
    """A new option group at the end of the product's groups."""
    rule = parse_rule(kind, min_choices, max_choices)
    group = OptionGroup(name=clean_text(name, _l("Group name"), 40, required=True) or "",
                        name_km=clean_text(name_km, _l("Khmer name"), 40, required=False),
                        sort_order=max((g.sort_order for g in product.option_groups),
                                       default=-1) + 1)
    group.kind, group.min_choices, group.max_choices = rule
    product.option_groups.append(group)
    bump(db, shop)
    db.flush()
    return group


def save_group(db: Session, shop: Shop, group: OptionGroup, *, name: str | None,
               name_km: str | None, kind: object, min_choices: object,
               max_choices: object) -> OptionGroup:
    """Rename a group (English and Khmer) and set its rule. Turning a group multi-select
    leaves no default; turning it single-choice gives it one."""
    clean = clean_text(name, _l("Group name"), 40, required=True) or ""
    clean_km = clean_text(name_km, _l("Khmer name"), 40, required=False)
    rule = parse_rule(kind, min_choices, max_choices)
    group.name, group.name_km = clean, clean_km
    group.kind, group.min_choices, group.max_choices = rule
    if group.kind == SINGLE and group.options and not any(o.is_default for o in group.options):
        group.options[0].is_default = True
    bump(db, shop)
    db.flush()
    return group


def _move(items: list, item: object, direction: int) -> bool:
    """Swap ``item`` with its neighbour and renumber ``sort_order``; False at an end."""
    index = items.index(item)
    target = index + direction
    if not 0 <= target < len(items):
        return False
    items[index], items[target] = items[target], items[index]
    for position, each in enumerate(items):
        each.sort_order = position
    return True


def move_group(db: Session, shop: Shop, group: OptionGroup, direction: int) -> None:
    """Up (-1) or down (+1) among the product's groups: the guest's sheet follows."""
    if _move(list(group.product.option_groups), group, direction):
        bump(db, shop)


def move_option(db: Session, shop: Shop, option: Option, direction: int) -> None:
    """Up (-1) or down (+1) within its group."""
    if _move(list(option.group.options), option, direction):
        bump(db, shop)


def delete_group(db: Session, shop: Shop, group: OptionGroup) -> None:
    """Soft delete: guests no longer see it; cart lines that chose one of its options are
    refused at checkout with a message (order lines are snapshots)."""
    group.is_deleted = True
    bump(db, shop)


def add_option(db: Session, shop: Shop, group: OptionGroup, name: str | None,
               extra: str | None, *, name_km: str | None = None) -> Option:
    """A new option at the end of the group; the first option of a single-choice group is
    its default."""
    option = Option(name=clean_text(name, _l("Option name"), 40, required=True) or "",
                    name_km=clean_text(name_km, _l("Khmer name"), 40, required=False),
                    extra_price=parse_amount(extra or "0", shop.currency, field=_l("Extra price")),
                    is_default=not group.is_multi and not group.options,
                    sort_order=max((o.sort_order for o in group.options), default=-1) + 1)
    group.options.append(option)
    bump(db, shop)
    db.flush()
    return option


def save_option(db: Session, shop: Shop, option: Option, *, name: str | None,
                name_km: str | None, extra: str | None) -> Option:
    """Rename (English and Khmer) and re-price an option. Cart lines show the new price (they
    are priced from the menu); orders already placed keep theirs."""
    option.name = clean_text(name, _l("Option name"), 40, required=True) or ""
    option.name_km = clean_text(name_km, _l("Khmer name"), 40, required=False)
    option.extra_price = parse_amount(extra or "0", shop.currency, field=_l("Extra price"))
    bump(db, shop)
    db.flush()
    return option


def set_default_option(db: Session, shop: Shop, option: Option) -> None:
    """The option a single-choice group preselects (a multi-select group has none)."""
    if option.group.is_multi:
        raise DomainError(_l("A group where guests pick several options has no default."))
    for other in option.group.options:
        other.is_default = other.id == option.id
    bump(db, shop)


def delete_option(db: Session, shop: Shop, option: Option) -> None:
    """Soft delete (see ``delete_group``); a single-choice group that loses its default gets
    its first remaining option as the default."""
    group = option.group
    option.is_deleted = True
    option.is_default = False
    rest = [o for o in group.options if o is not option]
    if not group.is_multi and rest and not any(o.is_default for o in rest):
        rest[0].is_default = True
    bump(db, shop)
