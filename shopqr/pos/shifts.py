"""The cash drawer's shift on the POS (docs/shifts.md): open with the float, cash in and out,
close by counting, and the printable Z-report."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import Shift, Shop, utcnow
from shopqr.pos import bp
from shopqr.services import DomainError, NotFound, receipts, shifts
from shopqr.services.events import get_bus
from shopqr.staff.auth import staff_required


@bp.app_template_global()
def drawer_shift(shop: Shop) -> Shift | None:
    """The shop's open shift, read once per request (the header and every cash form ask)."""
    cache = g.setdefault("drawer_shift", {})
    if shop.id not in cache:
        cache[shop.id] = shifts.current(db.session, shop)
    return cache[shop.id]


def _page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    shop: Shop = g.shop
    shift = shifts.current(db.session, shop)
    now = utcnow()
    recent = db.session.scalars(
        db.select(Shift).where(Shift.shop_id == shop.id, Shift.closed_at.is_not(None))
        .order_by(Shift.closed_at.desc()).limit(5)).all()
    return render_template("pos/shift.html", shop=shop, user=g.staff, shift=shift,
                           summary=shifts.summarize(db.session, shop, shift, now)
                           if shift else None, recent=recent, error=error), status


@bp.get("/shift")
@staff_required("pos")
def shift() -> tuple[str, int]:
    return _page()


def _attempt(action, message: str | None = None) -> Response | tuple[str, int]:  # noqa: ANN001
    try:
        result = action()
    except NotFound:
        raise
    except DomainError as exc:
        db.session.rollback()
        return _page(exc.message, exc.status)
    db.session.commit()
    if message:
        flash(message)
    return result if isinstance(result, Response) else redirect(url_for("pos.shift"), 303)


@bp.post("/shift/open")
@staff_required("pos")
def open_shift() -> Response | tuple[str, int]:
    return _attempt(lambda: shifts.open_shift(
        db.session, get_bus(current_app), g.shop, usd=request.form.get("usd"),
        khr=request.form.get("khr"), by=g.staff, now=utcnow()), _("Shift open. You can take cash."))


@bp.post("/shift/cash")
@staff_required("pos")
def move_cash() -> Response | tuple[str, int]:
    return _attempt(lambda: shifts.move_cash(
        db.session, g.shop, kind=request.form.get("kind", ""),
        amount=request.form.get("amount"), currency=request.form.get("currency"),
        reason=request.form.get("reason"), by=g.staff, now=utcnow()), _("Saved."))


@bp.post("/shift/close")
@staff_required("pos")
def close_shift() -> Response | tuple[str, int]:
    def close() -> Response:
        summary = shifts.close_shift(
            db.session, get_bus(current_app), g.shop, usd=request.form.get("usd"),
            khr=request.form.get("khr"), note=request.form.get("note"), by=g.staff,
            now=utcnow())
        return redirect(url_for("pos.z_report", shift_id=summary.shift.id), 303)

    return _attempt(close, _("Shift closed."))


@bp.get("/shifts/<int:shift_id>/report")
@staff_required("pos")
def z_report(shift_id: int) -> str:
    """A shift's Z-report, printable on the receipt roll (?paper=58|80) or A4 (?paper=a4)."""
    shop: Shop = g.shop
    found = shifts.load(db.session, shop, shift_id)
    return render_template("pos/z_report.html", shop=shop, user=g.staff,
                           summary=shifts.summarize(db.session, shop, found, utcnow()),
                           paper=z_paper(request.args.get("paper"), shop.receipt_paper_mm),
                           back=url_for("pos.shift"), endpoint="pos.z_report")


def z_paper(raw: str | None, default: int) -> str:
    """"58", "80" (thermal rolls, as receipts) or "a4"."""
    if raw == "a4":
        return "a4"
    return str(receipts.paper_width(raw, default))
