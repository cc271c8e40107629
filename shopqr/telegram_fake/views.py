"""A fake Telegram Bot API on loopback, for the demo and the tests: getMe, sendMessage and
getUpdates as Telegram answers them (``{"ok": ..., "result": ...}``, 429 with
``parameters.retry_after``), a chat page that plays the Telegram app (its Start button queues
``/start <code>`` as an update), and switches that make the next calls fail or answer slowly.
Registered only with TELEGRAM_FAKE, which production refuses. Its state is kept in the process
(one process: the demo's ``flask run``, the tests' live server)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from shopqr.extensions import csrf
from shopqr.telegram_fake import bp

DEFAULT_CHAT = 700001


@dataclass
class FakeState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    messages: list[dict[str, Any]] = field(default_factory=list)  # what the bot sent
    updates: list[dict[str, Any]] = field(default_factory=list)  # not yet confirmed
    next_update_id: int = 1
    faults: list[dict[str, Any]] = field(default_factory=list)  # played in order
    calls: list[str] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)

    def add_update(self, chat_id: int, text: str, name: str) -> dict[str, Any]:
        with self.lock:
            upd = {"update_id": self.next_update_id, "message": {
                "message_id": self.next_update_id, "date": int(time.time()), "text": text,
                "chat": {"id": chat_id, "type": "private", "first_name": name},
                "from": {"id": chat_id, "is_bot": False, "first_name": name}}}
            self.next_update_id += 1
            self.updates.append(upd)
            return upd


def state() -> FakeState:
    return current_app.extensions.setdefault("telegram_fake", FakeState())


def _answer(result: Any) -> Response:
    return jsonify(ok=True, result=result)


def _error(code: int, description: str, **parameters: Any) -> tuple[Response, int]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return jsonify(body), code


def _fault(method: str) -> dict[str, Any] | None:
    fake = state()
    with fake.lock:
        if not fake.faults or fake.faults[0]["method"] != method:
            return None
        fault = fake.faults[0]
        fault["count"] -= 1
        if fault["count"] <= 0:
            fake.faults.pop(0)
        return dict(fault)


@bp.route("/bot<token>/<method>", methods=["GET", "POST"])
@csrf.exempt
def api(token: str, method: str):
    fake = state()
    with fake.lock:
        fake.calls.append(method)
    if token != current_app.config.get("TELEGRAM_BOT_TOKEN"):
        return _error(401, "Unauthorized")
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else request.form.to_dict()
    fault = _fault(method)
    slow = 0.0
    if fault is not None:
        if fault["mode"] == "429":
            retry_after = int(fault.get("retry_after", 5))
            return _error(429, f"Too Many Requests: retry after {retry_after}",
                          retry_after=retry_after)
        if fault["mode"] == "500":
            return _error(500, "Internal Server Error")
        if fault["mode"] == "403":
            return _error(403, "Forbidden: bot was blocked by the user")
        if fault["mode"] == "slow":
            slow = float(fault.get("delay", 2.0))
    if method == "getMe":
        result: Any = {"id": 1, "is_bot": True, "first_name": "shopqr (fake)",
                       "username": "shopqr_fake_bot"}
    elif method == "sendMessage":
        try:
            chat_id = int(body.get("chat_id"))
        except (TypeError, ValueError):
            return _error(400, "Bad Request: chat not found")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: message text is empty")
        with fake.lock:  # delivered, even if the answer is late (as Telegram may)
            result = {"message_id": len(fake.messages) + 1, "date": int(time.time()),
                      "chat": {"id": chat_id, "type": "private"}, "text": text}
            fake.messages.append({"chat_id": chat_id, "text": text})
    elif method == "setWebhook":
        with fake.lock:
            fake.webhook = {"url": body.get("url"), "secret_token": body.get("secret_token")}
        result = True
    elif method == "getUpdates":
        try:
            offset = int(body.get("offset") or 0)
        except (TypeError, ValueError):
            return _error(400, "Bad Request: wrong offset")
        with fake.lock:
            fake.updates = [u for u in fake.updates if u["update_id"] >= offset]
            result = list(fake.updates)
    else:
        return _error(404, "Not Found")
    if slow:
        time.sleep(slow)
    return _answer(result)


# -- the switches and the chat page (what the person in Telegram does) ----------------------

@bp.post("/_fake/faults")
@csrf.exempt
def add_fault():
    """The next ``count`` calls of ``method`` (sendMessage unless given) fail: mode 429 (with
    retry_after), 500, 403, or slow (answer after ``delay`` seconds)."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    mode = body.get("mode")
    if mode not in ("429", "500", "403", "slow"):
        return jsonify(error="mode must be 429, 500, 403 or slow"), 400
    try:
        fault = {"mode": mode, "method": str(body.get("method") or "sendMessage"),
                 "count": int(body.get("count", 1)),
                 "retry_after": int(body.get("retry_after", 5)),
                 "delay": min(30.0, float(body.get("delay", 2.0)))}
    except (TypeError, ValueError):
        return jsonify(error="count, retry_after and delay are numbers"), 400
    fake = state()
    with fake.lock:
        fake.faults.append(fault)
    return jsonify(ok=True)


@bp.post("/_fake/updates")
@csrf.exempt
def add_update():
    """A person writes to the bot (tests: {"chat_id": ..., "text": "/start <code>"})."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    try:
        chat_id = int(body.get("chat_id", DEFAULT_CHAT))
    except (TypeError, ValueError):
        return jsonify(error="chat_id must be a number"), 400
    text = str(body.get("text") or "")[:4096]
    return jsonify(state().add_update(chat_id, text, str(body.get("name") or "Owner")[:60]))


@bp.get("/_fake/messages")
def messages():
    fake = state()
    with fake.lock:
        return jsonify(messages=list(fake.messages), calls=list(fake.calls),
                       webhook=fake.webhook)


@bp.get("/chat")
def chat():
    """Plays the Telegram app opened on t.me/<bot>?start=<code>."""
    code = request.args.get("start", "")[:64]
    try:
        chat_id = int(request.args.get("chat", DEFAULT_CHAT))
    except ValueError:
        chat_id = DEFAULT_CHAT
    fake = state()
    with fake.lock:
        shown = [m for m in fake.messages if m["chat_id"] == chat_id]
    return render_template("telegram_fake/chat.html", code=code, chat_id=chat_id,
                           messages=shown)


@bp.post("/chat")
def press_start():
    code = request.form.get("start", "")[:64]
    try:
        chat_id = int(request.form.get("chat", DEFAULT_CHAT))
    except ValueError:
        return Response("chat must be a number", status=400)
    state().add_update(chat_id, f"/start {code}" if code else "/start",
                       (request.form.get("name") or "Owner")[:60])
    return redirect(url_for("telegram_fake.chat", chat=chat_id), 303)
