"""Telegram notifications for shop owners, over the Bot API with ``requests`` (no bot framework).

Linking: the owner asks for a link in settings; shopqr makes a one-time code (kept hashed,
expiring) and shows ``t.me/<bot>?start=<code>``. When the owner presses Start, Telegram queues
the update ``/start <code>``; the scheduler's Telegram job reads it with ``getUpdates`` and binds
that chat to the code's shop, once.

Sending: an event that should reach the owner (an order paid, a payment needing attention, the
daily summary) becomes one row of the outbox, ``telegram_outbox``, unique per (shop, kind,
event key): written in the business change's own transaction (a hook on
``publish_after_commit``), so a rolled-back change sends nothing and an event seen twice makes
one row. The Telegram job (its own lease, so one process sends) claims each due row before it
calls the Bot API and never sends a row twice: a refused or unreachable call is retried with
back-off (a 429 waits its ``retry_after``), a call that timed out is not resent (Telegram may
have delivered it), and after MAX_ATTEMPTS the row is given up with its last error. No request
and no payment check ever waits for Telegram.

Shift close messages: closing a shift (services/shifts.close_shift, event ``shift.closed``)
queues one message per shift (key ``shift:<id>``) with the drawer's expected and counted cash
and the difference (docs/shifts.md)."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import requests
from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopqr.extensions import db as flask_db
from shopqr.models import Order, Shop, TelegramLink, TelegramMessage, Transaction, utcnow
from shopqr.services import DomainError, attention, reports
from shopqr.services.events import TRANSACTION_HOOKS, Event
from shopqr.services.money import format_money
from shopqr.services.numbering import shop_time

log = logging.getLogger(__name__)

API_URL = "https://api.telegram.org"
FAKE_USERNAME = "shopqr_fake_bot"
TICK_SECONDS = 2.0
LEASE_NAME = "telegram"
LEASE_SECONDS = 60  # renewed every tick; two senders at once still send a row once (claim)
CODE_TTL = timedelta(minutes=15)
MAX_ATTEMPTS = 6
BACKOFF_SECONDS = 10  # 10 s, 20 s, 40 s ... after each failed attempt
BACKOFF_CAP = 3600
BATCH = 20
STUCK_AFTER = timedelta(minutes=10)  # a row left "sending" by a process that died
DAILY_AT = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

# Event kinds (services/events.py) -> message kinds (the owner's choices, models.telegram.KINDS)
EVENT_KINDS = {"order.paid": "paid", "order.flagged": "attention", "shift.closed": "shift"}
METHOD_TEXT = {"khqr": _l("KHQR"), "cash": _l("Cash")}


# -- the Bot API ----------------------------------------------------------------------------

class BotError(Exception):
    """A Bot API call that did not succeed. ``retry_after``: Telegram's flood limit (429);
    ``permanent``: retrying cannot help (bad token, chat gone, bot blocked); ``maybe_sent``:
    no answer in time, Telegram may have done it."""

    def __init__(self, message: str, *, retry_after: int | None = None,
                 permanent: bool = False, maybe_sent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.maybe_sent = maybe_sent


class BotClient:
    def __init__(self, base_url: str, token: str, timeout: tuple[float, float]) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, payload: dict[str, Any], read_timeout: float | None = None
             ) -> Any:
        url = f"{self.base_url}/bot{self.token}/{method}"
        timeout = (self.timeout[0], read_timeout or self.timeout[1])
        try:
            response = requests.post(url, json=payload, timeout=timeout)
        except requests.exceptions.ReadTimeout:
            raise BotError("no answer in time", maybe_sent=True) from None
        except requests.exceptions.RequestException as exc:
            raise BotError(f"could not reach Telegram ({type(exc).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BotError(f"HTTP {response.status_code}, not a Bot API answer",
                           permanent=response.status_code in (401, 404))
        if body.get("ok") is True:
            return body.get("result")
        description = str(body.get("description") or f"HTTP {response.status_code}")[:150]
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        if response.status_code == 429:
            try:
                retry_after = max(1, int(parameters.get("retry_after", 30)))
            except (TypeError, ValueError):
                retry_after = 30
            raise BotError(description, retry_after=retry_after)
        raise BotError(description, permanent=response.status_code in (400, 401, 403, 404))

    def send_message(self, chat_id: int, text: str) -> Any:
        return self.call("sendMessage", {"chat_id": chat_id, "text": text,
                                         "disable_web_page_preview": True})

    def get_updates(self, offset: int | None) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"timeout": 0, "allowed_updates": ["message"]}
        if offset is not None:
            payload["offset"] = offset
        result = self.call("getUpdates", payload)
        return result if isinstance(result, list) else []

    def get_me(self) -> dict[str, Any]:
        result = self.call("getMe", {})
        return result if isinstance(result, dict) else {}


def configured(config: Any) -> bool:
    return bool(config.get("TELEGRAM_BOT_TOKEN"))


def api_url(config: Any) -> str:
    if config.get("TELEGRAM_API_URL"):
        return str(config["TELEGRAM_API_URL"])
    if config.get("TELEGRAM_FAKE"):
        return str(config["PUBLIC_BASE_URL"]).rstrip("/") + "/_telegram"
    return API_URL


def client_from_config(config: Any) -> BotClient:
    return BotClient(api_url(config), str(config["TELEGRAM_BOT_TOKEN"]),
                     (float(config["TELEGRAM_CONNECT_TIMEOUT"]),
                      float(config["TELEGRAM_READ_TIMEOUT"])))


def bot_username(app: Flask) -> str | None:
    """The bot's @name for t.me links: set in the config, or learnt from getMe by the job."""
    if app.config.get("TELEGRAM_BOT_USERNAME"):
        return str(app.config["TELEGRAM_BOT_USERNAME"]).lstrip("@")
    if app.config.get("TELEGRAM_FAKE") and not app.config.get("TELEGRAM_API_URL"):
        return FAKE_USERNAME
    return app.extensions.get("telegram_username")


