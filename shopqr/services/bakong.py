"""The Bakong Open API client: payment checks by md5, token renewal.

Every call is POST {base}/v1/<name> with JSON and a bearer token. The answer is read from its
envelope ({responseCode, responseMessage, errorCode, data}), not only the HTTP status: "not
paid yet" is HTTP 200 with errorCode 1. Network and server trouble never raises here; it comes
back as a status the poller backs off on."""

from __future__ import annotations

import base64
import enum
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

log = logging.getLogger(__name__)


class CheckStatus(enum.Enum):
    PAID = "paid"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    STATIC_QR = "static_qr"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    NETWORK_ERROR = "network_error"
    BAD_RESPONSE = "bad_response"


RETRYABLE = {
    CheckStatus.UNAUTHORIZED, CheckStatus.FORBIDDEN, CheckStatus.RATE_LIMITED,
    CheckStatus.SERVER_ERROR, CheckStatus.TIMEOUT, CheckStatus.NETWORK_ERROR,
    CheckStatus.BAD_RESPONSE,
}


@dataclass(frozen=True)
class Payment:
    hash: str | None
    from_account: str | None
    to_account: str | None
    currency: str
    amount: Decimal
    description: str | None = None
    external_ref: str | None = None
    created_ms: int | None = None
    acknowledged_ms: int | None = None


@dataclass(frozen=True)
class CheckResult:
    status: CheckStatus
    md5: str
    payment: Payment | None = None
    message: str = ""
    http_status: int | None = None

    @property
    def retryable(self) -> bool:
        """An outage or a refusal: try again later, with backoff."""
        return self.status in RETRYABLE


class BakongError(Exception):
    pass


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def parse_payment(data: Any) -> Payment | None:
    """The `data` of a paid check, or None when it lacks amount or currency."""
    if not isinstance(data, dict):
        return None
    currency = data.get("currency")
    raw_amount = data.get("amount")
    if currency not in ("USD", "KHR") or raw_amount is None or isinstance(raw_amount, bool):
        return None
    try:
        amount = Decimal(str(raw_amount))
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return Payment(
        hash=data.get("hash"),
        from_account=data.get("fromAccountId"),
        to_account=data.get("toAccountId"),
        currency=currency,
        amount=amount,
        description=data.get("description"),
        external_ref=data.get("externalRef"),
        created_ms=_int_or_none(data.get("createdDateMs")),
        acknowledged_ms=_int_or_none(data.get("acknowledgedDateMs")),
    )


ERROR_CODES = {1: CheckStatus.NOT_FOUND, 2: CheckStatus.STATIC_QR, 3: CheckStatus.FAILED,
               6: CheckStatus.UNAUTHORIZED}


