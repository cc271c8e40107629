"""The guest's phone: scan, menu, shared cart, checkout, order page. No login."""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from shopqr.extensions import db, limiter
from shopqr.guest import bp, menu_cache
from shopqr.i18n import localized
from shopqr.models import (
    SERVICE_KINDS,
    OptionGroup,
    Order,
    Product,
    Shop,
    ShopTable,
    TableSession,
    utcnow,
)
from shopqr.services import (
    DomainError,
    NotFound,
    attention,
    availability,
    cart,
    charges,
    checkout,
    get_for_shop,
    guest_pay,
    hotpath,
    khqr_card,
    payments,
    service_requests,
    tables,
)
from shopqr.services import menu as menu_service
from shopqr.services.events import get_bus
from shopqr.services.hotpath import GuestSession, GuestShop
from shopqr.services.money import format_money
from shopqr.services.numbering import business_date
from shopqr.web import fragments, is_htmx, load_shop, partial, safe_next

PARTIALS = "guest/_partials.html"
# Endpoints that load the shop and the phone's table session in one statement themselves
# (services/hotpath.py); the blueprint loads ``g.shop`` for the others.
HOT = frozenset({"guest.scan", "guest.counter_scan", "guest.menu", "guest.product_sheet",
                 "guest.add_to_cart", "guest.view_cart", "guest.cart_badge",
                 "guest.change_quantity", "guest.change_note", "guest.remove_item",
                 "guest.order_status", "guest.ask_service", "guest.service_state",
                 "guest.cart_watch", "guest.name_phone"})
# A phone whose table session ended this long ago or less joins the table's current session
# from the menu link (the group ordering again after everything was paid and served); after
# that only a scan of the table's QR code does.
REJOIN_SECONDS = 3 * 3600


def _cookie_path(shop: Shop | GuestShop) -> str:
    return f"/s/{shop.slug}/"


def _require_open(shop: Shop) -> Response | None:
    if not shop.subscription_ok(business_date(utcnow())):
        return Response(render_template("guest/unavailable.html", shop=shop), 403)
    return None


def _check_session(shop: Shop | GuestShop, session: TableSession | GuestSession | None) -> None:
    """A friendly page unless the phone's cookie names an active session of an open shop."""
    if not shop.subscription_ok(business_date(utcnow())):
        raise DomainError(_("Ordering by QR code is unavailable at the moment. Please order at "
                            "the counter."), 403)
    if session is None:
        raise DomainError(_("Scan the QR code on your table to start ordering."), 403)
    if not session.is_active and session.table_id is None:
        raise DomainError(_("Your takeaway order is complete. Scan the QR code at the counter "
                            "to order again."), 410)
    if not session.is_active:
        raise DomainError(
            _("This table's session has ended. Scan the QR code on your table to start again."),
            410,
        )


def _guest_cookie() -> str | None:
    return request.cookies.get(current_app.config["GUEST_COOKIE_NAME"])


def _phone_cookie() -> str | None:
    """The token of this phone's own cookie (docs/phones.md), if it is one this app sets."""
    token = request.cookies.get(current_app.config["PHONE_COOKIE_NAME"])
    return token if hotpath.is_phone_token(token) else None


def _phone_token() -> str:
    """This phone's token; a phone without one gets a new one (set as a cookie on the way out,
    ``_set_phone_cookie``)."""
    token = _phone_cookie() or getattr(g, "new_phone_token", None)
    if token is None:
        token = g.new_phone_token = secrets.token_urlsafe(32)
    return token