def start_url(app: Flask, code: str) -> str | None:
    """The link the owner opens to press Start; the fake's own chat page under TELEGRAM_FAKE."""
    if app.config.get("TELEGRAM_FAKE") and not app.config.get("TELEGRAM_API_URL"):
        return f"{api_url(app.config)}/chat?start={code}"
    username = bot_username(app)
    return f"https://t.me/{username}?start={code}" if username else None


# -- linking --------------------------------------------------------------------------------

def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def link_for(db: Session, shop_id: int) -> TelegramLink | None:
    return db.scalar(select(TelegramLink).where(TelegramLink.shop_id == shop_id))


def linked_chat(db: Session, shop_id: int) -> TelegramLink | None:
    link = link_for(db, shop_id)
    return link if link is not None and link.chat_id is not None else None


def start_link(db: Session, shop: Shop, language: str, now: datetime) -> str:
    """A new one-time code for the shop's t.me link (an older unused one stops working)."""
    link = link_for(db, shop.id) or _create_link(db, shop.id)
    code = secrets.token_urlsafe(24)  # 32 characters of [A-Za-z0-9_-], as Telegram allows
    link.code_hash = _hash(code)
    link.code_expires_at = now + CODE_TTL
    link.language = language if language in ("en", "km") else "en"
    link.updated_at = now
    return code


def _create_link(db: Session, shop_id: int) -> TelegramLink:
    """The shop's row, made once even when two requests make it at the same moment. As for the
    order counter (services/numbering.py): on MariaDB on a connection of its own, committed at
    once (two transactions inserting the same new unique row would deadlock); on SQLite, with
    one writer at a time, in a savepoint."""
    bind_ = db.get_bind()
    if bind_.dialect.name == "sqlite":
        try:
            with db.begin_nested():
                db.add(TelegramLink(shop_id=shop_id))
        except IntegrityError:
            pass
    else:
        with bind_.connect() as conn:
            try:
                conn.execute(insert(TelegramLink).values(
                    shop_id=shop_id, language="en", notify_paid=True, notify_attention=True,
                    notify_shift=True, notify_daily=True, daily_at="22:00",
                    updated_at=utcnow()))
                conn.commit()
            except IntegrityError:  # another request made it first
                conn.rollback()
    link = link_for(db, shop_id)
    assert link is not None
    return link


