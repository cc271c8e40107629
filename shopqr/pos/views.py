"""The cashier's POS: tables, orders awaiting payment, cash, walk-in orders, voids."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.live import LiveScreen, add_staff_socket
from shopqr.models import Order, Shop, utcnow
from shopqr.pos import bp
from shopqr.pos.tablemap import TICKET_FOR_KEY, map_region, ticket_for
from shopqr.services import (
    DomainError,
    attention,
    availability,
    cart,
    charges,
    checkout,
    get_for_shop,
    guest_pay,
    hotpath,
    menu,
    payments,
    pos,
    receipts,
    reports,
    service_requests,
    shops,
    tablemap,
    till,
)
from shopqr.services.events import get_bus
from shopqr.staff.auth import staff_required
from shopqr.web import fragments, is_htmx, partial

PARTIALS = "pos/_partials.html"
TICKET_KEY = "pos_ticket"
MAX_TICKET_LINES = till.MAX_TICKET_LINES


@bp.app_template_global()
def till_requires_choice(product: object) -> bool:
    return till.requires_choice(product)  # type: ignore[arg-type]


@bp.app_template_global()
def payment_status_label(status: str) -> str:
    return pos.payment_status_label(status)


@bp.app_template_global()
def quick_cash(shop: Shop, total: object) -> list[pos.QuickCash]:
    return pos.quick_cash(shop, total)  # type: ignore[arg-type]


def _awaiting(shop: Shop) -> dict[str, object]:
    """What the cashier should act on (see attention.awaiting)."""
    due, orders = attention.awaiting(db.session, shop)
    return {"payments": due, "orders": orders}


def live_regions(shop: Shop, *, oob: bool) -> Markup:
    g.pop("drawer_shift", None)  # a socket renders again and again in one request: read anew
    waiting = _awaiting(shop)
    return Markup("").join([
        map_region(shop, oob=oob),
        partial(PARTIALS, "awaiting", shop=shop, oob=oob, **waiting),
        partial(PARTIALS, "awaiting_badge", count=len(waiting["orders"]) + len(waiting["payments"]),
                oob=True),
    ])


# --- the ticket for walk-in orders (kept in the signed session cookie; priced from the DB) ---

def _ticket() -> list[dict]:
    raw = session.get(TICKET_KEY)
    return raw if isinstance(raw, list) else []


def _ticket_region(shop: Shop, *, error: str | None = None, oob: bool = False) -> Markup:
    items = checkout.ticket_items(db.session, shop, _ticket())
    lines = [(i, cart.unit_price(i.product, i.options) * i.quantity) for i in items]
    totals = charges.totals_for(shop, sum((amount for _, amount in lines),
                                          start=cart.Decimal("0")))
    return partial(PARTIALS, "ticket", shop=shop, lines=lines, total=totals.total, totals=totals,
                   tables=shops.active_tables(db.session, shop), bound=ticket_for(shop),
                   error=error, checkout_key=secrets.token_urlsafe(24), oob=oob)


@bp.get("/")
@staff_required("pos")
def index() -> str:
    shop: Shop = g.shop
    tab = request.args.get("tab")
    return render_template("pos/index.html", shop=shop, user=g.staff,
                           table_map=map_region(shop, oob=False), awaiting=_awaiting(shop),
                           open_tab=tab if tab in ("menu", "tables", "awaiting") else None,
                           menu=menu.categories(db.session, shop, with_options=True),
                           closed=availability.closed_now(db.session, shop.id,
                                                          shop.menu_version),
                           ticket=_ticket_region(shop))


@bp.get("/regions")
@staff_required("pos")
def regions() -> Markup:
    return live_regions(g.shop, oob=False)


def _done(message: str | None = None) -> Response:
    """After an action: commit, then the refreshed live regions (htmx) or the page again."""
    db.session.commit()
    if not is_htmx():
        return redirect(url_for("pos.index"), 303)
    parts = [live_regions(g.shop, oob=True)]
    if message:
        parts.append(partial("guest/_partials.html", "toast", message=message))
    return fragments(*parts)


@bp.post("/orders/<int:order_id>/cash")
@staff_required("pos")
def cash_received(order_id: int) -> Response:
    """The cashier took the money. With the shop's "print a receipt after cash" setting on, on
    to the receipt's print view; else back where the cashier was, saying the change."""
    shop: Shop = g.shop
    order, change = pos.confirm_cash(
        db.session, get_bus(current_app), shop, order_id, usd=request.form.get("usd"),
        khr=request.form.get("khr"), by=g.staff, now=utcnow(),
        instead=request.form.get("instead") == "1")
    message = _("#%(number)s paid: %(change)s", number=order.seq,
                change=change.summary(shop.currency))
    if shop.print_receipt_after_cash:
        db.session.commit()
        flash(message)
        return _go(url_for("pos.receipt", order_id=order.id, print=1))
    if request.form.get("next") == "order":
        db.session.commit()
        flash(message)
        return _go(url_for("pos.order_detail", order_id=order.id))
    return _done(message)


