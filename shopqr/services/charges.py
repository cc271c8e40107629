"""Taxes and charges (docs/taxes.md): a shop's service charge and VAT, each off, added to the
prices or included in them, and the rounding rule; the one computation every total uses (the
guest's cart badge and panel, the order, the POS ticket, the receipt, reports).

The service charge comes first and is computed on the subtotal (the lines' sum). VAT comes
second and is computed on the subtotal plus an added service charge (the Cambodian practice:
VAT is charged on the service charge too). An added charge is added to the total; an included
one is already in the prices and only shown ("incl. VAT 10%"): its amount is the part of its
base it holds, base x rate / (100 + rate). Each charge line is rounded to the currency's unit
(USD: one cent; KHR: 100 riel, the smallest note) by the owner's rule (nearest, up or down), and
the total is the subtotal plus the rounded added lines, so a receipt always adds up."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shopqr.i18n import localized
from shopqr.models import Order, OrderCharge, Shop, User
from shopqr.services import DomainError, clean_text
from shopqr.services.audit import audit

KINDS = ("service", "vat")  # computed in this order
ROUNDINGS = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}
UNIT = {"USD": Decimal("0.01"), "KHR": Decimal("100")}
MAX_NAME = 40
HUNDRED = Decimal("100")
ZERO = Decimal("0")
RATE = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?", re.ASCII)


@dataclass(frozen=True, slots=True)
class Charge:
    """One configured charge: ``rate`` in percent."""

    kind: str
    name: str
    name_km: str | None
    rate: Decimal
    included: bool


@dataclass(frozen=True, slots=True)
class Settings:
    """A shop's charges that are on, in the order computed, and its rounding rule. Hashable:
    the guest's cached cart fragments hold it in their keys."""

    charges: tuple[Charge, ...] = ()
    rounding: str = "nearest"


@dataclass(frozen=True, slots=True)
class ChargeLine:
    kind: str
    name: str
    name_km: str | None
    rate: Decimal
    included: bool
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    """``subtotal``: the lines' sum; ``lines``: every charge that is on, with its amount;
    ``total``: what is paid (subtotal + the added lines)."""

    subtotal: Decimal
    lines: tuple[ChargeLine, ...]
    total: Decimal


def settings_of(shop: Any) -> Settings:
    """The charges of a shop (``Shop`` or the guest hot path's ``GuestShop``: the same
    attribute names) that are on."""
    found = []
    for kind in KINDS:
        if getattr(shop, f"{kind}_on", False):
            found.append(Charge(kind, getattr(shop, f"{kind}_name"),
                                getattr(shop, f"{kind}_name_km") or None,
                                Decimal(getattr(shop, f"{kind}_rate")),
                                bool(getattr(shop, f"{kind}_included"))))
    rounding = getattr(shop, "charge_rounding", "nearest")
    return Settings(tuple(found), rounding if rounding in ROUNDINGS else "nearest")


def round_charge(amount: Decimal, currency: str, rounding: str = "nearest") -> Decimal:
    """A charge line rounded to the currency's unit (USD cents, KHR 100 riel) by the rule."""
    unit = UNIT[currency]
    steps = (amount / unit).quantize(Decimal("1"), rounding=ROUNDINGS[rounding])
    return (steps * unit).quantize(Decimal("0.01"))


def compute(subtotal: Decimal, currency: str, settings: Settings) -> Totals:
    """The charge lines and the total of ``subtotal`` under ``settings`` (module docstring)."""
    lines = []
    added = ZERO
    for charge in settings.charges:
        base = subtotal + added  # VAT: on the subtotal and an added service charge
        if charge.included:
            raw = base * charge.rate / (HUNDRED + charge.rate)
        else:
            raw = base * charge.rate / HUNDRED
        amount = round_charge(raw, currency, settings.rounding)
        if not charge.included:
            added += amount
        lines.append(ChargeLine(charge.kind, charge.name, charge.name_km, charge.rate,
                                charge.included, amount))
    return Totals(subtotal, tuple(lines), subtotal + added)


def totals_for(shop: Any, subtotal: Decimal) -> Totals:
    return compute(subtotal, shop.currency, settings_of(shop))


def snapshot(order: Order, totals: Totals) -> None:
    """Store on a new order what it is charged: its subtotal, its charge lines, its total."""
    order.subtotal = totals.subtotal
    order.total = totals.total
    order.charges = [OrderCharge(kind=line.kind, name=line.name, name_km=line.name_km,
                                 rate=line.rate, included=line.included, amount=line.amount)
                     for line in totals.lines]


def percent(rate: Decimal) -> str:
    """10.00 -> "10%", 2.50 -> "2.5%"."""
    return f"{Decimal(rate).normalize():f}%"


def label(line: ChargeLine | OrderCharge) -> str:
    """How a charge line is named on the cart, the order and the receipt: "VAT 10%", or
    "incl. VAT 10%" when the prices already held it (in Khmer with its Khmer name)."""
    name = localized(line, "name")
    if line.included:
        return gettext("incl. %(name)s %(rate)s", name=name, rate=percent(line.rate))
    return f"{name} {percent(line.rate)}"


# --- reports and the CSV (kept apart from services/reports.py) --------------------------------

@dataclass(frozen=True, slots=True)
class ChargeTotal:
    """One charge over the paid orders of a report's range: how many orders had it and the sum
    of its amounts (``included``: held in the prices, not added)."""

    kind: str
    name: str
    name_km: str | None
    rate: Decimal
    included: bool
    orders: int
    amount: Decimal