def bind(db: Session, code: str, chat_id: int, title: str | None, now: datetime
         ) -> TelegramLink | None:
    """Bind the chat to the shop whose unexpired code this is; each code works once."""
    if not code or len(code) > 64:
        return None
    digest = _hash(code)
    link = db.scalar(select(TelegramLink).where(TelegramLink.code_hash == digest))
    if link is None or link.code_expires_at is None or link.code_expires_at <= now:
        return None
    taken = db.execute(
        update(TelegramLink).where(TelegramLink.id == link.id, TelegramLink.code_hash == digest)
        .values(chat_id=chat_id, chat_title=(title or "")[:120] or None, linked_at=now,
                code_hash=None, code_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        return None
    db.refresh(link)
    shop = db.get(Shop, link.shop_id)
    with force_locale(link.language):
        text = _("This chat now gets shopqr messages for %(shop)s. You can choose which ones, "
                 "or unlink, in the shop's settings under Telegram.", shop=shop.name)
    enqueue(db, link.shop_id, "linked", f"{link.chat_id}:{now:%Y%m%d%H%M%S%f}", text, now)
    return link


def unlink(db: Session, shop: Shop, now: datetime) -> None:
    """Stop sending to the shop's chat; messages not yet sent are dropped."""
    link = link_for(db, shop.id)
    if link is None:
        return
    link.chat_id = None
    link.chat_title = None
    link.linked_at = None
    link.code_hash = None
    link.code_expires_at = None
    link.updated_at = now
    db.execute(update(TelegramMessage)
               .where(TelegramMessage.shop_id == shop.id, TelegramMessage.status == "pending")
               .values(status="skipped", last_error="unlinked")
               .execution_options(synchronize_session=False))


def save_choices(db: Session, shop: Shop, form: dict[str, str], now: datetime) -> TelegramLink:
    link = linked_chat(db, shop.id)
    if link is None:
        raise DomainError(_l("Link a Telegram chat first."), 409)
    daily_at = (form.get("daily_at") or "").strip()
    if not DAILY_AT.match(daily_at):
        raise DomainError(_l("Closing time must be a time like 22:00."), 400)
    link.notify_paid = form.get("notify_paid") == "1"
    link.notify_attention = form.get("notify_attention") == "1"
    link.notify_shift = form.get("notify_shift") == "1"
    link.notify_daily = form.get("notify_daily") == "1"
    link.daily_at = daily_at
    link.updated_at = now
    return link


def wants(link: TelegramLink, kind: str) -> bool:
    """Does the owner want messages of this kind (the link confirmation always goes)?"""
    return bool(getattr(link, f"notify_{kind}", True))


# -- the outbox -----------------------------------------------------------------------------

def enqueue(db: Session, shop_id: int, kind: str, key: str, text: str, now: datetime) -> bool:
    """Add a message to the outbox in the caller's transaction; False if this event already
    has one (the unique key), without disturbing the caller's transaction."""
    try:
        with db.begin_nested():
            db.add(TelegramMessage(shop_id=shop_id, kind=kind, event_key=key[:64],
                                   text=text[:4000], next_attempt_at=now, created_at=now))
    except IntegrityError:
        return False
    return True


def paid_text(order: Order) -> str:
    method = METHOD_TEXT.get(order.payment_method)
    return _("Paid: order #%(seq)s (%(number)s) · %(table)s · %(amount)s · %(method)s",
             seq=order.seq, number=order.number,
             table=(_("Table %(name)s", name=order.table_name) if order.table_name
                    else _("Takeaway") if order.source == "takeaway" else _("Counter")),
             amount=format_money(order.total, order.currency),
             method=str(method) if method else order.payment_method)


def attention_text(order: Order, txn: Transaction) -> str:
    return _("Needs attention: order #%(seq)s (%(number)s) · %(reason)s · %(amount)s "
             "from %(account)s. Open the POS to record what was done.",
             seq=order.seq, number=order.number, reason=attention.reason(txn),
             amount=format_money(txn.bakong_amount or txn.amount,
                                 txn.bakong_currency or txn.currency),
             account=txn.bakong_from_account or "?")


def shift_text(summary: Any) -> str:
    """The shift close message: who, when, sales, refunds, and the drawer per currency."""
    from shopqr.services.shifts import CURRENCIES

    shift = summary.shift
    currency = summary.currency
    lines = [_("Shift closed by %(name)s · %(opened)s–%(closed)s",
               name=shift.closed_by.name if shift.closed_by else "?",
               opened=shop_time(shift.opened_at).strftime("%d %b %H:%M"),
               closed=shop_time(shift.closed_at).strftime("%H:%M")),
             _("Sales: cash %(cash)s (%(cash_count)s), KHQR %(khqr)s (%(khqr_count)s) · "
               "refunds %(refunds)s · voids %(voids)s",
               cash=format_money(summary.cash_sales, currency), cash_count=summary.cash_orders,
               khqr=format_money(summary.khqr_sales, currency), khqr_count=summary.khqr_orders,
               refunds=format_money(summary.refunds_total, currency), voids=summary.voids)]
    for c in CURRENCIES:
        difference = summary.difference(c)
        lines.append(_("Drawer %(currency)s: expected %(expected)s, counted %(counted)s, "
                       "difference %(difference)s", currency=c,
                       expected=format_money(summary.expected(c), c),
                       counted=format_money(summary.counted(c), c),
                       difference=("+" if difference > 0 else "")
                       + format_money(difference, c)))
    return "\n".join(lines)


def _queue_shift(db: Session, ev: Event, link: TelegramLink, now: datetime) -> None:
    from shopqr.models import Shift
    from shopqr.services import shifts

    shift = db.get(Shift, ev.data.get("shift_id"))
    shop = db.get(Shop, ev.shop_id)
    if shift is None or shop is None or shift.shop_id != shop.id or shift.closed_at is None:
        return
    summary = shifts.summarize(db, shop, shift, now)
    with force_locale(link.language):
        enqueue(db, ev.shop_id, "shift", f"shift:{shift.id}", shift_text(summary), now)


def on_event(db: Session, ev: Event) -> None:
    """The outbox row for an event the owner wants by Telegram, in the event's transaction."""
    kind = EVENT_KINDS.get(ev.kind)
    if kind is None or not configured(current_app.config):
        return
    try:
        link = linked_chat(db, ev.shop_id)
        if link is None or not wants(link, kind):
            return
        if kind == "shift":
            _queue_shift(db, ev, link, utcnow())
            return
        order = db.get(Order, ev.data.get("order_id"))
        if order is None:
            return
        now = utcnow()
        with force_locale(link.language):
            if kind == "paid":
                enqueue(db, ev.shop_id, kind, f"order:{order.id}", paid_text(order), now)
            else:
                txn = db.get(Transaction, ev.data.get("transaction_id"))
                if txn is not None:
                    enqueue(db, ev.shop_id, kind, f"txn:{txn.id}", attention_text(order, txn),
                            now)
    except Exception:  # a notification must never break a payment or an order
        log.exception("telegram: queueing %s for shop %s failed", ev.kind, ev.shop_id)


def daily_text(shop: Shop, report: reports.Report, day: str) -> str:
    lines = [_("%(shop)s · summary for %(day)s", shop=shop.name, day=day),
             _("Paid orders: %(count)s · %(amount)s", count=report.orders,
               amount=format_money(report.revenue, report.currency))]
    for method, (count, total) in report.by_method.items():
        label = METHOD_TEXT.get(method)
        lines.append(f"{label or method}: {count} · {format_money(total, report.currency)}")
    lines.append(_("Cancelled: %(count)s", count=report.cancelled))
    if report.refunds_due:
        lines.append(_("Refunds due: %(count)s", count=report.refunds_due))
    return "\n".join(lines)


def queue_daily_summaries(db: Session, now: datetime) -> int:
    """Queue today's summary for each linked shop whose closing time has passed, once a day."""
    queued = 0
    local = shop_time(now)
    clock, day = local.strftime("%H:%M"), local.date().isoformat()
    sent_today = exists().where(TelegramMessage.shop_id == TelegramLink.shop_id,
                                TelegramMessage.kind == "daily",
                                TelegramMessage.event_key == day)
    links = db.scalars(select(TelegramLink).where(TelegramLink.chat_id.is_not(None),
                                                  TelegramLink.notify_daily.is_(True),
                                                  TelegramLink.daily_at <= clock,
                                                  ~sent_today))
    for link in list(links):
        shop = db.get(Shop, link.shop_id)
        report = reports.build(db, shop, reports.preset("today", now))
        with force_locale(link.language):
            text = daily_text(shop, report, day)
        if enqueue(db, link.shop_id, "daily", day, text, now):
            queued += 1
        db.commit()
    return queued


def queue_subscription_reminders(db: Session, now: datetime) -> int:
    """Remind each linked shop whose subscription ends within a week (services/platform.py),
    once per shop and end date: the outbox key is the end date, so a renewal to a new date
    that again comes close reminds again."""
    from shopqr.services import platform
    from shopqr.services.numbering import business_date

    today = business_date(now)
    rows = db.execute(select(Shop, TelegramLink.language).join(
        TelegramLink, TelegramLink.shop_id == Shop.id).where(
        TelegramLink.chat_id.is_not(None), Shop.is_active.is_(True),
        Shop.subscription_expires_on.between(
            today, today + timedelta(days=platform.REMIND_DAYS)))).all()
    if not rows:
        return 0
    done = {(shop_id, key) for shop_id, key in db.execute(
        select(TelegramMessage.shop_id, TelegramMessage.event_key).where(
            TelegramMessage.kind == "subscription",
            TelegramMessage.shop_id.in_([shop.id for shop, _lang in rows])))}
    queued = 0
    for shop, language in rows:
        if (shop.id, shop.subscription_expires_on.isoformat()) in done:
            continue
        with force_locale(language):
            text = platform.reminder_text(shop, today)
        if text and enqueue(db, shop.id, "subscription", shop.subscription_expires_on.isoformat(),
                            text, now):
            queued += 1
    db.commit()
    return queued


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_SECONDS * 2 ** max(0, attempts - 1)))


