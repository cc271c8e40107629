"""The Bakong client against Bakong's documented answers (docs/khqr.md), not against our own
simulator: each answer in tests/fixtures/bakong/ is served over real HTTP on loopback and the
client must reach the outcome the poller relies on. Then the simulator is held to the same
fixtures: for every case it can play, its answer has the documented shape."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shopqr.extensions import db
from shopqr.models import utcnow
from shopqr.services import payments
from shopqr.services.bakong import BakongClient, BakongError, CheckStatus, token_expiry
from tests.factories import make_order, make_product, make_shop

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bakong"
MD5 = "0123456789abcdef0123456789abcdef"
TOKEN = "contract-test-token"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


class ReplayServer:
    """Answers every POST to a path with the fixture set for it, and records the requests."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[dict[str, Any], float]] = {}
        self.requests: list[dict[str, Any]] = []
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str, answer: dict[str, Any], *, delay: float = 0) -> None:
        self.answers[path] = (answer, delay)

    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append({"method": request.method, "path": request.path,
                              "headers": dict(request.headers),
                              "body": request.get_data(as_text=True)})
        answer, delay = self.answers.get(request.path, ({"status": 404, "body": "no such"}, 0))
        time.sleep(delay)
        body = answer["body"]
        text = body if isinstance(body, str) else json.dumps(body)
        response = Response(text, status=answer["status"],
                            content_type=answer.get("content_type", "application/json"))
        return response(environ, start_response)


@pytest.fixture(scope="module")
def bakong() -> Iterator[ReplayServer]:
    server = ReplayServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.thread.join(timeout=10)


@pytest.fixture
def api(bakong: ReplayServer) -> BakongClient:
    bakong.answers.clear()
    bakong.requests.clear()
    return BakongClient(bakong.url, TOKEN, connect_timeout=2, read_timeout=2)


def check(bakong: ReplayServer, api: BakongClient, name: str):
    bakong.answer("/v1/check_transaction_by_md5", fixture(name))
    return api.check_transaction_by_md5(MD5)


# --- what the client sends ---

def test_a_check_is_a_json_post_with_the_md5_and_the_bearer_token(bakong, api):
    check(bakong, api, "check_not_found")
    [sent] = bakong.requests
    assert sent["method"] == "POST" and sent["path"] == "/v1/check_transaction_by_md5"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(sent["body"]) == {"md5": MD5}


# --- check_transaction_by_md5: every documented answer ---

@pytest.mark.parametrize("name,amount,currency", [
    ("check_paid_usd", Decimal("2.50"), "USD"),
    ("check_paid_khr", Decimal("15000"), "KHR"),
])
def test_paid_gives_the_payment_with_its_exact_amount(bakong, api, name, amount, currency):
    result = check(bakong, api, name)
    data = fixture(name)["body"]["data"]
    assert result.status is CheckStatus.PAID and not result.retryable
    payment = result.payment
    assert payment.amount == amount and payment.currency == currency
    assert (payment.hash, payment.from_account, payment.to_account) == (
        data["hash"], data["fromAccountId"], data["toAccountId"])
    assert (payment.description, payment.external_ref) == (data["description"],
                                                           data["externalRef"])
    assert (payment.created_ms, payment.acknowledged_ms) == (data["createdDateMs"],
                                                             data["acknowledgedDateMs"])


def test_paid_with_fields_we_do_not_know_is_still_paid(bakong, api):
    """Bakong's payment data has more fields than the ones shopqr reads; new ones may come."""
    answer = fixture("check_paid_usd")
    answer["body"]["data"].update(trackingStatus=None, receiverBank="ACLEDA",
                                  receiverBankAccount="000123456789", instructionRef=None)
    bakong.answer("/v1/check_transaction_by_md5", answer)
    result = api.check_transaction_by_md5(MD5)
    assert result.status is CheckStatus.PAID and result.payment.amount == Decimal("2.5")


