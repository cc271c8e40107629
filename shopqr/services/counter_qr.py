"""The counter's QR code as a PNG (takeaway, docs/takeaway.md): what the owner downloads from
the tables settings to print, stick on the counter or put on a stand. The shop's name, the QR
code of the counter URL, and "Takeaway · Scan to order" in English and Khmer."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw

from shopqr.services.khqr_card import INK, MUTED, PAD, WHITE, WIDTH, _centre, _fit, _qr_image

# What the printed card says under the code, in both languages (as the table sheet does).
CAPTION_EN = "Takeaway · Scan to order"
CAPTION_KM = "ខ្ចប់យកទៅ · ស្កេនដើម្បីកុម្ម៉ង់"


@lru_cache(maxsize=32)
def render(url: str, shop_name: str) -> bytes:
    """The card as PNG bytes; the same URL and name give the same bytes (cached)."""
    inner = WIDTH - 2 * PAD
    code = _qr_image(url, inner)
    height = PAD + 48 + 24 + code.height + 32 + 40 + 12 + 48 + PAD
    card = Image.new("RGB", (WIDTH, height), WHITE)
    draw = ImageDraw.Draw(card)
    y = _centre(draw, PAD, shop_name, _fit(draw, shop_name, 40, inner, bold=True), INK) + 24
    card.paste(code, ((WIDTH - code.width) // 2, y))
    y += code.height + 32
    y = _centre(draw, y, CAPTION_EN, _fit(draw, CAPTION_EN, 34, inner, bold=True), INK) + 12
    _centre(draw, y, CAPTION_KM, _fit(draw, CAPTION_KM, 30, inner), MUTED)
    out = io.BytesIO()
    card.save(out, format="PNG", optimize=True)
    return out.getvalue()
