"""The owner's menu: categories, products and photos, option groups and options, sold out."""

from __future__ import annotations

from flask import current_app, g, redirect, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.media import upload_dir
from shopqr.models import OptionGroup, Product
from shopqr.services import images, menu_admin
from shopqr.services import menu as menu_service
from shopqr.services.events import get_bus
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import PARTIALS, attempt, attempts, done, page
from shopqr.web import is_htmx, partial


def menu_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return page("settings/menu.html", status=status, error=error,
                categories=menu_service.categories(db.session, g.shop),
                uncategorised=menu_service.uncategorised(db.session, g.shop))


@bp.get("/menu")
@owner_required
def menu() -> tuple[str, int]:
    return menu_page()


_menu_action = attempts(menu_page, "settings.menu")


@bp.post("/menu/categories")
@owner_required
def add_category() -> Response | tuple[str, int]:
    return _menu_action(lambda: menu_admin.save_category(
        db.session, g.shop, name=request.form.get("name"), name_km=request.form.get("name_km")))


@bp.post("/menu/categories/<int:category_id>")
@owner_required
def edit_category(category_id: int) -> Response | tuple[str, int]:
    category = menu_admin.load_category(db.session, g.shop, category_id)
    return _menu_action(lambda: menu_admin.save_category(
        db.session, g.shop, name=request.form.get("name"), name_km=request.form.get("name_km"),
        category=category))


@bp.post("/menu/categories/<int:category_id>/hours")
@owner_required
def category_hours(category_id: int) -> Response | tuple[str, int]:
    """The hours a category is offered (docs/availability.md); stays on the menu page."""
    category = menu_admin.load_category(db.session, g.shop, category_id)
    return _menu_action(lambda: menu_admin.save_hours(db.session, g.shop, category,
                                                      request.form, by=g.owner))


@bp.post("/menu/categories/<int:category_id>/move")
@owner_required
def move_category(category_id: int) -> Response:
    category = menu_admin.load_category(db.session, g.shop, category_id)
    menu_admin.move_category(db.session, g.shop, category,
                             -1 if request.form.get("direction") == "up" else 1)
    return done("settings.menu")


@bp.post("/menu/categories/<int:category_id>/delete")
@owner_required
def delete_category(category_id: int) -> Response:
    menu_admin.delete_category(db.session, g.shop,
                               menu_admin.load_category(db.session, g.shop, category_id))
    return done("settings.menu")


def _uploaded_image() -> str | None:
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        return None
    name = images.save_product_image(upload.read(), upload_dir=upload_dir(current_app))
    return f"uploads/{name}"


@bp.post("/menu/products")
@owner_required
def add_product() -> Response | tuple[str, int]:
    def action() -> None:
        menu_admin.save_product(db.session, g.shop, request.form.to_dict(),
                                image=_uploaded_image())
    return _menu_action(action)


def product_page(product: Product, error: str | None = None,
                 status: int = 200) -> tuple[str, int]:
    return page("settings/product.html", status=status, error=error, product=product,
                categories=menu_service.categories(db.session, g.shop))


@bp.get("/menu/products/<int:product_id>")
@owner_required
def product(product_id: int) -> tuple[str, int]:
    return product_page(menu_admin.load_product(db.session, g.shop, product_id))


def _product_action(product: Product, action) -> Response | tuple[str, int]:
    def failed(message: str, status: int) -> tuple[str, int]:
        return product_page(menu_admin.load_product(db.session, g.shop, product.id), message,
                            status)

    return attempt(action, failed, "settings.product", product_id=product.id)


@bp.post("/menu/products/<int:product_id>")
@owner_required
def edit_product(product_id: int) -> Response | tuple[str, int]:
    item = menu_admin.load_product(db.session, g.shop, product_id)
    return _product_action(item, lambda: menu_admin.save_product(
        db.session, g.shop, request.form.to_dict(), product=item, image=_uploaded_image()))


@bp.post("/menu/products/<int:product_id>/hours")
@owner_required
def product_hours(product_id: int) -> Response | tuple[str, int]:
    """The hours a product is offered, within its category's (docs/availability.md)."""
    item = menu_admin.load_product(db.session, g.shop, product_id)
    return _product_action(item, lambda: menu_admin.save_hours(db.session, g.shop, item,
                                                               request.form, by=g.owner))


@bp.post("/menu/products/<int:product_id>/delete")
@owner_required
def delete_product(product_id: int) -> Response:
    menu_admin.delete_product(db.session, g.shop,
                              menu_admin.load_product(db.session, g.shop, product_id))
    return done("settings.menu")