@pytest.mark.parametrize("amount", [None, True, "NaN", "two fifty"])
def test_paid_without_a_usable_amount_is_not_taken_as_paid(bakong, api, amount):
    answer = fixture("check_paid_usd")
    answer["body"]["data"]["amount"] = amount
    bakong.answer("/v1/check_transaction_by_md5", answer)
    result = api.check_transaction_by_md5(MD5)
    assert result.status is CheckStatus.BAD_RESPONSE and result.retryable


@pytest.mark.parametrize("name,status,retryable", [
    ("check_not_found", CheckStatus.NOT_FOUND, False),
    ("check_failed", CheckStatus.FAILED, False),
    ("check_static_qr", CheckStatus.STATIC_QR, False),
    ("unauthorized", CheckStatus.UNAUTHORIZED, True),
    ("forbidden_outside_cambodia", CheckStatus.FORBIDDEN, True),
    ("rate_limited", CheckStatus.RATE_LIMITED, True),
    ("server_error", CheckStatus.SERVER_ERROR, True),
    ("bad_json", CheckStatus.BAD_RESPONSE, True),
])
def test_each_documented_answer_has_its_own_outcome(bakong, api, name, status, retryable):
    result = check(bakong, api, name)
    assert result.status is status
    assert result.retryable is retryable  # retryable: the poller backs off and asks again
    assert result.payment is None


def test_not_found_keeps_bakongs_message(bakong, api):
    result = check(bakong, api, "check_not_found")
    assert result.message == "Transaction could not be found. Please check and try again."
    assert result.http_status == 200


def test_error_code_6_is_unauthorized_whatever_the_http_status(bakong, api):
    """A relay may pass the envelope on with HTTP 200: the envelope decides."""
    answer = {**fixture("unauthorized"), "status": 200}
    bakong.answer("/v1/check_transaction_by_md5", answer)
    assert api.check_transaction_by_md5(MD5).status is CheckStatus.UNAUTHORIZED


@pytest.mark.parametrize("status", [500, 503, 504])
def test_every_5xx_is_a_server_error(bakong, api, status):
    bakong.answer("/v1/check_transaction_by_md5", {**fixture("server_error"), "status": status})
    result = api.check_transaction_by_md5(MD5)
    assert result.status is CheckStatus.SERVER_ERROR and result.http_status == status


def test_a_slow_answer_is_a_timeout(bakong):
    bakong.answer("/v1/check_transaction_by_md5", fixture("check_not_found"), delay=1.0)
    impatient = BakongClient(bakong.url, TOKEN, read_timeout=0.3)
    result = impatient.check_transaction_by_md5(MD5)
    assert result.status is CheckStatus.TIMEOUT and result.retryable


def test_nobody_listening_is_a_network_error():
    result = BakongClient("http://127.0.0.1:9", TOKEN, connect_timeout=0.5) \
        .check_transaction_by_md5(MD5)
    assert result.status is CheckStatus.NETWORK_ERROR and result.retryable


# --- check_transaction_by_md5_list (the client has it; the poller checks one by one) ---

def test_the_list_check_sends_a_bare_array_and_reads_one_row_per_md5(bakong, api):
    answer = fixture("check_list")
    bakong.answer("/v1/check_transaction_by_md5_list", answer)
    md5s = [row["md5"] for row in answer["body"]["data"]]
    results = api.check_transaction_by_md5_list(md5s)
    assert json.loads(bakong.requests[0]["body"]) == md5s
    assert {md5: r.status for md5, r in results.items()} == {
        md5s[0]: CheckStatus.PAID, md5s[1]: CheckStatus.NOT_FOUND, md5s[2]: CheckStatus.FAILED}
    assert results[md5s[0]].payment.amount == Decimal("2.5")


