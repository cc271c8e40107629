"""The built-in Bakong simulator: the Open API's endpoints, envelope and error codes, a "pay"
button that plays the guest's banking app, and fault injection for tests. Never registered
in production."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import select
from werkzeug.wrappers import Response

from shopqr.bakong_sim import bp
from shopqr.extensions import csrf, db
from shopqr.models import SimCall, SimFault, SimPayment, Transaction, utcnow
from shopqr.services.khqr import KHQRError, describe
from shopqr.web import safe_next

NOT_FOUND = "Transaction could not be found. Please check and try again."


def envelope(code: int, message: str, error: int | None = None, data: Any = None,
             status: int = 200) -> tuple[Response, int]:
    return jsonify(responseCode=code, responseMessage=message, errorCode=error, data=data), status


def _log(endpoint: str, md5: str | None, outcome: str) -> None:
    db.session.add(SimCall(endpoint=endpoint, md5=(md5 or None) and str(md5)[:32],
                           outcome=outcome))
    db.session.commit()


def _fault(endpoint: str, md5: str | None) -> tuple[Response, int] | Response | None:
    """Play the oldest pending fault, if any."""
    fault = db.session.scalar(select(SimFault).where(SimFault.remaining > 0)
                              .order_by(SimFault.id).limit(1))
    if fault is None:
        return None
    fault.remaining -= 1
    mode, delay = fault.mode, fault.delay_seconds
    _log(endpoint, md5, f"fault:{mode}")
    if mode == "timeout":
        time.sleep(delay)
        return None
    if mode == "500":
        return envelope(1, "Internal server error", 500, status=500)
    if mode == "429":
        return Response("Too Many Requests", status=429)
    if mode == "401":
        return envelope(1, "Unauthorized", 6, status=401)
    if mode == "403":
        return Response("Forbidden", status=403)
    if mode == "bad_json":
        return Response("<html>oops</html>", status=200, mimetype="text/html")
    if mode == "link_failed":  # what Bakong answers when its link provider fails
        return envelope(1, "Failed to generate deep link", 4)
    return None


def _authorized() -> bool:
    header = request.headers.get("Authorization", "")
    return header.startswith("Bearer ") and len(header) > len("Bearer ")


def _payment_data(payment: SimPayment) -> dict[str, Any]:
    return {
        "hash": payment.hash,
        "fromAccountId": payment.from_account,
        "toAccountId": payment.to_account,
        "currency": payment.currency,
        "amount": float(payment.amount) if payment.currency == "USD" else int(payment.amount),
        "description": payment.description,
        "createdDateMs": payment.created_ms,
        "acknowledgedDateMs": payment.acknowledged_ms,
        "externalRef": f"SIM{payment.id:08d}",
    }


def _json_body() -> Any:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        return None


@bp.post("/v1/check_transaction_by_md5")
@csrf.exempt
def check_transaction_by_md5():
    body = _json_body()
    md5 = body.get("md5") if isinstance(body, dict) else None
    failed = _fault("check_transaction_by_md5", md5)
    if failed is not None:
        return failed
    if not _authorized():
        _log("check_transaction_by_md5", md5, "unauthorized")
        return envelope(1, "Unauthorized", 6, status=401)
    if not isinstance(md5, str) or not md5:
        _log("check_transaction_by_md5", None, "missing")
        return envelope(1, "Missing required fields", 5, status=400)
    payment = db.session.scalar(select(SimPayment).where(SimPayment.md5 == md5))
    if payment is None:
        _log("check_transaction_by_md5", md5, "not_found")
        return envelope(1, NOT_FOUND, 1)
    if payment.status == "FAILED":
        _log("check_transaction_by_md5", md5, "failed")
        return envelope(1, "Transaction failed.", 3)
    _log("check_transaction_by_md5", md5, "paid")
    return envelope(0, "Getting transaction successfully.", None, _payment_data(payment))


@bp.post("/v1/check_transaction_by_md5_list")
@csrf.exempt
def check_transaction_by_md5_list():
    body = _json_body()
    failed = _fault("check_transaction_by_md5_list", None)
    if failed is not None:
        return failed
    if not _authorized():
        return envelope(1, "Unauthorized", 6, status=401)
    if not isinstance(body, list) or not all(isinstance(m, str) for m in body) or len(body) > 50:
        return envelope(1, "Missing required fields", 5, status=400)
    payments = {p.md5: p for p in db.session.scalars(
        select(SimPayment).where(SimPayment.md5.in_(body)))} if body else {}
    rows = []
    for md5 in body:
        payment = payments.get(md5)
        _log("check_transaction_by_md5_list", md5, "listed")
        if payment is None:
            rows.append({"md5": md5, "status": "NOT_FOUND", "message": NOT_FOUND, "data": None})
        elif payment.status == "FAILED":
            rows.append({"md5": md5, "status": "FAILED", "message": "Transaction failed.",
                         "data": None})
        else:
            rows.append({"md5": md5, "status": "SUCCESS", "message": "Success",
                         "data": _payment_data(payment)})
    return envelope(0, "Getting transaction successfully.", None, rows)


@bp.post("/v1/renew_token")
@csrf.exempt
def renew_token():
    body = _json_body()
    email = body.get("email") if isinstance(body, dict) else None
    failed = _fault("renew_token", None)
    if failed is not None:
        return failed
    if not isinstance(email, str) or "@" not in email:
        return envelope(1, "Not registered yet", 10)

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = ".".join([part({"alg": "HS256", "typ": "JWT"}),
                      part({"data": {"id": secrets.token_hex(4)},
                            "iat": int(time.time()), "exp": int(time.time()) + 90 * 86400}),
                      secrets.token_urlsafe(16)])
    return envelope(0, "Token has been issued", None, {"token": token})


@bp.post("/v1/check_bakong_account")
@csrf.exempt
def check_bakong_account():
    body = _json_body()
    account = body.get("accountId") if isinstance(body, dict) else None
    if not isinstance(account, str) or not account:
        return envelope(1, "Missing required fields", 5, status=400)
    if "@" in account:
        return envelope(0, "Account ID exists", None, {"bakongAccountExists": True})
    return envelope(1, "Account ID not found", 11)


SOURCE_FIELDS = ("appIconUrl", "appName", "appDeepLinkCallback")


@bp.post("/v1/generate_deeplink_by_qr")
@csrf.exempt
def generate_deeplink_by_qr():
    """A short link that opens the simulator's "banking app" page on this QR (Bakong's opens a
    Bakong-member app). No token needed, as with Bakong. A new link on every call; an expired
    dynamic QR is refused."""
    body = _json_body()
    failed = _fault("generate_deeplink_by_qr", None)
    if failed is not None:
        return failed
    qr = body.get("qr") if isinstance(body, dict) else None
    source = body.get("sourceInfo") if isinstance(body, dict) else None
    if not isinstance(qr, str) or not qr or (source is not None and not (
            isinstance(source, dict)
            and all(isinstance(source.get(k), str) and source.get(k) for k in SOURCE_FIELDS))):
        _log("generate_deeplink_by_qr", None, "missing")
        return envelope(1, "Missing required fields", 5)
    try:
        info = describe(qr)
    except (KHQRError, ValueError, KeyError, AssertionError):
        _log("generate_deeplink_by_qr", None, "invalid")
        return envelope(1, "Invalid KHQR", 5)
    if info["expires_ms"] is not None and int(info["expires_ms"]) <= int(time.time() * 1000):
        _log("generate_deeplink_by_qr", None, "expired")
        return envelope(1, "KHQR has been expired", 5)
    md5 = hashlib.md5(qr.encode()).hexdigest()
    back = urlsplit(source["appDeepLinkCallback"]).path if source else ""
    link = (current_app.config["PUBLIC_BASE_URL"].rstrip("/")
            + url_for("bakong_sim.open_link", md5=md5, n=secrets.token_urlsafe(6), back=back))
    _log("generate_deeplink_by_qr", md5, "link")
    return envelope(0, "Getting deep link successfully", None, {"shortLink": link})


@bp.get("/open/<md5>")
def open_link(md5: str) -> str:
    """Where the simulator's short link leads: a pretend banking app showing the payment, with
    a button that pays it and goes back to the shop's page (the link's callback)."""
    txn = db.session.scalar(select(Transaction).where(Transaction.md5 == md5[:32]))
    back = safe_next(request.args.get("back"), "/s/")
    return render_template("bakong_sim/open.html", txn=txn, back=back)


def _bad(message: str) -> tuple[Response, int]:
    return jsonify(ok=False, error=message), 400


@bp.post("/pay")
@csrf.exempt  # JSON calls are for tests; form posts from a page are checked below
def pay():
    """Play the guest's banking app: pay an md5 with an amount."""
    as_json = request.is_json
    if not as_json:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except (CSRFError, Exception):  # any CSRF failure is a 400
            return _bad("The form expired. Reload the page and try again.")
    data = (request.get_json(silent=True) or {}) if as_json else request.form
    md5 = str(data.get("md5") or "").strip().lower()
    if len(md5) != 32 or any(c not in "0123456789abcdef" for c in md5):
        return _bad("md5 must be 32 hex digits")
    txn = db.session.scalar(select(Transaction).where(Transaction.md5 == md5))
    currency = str(data.get("currency") or (txn.currency if txn else "")).upper()
    if currency not in ("USD", "KHR"):
        return _bad("currency must be USD or KHR")
    try:
        amount = Decimal(str(data.get("amount")))
    except InvalidOperation:
        return _bad("amount must be a number")
    if not amount.is_finite() or amount <= 0:
        return _bad("amount must be positive")
    status = str(data.get("status") or "SUCCESS").upper()
    if status not in ("SUCCESS", "FAILED"):
        return _bad("status must be SUCCESS or FAILED")
    now_ms = int(time.time() * 1000)
    payment = db.session.scalar(select(SimPayment).where(SimPayment.md5 == md5))
    if payment is None:
        payment = SimPayment(md5=md5)
        db.session.add(payment)
    payment.amount = amount
    payment.currency = currency
    payment.from_account = str(data.get("from_account") or "guest@abaa")[:64]
    payment.to_account = txn.to_account if txn else None
    payment.hash = hashlib.sha256(f"{md5}:{now_ms}".encode()).hexdigest()
    payment.description = (txn.bill_number if txn else None)
    payment.created_ms = now_ms
    payment.acknowledged_ms = now_ms + 150
    payment.status = status
    payment.created_at = utcnow()
    db.session.commit()
    target = safe_next(str(data.get("next") or ""), "/s/")
    if not as_json and target:
        return redirect(target, 303)
    return jsonify(ok=True, md5=md5, hash=payment.hash)


