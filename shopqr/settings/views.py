"""The owner's settings: menu, tables and QR codes, staff, Bakong wallet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import (
    current_app,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.media import upload_dir
from shopqr.models import (
    OptionGroup,
    Product,
    Shop,
    utcnow,
)
from shopqr.services import (
    DomainError,
    NotFound,
    auth,
    images,
    menu_admin,
    shops,
)
from shopqr.services import menu as menu_service
from shopqr.services import payments as payment_service
from shopqr.services import staff as staff_service
from shopqr.services import tables as table_service
from shopqr.services.bakong import token_warning
from shopqr.services.events import get_bus
from shopqr.services.khqr import KHQRError, describe, verify_khqr
from shopqr.services.numbering import business_date
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.web import is_htmx, partial

PARTIALS = "settings/_partials.html"


def notices_for(shop: Shop) -> list[dict[str, str]]:
    """Banners for every settings page: subscription, Bakong token, KHQR set-up."""
    notices = []
    today = business_date(utcnow())
    if shop.subscription_expires_on is not None:
        if shop.subscription_expires_on < today:
            notices.append({"level": "bad", "text": _(
                "Your subscription expired on %(date)s: guests cannot order by QR code. "
                "Please renew.", date=shop.subscription_expires_on.isoformat())})
        elif shop.subscription_expires_on <= today + timedelta(days=14):
            notices.append({"level": "warn", "text": _(
                "Your subscription ends on %(date)s. Please renew.",
                date=shop.subscription_expires_on.isoformat())})
    if not current_app.config["BAKONG_SIMULATOR"] or current_app.config.get("BAKONG_API_URL"):
        warning = token_warning(current_app.config.get("BAKONG_TOKEN"), utcnow())
        if warning:
            notices.append({"level": "bad", "text": warning})
    if not shop.bakong_account_id:
        notices.append({"level": "warn", "text": _(
            "Set up your Bakong account under Payments so guests can pay by KHQR.")})
    locked = [u.name for u in staff_service.active_staff(db.session, shop)
              if u.locked_at is not None]
    if locked:
        notices.append({"level": "bad", "text": _(
            "Locked after too many wrong PINs: %(names)s. Unlock them under Staff.",
            names=", ".join(locked))})
    notices += [{"level": level, "text": text}
                for level, text in get_flashed_messages(with_categories=True)]
    return notices


def page(template: str, *, status: int = 200, error: str | None = None,
         **context: object) -> tuple[str, int]:
    shop: Shop = g.shop
    return render_template(template, shop=shop, owner=g.owner, notices=notices_for(shop),
                           error=error, **context), status


def done(endpoint: str, **values: object) -> Response:
    db.session.commit()
    return redirect(url_for(endpoint, **values), 303)


def attempt(action: Callable[[], object], failed: Callable[[str, int], tuple[str, int]],
            endpoint: str, **values: object) -> Response | tuple[str, int]:
    """Run a change; on bad input roll back and re-render the page with the message (4xx),
    else commit and go back to `endpoint` (303). Other shops' ids stay 404."""
    try:
        action()
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()
        return failed(exc.message, exc.status)
    return done(endpoint, **values)


@bp.get("/")
@owner_required
def index() -> tuple[str, int]:
    return page("settings/index.html", counts=shops.counts(db.session, g.shop))


# --- menu ------------------------------------------------------------------------------

def menu_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return page("settings/menu.html", status=status, error=error,
                categories=menu_service.categories(db.session, g.shop),
                uncategorised=menu_service.uncategorised(db.session, g.shop))


@bp.get("/menu")
@owner_required
def menu() -> tuple[str, int]:
    return menu_page()


def _menu_action(action) -> Response | tuple[str, int]:  # type: ignore[no-untyped-def]
    return attempt(action, menu_page, "settings.menu")


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


def _product_action(product: Product, action) -> Response | tuple[str, int]:  # type: ignore[no-untyped-def]
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


@bp.post("/menu/products/<int:product_id>/delete")
@owner_required
def delete_product(product_id: int) -> Response:
    menu_admin.delete_product(db.session, g.shop,
                              menu_admin.load_product(db.session, g.shop, product_id))
    return done("settings.menu")


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


@bp.post("/menu/products/<int:product_id>/groups")
@owner_required
def add_group(product_id: int) -> Response | tuple[str, int]:
    item = menu_admin.load_product(db.session, g.shop, product_id)
    return _product_action(item, lambda: menu_admin.add_group(
        db.session, g.shop, item, request.form.get("name")))


@bp.post("/menu/groups/<int:group_id>/delete")
@owner_required
def delete_group(group_id: int) -> Response:
    group = menu_admin.load_group(db.session, g.shop, group_id)
    product_id = group.product_id
    menu_admin.delete_group(db.session, g.shop, group)
    return done("settings.product", product_id=product_id)


@bp.post("/menu/groups/<int:group_id>/options")
@owner_required
def add_option(group_id: int) -> Response | tuple[str, int]:
    group: OptionGroup = menu_admin.load_group(db.session, g.shop, group_id)
    return _product_action(group.product, lambda: menu_admin.add_option(
        db.session, g.shop, group, request.form.get("name"), request.form.get("extra")))


@bp.post("/menu/options/<int:option_id>/default")
@owner_required
def default_option(option_id: int) -> Response:
    option = menu_admin.load_option(db.session, g.shop, option_id)
    menu_admin.set_default_option(db.session, g.shop, option)
    return done("settings.product", product_id=option.group.product_id)