def send_due(db: Session, client: BotClient, now: datetime) -> dict[int, str]:
    """Send the outbox rows that are due; returns {row id: outcome}. Commits as it goes."""
    outcomes: dict[int, str] = {}
    # Rows left "sending" by a sender that died. Found by a plain read, then updated by id: an
    # UPDATE with this WHERE would lock every row it scans (MariaDB, REPEATABLE READ), and two
    # senders at once would deadlock on the rows they are marking sent.
    stuck = list(db.scalars(select(TelegramMessage.id).where(
        TelegramMessage.status == "sending",
        TelegramMessage.next_attempt_at < now - STUCK_AFTER)))
    if stuck:
        db.execute(update(TelegramMessage)
                   .where(TelegramMessage.id.in_(stuck), TelegramMessage.status == "sending")
                   .values(status="failed",
                           last_error="interrupted while sending; not resent (at most once)")
                   .execution_options(synchronize_session=False))
    db.commit()
    due = [(m.id, m.shop_id, m.kind) for m in db.scalars(
        select(TelegramMessage)
        .where(TelegramMessage.status == "pending", TelegramMessage.next_attempt_at <= now)
        .order_by(TelegramMessage.next_attempt_at, TelegramMessage.id).limit(BATCH))]
    db.commit()
    for row_id, shop_id, kind in due:
        link = linked_chat(db, shop_id)
        if link is None or not wants(link, kind):
            db.execute(update(TelegramMessage)
                       .where(TelegramMessage.id == row_id, TelegramMessage.status == "pending")
                       .values(status="skipped",
                               last_error="unlinked" if link is None else "turned off")
                       .execution_options(synchronize_session=False))
            db.commit()
            outcomes[row_id] = "skipped"
            continue
        chat_id = link.chat_id
        claimed = db.execute(
            update(TelegramMessage)
            .where(TelegramMessage.id == row_id, TelegramMessage.status == "pending")
            .values(status="sending", attempts=TelegramMessage.attempts + 1,
                    next_attempt_at=now)
            .execution_options(synchronize_session=False))
        db.commit()
        if claimed.rowcount != 1:  # another sender took it
            continue
        row = db.get(TelegramMessage, row_id, populate_existing=True)
        assert row is not None and chat_id is not None
        try:
            client.send_message(chat_id, row.text)
        except BotError as exc:
            outcome = _failed(row, exc, now)
            db.commit()
            outcomes[row_id] = outcome
            if exc.retry_after:  # the bot is over Telegram's limit: nothing more this tick
                break
            continue
        row.status = "sent"
        row.sent_at = utcnow()
        row.last_error = None
        db.commit()
        outcomes[row_id] = "sent"
    return outcomes


