"""KHQR strings exactly as NBC's official SDK (npm bakong-khqr 1.0.20) writes them.

EMVCo TLV: two-digit tag, two-digit length counted in UTF-16 code units, value. CRC-16/CCITT-
FALSE over the UTF-8 bytes of everything before it including "6304". The md5 of the whole
string is what Bakong indexes a payment under. See docs/khqr.md."""

from __future__ import annotations

import binascii
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

CURRENCY_CODES = {"KHR": "116", "USD": "840"}
CURRENCY_NAMES = {code: name for name, code in CURRENCY_CODES.items()}
NESTED_TAGS = ("29", "30", "62", "64", "99")


class KHQRError(ValueError):
    """A value that cannot go into a KHQR, or a string that is not a valid KHQR."""


@dataclass(frozen=True)
class KHQRAccount:
    account_type: str  # "individual" (tag 29) or "merchant" (tag 30)
    bakong_account_id: str
    merchant_id: str | None = None
    acquiring_bank: str | None = None
    account_information: str | None = None


@dataclass(frozen=True)
class KHQR:
    qr: str
    md5: str
    created_ms: int | None
    expires_ms: int | None


def units(value: str) -> int:
    """Length in UTF-16 code units, as JavaScript's ``.length`` counts it."""
    return len(value.encode("utf-16-le")) // 2


def fit(value: str, limit: int) -> str:
    """Cut to at most ``limit`` UTF-16 units without splitting a surrogate pair."""
    out: list[str] = []
    used = 0
    for char in value or "":
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > limit:
            break
        out.append(char)
        used += width
    return "".join(out).rstrip()


def tlv(tag: str, value: str) -> str:
    length = units(value)
    if length > 99:
        raise KHQRError(f"Tag {tag} is too long")
    return f"{tag}{length:02d}{value}"


def crc16(data: str) -> str:
    return f"{binascii.crc_hqx(data.encode('utf-8'), 0xFFFF):04X}"