def _go(target: str) -> Response:
    """Navigate: htmx is told to load ``target``; a plain form is redirected to it."""
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, 303)


@bp.post("/orders/<int:order_id>/change")
@staff_required("pos")
def preview_change(order_id: int) -> Markup:
    """Live change calculation while the cashier types (changes nothing)."""
    order = get_for_shop(db.session, Order, g.shop, order_id, message=pos.ORDER_NOT_FOUND,
                         options=(selectinload(Order.lines),))
    try:
        change = pos.compute_change(g.shop, order.total, request.form.get("usd"),
                                    request.form.get("khr"))
        return partial(PARTIALS, "change_preview", order=order, change=change, error=None,
                       shop=g.shop)
    except DomainError as exc:
        return partial(PARTIALS, "change_preview", order=order, change=None, error=exc.message,
                       shop=g.shop)


@bp.post("/orders/<int:order_id>/cancel")
@staff_required("pos")
def cancel(order_id: int) -> Response:
    order = pos.cancel_order(db.session, get_bus(current_app), g.shop, order_id,
                             reason=request.form.get("reason"), by=g.staff, now=utcnow())
    return _done(_("#%(number)s cancelled", number=order.seq))


@bp.post("/payments/<int:txn_id>/resolve")
@staff_required("pos")
def resolve_payment(txn_id: int) -> Response:
    """A payment that needed attention: refunded in the banking app, kept, or accepted."""
    txn = attention.resolve(db.session, get_bus(current_app), g.shop, txn_id,
                            action=request.form.get("action", ""),
                            note=request.form.get("note"), by=g.staff, now=utcnow())
    message = _("#%(number)s resolved", number=txn.order.seq)
    if request.form.get("next") == "order":
        db.session.commit()
        return redirect(url_for("pos.order_detail", order_id=txn.order_id), 303)
    return _done(message)


@bp.post("/tables/<int:table_id>/close")
@staff_required("pos")
def close_table(table_id: int) -> Response:
    """End the table's session; with orders unpaid only once the cashier confirmed
    (``unpaid_ok``, docs/tablemap.md). From the table sheet (``next=map``) back to the map."""
    table = tablemap.close_group(db.session, get_bus(current_app), g.shop, table_id, by=g.staff,
                                 unpaid_ok=request.form.get("unpaid_ok") == "1")
    if request.form.get("next") == "map":
        db.session.commit()
        flash(_("%(table)s is closed.", table=table.name))
        return _go(url_for("pos.index", tab="tables"))
    return _done()


@bp.post("/requests/<int:request_id>/handled")
@staff_required("pos")
def request_handled(request_id: int) -> Response:
    """A guest's call for staff or for the bill was seen to."""
    found = service_requests.handle(db.session, get_bus(current_app), g.shop, request_id,
                                    by=g.staff, now=utcnow())
    return _done(_("%(table)s: handled", table=found.table.name))