def _failed(row: TelegramMessage, exc: BotError, now: datetime) -> str:
    row.last_error = str(exc)[:200]
    if exc.maybe_sent:
        row.status = "failed"
        row.last_error = f"{exc}; Telegram may have delivered it, not resent (at most once)"
        return "failed"
    if exc.permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
        log.warning("telegram: gave up message %s after %s attempts: %s", row.id, row.attempts,
                    exc)
        return "failed"
    row.status = "pending"
    row.next_attempt_at = now + (timedelta(seconds=exc.retry_after) if exc.retry_after
                                 else backoff(row.attempts))
    return "retry"


def handle_update(db: Session, upd: Any, now: datetime) -> bool:
    """One Bot API update (from getUpdates or the webhook): a ``/start <code>`` binds the
    chat to the code's shop. True if it did; anything else is ignored."""
    message = upd.get("message") if isinstance(upd, dict) else None
    if not isinstance(message, dict):
        return False
    text, chat = message.get("text"), message.get("chat")
    if not isinstance(text, str) or not isinstance(chat, dict):
        return False
    parts = text.strip().split()
    if len(parts) != 2 or parts[0].split("@")[0] != "/start":
        return False
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) or abs(chat_id) >= 2**53:
        return False  # Telegram's ids fit in 52 bits
    title = chat.get("title") or " ".join(
        str(chat[k]) for k in ("first_name", "last_name") if chat.get(k)) or (
        chat.get("username") and f"@{chat['username']}")
    return bind(db, parts[1], chat_id, str(title) if title else None, now) is not None


