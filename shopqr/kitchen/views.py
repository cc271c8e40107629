"""The kitchen screen: a live queue of paid orders, tap to move them along."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.kitchen import bp
from shopqr.live import LiveScreen, add_staff_socket
from shopqr.models import Shop, utcnow
from shopqr.services import kitchen as kitchen_service
from shopqr.services.events import get_bus
from shopqr.staff.auth import staff_required
from shopqr.web import fragments, is_htmx, partial

PARTIALS = "kitchen/_partials.html"


def render_board(shop: Shop, *, oob: bool) -> Markup:
    return partial(PARTIALS, "board", shop=shop, board=kitchen_service.board(db.session, shop),
                   now=utcnow(), oob=oob)


@bp.get("/")
@staff_required("kitchen")
def index() -> str:
    shop: Shop = g.shop
    return render_template("kitchen/index.html", shop=shop, user=g.staff,
                           board=kitchen_service.board(db.session, shop), now=utcnow())


@bp.get("/board")
@staff_required("kitchen")
def board() -> Markup:
    """The board alone: what the socket sends, for a manual refresh or polling fallback."""
    return render_board(g.shop, oob=False)


def _after_action() -> Response:
    db.session.commit()
    if is_htmx():
        return fragments(render_board(g.shop, oob=True))
    return redirect(url_for("kitchen.index"), 303)


@bp.post("/orders/<int:order_id>/advance")
@staff_required("kitchen")
def advance(order_id: int) -> Response:
    kitchen_service.advance(db.session, get_bus(current_app), g.shop, order_id, by=g.staff,
                            now=utcnow(), expect=request.form.get("from"))
    return _after_action()


@bp.post("/orders/<int:order_id>/back")
@staff_required("kitchen")
def step_back(order_id: int) -> Response:
    kitchen_service.step_back(db.session, get_bus(current_app), g.shop, order_id, by=g.staff,
                              now=utcnow(), expect=request.form.get("from"))
    return _after_action()


@bp.post("/recall")
@staff_required("kitchen")
def recall() -> Response:
    kitchen_service.recall_last_served(db.session, get_bus(current_app), g.shop, by=g.staff,
                                       now=utcnow())
    return _after_action()


@bp.post("/lines/<int:line_id>/toggle")
@staff_required("kitchen")
def toggle_line(line_id: int) -> Response:
    kitchen_service.toggle_line(db.session, get_bus(current_app), g.shop, line_id)
    return _after_action()


@bp.get("/keepalive")
@staff_required("kitchen")
def keepalive() -> Response:
    """Polled by the screen so a kitchen display is not signed out for being idle."""
    return Response(status=204)


def live_board(shop: Shop) -> Markup:
    """What the socket sends: the board, out-of-band."""
    return render_board(shop, oob=True)


# Every kitchen screen of a shop shows the same board: one render per event serves them all.
LIVE = LiveScreen("kitchen", live_board, shared=True,
                  kinds=frozenset({"order.paid", "order.status", "order.flagged",
                                   "table.changed"}))
add_staff_socket(bp, LIVE)
