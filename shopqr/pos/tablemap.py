"""The POS table map's table sheet (docs/tablemap.md): one table's orders, and adding items for
it, moving its group to another table, closing it. The map itself is one of the POS's live
regions (``views.live_regions``); the logic is in services/tablemap.py."""

from __future__ import annotations

from flask import current_app, flash, g, render_template, request, session, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import Shop, utcnow
from shopqr.pos import bp
from shopqr.services import DomainError, tablemap, tables
from shopqr.services.events import get_bus
from shopqr.staff.auth import staff_required
from shopqr.web import partial

TEMPLATE = "pos/_tablemap.html"
# The ticket's table: {"t": table id, "g": the group's session id, or None for a free table}.
TICKET_FOR_KEY = "pos_ticket_for"


def map_region(shop: Shop, *, oob: bool) -> Markup:
    """The table map's tiles (a live region of the POS)."""
    return partial(TEMPLATE, "table_grid", shop=shop, tiles=tablemap.table_map(db.session, shop),
                   now=utcnow(), oob=oob)


def _fingerprint(summary: tablemap.TableSummary) -> str:
    """What the sheet's poll compares: changes when anything the sheet shows changes."""
    s = summary.state
    parts = [s.state, str(s.session.id if s.session else 0), str(s.cart_count)]
    parts += [f"{o.id}:{o.payment_status}:{o.kitchen_status}" for o in s.orders]
    parts += [str(r.id) for r in s.requests]
    parts.append(str(summary.due_payments))
    return "-".join(parts)


@bp.get("/tables/<int:table_id>")
@staff_required("pos")
def table_sheet(table_id: int) -> str:
    shop: Shop = g.shop
    summary = tablemap.table_summary(db.session, shop, table_id)
    return render_template("pos/table.html", shop=shop, user=g.staff, table=summary.table,
                           summary=summary, now=utcnow(), state=_fingerprint(summary),
                           free=tablemap.free_tables(db.session, shop))


@bp.get("/tables/<int:table_id>/live")
@staff_required("pos")
def table_sheet_live(table_id: int) -> Response | Markup:
    """The sheet's live part, polled: 204 while nothing it shows changed (``v``)."""
    shop: Shop = g.shop
    summary = tablemap.table_summary(db.session, shop, table_id)
    state = _fingerprint(summary)
    if request.args.get("v") == state:
        return Response(status=204)
    return partial(TEMPLATE, "sheet_live", shop=shop, t=summary, now=utcnow(), state=state)


def _go(target: str) -> Response:
    from shopqr.pos.views import _go as go

    return go(target)


@bp.post("/tables/<int:table_id>/add-items")
@staff_required("pos")
def table_add_items(table_id: int) -> Response:
    """The till's ticket is for this table's group (or for the free table): its Charge makes an
    order in that group's session, wherever the group sits by then."""
    shop: Shop = g.shop
    table = tables.load_table(db.session, shop, table_id)
    group = tables.active_session(db.session, table)
    session[TICKET_FOR_KEY] = {"t": table.id, "g": group.id if group else None}
    return _go(url_for("pos.index", tab="menu"))


@bp.post("/ticket/for/clear")
@staff_required("pos")
def ticket_for_clear() -> Response | Markup:
    """The ticket is a walk-in again."""
    from shopqr.pos.views import _ticket_changed

    session.pop(TICKET_FOR_KEY, None)
    return _ticket_changed(g.shop)


def ticket_for(shop: Shop) -> dict[str, object] | None:
    """The table the till's ticket is for ("Add items"), as the ticket shows it, or None."""
    raw = session.get(TICKET_FOR_KEY)
    if not isinstance(raw, dict) or not isinstance(raw.get("t"), int):
        return None
    group_id = raw.get("g") if isinstance(raw.get("g"), int) else None
    try:
        if group_id is not None:
            table = tablemap.bound_session(db.session, shop, group_id).table
        else:
            table = tables.load_table(db.session, shop, raw["t"])
    except DomainError:  # the group left, or the table was removed: said once, then unbound
        session.pop(TICKET_FOR_KEY, None)
        return {"table_id": raw["t"], "group_id": group_id, "name": None, "left": True}
    return {"table_id": table.id, "group_id": group_id, "name": table.name, "left": False}


@bp.post("/tables/<int:table_id>/move")
@staff_required("pos")
def table_move(table_id: int) -> Response:
    shop: Shop = g.shop
    source, target = tablemap.move_group(db.session, get_bus(current_app), shop, table_id,
                                         request.form.get("to_table_id"), by=g.staff)
    db.session.commit()
    flash(_("The group moved from %(source)s to %(target)s.", source=source.name,
            target=target.name))
    return _go(url_for("pos.table_sheet", table_id=target.id))
