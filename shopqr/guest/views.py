"""The guest's phone: scan, menu, shared cart, checkout, order page. No login."""

from __future__ import annotations

import secrets

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.guest import bp, menu_cache
from shopqr.models import OptionGroup, Order, Product, Shop, TableSession, utcnow
from shopqr.services import (
    DomainError,
    NotFound,
    attention,
    cart,
    checkout,
    get_for_shop,
    guest_pay,
    khqr_card,
    payments,
    tables,
)
from shopqr.services import menu as menu_service
from shopqr.services.events import get_bus
from shopqr.services.money import format_money
from shopqr.services.numbering import business_date
from shopqr.web import fragments, is_htmx, partial, safe_next

PARTIALS = "guest/_partials.html"


def _cookie_path(shop: Shop) -> str:
    return f"/s/{shop.slug}/"


def _require_open(shop: Shop) -> Response | None:
    if not shop.subscription_ok(business_date(utcnow())):
        return Response(render_template("guest/unavailable.html", shop=shop), 403)
    return None


def _guest_session(shop: Shop) -> TableSession:
    """The table session named by this phone's cookie; a friendly page if there is none."""
    if not shop.subscription_ok(business_date(utcnow())):
        raise DomainError(_("Ordering by QR code is unavailable at the moment. Please order at "
                            "the counter."), 403)
    token = request.cookies.get(current_app.config["GUEST_COOKIE_NAME"])
    session = tables.session_by_token(db.session, shop, token)
    if session is None:
        raise DomainError(_("Scan the QR code on your table to start ordering."), 403)
    if not session.is_active:
        raise DomainError(
            _("This table's session has ended. Scan the QR code on your table to start again."),
            410,
        )
    return session


def _cart_regions(shop: Shop, session: TableSession, *, panel_oob: bool) -> list:
    """The cart badge (always out-of-band) and the cart panel, priced from the database."""
    summary = cart.summarize(db.session, session)
    return [
        partial(PARTIALS, "cart_panel", shop=shop, summary=summary, oob=panel_oob,
                checkout_key=secrets.token_urlsafe(24), error=None),
        partial(PARTIALS, "cart_badge", shop=shop, summary=summary, oob=True),
    ]