def _order_context(shop: Shop, order_id: int, *,
                   order: Order | None = None, state: str | None = None) -> dict[str, object]:
    """What the order page and its live region show; ``order`` and ``state`` when the caller
    read them already (the poll)."""
    if order is None:
        order = get_for_shop(db.session, Order, shop, order_id, message=pos.ORDER_NOT_FOUND,
                             options=(selectinload(Order.lines),))
    txn = payments.latest_transaction(db.session, order)
    now = utcnow()
    if state is None:
        state = _fingerprint(shop, order, now)
    return {"shop": shop, "order": order, "now": now,
            "txn": txn if order.payment_method == "khqr" else None,
            "checking": payments.still_checking(txn, now),
            "simulator": current_app.config["BAKONG_SIMULATOR"],
            "state": state}


def _fingerprint(shop: Shop, order: Order, now: datetime) -> str | None:
    found = hotpath.order_state(db.session, shop.slug, order.public_token, now)
    return found.fingerprint if found else None


@bp.get("/orders/<int:order_id>")
@staff_required("pos")
def order_detail(order_id: int, refund_error: str | None = None) -> str:
    """One order: its payment (the cash tender, or the KHQR with "take cash instead"), its
    lines, the receipt once paid, its refunds (``refund_error``: the refund form's message)."""
    shop: Shop = g.shop
    context = _order_context(shop, order_id)
    order: Order = context["order"]  # type: ignore[assignment]
    return render_template("pos/order.html", user=g.staff, **context, refund_error=refund_error,
                           quick=pos.quick_cash(shop, order.total),
                           received=attention.received_payments(db.session, [order.id])
                           .get(order.id, []))


@bp.get("/orders/<int:order_id>/live")
@staff_required("pos")
def order_live(order_id: int) -> Response | Markup:
    """The order page's live region (status and KHQR), polled: 204 while the fingerprint the
    page sends (``v``, hotpath.order_state) still holds."""
    shop: Shop = g.shop
    order = get_for_shop(db.session, Order, shop, order_id, message=pos.ORDER_NOT_FOUND)
    state = _fingerprint(shop, order, utcnow())
    if request.args.get("v") == state:
        return Response(status=204)  # before the lines and the transaction are read
    return partial(PARTIALS, "order_live", **_order_context(shop, order_id, order=order,
                                                             state=state))


@bp.get("/orders/<int:order_id>/receipt")
@staff_required("pos")
def receipt(order_id: int) -> str:
    """The receipt of a paid order for the thermal printer (?paper=58|80, the shop's width by
    default); ?print=1 opens the print dialog at once (after cash was taken)."""
    shop: Shop = g.shop
    order = get_for_shop(db.session, Order, shop, order_id, message=pos.ORDER_NOT_FOUND,
                         options=(selectinload(Order.lines),))
    return render_template(
        "pos/receipt.html", shop=shop, user=g.staff,
        receipt=guest_pay.receipt(db.session, shop, order),
        paper=receipts.paper_width(request.args.get("paper"), shop.receipt_paper_mm),
        auto_print=request.args.get("print") == "1")


@bp.get("/orders")
@staff_required("pos")
def orders_today() -> str:
    shop: Shop = g.shop
    report = reports.todays_orders(db.session, shop, now=utcnow(),
                               payment=request.args.get("payment"),
                               method=request.args.get("method"))
    return render_template("pos/orders.html", shop=shop, user=g.staff, report=report,
                           received=attention.received_payments(
                               db.session, [o.id for o in report.orders]),
                           payment=request.args.get("payment", ""),
                           method=request.args.get("method", ""))


@bp.get("/products/<int:product_id>/sheet")
@staff_required("pos")
def product_sheet(product_id: int) -> str:
    """The option sheet the guest's phone shows, for a product with choices: its Add puts the
    line on the ticket."""
    shop: Shop = g.shop
    product = hotpath.orderable_product(db.session, shop.id, product_id)
    if is_htmx():
        return partial(PARTIALS, "product_sheet", shop=shop, product=product)
    return render_template("pos/sheet.html", shop=shop, product=product, user=g.staff)