def test_the_list_check_refused_or_too_long_falls_back(bakong, api):
    bakong.answer("/v1/check_transaction_by_md5_list", fixture("forbidden_outside_cambodia"))
    assert api.check_transaction_by_md5_list([MD5]) is None  # the caller checks one by one
    with pytest.raises(ValueError):
        api.check_transaction_by_md5_list([MD5] * 51)


# --- renew_token ---

def test_renew_token_returns_the_new_jwt_whose_expiry_we_can_read(bakong, api):
    bakong.answer("/v1/renew_token", fixture("renew_token"))
    token = api.renew_token("owner@lucky-cafe.example")
    assert json.loads(bakong.requests[0]["body"]) == {"email": "owner@lucky-cafe.example"}
    assert token == fixture("renew_token")["body"]["data"]["token"]
    assert token_expiry(token) == datetime(2026, 4, 1)  # iat 2026-01-01 + 90 days


def test_renew_token_for_an_unregistered_email_says_so(bakong, api):
    bakong.answer("/v1/renew_token", fixture("renew_token_not_registered"))
    with pytest.raises(BakongError, match="not registered"):
        api.renew_token("stranger@example.com")


# --- the simulator gives the documented shape ---

def shape(value: Any) -> Any:
    """A JSON value's keys and types, without its values."""
    if isinstance(value, dict):
        return {key: shape(v) for key, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    assert value is None, value
    return "null"


def body_shape(response) -> Any:
    try:
        return shape(json.loads(response.get_data(as_text=True)))
    except ValueError:
        return "not JSON"


def fixture_shape(answer: dict[str, Any]) -> Any:
    body = answer["body"]
    if isinstance(body, str):
        try:
            return shape(json.loads(body))
        except ValueError:
            return "not JSON"
    return shape(body)


@pytest.fixture
def simulated_md5(app, ctx) -> tuple[str, str]:
    """A real KHQR of a USD and of a KHR order, so the simulator knows the bill and account."""
    md5s = []
    for currency, price in (("USD", "2.50"), ("KHR", "15000")):
        shop = make_shop(currency=currency)
        order = make_order(shop, make_product(shop, "Latte", price), method="khqr")
        txn = payments.create_khqr(db.session, shop, order, now=utcnow(), ttl_seconds=600,
                                   grace_seconds=600)
        db.session.commit()
        md5s.append(txn.md5)
    return md5s[0], md5s[1]


def simulator_check(client, md5: str, *, token: str | None = TOKEN):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/_bakong/v1/check_transaction_by_md5", json={"md5": md5},
                       headers=headers)


def sim_pay(client, md5: str, amount: str, status: str = "SUCCESS") -> None:
    assert client.post("/_bakong/pay", json={"md5": md5, "amount": amount,
                                             "status": status}).status_code == 200


def sim_fault(client, mode: str) -> None:
    assert client.post("/_bakong/faults", json={"mode": mode, "count": 1}).status_code == 200


def test_the_simulators_paid_answers_have_the_documented_shape(client, simulated_md5):
    usd, khr = simulated_md5
    sim_pay(client, usd, "2.50")
    sim_pay(client, khr, "15000")
    for md5, name in ((usd, "check_paid_usd"), (khr, "check_paid_khr")):
        answer = simulator_check(client, md5)
        assert answer.status_code == fixture(name)["status"]
        assert body_shape(answer) == fixture_shape(fixture(name)), name


def test_the_simulators_unpaid_and_failed_answers_have_the_documented_shape(
        client, simulated_md5):
    usd, khr = simulated_md5
    not_found = simulator_check(client, usd)
    assert not_found.status_code == 200
    assert not_found.get_json() == fixture("check_not_found")["body"]  # the very message too
    sim_pay(client, khr, "15000", status="FAILED")
    failed = simulator_check(client, khr)
    assert failed.status_code == 200
    assert failed.get_json() == fixture("check_failed")["body"]