def read_updates(app: Flask, db: Session, client: BotClient, now: datetime) -> int:
    """Read the bot's new updates (getUpdates) and bind the chats that sent /start <code>.
    The offset confirms what was read; after a restart Telegram sends the unconfirmed ones
    again, and a code already used binds nothing."""
    if app.config.get("TELEGRAM_WEBHOOK_SECRET"):
        return 0  # updates come to the webhook (Telegram refuses getUpdates meanwhile)
    bound = 0
    for upd in client.get_updates(app.extensions.get("telegram_offset")):
        if not isinstance(upd, dict) or not isinstance(upd.get("update_id"), int):
            continue
        app.extensions["telegram_offset"] = upd["update_id"] + 1
        if handle_update(db, upd, now):
            bound += 1
        db.commit()
    return bound


def set_webhook(config: Any) -> Any:
    """Tell Telegram to post updates to <PUBLIC_BASE_URL>/telegram/webhook with the secret."""
    url = str(config["PUBLIC_BASE_URL"]).rstrip("/") + "/telegram/webhook"
    return client_from_config(config).call("setWebhook", {
        "url": url, "secret_token": config["TELEGRAM_WEBHOOK_SECRET"],
        "allowed_updates": ["message"]})


KEEP_DAYS = 30  # sent, skipped and failed rows are deleted after this long


