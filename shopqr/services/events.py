"""Per-shop event channels. Messages are published after commit; each subscriber has its own
bounded queue, so one slow screen never holds up the others. In-process by default; with
REDIS_URL, messages travel over Redis pub/sub so every process sees every shop's events. Pub/sub
ignores the Redis db number, so the channels carry the deployment's REDIS_PREFIX
(``<prefix>shop:<id>``): deployments sharing a Redis server do not hear each other."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

QUEUE_SIZE = 200


@dataclass(frozen=True)
class Event:
    shop_id: int
    kind: str  # "order.paid", "order.status", "menu.changed", ...
    data: dict[str, Any]


class Subscription:
    def __init__(self, bus: EventBus, shop_id: int) -> None:
        self.bus = bus
        self.shop_id = shop_id
        self.queue: queue.Queue[Event] = queue.Queue(maxsize=QUEUE_SIZE)
        self.overflowed = False

    def get(self, timeout: float) -> Event | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """In-process fan-out to subscribers of a shop's channel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[int, set[Subscription]] = {}

    def subscribe(self, shop_id: int) -> Subscription:
        sub = Subscription(self, shop_id)
        with self._lock:
            self._subs.setdefault(shop_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.shop_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.shop_id]

    def publish(self, ev: Event) -> None:
        self.deliver(ev)

    def deliver(self, ev: Event) -> None:
        with self._lock:
            subs = list(self._subs.get(ev.shop_id, ()))
        for sub in subs:
            try:
                sub.queue.put_nowait(ev)
            except queue.Full:  # a stuck screen: it resyncs from a snapshot when it reconnects
                sub.overflowed = True

    def close(self) -> None:
        """Stop background work (the Redis listener)."""


class RedisEventBus(EventBus):
    """Publishes to Redis; one listener thread per process delivers to local subscribers.
    Channels are ``<prefix>shop:<shop id>``; the listener hears this prefix's channels only."""

    DEFAULT_PREFIX = "shopqr:"

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        super().__init__()
        import redis

        self.channel_prefix = f"{prefix}shop:"
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._started = threading.Event()

    def subscribe(self, shop_id: int) -> Subscription:
        self._ensure_listener()
        return super().subscribe(shop_id)

    def publish(self, ev: Event) -> None:
        payload = json.dumps({"shop_id": ev.shop_id, "kind": ev.kind, "data": ev.data})
        try:
            self._redis.publish(f"{self.channel_prefix}{ev.shop_id}", payload)
        except Exception:  # Redis down: local screens still hear it; others resync on reconnect
            log.exception("redis publish failed; delivering locally only")
            self.deliver(ev)

    def _ensure_listener(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._listen, name="shopqr-redis-events",
                                            daemon=True)
            self._thread.start()
        self._started.wait(timeout=5)

    def _listen(self) -> None:
        import time

        while not self._stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.psubscribe(f"{_glob_escape(self.channel_prefix)}*")
                pubsub.get_message(timeout=1.0)  # wait for the subscription to be confirmed
                self._started.set()
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=1.0)
                    if msg and msg.get("type") == "pmessage":
                        raw = json.loads(msg["data"])
                        self.deliver(Event(int(raw["shop_id"]), raw["kind"], raw["data"]))
            except Exception:
                log.exception("redis listener failed; reconnecting")
                time.sleep(1)
            finally:
                try:
                    pubsub.close()
                except Exception:
                    log.debug("closing pubsub failed", exc_info=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _glob_escape(text: str) -> str:
    """`text` matched literally in a Redis PSUBSCRIBE pattern."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def get_bus(app: Flask) -> EventBus:
    return app.extensions["shopqr_events"]


# Called with (session, event) when an event is queued, inside the business transaction: a
# hook may add rows that commit or roll back with the change (services/telegram.py's outbox).
TRANSACTION_HOOKS: list[Callable[[Session, Event], None]] = []


def publish_after_commit(db: Session, bus: EventBus, ev: Event) -> None:
    """Queue an event on the DB session; it goes out only if the transaction commits."""
    for hook in TRANSACTION_HOOKS:
        hook(db, ev)
    pending: list[tuple[EventBus, Event]] = db.info.setdefault("shopqr_events", [])
    pending.append((bus, ev))


def _flush_events(session: Session) -> None:
    pending = session.info.pop("shopqr_events", [])
    for bus, ev in pending:
        try:
            bus.publish(ev)
        except Exception:
            log.exception("publishing %s failed", ev.kind)


def _drop_events(session: Session) -> None:
    session.info.pop("shopqr_events", None)


sa_event.listen(Session, "after_commit", _flush_events)
sa_event.listen(Session, "after_rollback", _drop_events)


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["shopqr_events"] = (
        RedisEventBus(url, app.config.get("REDIS_PREFIX") or RedisEventBus.DEFAULT_PREFIX)
        if url else EventBus())