class BakongClient:
    def __init__(self, base_url: str, token: str | None, *, connect_timeout: float = 3.0,
                 read_timeout: float = 8.0, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = (connect_timeout, read_timeout)
        self.http = session or requests.Session()

    def _post(self, name: str, payload: Any) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.http.post(f"{self.base_url}/v1/{name}", data=json.dumps(payload),
                              headers=headers, timeout=self.timeout)

    def _call(self, name: str, payload: Any, md5: str) -> tuple[CheckResult | None, Any]:
        """(failure, envelope): failure is set for anything that is not a readable envelope."""
        try:
            response = self._post(name, payload)
        except requests.Timeout:
            log.warning("bakong %s timed out", name)
            return CheckResult(CheckStatus.TIMEOUT, md5, message="timed out"), None
        except requests.RequestException as exc:
            log.warning("bakong %s failed: %s", name, type(exc).__name__)
            return CheckResult(CheckStatus.NETWORK_ERROR, md5, message=type(exc).__name__), None
        code = response.status_code
        if code == 401:
            return CheckResult(CheckStatus.UNAUTHORIZED, md5, message="unauthorized",
                               http_status=code), None
        if code == 403:
            log.warning("bakong %s answered 403 (outside Cambodia or blocked)", name)
            return CheckResult(CheckStatus.FORBIDDEN, md5, message="forbidden",
                               http_status=code), None
        if code == 429:
            log.warning("bakong %s rate limited", name)
            return CheckResult(CheckStatus.RATE_LIMITED, md5, message="too many requests",
                               http_status=code), None
        if code >= 500:
            log.warning("bakong %s answered HTTP %s", name, code)
            return CheckResult(CheckStatus.SERVER_ERROR, md5, message=f"HTTP {code}",
                               http_status=code), None
        try:
            envelope = response.json()
        except ValueError:
            return CheckResult(CheckStatus.BAD_RESPONSE, md5, message="not JSON",
                               http_status=code), None
        if not isinstance(envelope, dict) or "responseCode" not in envelope:
            return CheckResult(CheckStatus.BAD_RESPONSE, md5, message="no envelope",
                               http_status=code), None
        return None, envelope

    def check_transaction_by_md5(self, md5: str) -> CheckResult:
        failure, envelope = self._call("check_transaction_by_md5", {"md5": md5}, md5)
        if failure is not None:
            return failure
        message = str(envelope.get("responseMessage") or "")
        if envelope.get("responseCode") == 0:
            payment = parse_payment(envelope.get("data"))
            if payment is None:
                return CheckResult(CheckStatus.BAD_RESPONSE, md5, message="paid without amount",
                                   http_status=200)
            return CheckResult(CheckStatus.PAID, md5, payment, message, 200)
        status = ERROR_CODES.get(_int_or_none(envelope.get("errorCode")) or 0,
                                 CheckStatus.BAD_RESPONSE)
        return CheckResult(status, md5, message=message, http_status=200)

    def check_transaction_by_md5_list(self, md5s: list[str]) -> dict[str, CheckResult] | None:
        """Up to 50 md5s in one call; None when the endpoint cannot be used (callers then
        check one by one; production is reported to refuse this endpoint)."""
        if len(md5s) > 50:
            raise ValueError("at most 50 md5s per call")
        failure, envelope = self._call("check_transaction_by_md5_list", list(md5s), "")
        if failure is not None or envelope.get("responseCode") != 0:
            return None
        rows = envelope.get("data")
        if not isinstance(rows, list):
            return None
        results: dict[str, CheckResult] = {}
        for row in rows:
            if not isinstance(row, dict) or row.get("md5") not in md5s:
                continue
            md5 = row["md5"]
            state = row.get("status")
            if state == "SUCCESS":
                payment = parse_payment(row.get("data"))
                results[md5] = CheckResult(CheckStatus.PAID if payment else
                                           CheckStatus.BAD_RESPONSE, md5, payment)
            elif state == "FAILED":
                results[md5] = CheckResult(CheckStatus.FAILED, md5)
            else:
                results[md5] = CheckResult(CheckStatus.NOT_FOUND, md5)
        return results

    def generate_deeplink(self, qr: str, *, app_name: str, icon_url: str,
                          callback: str) -> str | None:
        """Bakong's short link that opens a Bakong-member banking app on this KHQR, or None
        when Bakong gives none (an error code, a refusal, a timeout, anything unreadable).
        Never raises: the link is an extra and the caller goes on without it. No bearer
        token is needed (the official SDK sends none), so none is sent."""
        payload = {"qr": qr, "sourceInfo": {"appIconUrl": icon_url, "appName": app_name,
                                            "appDeepLinkCallback": callback}}
        headers = {"Content-Type": "application/json"}
        try:
            response = self.http.post(f"{self.base_url}/v1/generate_deeplink_by_qr",
                                      data=json.dumps(payload), headers=headers,
                                      timeout=self.timeout)
            envelope = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("bakong generate_deeplink_by_qr failed: %s", type(exc).__name__)
            return None
        if response.status_code != 200 or not isinstance(envelope, dict):
            log.warning("bakong generate_deeplink_by_qr answered HTTP %s", response.status_code)
            return None
        data = envelope.get("data")
        link = data.get("shortLink") if isinstance(data, dict) else None
        if envelope.get("responseCode") != 0 or not isinstance(link, str):
            log.warning("bakong generate_deeplink_by_qr refused: error %s %s",
                        envelope.get("errorCode"), envelope.get("responseMessage"))
            return None
        if not link.startswith("https://") and not link.startswith("http://") \
                or len(link) > 255 or not link.isprintable():
            log.warning("bakong generate_deeplink_by_qr gave an unusable link")
            return None
        return link

    def renew_token(self, email: str) -> str:
        failure, envelope = self._call("renew_token", {"email": email}, "")
        if failure is not None:
            raise BakongError(f"Bakong did not answer ({failure.status.value})")
        data = envelope.get("data")
        if envelope.get("responseCode") == 0 and isinstance(data, dict) and data.get("token"):
            return str(data["token"])
        if envelope.get("errorCode") == 10:
            raise BakongError("This email is not registered with the Bakong Open API")
        raise BakongError(str(envelope.get("responseMessage") or "Token renewal failed"))


def token_expiry(token: str | None) -> datetime | None:
    """`exp` of a JWT (read, not verified), as naive UTC."""
    if not token or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        exp = json.loads(raw)["exp"]
        return datetime.fromtimestamp(int(exp), UTC).replace(tzinfo=None)
    except (ValueError, KeyError, TypeError, OverflowError):
        return None


def token_warning(token: str | None, now: datetime, *, days: int = 7) -> str | None:
    """What to tell the owner about the Bakong token, or None when all is well."""
    if not token:
        return "No Bakong API token is set: KHQR payments cannot be confirmed."
    expires = token_expiry(token)
    if expires is None:
        return "The Bakong API token cannot be read; check it."
    if expires <= now:
        return f"The Bakong API token expired on {expires:%Y-%m-%d}. Renew it now."
    left = expires - now
    if left.days < days:
        return (f"The Bakong API token expires on {expires:%Y-%m-%d %H:%M} UTC "
                f"({left.days} days left). Renew it.")
    return None


NOT_CONFIGURED = ("KHQR payments are not being confirmed: no Bakong API is set up "
                  "(BAKONG_API_URL). Check KHQR payments in the banking app.")


def configured(config: Mapping[str, Any]) -> bool:
    """True when there is a Bakong API to poll: BAKONG_API_URL, or the development simulator."""
    return bool(config.get("BAKONG_API_URL") or config.get("BAKONG_SIMULATOR"))


def client_from_config(config: Mapping[str, Any], token: str | None = None) -> BakongClient:
    """A client for the configured Bakong API. Its token: ``token``, else the one in use
    (services/bakong_token.py: BAKONG_TOKEN, or a newer one the platform admin renewed)."""
    base = config.get("BAKONG_API_URL")
    if token is None:
        token = _token_in_use(config)
    if not base:
        if not config.get("BAKONG_SIMULATOR"):
            raise BakongError(NOT_CONFIGURED)
        base = str(config["PUBLIC_BASE_URL"]).rstrip("/") + "/_bakong"
        token = token or "simulator-token"
    return BakongClient(base, token, connect_timeout=float(config["BAKONG_CONNECT_TIMEOUT"]),
                        read_timeout=float(config["BAKONG_READ_TIMEOUT"]))


def _token_in_use(config: Mapping[str, Any]) -> str | None:
    """BAKONG_TOKEN, or a renewed token that outlives it (read from the database when there is
    an application context: every process then uses the same token)."""
    from flask import has_app_context

    if not has_app_context():
        return config.get("BAKONG_TOKEN")
    from shopqr.extensions import db
    from shopqr.services import bakong_token

    return bakong_token.current(db.session, config).token