@bp.get("/t/<qr_token>")
def scan(qr_token: str) -> Response:
    """A phone scanned a table's QR code: join the table's session (or start it)."""
    shop: Shop = g.shop
    table = tables.find_table(db.session, shop.slug, qr_token)
    if table is None:
        raise NotFound(_("This QR code is not valid any more. Please ask the staff for help."))
    closed = _require_open(shop)
    if closed is not None:
        return closed
    session = tables.join_or_start(db.session, table)
    db.session.commit()
    response = redirect(url_for("guest.menu"), 303)
    response.set_cookie(
        current_app.config["GUEST_COOKIE_NAME"],
        session.token,
        max_age=12 * 3600,
        path=_cookie_path(shop),
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


@bp.get("/menu")
def menu() -> str | Response:
    shop: Shop = g.shop
    closed = _require_open(shop)
    if closed is not None:
        return closed
    session = _guest_session(shop)
    orders = checkout.session_orders(db.session, session)
    return _menu_shell(shop).fill({
        "csrf": escape(generate_csrf()),
        "table": escape(session.table.name),
        "orders": partial(PARTIALS, "table_orders", shop=shop, orders=orders) if orders
        else Markup(""),
        "badge": partial(PARTIALS, "cart_badge", shop=shop,
                         summary=cart.badge(db.session, session.id)),
    })


def _menu_shell(shop: Shop) -> menu_cache.Shell:
    """The menu page with holes for the table's and the phone's own parts, cached."""
    locale = str(get_locale())
    return menu_cache.for_app(current_app).get(
        ("shell", shop.id, shop.menu_version, locale, shop.slug, shop.name, shop.name_km,
         shop.currency),
        lambda: menu_cache.Shell(render_template(
            "guest/menu.html",
            shop=shop,
            menu_html=_menu_html(shop),
            table_name=menu_cache.hole("table"),
            orders_html=menu_cache.hole("orders"),
            badge_html=menu_cache.hole("badge"),
            csrf_token=lambda: menu_cache.hole("csrf"),
        )))


def _menu_html(shop: Shop) -> Markup:
    """Categories and product cards: the same for every guest of the shop, so cached."""
    return menu_cache.for_app(current_app).get(
        ("body", shop.id, shop.menu_version, str(get_locale())),
        lambda: partial(PARTIALS, "menu_body", shop=shop,
                        categories=menu_service.categories(db.session, shop)))


@bp.get("/menu/changes")
def menu_changes() -> Response:
    """Polled by open menus: nothing (204) until the menu version moves, then every product
    card out-of-band (sold-out badges appear without a reload) and the new version."""
    shop: Shop = g.shop
    if request.args.get("v", type=int) == shop.menu_version:
        return Response(status=204)
    cards = [partial(PARTIALS, "product_card", shop=shop, product=product, oob=True)
             for category in menu_service.categories(db.session, shop)
             for product in category.products if not product.is_deleted]
    return fragments(*cards, partial(PARTIALS, "menu_version", shop=shop, oob=True))


@bp.get("/menu/products/<int:product_id>")
def product_sheet(product_id: int) -> str:
    shop: Shop = g.shop
    _guest_session(shop)
    product = get_for_shop(
        db.session, Product, shop, product_id, Product.is_deleted.is_(False),
        message=cart.NOT_ON_MENU,
        options=(selectinload(Product.option_groups).selectinload(OptionGroup.options),))
    if is_htmx():
        return partial(PARTIALS, "product_sheet", shop=shop, product=product)
    return render_template("guest/product.html", shop=shop, product=product)


@bp.post("/cart/items")
def add_to_cart() -> Response:
    shop: Shop = g.shop
    session = _guest_session(shop)
    item = cart.add_item(
        db.session,
        get_bus(current_app),
        session,
        request.form.get("product_id"),
        cart.form_choices(request.form),
        request.form.get("quantity", "1"),
        request.form.get("note"),
    )
    if not is_htmx():
        db.session.commit()
        return redirect(url_for("guest.menu"), 303)
    # The cart dialog loads its panel when opened; only the badge changes here. Rendered
    # before the commit, which would expire every object the fragments read.
    response = fragments(
        partial(PARTIALS, "cart_badge", shop=shop, summary=cart.badge(db.session, session.id),
                oob=True),
        partial(PARTIALS, "toast", message=_("Added %(name)s", name=item.product.name)),
        headers={"HX-Trigger": "cart-changed"},
    )
    db.session.commit()
    return response


@bp.get("/cart")
def view_cart() -> str | Response:
    shop: Shop = g.shop
    session = _guest_session(shop)
    if is_htmx():
        return fragments(*_cart_regions(shop, session, panel_oob=False))
    summary = cart.summarize(db.session, session)
    return render_template("guest/cart.html", shop=shop, summary=summary,
                           checkout_key=secrets.token_urlsafe(24), error=None)


@bp.get("/cart/badge")
def cart_badge() -> str:
    shop: Shop = g.shop
    session = _guest_session(shop)
    return partial(PARTIALS, "cart_badge", shop=shop,
                   summary=cart.badge(db.session, session.id), oob=False)


def _after_cart_change(shop: Shop, session: TableSession) -> Response:
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("guest.view_cart"), 303)
    return fragments(*_cart_regions(shop, session, panel_oob=False))


@bp.post("/cart/items/<int:item_id>/quantity")
def change_quantity(item_id: int) -> Response:
    shop: Shop = g.shop
    session = _guest_session(shop)
    cart.set_quantity(db.session, get_bus(current_app), session, item_id,
                      request.form.get("quantity"))
    return _after_cart_change(shop, session)


@bp.post("/cart/items/<int:item_id>/note")
def change_note(item_id: int) -> Response:
    shop: Shop = g.shop
    session = _guest_session(shop)
    cart.set_note(db.session, get_bus(current_app), session, item_id, request.form.get("note"))
    return _after_cart_change(shop, session)


