"""The owner's tables and their QR codes (and the printable sheet)."""

from __future__ import annotations

from flask import g, render_template, request
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.services import shops
from shopqr.services import tables as table_service
from shopqr.settings import bp
from shopqr.settings.auth import owner_required
from shopqr.settings.common import attempts, done, page


def tables_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return page("settings/tables.html", status=status, error=error,
                tables=shops.active_tables(db.session, g.shop))


@bp.get("/tables")
@owner_required
def tables() -> tuple[str, int]:
    return tables_page()


_table_action = attempts(tables_page, "settings.tables")


@bp.post("/tables/add")
@owner_required
def add_table() -> Response | tuple[str, int]:
    count = len(shops.active_tables(db.session, g.shop))
    return _table_action(lambda: shops.add_table(db.session, g.shop, request.form.get("name", ""),
                                                 sort_order=count + 1,
                                                 name_km=request.form.get("name_km")))


@bp.post("/tables/<int:table_id>")
@owner_required
def rename_table(table_id: int) -> Response | tuple[str, int]:
    table = table_service.load_table(db.session, g.shop, table_id)
    return _table_action(lambda: shops.rename_table(db.session, g.shop, table,
                                                    request.form.get("name"),
                                                    request.form.get("name_km")))


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
