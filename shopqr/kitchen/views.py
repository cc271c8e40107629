"""The kitchen screen: a rail of paid orders, oldest first, tap to move them along. A screen
shows the whole kitchen or one station (?station=<id>)."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.kitchen import bp
from shopqr.live import LiveScreen, add_staff_socket
from shopqr.models import Order, Shop, Station, utcnow
from shopqr.services import kitchen as kitchen_service
from shopqr.services.events import Event, get_bus
from shopqr.staff.auth import staff_required
from shopqr.web import fragments, is_htmx, partial

PARTIALS = "kitchen/_partials.html"


@bp.app_template_global()
def kitchen_label(order: Order) -> str:
    return kitchen_service.order_label(order)


@bp.app_template_global()
def kitchen_status_label(status: str) -> str:
    return str(kitchen_service.LABELS.get(status, status))


def _station(shop: Shop, raw: object) -> Station | None:
    return kitchen_service.load_station(db.session, shop, raw)


def render_board(shop: Shop, station: Station | None, *, oob: bool) -> Markup:
    return partial(PARTIALS, "board", shop=shop,
                   board=kitchen_service.board(db.session, shop, station), now=utcnow(), oob=oob)


def render_delta(shop: Shop, station: Station | None, order_id: int, *,
                 recall: bool = True) -> Markup:
    """Only what changed for one order: its card (removed, or put back in its place), the
    counters, and the recall list when an order was served."""
    board = kitchen_service.board(db.session, shop, station, only=order_id, with_served=recall)
    order, after = (board.rail[0], None) if board.rail else (None, None)
    if order is not None:
        place = board.rail_ids.index(order_id)
        after = board.rail_ids[place - 1] if place else None
    return partial(PARTIALS, "order_delta", shop=shop, board=board, order_id=order_id,
                   order=order, after=after, now=utcnow(), recall=recall)


@bp.get("/")
@staff_required("kitchen")
def index() -> str:
    shop: Shop = g.shop
    station = _station(shop, request.args.get("station"))
    return render_template("kitchen/index.html", shop=shop, user=g.staff, station=station,
                           board=kitchen_service.board(db.session, shop, station), now=utcnow())


@bp.get("/board")
@staff_required("kitchen")
def board() -> Markup:
    """The board alone: for a manual refresh, and a screen's resync when a delta did not fit."""
    return render_board(g.shop, _station(g.shop, request.args.get("station")), oob=False)


def _after_action(order_id: int, *, full: bool = False, served: bool = False) -> Response:
    """The tapping screen's answer: the order's card and the counters (with the recall list
    when the order was just served), or the whole board."""
    db.session.commit()
    if is_htmx():
        station = _station(g.shop, request.args.get("station"))
        if full:
            return fragments(render_board(g.shop, station, oob=True))
        return fragments(render_delta(g.shop, station, order_id, recall=served))
    args = {"station": request.args["station"]} if request.args.get("station") else {}
    return redirect(url_for("kitchen.index", **args), 303)


@bp.post("/orders/<int:order_id>/advance")
@staff_required("kitchen")
def advance(order_id: int) -> Response:
    order = kitchen_service.advance(db.session, get_bus(current_app), g.shop, order_id,
                                    by=g.staff, now=utcnow(), expect=request.form.get("from"))
    return _after_action(order.id, served=order.kitchen_status == "served")


@bp.post("/orders/<int:order_id>/back")
@staff_required("kitchen")
def step_back(order_id: int) -> Response:
    source = request.form.get("from")
    order = kitchen_service.step_back(db.session, get_bus(current_app), g.shop, order_id,
                                      by=g.staff, now=utcnow(), expect=source)
    return _after_action(order.id, full=source == "served")


@bp.post("/orders/<int:order_id>/done")
@staff_required("kitchen")
def finish_station(order_id: int) -> Response:
    """A station's screen: its part of the order is made."""
    station = _station(g.shop, request.args.get("station"))
    if station is None:
        return redirect(url_for("kitchen.index"), 303)
    order = kitchen_service.finish_station(db.session, get_bus(current_app), g.shop, order_id,
                                           station=station, by=g.staff, now=utcnow())
    return _after_action(order.id)


@bp.post("/recall")
@staff_required("kitchen")
def recall() -> Response:
    order = kitchen_service.recall_last_served(db.session, get_bus(current_app), g.shop,
                                               by=g.staff, now=utcnow())
    return _after_action(order.id, full=True)


@bp.post("/lines/<int:line_id>/toggle")
@staff_required("kitchen")
def toggle_line(line_id: int) -> Response:
    line = kitchen_service.toggle_line(
        db.session, get_bus(current_app), g.shop, line_id,
        station=_station(g.shop, request.args.get("station")), by=g.staff, now=utcnow())
    return _after_action(line.order_id)


@bp.get("/keepalive")
@staff_required("kitchen")
def keepalive() -> Response:
    """Polled by the screen so a kitchen display is not signed out for being idle."""
    return Response(status=204)


def socket_view() -> str:
    """The socket's view from its handshake: "all" or a station id (checked: this shop's)."""
    station = _station(g.shop, request.args.get("station"))
    return str(station.id) if station else "all"


def _view_station(shop: Shop, view: str) -> Station | None:
    return None if view == "all" else db.session.get(Station, int(view))


def live_board(shop: Shop, view: str = "all") -> Markup:
    """What the socket sends on connect (and to resync): the board, out-of-band."""
    return render_board(shop, _view_station(shop, view), oob=True)


def live_delta(shop: Shop, ev: Event, view: str = "all") -> Markup:
    """What the socket sends for an event: only the changed order's card, the counters and
    the recall list when it was served; the whole board when a served order comes back
    (undo, recall)."""
    order_id = ev.data.get("order_id")
    station = _view_station(shop, view)
    if not isinstance(order_id, int) or ev.data.get("from") == "served":
        return render_board(shop, station, oob=True)
    return render_delta(shop, station, order_id, recall=ev.data.get("status") == "served")


# Every kitchen screen of a shop with the same view shows the same board: one render per
# event and view serves them all.
LIVE = LiveScreen("kitchen", live_board, shared=True, delta=live_delta, view=socket_view,
                  kinds=frozenset({"order.paid", "order.status", "order.flagged"}))
add_staff_socket(bp, LIVE)