def prune(db: Session, now: datetime) -> int:
    """Forget finished outbox rows older than KEEP_DAYS (the owner's page shows recent ones)."""
    from sqlalchemy import delete

    gone = db.execute(delete(TelegramMessage).where(
        TelegramMessage.status.in_(("sent", "skipped", "failed")),
        TelegramMessage.created_at < now - timedelta(days=KEEP_DAYS),
    ).execution_options(synchronize_session=False)).rowcount
    db.commit()
    return gone


def _warn_hourly(app: Flask, text: str, now: datetime) -> None:
    """A warning about the bot's set-up, logged when it changes and hourly, not every tick."""
    last = app.extensions.get("telegram_warning")
    if last and last[0] == text and now - last[1] < timedelta(hours=1):
        return
    app.extensions["telegram_warning"] = (text, now)
    log.warning("%s", text)


def tick(app: Flask, holder: str, client: BotClient | None = None,
         now: datetime | None = None) -> dict[str, Any]:
    """One run of the Telegram job: under its lease, read updates (link codes), queue the
    daily summaries that are due, send the outbox, and hourly forget old rows."""
    from shopqr.services.poller import acquire_lease

    report: dict[str, Any] = {"leader": False}
    with app.app_context():
        session = flask_db.session
        try:
            now = now or utcnow()
            if not acquire_lease(session, holder, now, LEASE_NAME, LEASE_SECONDS):
                return report
            report["leader"] = True
            client = client or client_from_config(app.config)
            if bot_username(app) is None:
                try:
                    app.extensions["telegram_username"] = client.get_me().get("username")
                except BotError as exc:
                    _warn_hourly(app, f"telegram: getMe failed: {exc}", now)
            steps = [("bound", lambda: read_updates(app, session, client, now)),
                     ("daily", lambda: queue_daily_summaries(session, now)),
                     ("reminders", lambda: queue_subscription_reminders(session, now)),
                     ("sent", lambda: send_due(session, client, now))]
            pruned = app.extensions.get("telegram_pruned")
            if pruned is None or now - pruned >= timedelta(hours=1):
                app.extensions["telegram_pruned"] = now
                steps.append(("pruned", lambda: prune(session, now)))
            for step, run in steps:
                try:
                    report[step] = run()
                except BotError as exc:  # e.g. getUpdates refused while a webhook is set
                    session.rollback()
                    _warn_hourly(app, f"telegram job: {step}: {exc}", now)
                except Exception:
                    session.rollback()
                    log.exception("telegram job: %s failed", step)
        finally:
            session.remove()
    return report


def platform_status(app: Flask, db: Session, now: datetime) -> dict[str, Any]:
    """For the platform admin: is the bot set up, how updates arrive, the last day's outbox."""
    from sqlalchemy import func

    counts = dict(db.execute(
        select(TelegramMessage.status, func.count(TelegramMessage.id))
        .where(TelegramMessage.created_at >= now - timedelta(days=1))
        .group_by(TelegramMessage.status)).all())
    linked = db.scalar(select(func.count(TelegramLink.id))
                       .where(TelegramLink.chat_id.is_not(None))) or 0
    return {"configured": configured(app.config), "username": bot_username(app),
            "webhook": bool(app.config.get("TELEGRAM_WEBHOOK_SECRET")),
            "fake": bool(app.config.get("TELEGRAM_FAKE")), "linked": linked,
            "sent": counts.get("sent", 0), "failed": counts.get("failed", 0),
            "pending": counts.get("pending", 0) + counts.get("sending", 0)}


def init_app(app: Flask) -> None:
    if on_event not in TRANSACTION_HOOKS:
        TRANSACTION_HOOKS.append(on_event)