@bp.post("/cart/items/<int:item_id>/delete")
def remove_item(item_id: int) -> Response:
    shop: Shop = g.shop
    session = _guest_session(shop)
    cart.remove_item(db.session, get_bus(current_app), session, item_id)
    return _after_cart_change(shop, session)


@bp.post("/checkout")
def place_order() -> Response | tuple[str, int]:
    shop: Shop = g.shop
    closed = _require_open(shop)
    if closed is not None:
        return closed
    session = _guest_session(shop)
    key = request.form.get("checkout_key")
    try:
        order = checkout.checkout(
            db.session, get_bus(current_app), shop, session,
            method=request.form.get("method"), checkout_key=key, note=request.form.get("note"),
        )
        needs_qr = order.payment_method == "khqr"
        if needs_qr and payments.latest_transaction(db.session, order) is None:
            _new_khqr(shop, order)
        db.session.commit()
        if needs_qr:
            _offer_deeplink(shop, order)
    except DomainError as exc:
        db.session.rollback()
        return _checkout_refused(shop, session, exc)
    except IntegrityError:  # the same key submitted twice at the same instant
        db.session.rollback()
        try:  # this table's own double submit goes to its order; another's key never does
            order = checkout.order_after_race(db.session, key, shop=shop, session=session)
        except DomainError as exc:
            return _checkout_refused(shop, session, exc)
        if order is None:
            raise
    return redirect(url_for("guest.order_page", public_token=order.public_token), 303)


def _checkout_refused(shop: Shop, session: TableSession, exc: DomainError) -> tuple[str, int]:
    """The cart again, with the message and a fresh checkout key."""
    summary = cart.summarize(db.session, session)
    return render_template("guest/cart.html", shop=shop, summary=summary,
                           checkout_key=secrets.token_urlsafe(24), error=exc.message), exc.status


def _new_khqr(shop: Shop, order: Order) -> None:
    payments.regenerate(
        db.session, shop, order, now=utcnow(),
        ttl_seconds=current_app.config["KHQR_TTL_SECONDS"],
        grace_seconds=current_app.config["PAYMENT_GRACE_SECONDS"],
    )


def _load_order(shop: Shop, public_token: str) -> Order:
    order = checkout.load_order(db.session, shop, public_token)
    if order is None:
        raise NotFound(_("We could not find that order."))
    return order


def _payment_context(shop: Shop, order: Order) -> dict[str, object]:
    txn = payments.latest_transaction(db.session, order) if order.payment_method == "khqr" else None
    now = utcnow()
    return {
        "shop": shop,
        "order": order,
        "txn": txn,
        "now": now,
        # An expired QR is still asked about: the page says so next to "Get a new QR code".
        "checking": payments.still_checking(txn, now),
        "refund_due": attention.has_due(db.session, order),
        "simulator": current_app.config["BAKONG_SIMULATOR"],
        "cart_back": guest_pay.cart_is_back(db.session, order),
        "guest_actions": True,
    }


@bp.get("/orders/<public_token>")
def order_page(public_token: str) -> str:
    shop: Shop = g.shop
    order = _load_order(shop, public_token)
    return render_template("guest/order.html", **_payment_context(shop, order))


@bp.get("/orders/<public_token>/status")
def order_status(public_token: str) -> Response:
    """The live regions of the order page (status and payment), for htmx polling."""
    shop: Shop = g.shop
    order = _load_order(shop, public_token)
    context = _payment_context(shop, order)
    return fragments(
        partial(PARTIALS, "order_status", shop=shop, order=order, oob=False),
        partial(PARTIALS, "payment_panel", oob=True, **context),
    )


@bp.post("/orders/<public_token>/khqr")
def regenerate_khqr(public_token: str) -> Response:
    """A new KHQR for an order whose QR expired before the guest paid; the expired one is
    checked with Bakong once more first (a late payment of it pays the order instead)."""
    shop: Shop = g.shop
    order = _load_order(shop, public_token)
    payments.renew_khqr(
        db.session, get_bus(current_app), shop, order,
        client=payments.recheck_client(current_app.config), now=utcnow(),
        ttl_seconds=current_app.config["KHQR_TTL_SECONDS"],
        grace_seconds=current_app.config["PAYMENT_GRACE_SECONDS"],
    )
    db.session.commit()
    _offer_deeplink(shop, order)
    if is_htmx():
        return fragments(partial(PARTIALS, "payment_panel", oob=False,
                                 **_payment_context(shop, order)))
    return redirect(url_for("guest.order_page", public_token=order.public_token), 303)