@bp.post("/menu/options/<int:option_id>/delete")
@owner_required
def delete_option(option_id: int) -> Response:
    option = menu_admin.load_option(db.session, g.shop, option_id)
    product_id = option.group.product_id
    menu_admin.delete_option(db.session, g.shop, option)
    return done("settings.product", product_id=product_id)


# --- tables and QR codes ---------------------------------------------------------------

def tables_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return page("settings/tables.html", status=status, error=error,
                tables=shops.active_tables(db.session, g.shop))


@bp.get("/tables")
@owner_required
def tables() -> tuple[str, int]:
    return tables_page()


def _table_action(action) -> Response | tuple[str, int]:  # type: ignore[no-untyped-def]
    return attempt(action, tables_page, "settings.tables")


@bp.post("/tables/add")
@owner_required
def add_table() -> Response | tuple[str, int]:
    count = len(shops.active_tables(db.session, g.shop))
    return _table_action(lambda: shops.add_table(db.session, g.shop, request.form.get("name", ""),
                                                 sort_order=count + 1))


@bp.post("/tables/<int:table_id>")
@owner_required
def rename_table(table_id: int) -> Response | tuple[str, int]:
    table = table_service.load_table(db.session, g.shop, table_id)
    return _table_action(lambda: shops.rename_table(db.session, g.shop, table,
                                                    request.form.get("name")))


@bp.post("/tables/<int:table_id>/remove")
@owner_required
def remove_table(table_id: int) -> Response:
    shops.remove_table(db.session, g.shop,
                       table_service.load_table(db.session, g.shop, table_id), by=g.owner)
    return done("settings.tables")


@bp.post("/tables/<int:table_id>/regenerate")
@owner_required
def regenerate_table(table_id: int) -> Response:
    shops.new_qr_code(db.session, g.shop,
                      table_service.load_table(db.session, g.shop, table_id), by=g.owner)
    return done("settings.tables")


@bp.get("/tables/print")
@owner_required
def qr_sheet() -> str:
    return render_template("settings/qr_sheet.html", shop=g.shop,
                           tables=shops.active_tables(db.session, g.shop))


# --- staff -----------------------------------------------------------------------------

def staff_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return page("settings/staff.html", status=status, error=error,
                staff=staff_service.active_staff(db.session, g.shop))


@bp.get("/staff")
@owner_required
def staff() -> tuple[str, int]:
    return staff_page()


def _staff_action(action) -> Response | tuple[str, int]:  # type: ignore[no-untyped-def]
    return attempt(action, staff_page, "settings.staff")


@bp.post("/staff/add")
@owner_required
def add_staff() -> Response | tuple[str, int]:
    return _staff_action(lambda: staff_service.add(
        db.session, g.shop, name=request.form.get("name", ""), role=request.form.get("role", ""),
        pin=request.form.get("pin", ""), email=request.form.get("email") or None,
        password=request.form.get("password") or None, by=g.owner))


@bp.post("/staff/<int:user_id>/role")
@owner_required
def change_role(user_id: int) -> Response | tuple[str, int]:
    user = shops.load_staff(db.session, g.shop, user_id)
    return _staff_action(lambda: staff_service.change_role(
        db.session, get_bus(current_app), g.shop, user, request.form.get("role", ""),
        by=g.owner))


@bp.post("/staff/<int:user_id>/pin")
@owner_required
def reset_pin(user_id: int) -> Response | tuple[str, int]:
    user = shops.load_staff(db.session, g.shop, user_id)
    return _staff_action(lambda: staff_service.reset_pin(
        db.session, get_bus(current_app), g.shop, user, request.form.get("pin", ""),
        by=g.owner, now=utcnow()))


@bp.post("/staff/<int:user_id>/unlock")
@owner_required
def unlock_staff(user_id: int) -> Response:
    auth.unlock(db.session, g.shop, shops.load_staff(db.session, g.shop, user_id), by=g.owner)
    return done("settings.staff")


@bp.post("/staff/<int:user_id>/remove")
@owner_required
def remove_staff(user_id: int) -> Response | tuple[str, int]:
    user = shops.load_staff(db.session, g.shop, user_id)
    return _staff_action(lambda: staff_service.remove(
        db.session, get_bus(current_app), g.shop, user, by=g.owner, now=utcnow()))


@bp.post("/staff/short-pins")
@owner_required
def short_pins() -> Response:
    staff_service.allow_short_pins(db.session, g.shop, request.form.get("allow") == "1",
                                   by=g.owner)
    return done("settings.staff")


# --- payments --------------------------------------------------------------------------

def payments_page(error: str | None = None, status: int = 200,
                  form: dict[str, str] | None = None) -> tuple[str, int]:
    return page("settings/payments.html", status=status, error=error, form=form or {})


@bp.get("/payments")
@owner_required
def payments() -> tuple[str, int]:
    return payments_page()


@bp.post("/payments")
@owner_required
def save_payments() -> Response | tuple[str, int]:
    form = request.form.to_dict()
    return attempt(lambda: payment_service.save_settings(db.session, g.shop, form, by=g.owner),
                   lambda message, status: payments_page(message, status, form),
                   "settings.payments")


@bp.post("/payments/test")
@owner_required
def test_khqr() -> Markup:
    """A sample dynamic KHQR from the saved settings, decoded back for the owner to check."""
    try:
        qr = payment_service.sample_khqr(g.shop, utcnow())
    except (DomainError, KHQRError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        return partial(PARTIALS, "khqr_preview", qr=None, info=None, ok=False, error=message)
    return partial(PARTIALS, "khqr_preview", qr=qr.qr, info=describe(qr.qr),
                   ok=verify_khqr(qr.qr), error=None)