def paid_totals(db: Session, shop: Shop, start: datetime, end: datetime) -> list[ChargeTotal]:
    """The taxes and charges of the shop's paid orders made in [start, end), summed in SQL per
    charge as it was charged (its name, rate and mode), service charge first."""
    rows = db.execute(
        select(OrderCharge.kind, OrderCharge.name, func.max(OrderCharge.name_km),
               OrderCharge.rate, OrderCharge.included, func.count(OrderCharge.id),
               func.coalesce(func.sum(OrderCharge.amount), 0))
        .join(Order, Order.id == OrderCharge.order_id)
        .where(Order.shop_id == shop.id, Order.payment_status == "paid",
               Order.created_at >= start, Order.created_at < end)
        .group_by(OrderCharge.kind, OrderCharge.name, OrderCharge.rate, OrderCharge.included))
    found = [ChargeTotal(kind, name, name_km, Decimal(rate), bool(included), int(count),
                         Decimal(amount)) for kind, name, name_km, rate, included, count, amount
             in rows]
    return sorted(found, key=lambda t: (KINDS.index(t.kind) if t.kind in KINDS else 9,
                                        t.name, t.rate, t.included))


def of_orders(db: Session, order_ids: list[int]) -> dict[int, list[OrderCharge]]:
    """The charge lines of many orders in one query (the CSV), by order id."""
    found: dict[int, list[OrderCharge]] = {}
    if not order_ids:
        return found
    for charge in db.scalars(select(OrderCharge).where(OrderCharge.order_id.in_(order_ids))
                             .order_by(OrderCharge.id)):
        found.setdefault(charge.order_id, []).append(charge)
    return found


CSV_HEADER = ["subtotal", "charges"]


def csv_cells(order: Order, lines: list[OrderCharge]) -> list[str]:
    """The CSV's charge columns of one order: its subtotal, and its charge lines as
    "Service charge 5%: 0.50; incl. VAT 10%: 0.95" (English, amounts in the order's currency)."""
    text = "; ".join(f"{'incl. ' if c.included else ''}{c.name} {percent(c.rate)}: {c.amount}"
                     for c in lines)
    return [str(order.items_total), text]


# --- the owner's settings -------------------------------------------------------------------

NAMES = {"service": _l("Service charge"), "vat": _l("VAT")}


def parse_rate(raw: str | None, label: object) -> Decimal:
    """A percentage typed by the owner: 0 to 100, at most 2 decimals, digits 0-9."""
    text = (raw or "").strip().removesuffix("%").strip()
    if not RATE.fullmatch(text):  # digits 0-9 and one point: no "1e2", "NaN" or "١٠"
        raise DomainError(_l("%(field)s: the rate must be a number from 0 to 100.",
                             field=label))
    value = Decimal(text)
    if not ZERO <= value <= HUNDRED:
        raise DomainError(_l("%(field)s: the rate must be a number from 0 to 100.",
                             field=label))
    if value != value.quantize(Decimal("0.01")):
        raise DomainError(_l("%(field)s: the rate can have at most 2 decimals.", field=label))
    return value.quantize(Decimal("0.01"))


def save_settings(db: Session, shop: Shop, form: Mapping[str, str], *, by: User) -> None:
    """The owner's taxes and charges. Every field is checked first and every problem reported
    at once (DomainError with the messages joined); nothing changes unless all are right. A
    change bumps the menu version (every change to a shop column the guest pages show does,
    models.tenancy): open menus refresh, and no cached cart total survives."""
    problems: list[str] = []
    values: dict[str, object] = {}
    for kind in KINDS:
        label = NAMES[kind]
        on = form.get(f"{kind}_on") == "1"
        try:
            name = clean_text(form.get(f"{kind}_name"), _l("%(charge)s name", charge=label),
                              MAX_NAME, required=on)
        except DomainError as exc:
            problems.append(str(exc.message))
            name = None
        try:
            name_km = clean_text(form.get(f"{kind}_name_km"),
                                 _l("%(charge)s name in Khmer", charge=label), MAX_NAME,
                                 required=False)
        except DomainError as exc:
            problems.append(str(exc.message))
            name_km = None
        try:
            rate = parse_rate(form.get(f"{kind}_rate"), label) if on or (
                form.get(f"{kind}_rate") or "").strip() else getattr(shop, f"{kind}_rate")
        except DomainError as exc:
            problems.append(str(exc.message))
            rate = None
        mode = form.get(f"{kind}_mode", "added")
        if mode not in ("added", "included"):
            problems.append(str(_l("%(field)s: choose added to the prices or included in them.",
                                   field=label)))
        values[kind] = (on, name or getattr(shop, f"{kind}_name"), name_km, rate,
                        mode == "included")
    rounding = form.get("charge_rounding", "nearest")
    if rounding not in ROUNDINGS:
        problems.append(str(_l("Choose how charges are rounded.")))
    if problems:
        raise DomainError("\n".join(problems))
    for kind in KINDS:
        on, name, name_km, rate, included = values[kind]  # type: ignore[misc]
        setattr(shop, f"{kind}_on", on)
        setattr(shop, f"{kind}_name", name)
        setattr(shop, f"{kind}_name_km", name_km)
        setattr(shop, f"{kind}_rate", rate)
        setattr(shop, f"{kind}_included", included)
    shop.charge_rounding = rounding
    summary = ", ".join(f"{c.name} {c.rate}% {'incl.' if c.included else 'added'}"
                        for c in settings_of(shop).charges) or "off"
    audit(db, shop, by, "settings.charges", summary[:80], f"rounding {rounding}")