def test_the_simulators_list_answer_has_the_documented_shape(client, simulated_md5):
    usd, khr = simulated_md5
    sim_pay(client, usd, "2.50")
    sim_pay(client, khr, "15000", status="FAILED")
    answer = client.post("/_bakong/v1/check_transaction_by_md5_list",
                         json=[usd, "f" * 32, khr], headers={"Authorization": f"Bearer {TOKEN}"})
    documented = fixture("check_list")["body"]
    body = answer.get_json()
    assert shape({**body, "data": None}) == shape({**documented, "data": None})
    assert [row["status"] for row in body["data"]] == ["SUCCESS", "NOT_FOUND", "FAILED"]
    for row, doc_row in zip(body["data"], documented["data"], strict=True):
        assert shape(row) == shape(doc_row), row["status"]


@pytest.mark.parametrize("how,name", [
    ("no token", "unauthorized"),
    ("401", "unauthorized"),
    ("403", "forbidden_outside_cambodia"),
    ("429", "rate_limited"),
])
def test_the_simulators_refusals_have_the_documented_status_and_shape(
        client, simulated_md5, how, name):
    if how == "no token":
        answer = simulator_check(client, simulated_md5[0], token=None)
    else:
        sim_fault(client, how)
        answer = simulator_check(client, simulated_md5[0])
    assert answer.status_code == fixture(name)["status"]
    assert body_shape(answer) == fixture_shape(fixture(name))


def test_the_simulators_server_error_is_a_5xx(client, simulated_md5):
    """The body of a 5xx is not documented (the fixture's is a gateway's HTML page, the
    simulator's an envelope), so only the status class is compared; the client reads any 5xx
    as a server error (test_every_5xx_is_a_server_error)."""
    sim_fault(client, "500")
    assert simulator_check(client, simulated_md5[0]).status_code // 100 == 5


def test_the_simulators_renewed_token_has_the_documented_shape(client):
    answer = client.post("/_bakong/v1/renew_token", json={"email": "owner@example.com"})
    assert body_shape(answer) == fixture_shape(fixture("renew_token"))
    assert token_expiry(answer.get_json()["data"]["token"]) is not None
    refused = client.post("/_bakong/v1/renew_token", json={"email": "not-an-email"})
    assert refused.get_json() == fixture("renew_token_not_registered")["body"]


# --- generate_deeplink_by_qr: the "open in a banking app" link, an optional extra ---

QR = ("00020101021229170013democafe@aclb5204599953031165802KH5909Demo Cafe6010Phnom Penh"
      "63043048")


def deeplink(bakong: ReplayServer, api: BakongClient, answer: dict[str, Any]) -> str | None:
    bakong.answer("/v1/generate_deeplink_by_qr", answer)
    return api.generate_deeplink(QR, app_name="Lucky Cafe", icon_url="https://x.example/i.png",
                                 callback="https://x.example/s/lucky/orders/abc")


def test_a_deeplink_call_sends_the_qr_and_all_three_source_fields_without_a_token(bakong, api):
    link = deeplink(bakong, api, fixture("deeplink_ok"))
    assert link == fixture("deeplink_ok")["body"]["data"]["shortLink"]
    [sent] = bakong.requests
    assert sent["path"] == "/v1/generate_deeplink_by_qr"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert "Authorization" not in sent["headers"]
    assert json.loads(sent["body"]) == {"qr": QR, "sourceInfo": {
        "appIconUrl": "https://x.example/i.png", "appName": "Lucky Cafe",
        "appDeepLinkCallback": "https://x.example/s/lucky/orders/abc"}}


@pytest.mark.parametrize("name", ["deeplink_missing_fields", "deeplink_provider_failed",
                                  "forbidden_outside_cambodia", "rate_limited", "server_error",
                                  "bad_json", "unauthorized"])
def test_a_deeplink_refused_or_garbled_is_no_link_and_no_exception(bakong, api, name):
    assert deeplink(bakong, api, fixture(name)) is None


