"""What the cashier was handed for a cash order and the change given, kept with the order so
its receipt (POS print or the guest's e-receipt, one template: templates/_receipt.html) can
show it. See docs/receipts.md."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

PAPER_WIDTHS = (58, 80)  # thermal receipt rolls, in mm


@dataclass(frozen=True)
class Tender:
    """Cash handed over (``usd`` and ``khr`` as typed), its worth in the shop's currency
    (``tendered``), the change due (``change``) and how it was given: whole dollars
    (``change_usd``) and riel (``change_khr``), in the shop's rounding."""

    usd: Decimal
    khr: Decimal
    tendered: Decimal
    change: Decimal
    change_usd: Decimal
    change_khr: Decimal

    def to_json(self) -> str:
        return json.dumps({k: str(getattr(self, k)) for k in
                           ("usd", "khr", "tendered", "change", "change_usd", "change_khr")})


def parse_tender(raw: str | None) -> Tender | None:
    """The tender stored with an order; None for orders paid before it was kept (their
    ``cash_tendered`` was a free-text note) or paid another way."""
    if not raw or not raw.startswith("{"):
        return None
    try:
        data = json.loads(raw)
        return Tender(*(Decimal(str(data[k])) for k in
                        ("usd", "khr", "tendered", "change", "change_usd", "change_khr")))
    except (ValueError, KeyError, TypeError, InvalidOperation):
        return None


def paper_width(raw: object, default: int = 80) -> int:
    """A receipt paper width from a query or a form: 58 or 80, else ``default``."""
    try:
        value = int(str(raw))
    except ValueError:
        return default
    return value if value in PAPER_WIDTHS else default
