"""The Bakong poller: one per deployment, chosen by a lease row in the database.

Every tick (1 s) the lease holder checks each due md5 once (due: by the start of the tick, give
or take half a tick). A process that does not hold the lease does nothing; when the holder dies
its lease runs out and another process takes over."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopqr import lifecycle
from shopqr.extensions import db
from shopqr.models import PollerLease, Transaction, utcnow
from shopqr.services import bakong_token, payments, telegram
from shopqr.services.bakong import (
    NOT_CONFIGURED,
    BakongClient,
    client_from_config,
    configured,
    token_warning,
)
from shopqr.services.events import get_bus

log = logging.getLogger(__name__)

LEASE_NAME = "bakong-poller"
LEASE_SECONDS = 6
TICK_SECONDS = 1.0
# A check counts as due on the tick that starts up to half a tick before its time. Ticks start a
# few ms late by varying amounts; without this, a check due 2 s after the last one slips to the
# third tick about half the time, and a guest's payment reaches the kitchen up to 1 s later.
DUE_SLACK = timedelta(seconds=TICK_SECONDS / 2)
BATCH = 100


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_lease(session: Session, holder: str, now: datetime, name: str = LEASE_NAME,
                  seconds: float = LEASE_SECONDS) -> bool:
    """Take or renew the lease `name`; True if this holder runs its job until it expires."""
    expires = now + timedelta(seconds=seconds)
    renewed = session.execute(
        update(PollerLease)
        .where(PollerLease.name == name,
               or_(PollerLease.holder == holder, PollerLease.expires_at < now))
        .values(holder=holder, expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount == 1:
        session.commit()
        return True
    try:
        session.add(PollerLease(name=name, holder=holder, expires_at=expires))
        session.commit()
        return True
    except IntegrityError:  # someone else holds it
        session.rollback()
        return False


def release_lease(session: Session, holder: str, name: str = LEASE_NAME) -> None:
    session.execute(
        update(PollerLease)
        .where(PollerLease.name == name, PollerLease.holder == holder)
        .values(expires_at=datetime(1970, 1, 1))
        .execution_options(synchronize_session=False)
    )
    session.commit()


@dataclass
class TickReport:
    leader: bool = False
    checked: list[str] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)


def due_transactions(session: Session, now: datetime) -> list[Transaction]:
    return list(
        session.scalars(
            select(Transaction)
            .where(Transaction.status.in_(payments.POLLED_STATUSES),
                   Transaction.next_check_at <= now + DUE_SLACK)
            .order_by(Transaction.next_check_at, Transaction.id)
            .limit(BATCH)
        )
    )


RETRY_FAILED_SECONDS = 30


def postpone(session: Session, txn_id: int, now: datetime) -> None:
    """Check an md5 whose answer could not be recorded again later; it stays polled."""
    try:
        session.execute(
            update(Transaction).where(Transaction.id == txn_id)
            .values(next_check_at=now + timedelta(seconds=RETRY_FAILED_SECONDS),
                    error_count=Transaction.error_count + 1,
                    last_error="recording the answer failed (see the log)")
            .execution_options(synchronize_session=False)
        )
        session.commit()
    except Exception:  # the database itself is in trouble: next tick
        session.rollback()
        log.exception("bakong poller: could not postpone transaction %s", txn_id)


def poll_once(app: Flask, holder: str, client: BakongClient | None = None,
              now: datetime | None = None) -> TickReport:
    """One tick: renew the lease, then check each due md5 once and record the answers."""
    report = TickReport()
    with app.app_context():
        session = db.session
        try:
            now = now or utcnow()
            if not acquire_lease(session, holder, now):
                return report
            report.leader = True
            due = [(t.id, t.md5) for t in due_transactions(session, now)]
            session.commit()  # no transaction stays open across the HTTP calls
            if not due:
                return report
            client = client or client_from_config(app.config)
            bus = get_bus(app)
            for txn_id, md5 in due:
                report.checked.append(md5)
                try:
                    result = client.check_transaction_by_md5(md5)
                    txn = session.get(Transaction, txn_id, populate_existing=True)
                    if txn is None or txn.status not in payments.POLLED_STATUSES:
                        session.rollback()
                        continue
                    report.outcomes[md5] = payments.apply_result(session, bus, txn, result, now)
                    session.commit()
                except Exception:
                    # One md5 whose answer cannot be recorded must not hold up the others
                    # (they would never be checked: it is first in line every tick).
                    session.rollback()
                    log.exception("bakong poller: recording md5 %s failed", md5)
                    report.outcomes[md5] = "failed"
                    postpone(session, txn_id, now)
        except Exception:
            session.rollback()
            log.exception("bakong poller tick failed")
        finally:
            session.remove()
    return report


class PollerThread:
    """Runs poll_once every tick with APScheduler; at most one tick at a time per process."""

    def __init__(self, app: Flask) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.app = app
        self.holder = holder_id()
        self.last_warning: datetime | None = None
        self.stopped = False
        self._stop_lock = threading.Lock()
        self.scheduler = BackgroundScheduler(daemon=True)
        self.scheduler.add_job(
            self.tick, "interval", seconds=TICK_SECONDS, id="bakong-poller",
            max_instances=1, coalesce=True, misfire_grace_time=5,
        )
        # Telegram: its own job (a slow Bot API never delays a payment check) and its own lease
        self.scheduler.add_job(
            self.telegram_tick, "interval", seconds=telegram.TICK_SECONDS, id="telegram",
            max_instances=1, coalesce=True, misfire_grace_time=30,
        )

    def telegram_tick(self) -> None:
        if telegram.configured(self.app.config):
            telegram.tick(self.app, self.holder)

    def tick(self) -> None:
        if not configured(self.app.config):  # nothing to poll: say so, hourly
            self.warn_hourly(NOT_CONFIGURED)
            return
        report = poll_once(self.app, self.holder)
        if report.leader:
            config = self.app.config
            if config.get("BAKONG_API_URL") or not config.get("BAKONG_SIMULATOR"):
                with self.app.app_context():
                    token = bakong_token.current(db.session, config).token
                    db.session.remove()
                self.warn_hourly(token_warning(token, utcnow()))

    def warn_hourly(self, warning: str | None) -> None:
        """Log a warning about the Bakong set-up (the staff screens show it too), hourly."""
        now = utcnow()
        if not warning or (self.last_warning and now - self.last_warning < timedelta(hours=1)):
            return
        self.last_warning = now
        log.warning("%s", warning)

    def start(self) -> None:
        self.scheduler.start()
        lifecycle.on_shutdown(self.stop)

    def stop(self) -> None:
        """Stop ticking and give up the lease, so another process polls at once. Twice is
        harmless (the shutdown hook and the worker's exit both call it)."""
        with self._stop_lock:
            if self.stopped:
                return
            self.stopped = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        with self.app.app_context():
            try:
                release_lease(db.session, self.holder)
                release_lease(db.session, self.holder, telegram.LEASE_NAME)
            finally:
                db.session.remove()


_start_lock = threading.Lock()


def ensure_started(app: Flask) -> PollerThread | None:
    """Start this process's poller, once (gunicorn.conf.py calls it when a worker boots)."""
    if not app.config.get("SCHEDULER_ENABLED") or app.config.get("TESTING"):
        return None
    with _start_lock:
        if "shopqr_poller" not in app.extensions:
            poller = PollerThread(app)
            poller.start()
            app.extensions["shopqr_poller"] = poller
    return app.extensions["shopqr_poller"]


def init_app(app: Flask) -> None:
    """Without gunicorn.conf.py (``flask run``, the demo), start the poller with the first
    request (never in CLI commands or tests)."""
    if not app.config["SCHEDULER_ENABLED"] or app.config.get("TESTING"):
        return

    @app.before_request
    def _start_poller() -> None:
        if "shopqr_poller" not in app.extensions:
            ensure_started(app)
