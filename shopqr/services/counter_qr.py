"""Printable QR cards as PNG: the counter's (takeaway, docs/takeaway.md) and each table's
(docs/tables-and-qr.md), what the owner downloads from the tables settings to print, stick on
the counter or a table, or put on a stand. The shop's name, the QR code of the URL, and what it
is for in English and Khmer."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw

from shopqr.services.khqr_card import INK, MUTED, PAD, WHITE, WIDTH, _centre, _fit, _qr_image

# What the printed card says under the code, in both languages (as the table sheet does).
CAPTION_EN = "Takeaway · Scan to order"
CAPTION_KM = "ខ្ចប់យកទៅ · ស្កេនដើម្បីកុម្ម៉ង់"
TABLE_EN = "Scan to order"
TABLE_KM = "ស្កេនដើម្បីកុម្ម៉ង់"

# A line under the code: text, largest font size, bold, colour (each is shrunk to fit).
Line = tuple[str, int, bool, tuple[int, int, int]]


@lru_cache(maxsize=64)
def card(url: str, shop_name: str, lines: tuple[Line, ...]) -> bytes:
    """A card as PNG bytes: the shop's name, the code of ``url``, then ``lines``; the same
    arguments give the same bytes (cached)."""
    inner = WIDTH - 2 * PAD
    code = _qr_image(url, inner)
    tall = Image.new("RGB", (WIDTH, PAD + 72 + code.height + 32 + 80 * len(lines) + PAD), WHITE)
    draw = ImageDraw.Draw(tall)
    y = _centre(draw, PAD, shop_name, _fit(draw, shop_name, 40, inner, bold=True), INK) + 24
    tall.paste(code, ((WIDTH - code.width) // 2, y))
    y += code.height + 32
    for text, size, bold, colour in lines:
        y = _centre(draw, y, text, _fit(draw, text, size, inner, bold=bold), colour) + 12
    out = io.BytesIO()
    tall.crop((0, 0, WIDTH, min(tall.height, y + PAD))).save(out, format="PNG", optimize=True)
    return out.getvalue()


def render(url: str, shop_name: str) -> bytes:
    """The counter's card (takeaway)."""
    return card(url, shop_name, ((CAPTION_EN, 34, True, INK), (CAPTION_KM, 30, False, MUTED)))


def render_table(url: str, shop_name: str, table_name: str) -> bytes:
    """A table's card: its name under the code, then "Scan to order" in English and Khmer."""
    return card(url, shop_name, ((table_name, 44, True, INK), (TABLE_EN, 30, False, INK),
                                 (TABLE_KM, 28, False, MUTED)))