@pytest.mark.parametrize("link", [None, 42, "javascript:alert(1)",
                                  "https://a.example/" + "x" * 300])
def test_a_deeplink_answer_without_a_usable_link_is_no_link(bakong, api, link):
    answer = fixture("deeplink_ok")
    answer["body"]["data"]["shortLink"] = link
    assert deeplink(bakong, api, answer) is None


def test_a_slow_or_absent_deeplink_service_is_no_link(bakong):
    bakong.answer("/v1/generate_deeplink_by_qr", fixture("deeplink_ok"), delay=1.0)
    impatient = BakongClient(bakong.url, TOKEN, read_timeout=0.3)
    assert impatient.generate_deeplink(QR, app_name="a", icon_url="b", callback="c") is None
    nobody = BakongClient("http://127.0.0.1:9", TOKEN, connect_timeout=0.5)
    assert nobody.generate_deeplink(QR, app_name="a", icon_url="b", callback="c") is None


def sim_deeplink(client, qr: str, **source: str):
    body: dict[str, Any] = {"qr": qr}
    if source:
        body["sourceInfo"] = source
    return client.post("/_bakong/v1/generate_deeplink_by_qr", json=body)


SOURCE = {"appIconUrl": "http://127.0.0.1:5000/static/img/icon-192.png", "appName": "Cafe",
          "appDeepLinkCallback": "http://127.0.0.1:5000/s/cafe/orders/tok"}


def test_the_simulators_deeplink_answers_have_the_documented_shape(client, simulated_md5, app):
    txn = db.session.scalar(select_txn(simulated_md5[0]))
    first = sim_deeplink(client, txn.qr_string, **SOURCE)
    assert first.status_code == 200
    assert body_shape(first) == fixture_shape(fixture("deeplink_ok"))
    assert first.get_json()["responseMessage"] == fixture("deeplink_ok")["body"]["responseMessage"]
    second = sim_deeplink(client, txn.qr_string, **SOURCE)
    assert second.get_json()["data"]["shortLink"] != first.get_json()["data"]["shortLink"]
    missing = sim_deeplink(client, txn.qr_string, appName="Cafe")
    assert missing.get_json() == fixture("deeplink_missing_fields")["body"]
    assert sim_deeplink(client, "").get_json() == fixture("deeplink_missing_fields")["body"]
    sim_fault(client, "link_failed")
    assert sim_deeplink(client, txn.qr_string).get_json() == \
        fixture("deeplink_provider_failed")["body"]


def test_the_simulators_deeplink_refuses_an_expired_qr_and_its_link_pays(client, simulated_md5):
    txn = db.session.scalar(select_txn(simulated_md5[0]))
    link = sim_deeplink(client, txn.qr_string, **SOURCE).get_json()["data"]["shortLink"]
    page = client.get(link.removeprefix("http://127.0.0.1:5000"))
    assert page.status_code == 200 and "$2.50" in page.text
    assert 'name="next" value="/s/cafe/orders/tok"' in page.text
    paid = client.post("/_bakong/pay", data={"md5": txn.md5, "amount": "2.50",
                                            "currency": "USD", "next": "/s/cafe/orders/tok",
                                            "csrf_token": client.csrf_token()})
    assert paid.status_code == 303 and paid.headers["Location"] == "/s/cafe/orders/tok"
    assert simulator_check(client, txn.md5).get_json()["responseCode"] == 0
    stale = payments.khqr_for_shop(make_shop(), currency="USD", amount=Decimal("1"),
                                   bill_number="OLD-1", created_ms=1767225600000,
                                   expires_ms=1767225600000 + 600000)  # 2026-01-01
    refused = sim_deeplink(client, stale.qr, **SOURCE).get_json()
    assert refused["responseCode"] == 1 and refused["data"] is None


def select_txn(md5: str):
    from sqlalchemy import select

    from shopqr.models import Transaction

    return select(Transaction).where(Transaction.md5 == md5)