def _check(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise KHQRError(f"{name} is required")
        return None
    if units(value) > limit:
        raise KHQRError(f"{name} must be at most {limit} characters")
    return value


def format_amount(amount: Decimal, currency: str) -> str:
    """Tag 54: whole riel; USD at most two decimals, written with two when it has a point."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise KHQRError("Amount must be a number") from None
    if not value.is_finite() or value < 0:
        raise KHQRError("Amount must be a positive number")
    if currency == "KHR":
        if value != value.to_integral_value():
            raise KHQRError("A riel amount must be whole")
        text = str(int(value))
    elif currency == "USD":
        if value != value.quantize(Decimal("0.01")):
            raise KHQRError("A dollar amount can have at most 2 decimals")
        # As the SDK: a value written with a point keeps two decimals ("10.00"), one without
        # stays whole ("10"); money from the database always has its two decimals.
        has_point = isinstance(value.as_tuple().exponent, int) and value.as_tuple().exponent < 0
        text = f"{value:.2f}" if has_point else str(int(value))
    else:
        raise KHQRError("Currency must be USD or KHR")
    if len(text) > 13:
        raise KHQRError("Amount is too long")
    return text


def build_khqr(
    *,
    account: KHQRAccount,
    merchant_name: str,
    merchant_city: str = "Phnom Penh",
    currency: str,
    amount: Decimal | None = None,
    bill_number: str | None = None,
    mobile_number: str | None = None,
    store_label: str | None = None,
    terminal_label: str | None = None,
    purpose: str | None = None,
    alt_language: str | None = None,
    alt_merchant_name: str | None = None,
    alt_merchant_city: str | None = None,
    merchant_category_code: str = "5999",
    created_ms: int | None = None,
    expires_ms: int | None = None,
) -> KHQR:
    """A KHQR string; dynamic (tag 01 = 12, with tag 99) when the amount is above zero."""
    if currency not in CURRENCY_CODES:
        raise KHQRError("Currency must be USD or KHR")
    dynamic = amount is not None and Decimal(amount) != 0
    parts = [tlv("00", "01"), tlv("01", "12" if dynamic else "11")]

    account_id = account.bakong_account_id or ""
    if "@" not in account_id:
        raise KHQRError("Bakong account ID must look like name@bank")
    _check(account_id, "Bakong account ID", 32, required=True)
    if account.account_type == "merchant":
        merchant_id = _check(account.merchant_id, "Merchant ID", 32, required=True)
        bank = _check(account.acquiring_bank, "Acquiring bank", 32, required=True)
        sub = tlv("00", account_id) + tlv("01", merchant_id or "") + tlv("02", bank or "")
        parts.append(tlv("30", sub))
    elif account.account_type == "individual":
        sub = tlv("00", account_id)
        info = _check(account.account_information, "Account information", 32)
        bank = _check(account.acquiring_bank, "Acquiring bank", 32)
        if info:
            sub += tlv("01", info)
        if bank:
            sub += tlv("02", bank)
        parts.append(tlv("29", sub))
    else:
        raise KHQRError("Account type must be individual or merchant")

    if not re.fullmatch(r"\d{4}", merchant_category_code or ""):
        raise KHQRError("Merchant category code must be 4 digits")
    parts.append(tlv("52", merchant_category_code))
    parts.append(tlv("53", CURRENCY_CODES[currency]))
    if dynamic:
        parts.append(tlv("54", format_amount(Decimal(amount), currency)))
    parts.append(tlv("58", "KH"))
    parts.append(tlv("59", _check(merchant_name, "Merchant name", 25, required=True) or ""))
    parts.append(tlv("60", _check(merchant_city, "Merchant city", 15, required=True) or ""))

    additional = ""
    for tag, value, name in (
        ("01", bill_number, "Bill number"),
        ("02", mobile_number, "Mobile number"),
        ("03", store_label, "Store label"),
        ("07", terminal_label, "Terminal label"),
        ("08", purpose, "Purpose of transaction"),
    ):
        checked = _check(value, name, 25)
        if checked:
            additional += tlv(tag, checked)
    if additional:
        parts.append(tlv("62", additional))

    if alt_language or alt_merchant_name or alt_merchant_city:
        if not (alt_language and alt_merchant_name):
            raise KHQRError("An alternate-language name needs a language, and the reverse")
        language = _check(alt_language, "Language", 2, required=True) or ""
        sub = tlv("00", language) + tlv("01", _check(alt_merchant_name, "Alternate name", 25)
                                         or "")
        city = _check(alt_merchant_city, "Alternate city", 15)
        if city:
            sub += tlv("02", city)
        parts.append(tlv("64", sub))

    if dynamic:
        if created_ms is None or expires_ms is None:
            raise KHQRError("A dynamic KHQR needs a creation and an expiry time")
        if len(str(created_ms)) != 13 or len(str(expires_ms)) != 13:
            raise KHQRError("Times must be 13-digit milliseconds")
        if expires_ms <= created_ms:
            raise KHQRError("The expiry must come after the creation time")
        parts.append(tlv("99", tlv("00", str(created_ms)) + tlv("01", str(expires_ms))))

    body = "".join(parts) + "6304"
    qr = body + crc16(body)
    return KHQR(qr, hashlib.md5(qr.encode("utf-8")).hexdigest(), created_ms if dynamic else None,
                expires_ms if dynamic else None)


def _parse(data: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(data):
        tag, raw_len = data[i:i + 2], data[i + 2:i + 4]
        if len(tag) < 2 or not raw_len.isdigit():
            raise KHQRError("Malformed KHQR: bad tag or length")
        length = int(raw_len)
        start = i + 4
        # lengths are UTF-16 units: walk characters until that many units are consumed
        j, used = start, 0
        while used < length and j < len(data):
            used += 2 if ord(data[j]) > 0xFFFF else 1
            j += 1
        if used != length:
            raise KHQRError("Malformed KHQR: a value is shorter than its length")
        out.append((tag, data[start:j]))
        i = j
    return out


def decode_khqr(qr: str) -> dict[str, object]:
    """Tag -> value, with the nested templates (29, 30, 62, 64, 99) parsed into dicts.
    Raises KHQRError on a bad CRC or malformed data."""
    if not isinstance(qr, str) or len(qr) < 8 or qr[-8:-4] != "6304":
        raise KHQRError("Not a KHQR: the CRC tag is missing")
    if crc16(qr[:-4]) != qr[-4:].upper():
        raise KHQRError("The KHQR checksum (CRC) is wrong")
    result: dict[str, object] = {}
    for tag, value in _parse(qr[:-4] + "0000")[:-1]:
        result[tag] = dict(_parse(value)) if tag in NESTED_TAGS else value
    result["63"] = qr[-4:]
    return result


REQUIRED_TAGS = ("00", "01", "52", "53", "58", "59", "60")


def verify_khqr(qr: str) -> bool:
    try:
        fields = decode_khqr(qr)
    except KHQRError:
        return False
    if any(tag not in fields for tag in REQUIRED_TAGS):
        return False
    if ("29" in fields) == ("30" in fields):
        return False
    return fields["53"] in CURRENCY_NAMES


def describe(qr: str) -> dict[str, object]:
    """The fields a person checks: account, names, amount and currency, bill, times."""
    fields = decode_khqr(qr)
    account = fields.get("29") or fields.get("30") or {}
    extra = fields.get("62") or {}
    times = fields.get("99") or {}
    assert isinstance(account, dict) and isinstance(extra, dict) and isinstance(times, dict)
    return {
        "account_id": account.get("00"),
        "merchant_name": fields.get("59"),
        "merchant_city": fields.get("60"),
        "currency": CURRENCY_NAMES.get(str(fields.get("53"))),
        "amount": Decimal(str(fields["54"])) if "54" in fields else None,
        "bill_number": extra.get("01"),
        "store_label": extra.get("03"),
        "created_ms": int(times["00"]) if "00" in times else None,
        "expires_ms": int(times["01"]) if "01" in times else None,
        "dynamic": fields.get("01") == "12",
    }
