"""Money: Decimal everywhere; USD has cents, KHR is whole riel."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from shopqr.services import DomainError

STEP = {"USD": Decimal("0.01"), "KHR": Decimal("1")}
MAX_AMOUNT = Decimal("99999999.99")


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(STEP[currency], rounding=ROUND_HALF_UP)


def parse_amount(raw: str | None, currency: str, *, field: str = "Amount") -> Decimal:
    """A price typed by staff: positive or zero, at most the currency's decimals."""
    try:
        value = Decimal((raw or "").strip().replace(",", ""))
    except InvalidOperation:
        raise DomainError(f"{field} must be a number.") from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise DomainError(f"{field} must be between 0 and {MAX_AMOUNT:,}.")
    if value != quantize(value, currency):
        places = "whole riel" if currency == "KHR" else "at most 2 decimals"
        raise DomainError(f"{field} must be {places}.")
    return quantize(value, currency)


def format_money(amount: Decimal | None, currency: str) -> str:
    """$2.50 for USD, 15,000៛ for KHR."""
    if amount is None:
        return ""
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