def _offer_deeplink(shop: Shop, order: Order) -> None:
    """With the shop's setting on, ask Bakong for the "open in a banking app" link of the
    order's fresh QR (after the order is committed: a slow Bakong holds no lock) and keep it.
    A failure shows the page without the link."""
    if not shop.khqr_deeplinks:
        return
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    try:
        guest_pay.attach_deeplink(
            shop, payments.latest_transaction(db.session, order),
            guest_pay.deeplink_client(current_app.config),
            callback=base + url_for("guest.order_page", slug=shop.slug,
                                    public_token=order.public_token),
            icon_url=base + url_for("static", filename="img/icon-192.png"), now=utcnow())
        db.session.commit()
    except Exception:  # never block the payment page on the extra
        db.session.rollback()
        current_app.logger.exception("storing the deeplink of order %s failed", order.id)


@bp.get("/orders/<public_token>/khqr/<md5>.png")
def khqr_image(public_token: str, md5: str) -> Response:
    """The order's KHQR card as an image to save and pick from the gallery in a banking app.
    The URL names the QR (its md5), so the image never changes: cached."""
    shop: Shop = g.shop
    order = _load_order(shop, public_token)
    txn = guest_pay.card_transaction(db.session, order, md5, utcnow())
    png = khqr_card.render(txn.qr_string, shop.khqr_merchant_name or shop.name,
                           format_money(txn.amount, txn.currency), txn.currency,
                           f"#{order.seq} · {order.number}")
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600, immutable"
    response.headers["Content-Disposition"] = f'inline; filename="khqr-{order.number}.png"'
    response.set_etag(txn.md5)
    return response.make_conditional(request)


@bp.post("/orders/<public_token>/cash")
def switch_to_cash(public_token: str) -> Response:
    """The guest pays cash at the counter instead: the QR is withdrawn (checked once more)."""
    shop: Shop = g.shop
    order = _load_order(shop, public_token)
    try:
        guest_pay.switch_to_cash(db.session, get_bus(current_app), order,
                                 client=payments.recheck_client(current_app.config),
                                 now=utcnow())
        db.session.commit()
    except DomainError:
        db.session.commit()  # what the check found (a payment) is kept
        raise
    return redirect(url_for("guest.order_page", public_token=order.public_token), 303)


@bp.post("/orders/<public_token>/cancel")
def cancel_order(public_token: str) -> Response:
    """The guest cancels the unpaid order; its items go back into the table's cart."""
    shop: Shop = g.shop
    order = _load_order(shop, public_token)
    try:
        done = guest_pay.cancel_by_guest(db.session, get_bus(current_app), order,
                                         client=payments.recheck_client(current_app.config),
                                         now=utcnow())
        db.session.commit()
    except DomainError:
        db.session.commit()
        raise
    if done.restored is not None and done.restored.left_out:
        flash(_("Not put back in the cart (no longer on the menu or sold out): %(names)s",
                names=", ".join(done.restored.left_out)))
    return redirect(url_for("guest.order_page", public_token=order.public_token), 303)


@bp.get("/orders/<public_token>/receipt")
def receipt(public_token: str) -> str:
    """The e-receipt of a paid order, printable; reachable from its URL for good."""
    shop: Shop = g.shop
    order = _load_order(shop, public_token)
    return render_template("guest/receipt.html", shop=shop,
                           receipt=guest_pay.receipt(db.session, shop, order))


@bp.post("/lang")
def set_language() -> Response:
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        raise DomainError(_("Unknown language."), 400)
    back = safe_next(request.form.get("next"), f"/s/{g.shop.slug}/") or url_for("guest.menu")
    response = redirect(back, 303)
    response.set_cookie(current_app.config["LANG_COOKIE_NAME"], lang, max_age=365 * 86400,
                        httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response