@bp.post("/ticket/items")
@staff_required("pos")
def ticket_add() -> Response | Markup:
    """A product onto the ticket, its choices read by the guest's parser (a bad one is a 4xx);
    the same product, options and note again add to that line."""
    shop: Shop = g.shop
    product = hotpath.orderable_product(db.session, shop.id, request.form.get("product_id"))
    options = cart.choose_options(product, cart.form_choices(request.form))
    qty = cart.parse_quantity(request.form.get("quantity", "1"))
    note = cart.clean_note(request.form.get("note"))
    session[TICKET_KEY] = till.add(_ticket(), product, options, qty, note)
    return _ticket_changed(shop)


@bp.post("/ticket/items/<int(min=0):index>/step")
@staff_required("pos")
def ticket_step(index: int) -> Response | Markup:
    """The line's -/+ stepper: ``delta`` 1 or -1 (at zero the line goes)."""
    session[TICKET_KEY] = till.step(_ticket(), index, request.form.get("delta"))
    return _ticket_changed(g.shop)


@bp.post("/ticket/items/<int(min=0):index>/remove")
@staff_required("pos")
def ticket_remove(index: int) -> Response | Markup:
    ticket = _ticket()
    if not 0 <= index < len(ticket):
        raise DomainError(_("That line is no longer on the ticket."), 404)
    ticket.pop(index)
    session[TICKET_KEY] = ticket
    return _ticket_changed(g.shop)


def _ticket_changed(shop: Shop) -> Response | Markup:
    if not is_htmx():
        return redirect(url_for("pos.index"), 303)
    return _ticket_region(shop)


@bp.post("/ticket/clear")
@staff_required("pos")
def ticket_clear() -> Response | Markup:
    session.pop(TICKET_KEY, None)
    if not is_htmx():
        return redirect(url_for("pos.index"), 303)
    return _ticket_region(g.shop)


@bp.post("/ticket/checkout")
@staff_required("pos")
def ticket_checkout() -> Response | tuple[Markup, int]:
    """A walk-in or phone-less guest's order, paid by cash or by a KHQR shown on this screen."""
    shop: Shop = g.shop
    key = request.form.get("checkout_key")
    bound = ticket_for(shop)  # "Add items" on a table sheet: the ticket is for that table
    try:
        # a new order, or the one this ticket made when it was submitted before
        order = checkout.checkout_ticket(
            db.session, get_bus(current_app), shop, _ticket(), checkout_key=key,
            method=request.form.get("method"),
            table_id=bound["table_id"] if bound else request.form.get("table_id"),
            group_id=bound["group_id"] if bound else None,
            note=request.form.get("note"), by=g.staff, now=utcnow(),
            ttl_seconds=current_app.config["KHQR_TTL_SECONDS"],
            grace_seconds=current_app.config["PAYMENT_GRACE_SECONDS"])
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _ticket_refused(shop, exc)
    except IntegrityError:  # the same ticket submitted twice at the same instant
        db.session.rollback()
        try:
            order = checkout.order_after_race(db.session, key, shop=shop, session=None)
        except DomainError as exc:
            return _ticket_refused(shop, exc)
        if order is None:
            raise
    return _ticket_done(order)


def _ticket_refused(shop: Shop, exc: DomainError) -> tuple[Markup, int]:
    if is_htmx():
        return _ticket_region(shop, error=exc.message), exc.status
    raise exc


def _ticket_done(order: Order) -> Response:
    """The ticket became ``order`` (also when submitted twice): empty it, show the order."""
    session.pop(TICKET_KEY, None)
    session.pop(TICKET_FOR_KEY, None)
    target = url_for("pos.order_detail", order_id=order.id)
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, 303)


def live_pos(shop: Shop) -> Markup:
    """What the socket sends: the table map and the orders awaiting payment, out-of-band."""
    return live_regions(shop, oob=True)


# The POS regions carry per-device CSRF fields in their forms, so each socket renders its own;
# every event of the shop may change them.
LIVE = LiveScreen("pos", live_pos)
add_staff_socket(bp, LIVE)
