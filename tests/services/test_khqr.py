"""KHQR strings (docs/khqr.md): four reference strings made by NBC's official SDK 1.0.20
(creation time pinned), byte for byte; the amount rules, validation, decoding, and parity with
the SDK run by node."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from shopqr.services.khqr import (
    KHQRAccount,
    KHQRError,
    build_khqr,
    crc16,
    decode_khqr,
    describe,
    fit,
    format_amount,
    verify_khqr,
)

T0 = 1767225600000
DEMO = KHQRAccount("individual", "democafe@aclb")
SDK_DIR = Path(__file__).resolve().parents[1] / ".cache" / "khqr-sdk"

VECTORS = [
    (dict(currency="KHR"),
     "00020101021129170013democafe@aclb5204599953031165802KH5909Demo Cafe6010Phnom Penh"
     "63043048", "a3f912d6d863c0589f13277b7cec701e"),
    (dict(currency="KHR", amount=Decimal(15000), bill_number="INV-0001", created_ms=T0,
          expires_ms=T0 + 600000),
     "00020101021229170013democafe@aclb5204599953031165405150005802KH5909Demo Cafe6010Phnom "
     "Penh62120108INV-0001993400131767225600000011317672262000006304F82C",
     "db363f7d014a978315a01dc592e8f9ac"),
    (dict(currency="USD", merchant_city="Siem Reap", amount=Decimal("2.5"),
          bill_number="T12-20260101-0042", mobile_number="85512345678",
          store_label="Demo Cafe BKK1", terminal_label="Counter 1", created_ms=T0,
          expires_ms=T0 + 900000),
     "00020101021229170013democafe@aclb52045999530384054042.505802KH5909Demo Cafe6009Siem Reap"
     "62670117T12-20260101-00420211855123456780314Demo Cafe BKK10709Counter 1993400131767225600"
     "0000113176722650000063043C17", "da34197731f51de8bc03a8930dde3ee2"),
    (dict(currency="USD", amount=Decimal("10.00"), purpose="Coffee", alt_language="km",
          alt_merchant_name="ហាងកាហ្វេ", alt_merchant_city="ភ្នំពេញ", created_ms=T0,
          expires_ms=T0 + 600000),
     "00020101021229170013democafe@aclb520459995303840540510.005802KH5909Demo Cafe6010Phnom "
     "Penh62100806Coffee64300002km0109ហាងកាហ្វេ0207ភ្នំពេញ993400131767225600000011317672262000"
     "006304F931", "9f05bd35f5580aaeab2a385979bb85f0"),
]


@pytest.mark.parametrize("fields,expected,md5", VECTORS)
def test_reference_vectors_byte_for_byte(fields, expected, md5):
    qr = build_khqr(account=DEMO, merchant_name="Demo Cafe", **fields)
    assert qr.qr == expected
    assert qr.md5 == md5
    assert verify_khqr(qr.qr)


@pytest.mark.parametrize("amount,currency,text", [
    ("3", "USD", "3"), ("2.5", "USD", "2.50"), ("10.00", "USD", "10.00"), ("0.01", "USD", "0.01"),
    ("99999.99", "USD", "99999.99"), ("15000", "KHR", "15000"), ("1000000", "KHR", "1000000"),
])
def test_amount_format(amount, currency, text):
    assert format_amount(Decimal(amount), currency) == text


@pytest.mark.parametrize("amount,currency", [
    ("2.505", "USD"), ("100.5", "KHR"), ("-1", "USD"), ("12345678901234", "KHR"), ("1", "EUR"),
])
def test_bad_amounts_are_refused_not_rounded(amount, currency):
    with pytest.raises(KHQRError):
        format_amount(Decimal(amount), currency)


@pytest.mark.parametrize("change,message", [
    (dict(merchant_name=""), "Merchant name"),
    (dict(merchant_name="x" * 26), "Merchant name"),
    (dict(merchant_city="x" * 16), "Merchant city"),
    (dict(bill_number="x" * 26), "Bill number"),
    (dict(account=KHQRAccount("individual", "no-at-sign")), "name@bank"),
    (dict(account=KHQRAccount("merchant", "shop@aclb")), "Merchant ID"),
    (dict(account=KHQRAccount("merchant", "shop@aclb", merchant_id="M1")), "Acquiring bank"),
    (dict(amount=Decimal("1"), created_ms=None), "creation and an expiry"),
    (dict(amount=Decimal("1"), expires_ms=T0 - 1), "expiry must come after"),
    (dict(alt_merchant_name="ហាង"), "language"),
])
def test_invalid_fields_have_clear_errors(change, message):
    fields = dict(account=DEMO, merchant_name="Demo Cafe", currency="USD", created_ms=T0,
                  expires_ms=T0 + 60000)
    fields.update(change)
    with pytest.raises(KHQRError, match=message):
        build_khqr(**fields)


def test_fit_counts_utf16_units_and_never_splits_an_emoji():
    assert fit("ហាងកាហ្វេ ល្អ", 9) == "ហាងកាហ្វេ"
    assert fit("ab😀cd", 3) == "ab"
    assert fit("ab😀cd", 4) == "ab😀"
    assert fit("Lucky Cafe Riverside Branch", 25) == "Lucky Cafe Riverside Bran"


def test_decode_and_describe_round_trip():
    qr = build_khqr(account=KHQRAccount("merchant", "shop@aclb", merchant_id="M-77",
                                        acquiring_bank="ABA Bank"),
                    merchant_name="Lucky Cafe", currency="USD", amount=Decimal("4.75"),
                    bill_number="261124-007", created_ms=T0, expires_ms=T0 + 600000).qr
    fields = decode_khqr(qr)
    assert fields["30"] == {"00": "shop@aclb", "01": "M-77", "02": "ABA Bank"}
    info = describe(qr)
    assert (info["amount"], info["currency"], info["bill_number"]) == (
        Decimal("4.75"), "USD", "261124-007")
    assert info["expires_ms"] - info["created_ms"] == 600000


def test_a_corrupted_string_fails_verification():
    good = VECTORS[1][1]
    assert verify_khqr(good)
    assert not verify_khqr(good.replace("15000", "15001"))  # amount changed, CRC not
    assert not verify_khqr(good[:-4] + "0000")
    assert not verify_khqr("hello")
    assert crc16(good[:-4]) == good[-4:]


# --- parity with the official SDK -------------------------------------------------------

PARITY_CASES = [
    dict(type="individual", account="democafe@aclb", name="Demo Cafe", city="Phnom Penh",
         currency="USD", amount="0.01", bill="A-1"),
    dict(type="individual", account="democafe@aclb", name="Demo Cafe", city="Phnom Penh",
         currency="USD", amount="1.10", bill="261124-001", store="Lucky Cafe"),
    dict(type="individual", account="democafe@aclb", name="Demo Cafe", city="Siem Reap",
         currency="USD", amount="99999.99", bill="B" * 25, store="S" * 25, terminal="T" * 25),
    dict(type="individual", account="democafe@aclb", name="N" * 25, city="C" * 15,
         currency="KHR", amount="100", bill="X-2", mobile="85512345678"),
    dict(type="individual", account="democafe@aclb", name="Demo Cafe", city="Phnom Penh",
         currency="KHR", amount="15000", purpose="Coffee"),
    dict(type="individual", account="democafe@aclb", name="Demo Cafe", city="Phnom Penh",
         currency="KHR", amount="1000000", bill="BIG"),
    dict(type="individual", account="democafe@aclb", name="Demo Cafe", city="Phnom Penh",
         currency="USD", amount="12.00", lang="km", alt_name="ហាងកាហ្វេលាភ",
         alt_city="ភ្នំពេញ"),
    dict(type="individual", account="a@b", name="Café ☕", city="Kampot", currency="USD",
         amount="3.50", bill="CAFE-1"),
    dict(type="individual", account="democafe@aclb", name="Demo Cafe", city="Phnom Penh",
         currency="USD", amount="5", bank="ACLEDA", info="012345678"),
    dict(type="merchant", account="shop@aclb", merchant_id="123456", bank="Dev Bank",
         name="Lucky Cafe", city="Phnom Penh", currency="USD", amount="4.75",
         bill="261124-007", store="Lucky Cafe"),
    dict(type="merchant", account="shop@aclb", merchant_id="M" * 32, bank="B" * 32,
         name="Lucky Cafe", city="Battambang", currency="KHR", amount="42000",
         bill="261124-008", terminal="Table 12"),
    dict(type="merchant", account="shop@aclb", merchant_id="77", bank="ABA",
         name="ហាងកាហ្វេ", city="ភ្នំពេញ", currency="KHR", amount="500"),
]


def ours(case: dict) -> str:
    account = KHQRAccount(case["type"], case["account"], merchant_id=case.get("merchant_id"),
                          acquiring_bank=case.get("bank"),
                          account_information=case.get("info"))
    return build_khqr(
        account=account, merchant_name=case["name"], merchant_city=case["city"],
        currency=case["currency"], amount=Decimal(case["amount"]),
        bill_number=case.get("bill"), mobile_number=case.get("mobile"),
        store_label=case.get("store"), terminal_label=case.get("terminal"),
        purpose=case.get("purpose"), alt_language=case.get("lang"),
        alt_merchant_name=case.get("alt_name"), alt_merchant_city=case.get("alt_city"),
        created_ms=case["created"], expires_ms=case["expires"],
    ).qr


@pytest.fixture(scope="session")
def sdk() -> Path:
    """NBC's SDK (npm bakong-khqr 1.0.20) in a test cache folder; installed once. A lock file
    keeps two test runs at once (scripts/test.sh runs the SQLite and MariaDB passes together)
    from installing into the folder at the same time."""
    SDK_DIR.mkdir(parents=True, exist_ok=True)
    with (SDK_DIR.parent / "khqr-sdk.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (SDK_DIR / "node_modules" / "bakong-khqr").exists():
            if not shutil.which("npm") or not shutil.which("node"):
                pytest.fail("node and npm are needed for the KHQR parity test")
            subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix",
                            str(SDK_DIR), "bakong-khqr@1.0.20"],
                           check=True, capture_output=True, timeout=300)
    return SDK_DIR


def test_parity_with_the_official_sdk(sdk):
    import time

    now = int(time.time() * 1000)  # the SDK refuses expiry dates in the past
    cases = [dict(case, created=now, expires=now + 600000) for case in PARITY_CASES]
    for case in cases:
        case["ours"] = ours(case)
    script = Path(__file__).with_name("khqr_parity.js")
    run = subprocess.run(["node", str(script)], input=json.dumps(cases), capture_output=True,
                         text=True, cwd=sdk, timeout=120, check=True)
    results = json.loads(run.stdout)
    assert len(results) == len(cases)
    for case, result in zip(cases, results, strict=True):
        assert result.get("error") is None, (case, result)
        assert result["sdk"] == case["ours"], case
        assert result["md5"] == build_md5(case["ours"])
        assert result["verified"] is True, case


def build_md5(qr: str) -> str:
    import hashlib

    return hashlib.md5(qr.encode("utf-8")).hexdigest()
