"""The Bakong client against the simulator over real HTTP (the documented answers, without the
simulator, are in test_bakong_contract.py): every answer maps to its own
outcome, amounts stay exact, and the token's expiry is read for the owner's warning."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import requests

from shopqr.models import utcnow
from shopqr.services.bakong import (
    BakongClient,
    CheckStatus,
    client_from_config,
    token_expiry,
    token_warning,
)

MD5 = "0123456789abcdef0123456789abcdef"


def pay(server, amount: str, currency: str, md5: str = MD5, status: str = "SUCCESS") -> None:
    requests.post(f"{server.url}/_bakong/pay", timeout=10, json={
        "md5": md5, "amount": amount, "currency": currency, "status": status}).raise_for_status()


def fault(server, mode: str, delay: float = 0) -> None:
    requests.post(f"{server.url}/_bakong/faults", timeout=10,
                  json={"mode": mode, "count": 1, "delay_seconds": delay}).raise_for_status()


@pytest.mark.parametrize("amount,currency", [("2.5", "USD"), ("15000", "KHR"), ("0.01", "USD")])
def test_paid_answer_with_exact_amount(app, live_server, amount, currency):
    pay(live_server, amount, currency)
    result = client_from_config(app.config).check_transaction_by_md5(MD5)
    assert result.status is CheckStatus.PAID and not result.retryable
    assert result.payment.amount == Decimal(amount) and result.payment.currency == currency
    assert result.payment.hash and result.payment.from_account == "guest@abaa"


def test_not_found_and_failed(app, live_server):
    client = client_from_config(app.config)
    assert client.check_transaction_by_md5(MD5).status is CheckStatus.NOT_FOUND
    pay(live_server, "1", "USD", status="FAILED")
    assert client.check_transaction_by_md5(MD5).status is CheckStatus.FAILED


@pytest.mark.parametrize("mode,status", [
    ("500", CheckStatus.SERVER_ERROR), ("429", CheckStatus.RATE_LIMITED),
    ("401", CheckStatus.UNAUTHORIZED), ("403", CheckStatus.FORBIDDEN),
    ("bad_json", CheckStatus.BAD_RESPONSE),
])
def test_outages_map_to_retryable_outcomes(app, live_server, mode, status):
    fault(live_server, mode)
    result = client_from_config(app.config).check_transaction_by_md5(MD5)
    assert result.status is status and result.retryable


def test_timeout_and_unreachable(app, live_server):
    fault(live_server, "timeout", delay=1.5)
    slow = BakongClient(f"{live_server.url}/_bakong", "t", read_timeout=0.5)
    assert slow.check_transaction_by_md5(MD5).status is CheckStatus.TIMEOUT
    nowhere = BakongClient("http://127.0.0.1:9", "t", connect_timeout=0.5)
    assert nowhere.check_transaction_by_md5(MD5).status is CheckStatus.NETWORK_ERROR


def test_missing_bearer_token_is_unauthorized(live_server):
    client = BakongClient(f"{live_server.url}/_bakong", None)
    assert client.check_transaction_by_md5(MD5).status is CheckStatus.UNAUTHORIZED


def test_list_endpoint_and_renew_token(app, live_server):
    pay(live_server, "3", "USD")
    client = client_from_config(app.config)
    other = "f" * 32
    results = client.check_transaction_by_md5_list([MD5, other])
    assert results[MD5].status is CheckStatus.PAID and results[other].status is \
        CheckStatus.NOT_FOUND
    with pytest.raises(ValueError):
        client.check_transaction_by_md5_list([MD5] * 51)
    token = client.renew_token("owner@example.com")
    assert token_expiry(token) > utcnow() + timedelta(days=89)
    fault(live_server, "403")
    assert client.check_transaction_by_md5_list([MD5]) is None  # callers fall back


def jwt(exp: int) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part({'exp': exp})}.signature"


@pytest.mark.parametrize("days_left,warns", [(30, False), (8, False), (6, True), (-1, True)])
def test_token_warning_a_week_before_expiry(days_left, warns):
    now = datetime(2026, 11, 24, 12, 0)
    exp = int((now + timedelta(days=days_left) - datetime(1970, 1, 1)).total_seconds())
    assert (token_warning(jwt(exp), now) is not None) is warns


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "a.b.c"])
def test_missing_or_unreadable_tokens_warn(token):
    assert token_warning(token, datetime(2026, 1, 1)) is not None
