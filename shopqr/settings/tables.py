"""The owner's tables and their QR codes (a preview, PNG and SVG downloads, the printable sheet
with the shop's logo), and the counter's QR code for takeaway (docs/tables-and-qr.md,
docs/takeaway.md)."""

from __future__ import annotations

import hashlib

from flask import g, render_template, request, url_for
from werkzeug.wrappers import Response

from shopqr.extensions import db
from shopqr.models import ShopTable
from shopqr.services import counter_qr, shops, table_qr
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
    """The printable sheet: the counter's card (takeaway) first, then one per table; with
    ``?card=counter`` the counter's card alone."""
    counter_only = request.args.get("card") == "counter"
    tables = [] if counter_only else shops.active_tables(db.session, g.shop)
    return render_template("settings/qr_sheet.html", shop=g.shop, tables=tables,
                           counter_only=counter_only)


def table_url(shop: object, table: ShopTable) -> str:
    """A table's QR code URL: the one the printed sheet encodes."""
    return url_for("guest.scan", slug=shop.slug, qr_token=table.qr_token, _external=True)


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    """A QR code file to save: an attachment the browser may keep but asks about each time
    (the ETag is the file's own hash: a new code, or a renamed table or shop on the PNG card,
    is a new ETag)."""
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    return response.make_conditional(request)


@bp.get("/tables/<int:table_id>/qr.png")
@owner_required
def table_qr_png(table_id: int) -> Response:
    """The table's printable card (shop name, code, table name) as PNG."""
    table = table_service.load_table(db.session, g.shop, table_id)
    return _download(table_qr.png(table_url(g.shop, table), g.shop.name, table), "image/png",
                     f"{table_qr.file_stem(table)}.png")


@bp.get("/tables/<int:table_id>/qr.svg")
@owner_required
def table_qr_svg(table_id: int) -> Response:
    """The table's bare code as SVG (also the small preview on the tables page)."""
    table = table_service.load_table(db.session, g.shop, table_id)
    return _download(table_qr.svg(table_url(g.shop, table)), "image/svg+xml",
                     f"{table_qr.file_stem(table)}.svg")


@bp.post("/tables/counter/regenerate")
@owner_required
def regenerate_counter() -> Response:
    shops.new_counter_code(db.session, g.shop, by=g.owner)
    return done("settings.tables")


def counter_url(shop: object) -> str:
    """The counter's QR code URL (on this address, as the table sheet prints its codes)."""
    return url_for("guest.counter_scan", slug=shop.slug, counter_token=shop.counter_token,
                   _external=True)


@bp.get("/tables/counter.png")
@owner_required
def counter_png() -> Response:
    """The counter's QR code as an image to download and print."""
    png = counter_qr.render(counter_url(g.shop), g.shop.name)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"  # a new code replaces it
    response.headers["Content-Disposition"] = \
        f'attachment; filename="counter-qr-{g.shop.slug}.png"'
    return response
