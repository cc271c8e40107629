"""The owner's settings: menu, tables and QR codes, staff, Bakong wallet."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

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
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.media import upload_dir
from shopqr.models import (
    Category,
    OptionGroup,
    Order,
    Product,
    Shop,
    ShopTable,
    User,
    epoch_ms,
    utcnow,
)
from shopqr.services import (
    DomainError,
    NotFound,
    auth,
    clean_text,
    images,
    logins,
    menu_admin,
    shops,
)
from shopqr.services import tables as table_service
from shopqr.services.audit import audit
from shopqr.services.bakong import token_warning
from shopqr.services.events import get_bus
from shopqr.services.khqr import KHQRError, build_khqr, describe, fit, verify_khqr
from shopqr.services.money import parse_amount
from shopqr.services.numbering import business_date
from shopqr.services.payments import shop_account
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.web import is_htmx, partial

PARTIALS = "settings/_partials.html"
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$")


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
    locked = [u.name for u in _staff(shop) if u.locked_at is not None]
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
    shop: Shop = g.shop
    counts = {
        "products": db.session.scalar(select(func.count(Product.id)).where(
            Product.shop_id == shop.id, Product.is_deleted.is_(False))),
        "tables": db.session.scalar(select(func.count(ShopTable.id)).where(
            ShopTable.shop_id == shop.id, ShopTable.is_active.is_(True))),
        "staff": db.session.scalar(select(func.count(User.id)).where(
            User.shop_id == shop.id, User.is_active.is_(True))),
    }
    return page("settings/index.html", counts=counts)


# --- menu ------------------------------------------------------------------------------

def _menu_context() -> dict[str, object]:
    shop: Shop = g.shop
    categories = list(db.session.scalars(
        select(Category).where(Category.shop_id == shop.id)
        .order_by(Category.sort_order, Category.id).options(selectinload(Category.products))))
    loose = list(db.session.scalars(select(Product).where(
        Product.shop_id == shop.id, Product.category_id.is_(None),
        Product.is_deleted.is_(False)).order_by(Product.id)))
    return {"categories": categories, "uncategorised": loose}


def menu_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return page("settings/menu.html", status=status, error=error, **_menu_context())


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
                categories=_menu_context()["categories"])


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

def _tables(shop: Shop) -> list[ShopTable]:
    return list(db.session.scalars(select(ShopTable).where(
        ShopTable.shop_id == shop.id, ShopTable.is_active.is_(True))
        .order_by(ShopTable.sort_order, ShopTable.id)))


def tables_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return page("settings/tables.html", status=status, error=error, tables=_tables(g.shop))


@bp.get("/tables")
@owner_required
def tables() -> tuple[str, int]:
    return tables_page()


def _table_action(action) -> Response | tuple[str, int]:  # type: ignore[no-untyped-def]
    return attempt(action, tables_page, "settings.tables")


@bp.post("/tables/add")
@owner_required
def add_table() -> Response | tuple[str, int]:
    count = len(_tables(g.shop))
    return _table_action(lambda: shops.add_table(db.session, g.shop, request.form.get("name", ""),
                                                 sort_order=count + 1))


@bp.post("/tables/<int:table_id>")
@owner_required
def rename_table(table_id: int) -> Response | tuple[str, int]:
    table = table_service.load_table(db.session, g.shop, table_id)

    def action() -> None:
        table.name = shops.table_name(db.session, g.shop, request.form.get("name"), table=table)
    return _table_action(action)


@bp.post("/tables/<int:table_id>/remove")
@owner_required
def remove_table(table_id: int) -> Response:
    table = table_service.load_table(db.session, g.shop, table_id)
    session = table_service.active_session(db.session, table)
    if session is not None:
        table_service.end_session(db.session, session, "table removed")
    table.is_active = False
    table.name = shops.removed_name(table.name, table.id, 40)
    table.qr_token = table_service.new_token()  # the printed QR stops working
    audit(db.session, g.shop, g.owner, "settings.table_removed", table.name)
    return done("settings.tables")


@bp.post("/tables/<int:table_id>/regenerate")
@owner_required
def regenerate_table(table_id: int) -> Response:
    table = table_service.load_table(db.session, g.shop, table_id)
    table.qr_token = table_service.new_token()
    audit(db.session, g.shop, g.owner, "settings.qr_regenerated", table.name)
    return done("settings.tables")


@bp.get("/tables/print")
@owner_required
def qr_sheet() -> str:
    return render_template("settings/qr_sheet.html", shop=g.shop, tables=_tables(g.shop))


# --- staff -----------------------------------------------------------------------------

def _staff(shop: Shop) -> list[User]:
    return list(db.session.scalars(select(User).where(
        User.shop_id == shop.id, User.is_active.is_(True)).order_by(User.role, User.name)))


def staff_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return page("settings/staff.html", status=status, error=error, staff=_staff(g.shop))


@bp.get("/staff")
@owner_required
def staff() -> tuple[str, int]:
    return staff_page()


def _staff_action(action) -> Response | tuple[str, int]:  # type: ignore[no-untyped-def]
    return attempt(action, staff_page, "settings.staff")


def _owners_left(excluding: User) -> int:
    return sum(1 for u in _staff(g.shop) if u.role == "owner" and u.id != excluding.id)


@bp.post("/staff/add")
@owner_required
def add_staff() -> Response | tuple[str, int]:
    def action() -> None:
        user = shops.add_staff(db.session, g.shop, name=request.form.get("name", ""),
                               role=request.form.get("role", ""), pin=request.form.get("pin", ""),
                               email=request.form.get("email") or None,
                               password=request.form.get("password") or None)
        audit(db.session, g.shop, g.owner, "settings.staff_added", user.name, user.role)
    return _staff_action(action)


@bp.post("/staff/<int:user_id>/role")
@owner_required
def change_role(user_id: int) -> Response | tuple[str, int]:
    user = shops.load_staff(db.session, g.shop, user_id)

    def action() -> None:
        role = request.form.get("role", "")
        if role not in ("owner", "cashier", "barista"):
            raise DomainError(_("Role must be owner, cashier or barista."))
        if user.role == "owner" and role != "owner" and not _owners_left(user):
            raise DomainError(_("A shop needs at least one owner."))
        user.role = role
        logins.access_changed(db.session, get_bus(current_app), user)
        audit(db.session, g.shop, g.owner, "settings.staff_role", user.name, role)
    return _staff_action(action)


@bp.post("/staff/<int:user_id>/pin")
@owner_required
def reset_pin(user_id: int) -> Response | tuple[str, int]:
    user = shops.load_staff(db.session, g.shop, user_id)

    def action() -> None:
        pin = shops.validate_pin(g.shop, request.form.get("pin", ""))
        if shops.pin_in_use(db.session, g.shop, pin, except_user_id=user.id):
            raise DomainError(_("Another staff member already uses that PIN."))
        user.pin_hash = shops.hash_secret(pin)
        auth.unlock(db.session, g.shop, user, by=g.owner)
        logins.end_all(db.session, get_bus(current_app), user, reason="PIN reset",
                       now=utcnow(), kinds=("staff",))
        audit(db.session, g.shop, g.owner, "settings.pin_reset", user.name)
    return _staff_action(action)


@bp.post("/staff/<int:user_id>/unlock")
@owner_required
def unlock_staff(user_id: int) -> Response:
    auth.unlock(db.session, g.shop, shops.load_staff(db.session, g.shop, user_id), by=g.owner)
    return done("settings.staff")


@bp.post("/staff/<int:user_id>/remove")
@owner_required
def remove_staff(user_id: int) -> Response | tuple[str, int]:
    user = shops.load_staff(db.session, g.shop, user_id)

    def action() -> None:
        if user.id == g.owner.id:
            raise DomainError(_("You cannot remove yourself."))
        if user.role == "owner" and not _owners_left(user):
            raise DomainError(_("A shop needs at least one owner."))
        user.is_active = False
        user.name = shops.removed_name(user.name, user.id, 60)
        user.email = None
        logins.end_all(db.session, get_bus(current_app), user, reason="removed", now=utcnow())
        audit(db.session, g.shop, g.owner, "settings.staff_removed", user.name)
    return _staff_action(action)


@bp.post("/staff/short-pins")
@owner_required
def short_pins() -> Response:
    g.shop.allow_short_pins = request.form.get("allow") == "1"
    audit(db.session, g.shop, g.owner, "settings.short_pins", str(g.shop.allow_short_pins))
    return done("settings.staff")


# --- payments --------------------------------------------------------------------------

def payments_page(error: str | None = None, status: int = 200,
                  form: dict[str, str] | None = None) -> tuple[str, int]:
    return page("settings/payments.html", status=status, error=error, form=form or {})


@bp.get("/payments")
@owner_required
def payments() -> tuple[str, int]:
    return payments_page()


def _text(form: dict[str, str], key: str, label: str, limit: int,
          required: bool = False) -> str | None:
    return clean_text(form.get(key), label, limit, required=required)


@bp.post("/payments")
@owner_required
def save_payments() -> Response | tuple[str, int]:
    shop: Shop = g.shop
    form = request.form.to_dict()
    try:
        account = _text(form, "bakong_account_id", _("Bakong account ID"), 32)
        if account and not ACCOUNT_ID.match(account):
            raise DomainError(_("A Bakong account ID looks like name@bank."))
        kind = form.get("bakong_account_type", "individual")
        if kind not in ("individual", "merchant"):
            raise DomainError(_("Account type must be individual or merchant."))
        merchant_id = _text(form, "bakong_merchant_id", _("Merchant ID"), 32,
                            required=kind == "merchant")
        bank = _text(form, "bakong_bank", _("Bank"), 32, required=kind == "merchant")
        name = _text(form, "khqr_merchant_name", _("Merchant name"), 25, required=True)
        city = _text(form, "khqr_merchant_city", _("Merchant city"), 15, required=True)
        currency = form.get("currency", shop.currency)
        if currency not in ("USD", "KHR"):
            raise DomainError(_("Currency must be USD or KHR."))
        if currency != shop.currency and db.session.scalar(select(func.count(Order.id)).where(
                Order.shop_id == shop.id, Order.payment_status.in_(("pending", "mismatch")))):
            raise DomainError(_("Settle the unpaid orders before changing the currency."))
        rate = parse_amount(form.get("khr_per_usd"), "KHR", field=_("Riel per dollar"))
        if not Decimal("1000") <= rate <= Decimal("10000"):
            raise DomainError(_("Riel per dollar should be between 1,000 and 10,000."))
    except DomainError as exc:
        return payments_page(exc.message, exc.status, form)
    shop.bakong_account_id, shop.bakong_account_type = account, kind
    shop.bakong_merchant_id, shop.bakong_bank = merchant_id, bank
    shop.khqr_merchant_name, shop.khqr_merchant_city = name, city or "Phnom Penh"
    if currency != shop.currency:
        menu_admin.bump(db.session, shop)
    shop.currency, shop.khr_per_usd = currency, rate
    shop.round_riel_change = form.get("round_riel_change") == "1"
    audit(db.session, shop, g.owner, "settings.payments", account)
    return done("settings.payments")


@bp.post("/payments/test")
@owner_required
def test_khqr() -> Markup:
    """A sample dynamic KHQR from the saved settings, decoded back for the owner to check."""
    shop: Shop = g.shop
    try:
        created = epoch_ms(utcnow())
        qr = build_khqr(account=shop_account(shop),
                        merchant_name=fit(shop.khqr_merchant_name or shop.name, 25),
                        merchant_city=fit(shop.khqr_merchant_city or "Phnom Penh", 15),
                        currency=shop.currency,
                        amount=Decimal("1.00") if shop.currency == "USD" else Decimal("100"),
                        bill_number="TEST-0001", store_label=fit(shop.name, 25),
                        created_ms=created, expires_ms=created + 600000)
    except (DomainError, KHQRError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        return partial(PARTIALS, "khqr_preview", qr=None, info=None, ok=False, error=message)
    return partial(PARTIALS, "khqr_preview", qr=qr.qr, info=describe(qr.qr),
                   ok=verify_khqr(qr.qr), error=None)

