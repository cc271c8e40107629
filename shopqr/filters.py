"""Jinja filters and helpers shared by every screen."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from itertools import groupby

import qrcode
import qrcode.constants
from flask import Flask
from flask_babel import gettext as _
from markupsafe import Markup

from shopqr.models.base import epoch_ms
from shopqr.services import bakong
from shopqr.services.money import format_money
from shopqr.services.numbering import shop_time


def money(amount: Decimal | None, currency: str = "USD") -> str:
    return format_money(amount, currency)


def local_time(value: datetime | None, fmt: str = "%H:%M") -> str:
    if value is None:
        return ""
    return shop_time(value).strftime(fmt)


@lru_cache(maxsize=512)
def _qr_svg(data: str) -> str:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(data)
    code.make(fit=True)
    return svg_of_modules(code.get_matrix())


def svg_of_modules(matrix: list[list[bool]]) -> str:
    """A QR code's modules (the quiet zone included) as an SVG of one path, a rectangle per run
    of dark modules in a row. qrcode's own SVG path image draws a square per dark module: the
    same picture in twice the bytes (a KHQR: ~19 KB against ~9 KB) and ~6 ms more CPU a code
    (bench/cpu.py --qr); one module is 1 mm, as in qrcode's SVG images."""
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        for dark, group in groupby(row):
            width = sum(1 for _ in group)
            if dark:
                runs.append(f"M{x},{y}h{width}v1h-{width}z")
            x += width
    return (f'<svg width="{size}mm" height="{size}mm" version="1.1" viewBox="0 0 {size} {size}"'
            f' xmlns="http://www.w3.org/2000/svg"><path d="{"".join(runs)}"/></svg>')


def qr_svg(data: str) -> Markup:
    """An inline SVG QR code (the data is encoded, never interpreted as markup)."""
    return Markup(_qr_svg(data))


def renewal_notice(shop: object) -> str | None:
    """For staff screens: the subscription has ended (guests cannot order), or ends within
    a week (services/platform.py, REMIND_DAYS)."""
    from shopqr.models import utcnow
    from shopqr.services import platform
    from shopqr.services.numbering import business_date

    today = business_date(utcnow())
    if not shop.subscription_ok(today):
        return _("The subscription has ended: guests cannot order by QR code. "
                 "Ask the owner to renew it.")
    return platform.reminder_text(shop, today)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["qr_svg"] = qr_svg
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.globals["renewal_notice"] = renewal_notice
    app.jinja_env.globals["bakong_configured"] = lambda: bakong.configured(app.config)
    app.jinja_env.filters["epoch_ms"] = epoch_ms
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["local_time"] = local_time
    from shopqr.services import attention, cart, charges

    app.jinja_env.globals["charge_label"] = charges.label
    app.jinja_env.globals["charges_percent"] = lambda rate: charges.percent(rate)[:-1]

    app.jinja_env.globals["grouped_options"] = cart.grouped
    app.jinja_env.globals["initial_price"] = cart.initial_price

    app.jinja_env.globals["payment_reason"] = attention.reason
    from shopqr.services import availability

    # the owner's hours forms (docs/availability.md)
    app.jinja_env.globals["hours_of"] = lambda item: availability.parse(item.schedule)
    app.jinja_env.globals["describe_hours"] = availability.describe
    app.jinja_env.globals["clock_field"] = availability.clock_field
    app.jinja_env.globals["hours_day_names"] = availability.DAY_NAMES
    app.jinja_env.globals["max_windows"] = availability.MAX_WINDOWS
    app.jinja_env.globals["payment_state"] = attention.state_label
