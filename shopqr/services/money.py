"""Money: Decimal everywhere; USD has cents, KHR is whole riel."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from shopqr.services import DomainError

STEP = {"USD": Decimal("0.01"), "KHR": Decimal("1")}
MAX_AMOUNT = Decimal("99999999.99")
MAX_AMOUNT_TEXT = f"{MAX_AMOUNT:,}"
AMOUNT = _l("Amount")  # the label when the caller names none


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(STEP[currency], rounding=ROUND_HALF_UP)


def parse_amount(raw: str | None, currency: str, *,
                 field: str | LazyString = AMOUNT) -> Decimal:
    """A price typed by staff: positive or zero, at most the currency's decimals. ``field`` names
    it in the messages (a lazy translation, like ``_l("Price")``)."""
    text = (raw or "").strip().replace(",", "")
    if not text.isascii():  # Decimal() also reads Khmer "២" or Arabic-Indic "٢" as 2
        raise DomainError(_l("%(field)s must be written with the digits 0-9.", field=field))
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DomainError(_l("%(field)s must be a number.", field=field)) from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise DomainError(_l("%(field)s must be between 0 and %(max)s.", field=field,
                             max=MAX_AMOUNT_TEXT))
    if value != quantize(value, currency):
        raise DomainError(_l("%(field)s must be whole riel.", field=field) if currency == "KHR"
                          else _l("%(field)s must be at most 2 decimals.", field=field))
    return quantize(value, currency)


def format_money(amount: Decimal | int | None, currency: str) -> str:
    """$2.50 for USD, 15,000៛ for KHR. An int is taken too (a template's default of 0)."""
    if amount is None:
        return ""
    amount = Decimal(amount)
    if currency == "KHR":
        return f"{quantize(amount, 'KHR'):,.0f}៛"
    value = quantize(amount, "USD")
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def usd_to_khr(amount: Decimal, rate: Decimal, *, round_to: int = 100) -> Decimal:
    """Riel equivalent of a USD amount, rounded to the nearest ``round_to`` riel."""
    riel = amount * rate
    step = Decimal(round_to)
    return (riel / step).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * step