@bp.after_request
def _set_phone_cookie(response: Response) -> Response:
    token = getattr(g, "new_phone_token", None)
    if token is not None and g.shop_slug is not None:
        response.set_cookie(current_app.config["PHONE_COOKIE_NAME"], token,
                            max_age=12 * 3600, path=f"/s/{g.shop_slug}/", httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _guest_session(shop: Shop) -> TableSession:
    """The table session named by this phone's cookie (ORM); a friendly page if there is none."""
    session = tables.session_by_token(db.session, shop, _guest_cookie())
    _check_session(shop, session)
    return session


def _hot_guest(*, check: bool = True) -> tuple[GuestShop, GuestSession | None]:
    """The shop and this phone's table session, in one statement (the hot paths)."""
    shop, session = hotpath.guest(db.session, g.shop_slug, _guest_cookie(), _phone_cookie())
    return _found(shop, session, check=check)


def _found(shop: GuestShop | None, session: GuestSession | None, *,
           check: bool = True) -> tuple[GuestShop, GuestSession | None]:
    if shop is None:
        abort(404)
    g.shop = shop
    if check:
        _check_session(shop, session)
    return shop, session


def _fragment_key(kind: str, shop: GuestShop, session_id: int, cart_version: int) -> tuple:
    # every shop value the fragments show is in the key, read before the fragment's data (the
    # taxes and charges too: saving them also bumps menu_version; docs/taxes.md)
    return (kind, shop.id, shop.slug, session_id, cart_version, shop.menu_version,
            shop.currency, shop.khr_per_usd, shop.khqr_ready, str(get_locale()),
            charges.settings_of(shop))


def _badge(shop: GuestShop, session: GuestSession, *, oob: bool,
           fresh: hotpath.Badge | None = None) -> Markup:
    """The cart button, cached on the cart's version. ``fresh``: a badge just read (after a
    change) is rendered and cached under the version it was read with."""
    cache = menu_cache.table_fragments(current_app)
    version = fresh.cart_version if fresh is not None else session.cart_version

    def render() -> Markup:
        summary = fresh if fresh is not None else hotpath.badge(db.session, session.id, shop)
        return _cart_button(shop, summary, oob)

    return cache.get(_fragment_key(f"badge-{oob}", shop, session.id, version), render)


def _toast(message: str) -> Markup:
    """The toast partial ("Added Iced Latte"), from a shell with a hole for the message."""
    shell = menu_cache.for_app(current_app).get(
        ("toast",), lambda: menu_cache.Shell(partial(PARTIALS, "toast",
                                                     message=menu_cache.hole("message"))))
    return shell.fill({"message": escape(message)})


def _cart_button(shop: GuestShop, summary: hotpath.Badge, oob: bool) -> Markup:
    """The cart button's markup (``cart_button`` in the partials), from a shell rendered once per
    shop, language and state (empty or not) with holes for the count, total and version: what
    an add renders every time, without a template call (README "Benchmark")."""
    has_items = summary.count > 0
    shell = menu_cache.for_app(current_app).get(
        ("cart-button", shop.id, shop.slug, shop.currency, str(get_locale()), has_items, oob),
        lambda: menu_cache.Shell(partial(
            PARTIALS, "cart_button", shop=shop, count=menu_cache.hole("count"),
            total=menu_cache.hole("total"), has_items=has_items,
            cart_version=menu_cache.hole("version"), oob=oob)))
    return shell.fill({"count": Markup(int(summary.count)),
                       "total": escape(format_money(summary.total, shop.currency)),
                       "version": Markup(int(summary.cart_version))})


def _cart_panel(shop: GuestShop, session: GuestSession, cart_version: int,
                phone: hotpath.GuestPhone | None = None) -> Markup:
    """The cart panel, cached on the cart's version (the same on every phone of the table)
    with holes for this phone's name form, its CSRF token and a fresh checkout key. (A
    takeaway phone's panel is keyed on its own session: private, and without names.)"""
    closed = _closed(shop)  # a line outside its hours says so (docs/availability.md)
    shell = menu_cache.table_fragments(current_app).get(
        (*_fragment_key("panel", shop, session.id, cart_version), closed.key),
        lambda: menu_cache.Shell(render_template(
            "guest/_cart_panel_shell.html", shop=shop, takeaway=session.is_takeaway,
            summary=cart.summarize(db.session, session, shop), closed=closed,
            checkout_key=menu_cache.hole("checkout_key"),
            phone_form=menu_cache.hole("phone"),
            csrf_token=lambda: menu_cache.hole("csrf"))))
    csrf = escape(generate_csrf())
    return shell.fill({"csrf": csrf, "checkout_key": escape(secrets.token_urlsafe(24)),
                       "phone": _phone_form(shop, phone or session.phone, csrf)})


def _phone_form(shop: GuestShop | Shop, phone: hotpath.GuestPhone | None,
                csrf: Markup) -> Markup:
    """This phone's name form ("Your name (optional)"), cached per name and number with a hole
    for the CSRF token."""
    shell = menu_cache.table_fragments(current_app).get(
        ("phone-form", shop.slug, str(get_locale()), phone and phone.seq, phone and phone.name),
        lambda: menu_cache.Shell(partial(PARTIALS, "phone_form", shop=shop, phone=phone,
                                         csrf=menu_cache.hole("csrf"))))
    return shell.fill({"csrf": csrf})


def _cart_regions(shop: GuestShop, session: GuestSession) -> list:
    """After a change (committed): the cart panel and the badge (out-of-band), at the version
    read now."""
    fresh = hotpath.badge(db.session, session.id, shop)
    return [_cart_panel(shop, session, fresh.cart_version),
            _badge(shop, session, oob=True, fresh=fresh)]


def _order_strip(shop: GuestShop, session: GuestSession) -> Markup:
    """The table's orders with their statuses; cached on the rows themselves. Before the
    table's first checkout there is nothing to read."""
    if not session.has_orders:
        return Markup("")
    rows = hotpath.session_orders(db.session, session.id)
    if not rows:
        return Markup("")
    takeaway = session.is_takeaway
    return menu_cache.table_fragments(current_app).get(
        ("orders", shop.slug, str(get_locale()), takeaway, tuple(tuple(row) for row in rows)),
        lambda: partial(PARTIALS, "table_orders", shop=shop, orders=rows, takeaway=takeaway))


@bp.get("/t/<qr_token>")
def scan(qr_token: str) -> Response:
    """A phone scanned a table's QR code: join the table's session (or start it). A phone
    joining the session for the first time gets the next number ("Phone 2")."""
    phone = _phone_token()
    found = hotpath.scan(db.session, g.shop_slug, qr_token, phone)
    if found is None:
        load_shop(g.shop_slug)  # an unknown shop: the plain 404
        raise NotFound(_("This QR code is not valid any more. Please ask the staff for help."))
    shop, token = found.shop, found.token
    g.shop = shop
    closed = _require_open(shop)
    if closed is not None:
        return closed
    if found.session_id is None:  # the first phone of a group starts the table's session
        session = tables.join_or_start(db.session, db.session.get(ShopTable, found.table_id))
        hotpath.join_phone(db.session, session.id, phone)
        token = session.token
        db.session.commit()
    elif not found.joined:
        hotpath.join_phone(db.session, found.session_id, phone)
        db.session.commit()
    return _to_menu_with(shop, token)


@bp.get("/c/<counter_token>")
def counter_scan(counter_token: str) -> Response:
    """A phone scanned the counter's QR code (takeaway): the same menu with no table, and a
    cart of the phone's own. The phone keeps its takeaway session when it scans again; any
    other phone (or this one after its order was picked up) starts a new one. Two guests at
    the counter never share a cart (docs/takeaway.md)."""
    found = hotpath.counter(db.session, g.shop_slug, counter_token, _guest_cookie())
    if found is None:
        load_shop(g.shop_slug)  # an unknown shop: the plain 404
        raise NotFound(_("This QR code is not valid any more. Please ask the staff for help."))
    shop, token = found
    g.shop = shop
    closed = _require_open(shop)
    if closed is not None:
        return closed
    if token is None:
        token = tables.start_takeaway(db.session, shop.id).token
        db.session.commit()
    return _to_menu_with(shop, token)


def _to_menu_with(shop: GuestShop, token: str) -> Response:
    """To the menu, with the cookie that makes this phone one of the table's group."""
    response = redirect(url_for("guest.menu"), 303)
    response.set_cookie(
        current_app.config["GUEST_COOKIE_NAME"],
        token,
        max_age=12 * 3600,
        path=_cookie_path(shop),
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def _rejoin(shop: GuestShop, ended: GuestSession) -> Response:
    """The menu link of a phone whose table session ended (everything paid and served, or
    staff closed the table): the phone is at that table, so it joins the table's current
    session, or starts one, as a scan of the table's QR code would; with a fresh cookie. Only
    that table of that shop (the old cookie named them, see ``hotpath.guest``), and only for a
    while after the session ended; else the friendly page asks for a scan. The old session's
    cart and orders are never shown to the new session, nor the new one's to a page still
    open on the old one (its requests are refused until it reloads the menu)."""
    old = db.session.get(TableSession, ended.id)
    recent = old is not None and old.closed_at is not None and \
        (utcnow() - old.closed_at).total_seconds() <= REJOIN_SECONDS
    if ended.is_takeaway:  # the takeaway guest orders again: a new cart of the phone's own
        if not recent or old.shop_id != shop.id:
            _check_session(shop, ended)  # the 410 page: scan the QR code at the counter
        token = tables.start_takeaway(db.session, shop.id).token
        db.session.commit()
        return _to_menu_with(shop, token)
    table = db.session.get(ShopTable, ended.table_id)
    if not recent or table is None or not table.is_active or table.shop_id != shop.id:
        _check_session(shop, ended)  # the 410 page: scan the QR code on your table
    session = tables.join_or_start(db.session, table)
    hotpath.join_phone(db.session, session.id, _phone_token())
    token = session.token
    db.session.commit()
    return _to_menu_with(shop, token)


@bp.get("/menu")
def menu() -> str | Response:
    shop, session = _hot_guest(check=False)
    closed = _require_open(shop)
    if closed is not None:
        return closed
    if session is not None and not session.is_active:
        return _rejoin(shop, session)
    _check_session(shop, session)
    takeaway = session.is_takeaway
    return _menu_shell(shop, _closed(shop), takeaway=takeaway).fill({
        "csrf": escape(generate_csrf()),
        "table": escape(_("Takeaway") if takeaway else localized(session.table, "name")),
        "orders": _order_strip(shop, session),
        "badge": _badge(shop, session, oob=False),
        "service": Markup("") if takeaway else _service_region(shop, session.service_calls),
    })


def _closed(shop: GuestShop | Shop) -> availability.Slice:
    """What is outside its hours right now (docs/availability.md): the menu's cache keys hold
    it, so a window opening or closing is a new key, never a stale page."""
    return availability.closed_now(db.session, shop.id, shop.menu_version)


def _menu_shell(shop: GuestShop, closed: availability.Slice, *,
                takeaway: bool = False) -> menu_cache.Shell:
    """The menu page with holes for the table's and the phone's own parts, cached. A takeaway
    phone's page has no "call staff" box (the staff are at the counter)."""
    locale = str(get_locale())
    return menu_cache.for_app(current_app).get(
        ("shell", shop.id, shop.menu_version, locale, shop.slug, shop.name, shop.name_km,
         shop.currency, takeaway, closed.key),
        lambda: menu_cache.Shell(render_template(
            "guest/menu.html",
            shop=shop,
            takeaway=takeaway,
            stamp=closed.stamp(shop.menu_version),
            menu_html=_menu_html(shop, closed),
            table_name=menu_cache.hole("table"),
            orders_html=menu_cache.hole("orders"),
            badge_html=menu_cache.hole("badge"),
            service_html=menu_cache.hole("service"),
            csrf_token=lambda: menu_cache.hole("csrf"),
        )))


def _menu_html(shop: GuestShop | Shop, closed: availability.Slice | None = None) -> Markup:
    """Categories and product cards: the same for every guest of the shop at the same menu
    version and hours slice, so cached."""
    if closed is None:
        closed = _closed(shop)
    return menu_cache.for_app(current_app).get(
        ("body", shop.id, shop.menu_version, str(get_locale()), closed.key),
        lambda: partial(PARTIALS, "menu_body", shop=shop, closed=closed,
                        categories=menu_service.categories(db.session, shop)))


@bp.get("/menu/changes")
def menu_changes() -> Response:
    """Polled by open menus: nothing (204) until the menu version or what is outside its hours
    moves (``v``: the stamp the page shows), then every product card and category's hours
    out-of-band (sold-out and "from 6:00" badges appear without a reload) and the new stamp."""
    shop: Shop = g.shop
    closed = _closed(shop)
    stamp = closed.stamp(shop.menu_version)
    if request.args.get("v") == stamp:
        return Response(status=204)
    categories = menu_service.categories(db.session, shop)
    cards = [partial(PARTIALS, "product_card", shop=shop, product=product, oob=True,
                     closed=closed.product_label(product.id))
             for category in categories
             for product in category.products if not product.is_deleted]
    notes = [partial(PARTIALS, "category_hours", category=category, closed=closed, oob=True)
             for category in categories if any(not p.is_deleted for p in category.products)]
    # A price or the taxes and charges may have changed: the cart button's total too, and an
    # open cart panel reloads ("cart-changed"; docs/taxes.md).
    guest_shop, session = hotpath.guest(db.session, shop.slug, _guest_cookie(), _phone_cookie())
    if guest_shop is not None and session is not None and session.is_active:
        cards.append(_badge(guest_shop, session, oob=True))
    return fragments(*cards, *notes,
                     partial(PARTIALS, "menu_version", shop=shop, oob=True, stamp=stamp),
                     headers={"HX-Trigger": "cart-changed"})


@bp.get("/menu/products/<int:product_id>")
def product_sheet(product_id: int) -> str | Markup:
    shop, _session = _hot_guest()
    closed = _closed(shop).product_label(product_id)  # "from 6:00": outside its hours
    if not is_htmx():
        return render_template("guest/product.html", shop=shop, closed=closed,
                               product=_sheet_product(shop, product_id))
    # The same for every guest of the shop but the CSRF token: cached per menu version (every
    # menu change bumps it: a price, an option, sold out) and whether the product is outside
    # its hours now, with a hole for the token.
    shell = menu_cache.for_app(current_app).get(
        ("sheet", shop.id, product_id, shop.menu_version, str(get_locale()), shop.slug,
         shop.currency, closed),
        lambda: menu_cache.Shell(render_template(
            "guest/_product_sheet_shell.html", shop=shop, closed=closed,
            product=_sheet_product(shop, product_id),
            csrf_token=lambda: menu_cache.hole("csrf"))))
    return shell.fill({"csrf": escape(generate_csrf())})


def _sheet_product(shop: GuestShop, product_id: int) -> Product:
    return get_for_shop(
        db.session, Product, shop, product_id, Product.is_deleted.is_(False),
        message=cart.NOT_ON_MENU,
        options=(selectinload(Product.option_groups).selectinload(OptionGroup.options),))


@bp.post("/cart/items")
def add_to_cart() -> Response:
    # the cart's lines of the product come with the session: the add writes without a read
    shop, session, seen = hotpath.guest_adding(db.session, g.shop_slug, _guest_cookie(),
                                               _phone_cookie(), request.form.get("product_id"))
    _found(shop, session)
    added = hotpath.add_item(
        db.session,
        get_bus(current_app),
        session,
        request.form.get("product_id"),
        cart.form_choices(request.form),
        request.form.get("quantity", "1"),
        request.form.get("note"),
        menu_version=shop.menu_version,
        phone_token=_phone_token(),
        seen=seen,
    )
    name = localized(added.product, "name")
    db.session.commit()  # first: nothing below holds the cart's lock
    if not is_htmx():
        return redirect(url_for("guest.menu"), 303)
    # The cart dialog loads its panel when opened; only the badge changes here.
    fresh = hotpath.badge_after_add(db.session, session.id, shop, added)
    return fragments(
        _badge(shop, session, oob=True, fresh=fresh),
        _toast(_("Added %(name)s", name=name)),
        headers={"HX-Trigger": "cart-changed"},
    )


@bp.get("/cart")
def view_cart() -> str | Response:
    shop, session = _hot_guest()
    if is_htmx():
        return fragments(_cart_panel(shop, session, session.cart_version),
                         _badge(shop, session, oob=True))
    summary = cart.summarize(db.session, session, shop)
    return render_template("guest/cart.html", shop=shop, summary=summary,
                           takeaway=session.is_takeaway, closed=_closed(shop),
                           checkout_key=secrets.token_urlsafe(24), error=None,
                           phone_form=_phone_form(shop, session.phone,
                                                  escape(generate_csrf())))


@bp.post("/cart/name")
def name_phone() -> Response:
    """This phone gives a name (or takes it away): shown on the cart lines it added, on every
    phone at the table."""
    shop, session = _hot_guest()
    phone = hotpath.name_phone(db.session, get_bus(current_app), session, _phone_token(),
                               request.form.get("name"))
    db.session.commit()  # first: reading back and rendering hold no lock
    if not is_htmx():
        return redirect(url_for("guest.view_cart"), 303)
    fresh = hotpath.badge(db.session, session.id, shop)
    return fragments(_cart_panel(shop, session, fresh.cart_version, phone),
                     _badge(shop, session, oob=True, fresh=fresh),
                     partial(PARTIALS, "toast", message=_("Name saved") if phone.name
                             else _("Name removed")))


@bp.get("/cart/watch")
def cart_watch() -> Response:
    """Polled by every phone at the table (every 2 s): an empty 204 while the cart's version is
    the one the phone shows, else the new badge and watcher, and "cart-changed" (an open cart
    panel reloads). One statement."""
    shop, session = _hot_guest()
    if request.args.get("v", type=int) == session.cart_version:
        return Response(status=204)
    return fragments(_badge(shop, session, oob=True), headers={"HX-Trigger": "cart-changed"})


@bp.get("/cart/badge")
def cart_badge() -> str:
    shop, session = _hot_guest()
    return _badge(shop, session, oob=False)


def _after_cart_change(shop: GuestShop, session: GuestSession) -> Response:
    db.session.commit()  # first: reading back and rendering hold no lock
    if not is_htmx():
        return redirect(url_for("guest.view_cart"), 303)
    return fragments(*_cart_regions(shop, session))


@bp.post("/cart/items/<int:item_id>/quantity")
def change_quantity(item_id: int) -> Response:
    shop, session = _hot_guest()
    if "delta" in request.form:  # the cart's −/+ (relative: phones tapping at once add up)
        hotpath.step_quantity(db.session, get_bus(current_app), session, item_id,
                              request.form.get("delta"))
    else:
        hotpath.set_quantity(db.session, get_bus(current_app), session, item_id,
                             request.form.get("quantity"))
    return _after_cart_change(shop, session)


@bp.post("/cart/items/<int:item_id>/note")
def change_note(item_id: int) -> Response:
    shop, session = _hot_guest()
    hotpath.set_note(db.session, get_bus(current_app), session, item_id,
                     request.form.get("note"))
    return _after_cart_change(shop, session)


@bp.post("/cart/items/<int:item_id>/delete")
def remove_item(item_id: int) -> Response:
    shop, session = _hot_guest()
    hotpath.remove_item(db.session, get_bus(current_app), session, item_id)
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
        # read before the commit expires them (else two more SELECTs after it)
        deeplinks, public_token = needs_qr and shop.khqr_deeplinks, order.public_token
        db.session.commit()
        if deeplinks:
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
        public_token = order.public_token
    return redirect(url_for("guest.order_page", public_token=public_token), 303)


def _checkout_refused(shop: Shop, session: TableSession, exc: DomainError) -> tuple[str, int]:
    """The cart again, with the message and a fresh checkout key."""
    summary = cart.summarize(db.session, session, shop)
    _, mine = hotpath.guest(db.session, shop.slug, _guest_cookie(), _phone_cookie())
    form = _phone_form(shop, mine.phone if mine is not None else None, escape(generate_csrf()))
    return render_template("guest/cart.html", shop=shop, summary=summary, phone_form=form,
                           takeaway=session.is_takeaway, closed=_closed(shop),
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
    # the call button, for a phone of a table's current group (not an old group's page)
    _, mine = hotpath.guest(db.session, shop.slug, _guest_cookie())
    service_html = _service_region(shop, mine.service_calls) \
        if mine is not None and mine.is_active and not mine.is_takeaway else None
    state = hotpath.order_state(db.session, shop.slug, public_token, utcnow())
    return render_template("guest/order.html", **_payment_context(shop, order),
                           state=state.fingerprint if state else None,
                           service_html=service_html)


@bp.get("/orders/<public_token>/status")
def order_status(public_token: str) -> Response:
    """The live regions of the order page (status and payment), for htmx polling. The page
    sends the fingerprint of what it shows (``v``): while nothing changed, the answer is an
    empty 204, which htmx leaves alone. Equal fingerprints mean equal regions, so the regions
    are rendered once per fingerprint and language (the table's phones all poll the same
    order), with a hole for the phone's CSRF token; a running QR countdown is always fresh."""
    state = hotpath.order_state(db.session, g.shop_slug, public_token, utcnow())
    if state is None:
        raise NotFound(_("We could not find that order."))
    if request.args.get("v") == state.fingerprint:
        return Response(status=204)
    steps = request.args.get("steps") == "1"

    def render() -> menu_cache.Shell:
        shop = g.shop = load_shop(g.shop_slug)
        order = _load_order(shop, public_token)
        return menu_cache.Shell(render_template(
            "guest/_order_live_shell.html", steps=steps, state=state.fingerprint,
            csrf_token=lambda: menu_cache.hole("csrf"), **_payment_context(shop, order)))

    key = ("status", g.shop_slug, public_token, state.fingerprint, steps, str(get_locale()))
    shell = render() if state.counts_down else \
        menu_cache.table_fragments(current_app).get(key, render)
    return fragments(shell.fill({"csrf": escape(generate_csrf())}))


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


# --- call staff, ask for the bill ---

def _service_region(shop: GuestShop | Shop, calls: int) -> Markup:
    """The table's open requests ("Staff is coming"); the same for every table with the same
    open kinds, so cached."""
    return menu_cache.table_fragments(current_app).get(
        ("service", shop.slug, str(get_locale()), calls),
        lambda: partial(PARTIALS, "service_status", shop=shop, calls=calls,
                        kinds=service_requests.open_kinds(calls)))


def _phone_key() -> str:
    """Rate limits count per phone (its table cookie): a café's guests share one address."""
    return _guest_cookie() or request.remote_addr or "unknown"


@bp.post("/service")
@limiter.limit("8 per minute", key_func=_phone_key)
def ask_service() -> Response:
    """Call staff or ask for the bill: one open request per table and kind."""
    shop, session = _hot_guest()
    kind = request.form.get("kind")
    service_requests.request_service(db.session, get_bus(current_app), session, kind,
                                     request.form.get("note"), now=utcnow())
    db.session.commit()
    if not is_htmx():
        back = safe_next(request.form.get("next"), f"/s/{shop.slug}/")
        return redirect(back or url_for("guest.menu"), 303)
    calls = session.service_calls | SERVICE_KINDS[str(kind)]
    message = _("Staff is coming") if kind == "staff" else _("Bill is coming")
    return fragments(_service_region(shop, calls), partial(PARTIALS, "toast", message=message))


@bp.get("/service")
def service_state() -> Response | Markup:
    """Polled while a request is open: 204 until the open kinds change (``v``: the ones the
    page shows), then the region; one statement."""
    shop, session = _hot_guest(check=False)
    calls = session.service_calls if session is not None and session.is_active else 0
    if request.args.get("v", type=int) == calls:
        return Response(status=204)
    return _service_region(shop, calls)
