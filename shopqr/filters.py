"""Jinja filters and helpers shared by every screen."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask

from shopqr.services.money import format_money

SHOP_TZ = ZoneInfo("Asia/Phnom_Penh")


def money(amount: Decimal | None, currency: str = "USD") -> str:
    return format_money(amount, currency)


def local_time(value: datetime | None, fmt: str = "%H:%M") -> str:
    if value is None:
        return ""
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(SHOP_TZ).strftime(fmt)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["local_time"] = local_time
