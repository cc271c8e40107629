"""A table's QR code to download (docs/tables-and-qr.md): a printable PNG card (the shop's
name, the code, the table's name; services/counter_qr.py draws it) or the bare code as SVG for
a print shop. Both encode the URL the printed sheet does. And the file names they download as."""

from __future__ import annotations

import re
import unicodedata

import qrcode
import qrcode.constants
import qrcode.image.svg

from shopqr.models import ShopTable
from shopqr.services import counter_qr


def file_stem(table: ShopTable) -> str:
    """"Table 5" -> "table-5", "Window seat" -> "window-seat"; a name with no Latin letters or
    digits (e.g. Khmer only) -> "table-<id>"."""
    ascii_name = unicodedata.normalize("NFKD", table.name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-")
    return stem or f"table-{table.id}"


def png(url: str, shop_name: str, table: ShopTable) -> bytes:
    return counter_qr.render_table(url, shop_name, table.name)


def svg(url: str) -> bytes:
    """The code alone as a standalone SVG file: black on a white square with the standard
    quiet zone (4 modules), so it scans on any background it is placed on."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10,
                        border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    return b"<?xml version='1.0' encoding='UTF-8'?>\n" + image.to_string(encoding="UTF-8")