@bp.post("/menu/products/<int:product_id>/duplicate")
@owner_required
def duplicate_product(product_id: int) -> Response:
    """A copy of the product with its option groups and options; the owner edits the copy."""
    copy = menu_admin.duplicate_product(db.session, g.shop,
                                        menu_admin.load_product(db.session, g.shop, product_id),
                                        by=g.owner)
    return done("settings.product", product_id=copy.id)


@bp.post("/menu/products/<int:product_id>/sold-out")
@owner_required
def toggle_sold_out(product_id: int) -> Response | Markup:
    """One tap: sold out <-> available. Open guest menus show it within seconds."""
    item = menu_admin.load_product(db.session, g.shop, product_id)
    menu_admin.set_sold_out(db.session, get_bus(current_app), g.shop, item,
                            item.is_available, g.owner)
    db.session.commit()
    if is_htmx():
        return partial(PARTIALS, "product_row", shop=g.shop, product=item)
    return redirect(url_for("settings.menu"), 303)


def _option_action(product: Product, action) -> Response | tuple[str, int]:
    """An option change: it says "Saved" on the product page it stays on."""
    return _product_action(product, action)


def _direction() -> int:
    return -1 if request.form.get("direction") == "up" else 1


@bp.post("/menu/products/<int:product_id>/groups")
@owner_required
def add_group(product_id: int) -> Response | tuple[str, int]:
    item = menu_admin.load_product(db.session, g.shop, product_id)
    form = request.form
    return _option_action(item, lambda: menu_admin.add_group(
        db.session, g.shop, item, form.get("name"), name_km=form.get("name_km"),
        kind=form.get("kind", "single"), min_choices=form.get("min_choices"),
        max_choices=form.get("max_choices")))


@bp.post("/menu/groups/<int:group_id>")
@owner_required
def edit_group(group_id: int) -> Response | tuple[str, int]:
    group = menu_admin.load_group(db.session, g.shop, group_id)
    form = request.form
    return _option_action(group.product, lambda: menu_admin.save_group(
        db.session, g.shop, group, name=form.get("name"), name_km=form.get("name_km"),
        kind=form.get("kind", "single"), min_choices=form.get("min_choices"),
        max_choices=form.get("max_choices")))


@bp.post("/menu/groups/<int:group_id>/move")
@owner_required
def move_group(group_id: int) -> Response | tuple[str, int]:
    group = menu_admin.load_group(db.session, g.shop, group_id)
    return _option_action(group.product, lambda: menu_admin.move_group(
        db.session, g.shop, group, _direction()))


@bp.post("/menu/groups/<int:group_id>/delete")
@owner_required
def delete_group(group_id: int) -> Response | tuple[str, int]:
    group = menu_admin.load_group(db.session, g.shop, group_id)
    return _option_action(group.product, lambda: menu_admin.delete_group(
        db.session, g.shop, group))


@bp.post("/menu/groups/<int:group_id>/options")
@owner_required
def add_option(group_id: int) -> Response | tuple[str, int]:
    group: OptionGroup = menu_admin.load_group(db.session, g.shop, group_id)
    return _option_action(group.product, lambda: menu_admin.add_option(
        db.session, g.shop, group, request.form.get("name"), request.form.get("extra"),
        name_km=request.form.get("name_km")))


@bp.post("/menu/options/<int:option_id>")
@owner_required
def edit_option(option_id: int) -> Response | tuple[str, int]:
    option = menu_admin.load_option(db.session, g.shop, option_id)
    return _option_action(option.group.product, lambda: menu_admin.save_option(
        db.session, g.shop, option, name=request.form.get("name"),
        name_km=request.form.get("name_km"), extra=request.form.get("extra")))


@bp.post("/menu/options/<int:option_id>/move")
@owner_required
def move_option(option_id: int) -> Response | tuple[str, int]:
    option = menu_admin.load_option(db.session, g.shop, option_id)
    return _option_action(option.group.product, lambda: menu_admin.move_option(
        db.session, g.shop, option, _direction()))


@bp.post("/menu/options/<int:option_id>/default")
@owner_required
def default_option(option_id: int) -> Response | tuple[str, int]:
    option = menu_admin.load_option(db.session, g.shop, option_id)
    return _option_action(option.group.product, lambda: menu_admin.set_default_option(
        db.session, g.shop, option))


@bp.post("/menu/options/<int:option_id>/delete")
@owner_required
def delete_option(option_id: int) -> Response | tuple[str, int]:
    option = menu_admin.load_option(db.session, g.shop, option_id)
    return _option_action(option.group.product, lambda: menu_admin.delete_option(
        db.session, g.shop, option))
