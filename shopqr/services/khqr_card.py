"""The KHQR card as a PNG: what a guest saves on the phone that shows the QR, to pick it from
the gallery in a banking app ("scan from gallery"). Drawn like the card on the page: the red
header, the merchant, the amount, a dashed rule and the QR, on white."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

RED = (225, 35, 46)
INK = (24, 24, 27)
MUTED = (82, 82, 91)
WHITE = (255, 255, 255)

WIDTH = 600
PAD = 48

FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts"),
             Path("/usr/local/share/fonts"))
LATIN_BOLD = ("dejavu/DejaVuSans-Bold.ttf", "liberation/LiberationSans-Bold.ttf",
              "truetype/dejavu/DejaVuSans-Bold.ttf")
LATIN = ("dejavu/DejaVuSans.ttf", "liberation/LiberationSans-Regular.ttf",
         "truetype/dejavu/DejaVuSans.ttf")
KHMER = ("khmeros/KhmerOS.ttf", "khmeros/KhmerOScontent.ttf", "truetype/khmeros/KhmerOS.ttf")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _find(names: tuple[str, ...]) -> Path | None:
    for folder in FONT_DIRS:
        for name in names:
            path = folder / name
            if path.is_file():
                return path
    return None


def has_khmer(text: str) -> bool:
    return any("\u1780" <= ch <= "\u17ff" or "\u19e0" <= ch <= "\u19ff" for ch in text)


@lru_cache(maxsize=32)
def font(size: int, *, bold: bool = False, khmer: bool = False) -> Font:
    """A font for the card: Khmer OS for Khmer text, DejaVu (or Liberation) otherwise; Pillow's
    own font when none is installed (Khmer then shows as boxes, the card still works)."""
    path = _find(KHMER) if khmer else None
    path = path or _find(LATIN_BOLD if bold else LATIN)
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            pass
    try:
        return ImageFont.load_default(size)
    except (TypeError, OSError):  # an old Pillow or one without FreeType
        return ImageFont.load_default()


def _text_font(text: str, size: int, *, bold: bool = False) -> Font:
    return font(size, bold=bold, khmer=has_khmer(text))


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int, *,
         bold: bool = False) -> Font:
    """The largest font up to ``size`` that fits ``text`` in ``width`` pixels."""
    while True:
        chosen = _text_font(text, size, bold=bold)
        if size <= 14 or draw.textlength(text, font=chosen) <= width:
            return chosen
        size -= 2


def _centre(draw: ImageDraw.ImageDraw, y: int, text: str, chosen: Font,
            fill: tuple[int, int, int]) -> int:
    """Draw ``text`` centred at ``y``; the y below it."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=chosen)
    draw.text(((WIDTH - (right - left)) / 2 - left, y - top), text, font=chosen, fill=fill)
    return y + (bottom - top)


def _qr_image(data: str, size: int) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10,
                         border=0)
    code.add_data(data)
    code.make(fit=True)
    modules = code.modules_count
    box = max(1, size // modules)
    code.box_size = box
    return code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


@lru_cache(maxsize=64)
def render(qr: str, merchant: str, amount: str, currency: str, caption: str = "") -> bytes:
    """The card as PNG bytes. The same QR gives the same bytes (cached)."""
    qr_size = WIDTH - 2 * PAD - 40
    code = _qr_image(qr, qr_size)
    header = 110
    height = header + 40 + 44 + 16 + 64 + 40 + code.height + 40 + (40 if caption else 0) + PAD
    card = Image.new("RGB", (WIDTH, height), WHITE)
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, WIDTH, header), fill=RED)
    # The header's cut corner, as on the KHQR card.
    draw.polygon([(WIDTH - 48, header), (WIDTH, header - 48), (WIDTH, header)], fill=WHITE)
    _centre(draw, 32, "KHQR", font(44, bold=True), WHITE)
    y = header + 40
    inner = WIDTH - 2 * PAD
    y = _centre(draw, y, merchant, _fit(draw, merchant, 30, inner), MUTED) + 16
    y = _centre(draw, y, f"{amount} {currency}", _fit(draw, f"{amount} {currency}", 56, inner,
                                                       bold=True), INK) + 40
    for x in range(PAD, WIDTH - PAD, 16):  # the dashed rule
        draw.line((x, y, x + 8, y), fill=(212, 212, 216), width=3)
    y += 40
    card.paste(code, ((WIDTH - code.width) // 2, y))
    y += code.height + 40
    if caption:
        _centre(draw, y, caption, _fit(draw, caption, 22, inner), MUTED)
    out = io.BytesIO()
    card.save(out, format="PNG", optimize=True)
    return out.getvalue()