FAULTS = ("500", "429", "401", "403", "timeout", "bad_json", "link_failed")


@bp.post("/faults")
@csrf.exempt
def add_fault():
    data = request.get_json(silent=True) or {}
    mode = str(data.get("mode") or "")
    if mode not in FAULTS:
        return _bad("mode must be one of " + ", ".join(FAULTS))
    try:
        count = int(data.get("count", 1))
        delay = float(data.get("delay_seconds", 0) or 0)
    except (TypeError, ValueError):
        return _bad("count and delay_seconds must be numbers")
    db.session.add(SimFault(mode=mode, remaining=max(0, count), delay_seconds=max(0.0, delay)))
    db.session.commit()
    return jsonify(ok=True)


@bp.post("/faults/clear")
@csrf.exempt
def clear_faults():
    for fault in db.session.scalars(select(SimFault)):
        db.session.delete(fault)
    db.session.commit()
    return jsonify(ok=True)


@bp.get("/calls")
def calls():
    query = select(SimCall).order_by(SimCall.id)
    if request.args.get("md5"):
        query = query.where(SimCall.md5 == request.args["md5"])
    return jsonify([{"endpoint": c.endpoint, "md5": c.md5, "outcome": c.outcome,
                     "at": c.at.isoformat()} for c in db.session.scalars(query)])
