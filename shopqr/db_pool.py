"""Fewer round trips to a database server per request.

Two things cost a MariaDB round trip each on every request with SQLAlchemy's stock settings,
on top of the request's own statements:

- ``pool_pre_ping`` pings every connection as it leaves the pool. A connection that served a
  request a moment ago is alive; only one that sat idle may have been dropped (server restart,
  ``wait_timeout``). Here only a connection idle longer than ``DB_PING_IDLE_SECONDS`` is pinged,
  and a dead one is replaced before the request sees it (SQLAlchemy's ``DisconnectionError``
  from a checkout listener, as its pooling docs describe).
- The session ends its transaction (ROLLBACK) and then hands the connection back, and the pool
  rolls back once more: ``Session.close`` closes the transaction before the connection, so the
  pool is not told the reset was done. Here the pool skips its rollback when the connection's
  last transaction was ended by SQLAlchemy after the connection left the pool; anything else
  (a raw DBAPI connection, a failed rollback) still gets the pool's rollback.

Only for database servers: SQLite is a file in the process, where neither costs a round trip.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

ENDED = "shopqr_transaction_ended"  # on the pool record: no transaction open since
CHECKED_IN = "shopqr_checked_in_at"  # on the pool record: time.monotonic() of the last checkin


def tune(engine: Engine, *, ping_idle_seconds: float) -> None:
    """Install the idle-only ping and the single reset on a server database's engine. The
    engine must be created with ``pool_reset_on_return=None`` (this is its reset) and, for the
    ping to save anything, ``pool_pre_ping=False``."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        record.info[ENDED] = False  # whatever the borrower does, assume a transaction is open
        idle_since = record.info.get(CHECKED_IN)
        if idle_since is None or time.monotonic() - idle_since < ping_idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)  # PyMySQL or mysqlclient, no reconnect
        except Exception as error:  # any failure means: use another connection
            raise exc.DisconnectionError(f"idle connection is gone: {error}") from error

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        record.info[CHECKED_IN] = time.monotonic()

    def mark(conn: Any, ended: bool) -> None:
        # an invalidated connection has no DBAPI connection left (and .info would reconnect)
        if conn is not None and not (conn.closed or conn.invalidated):
            conn.info[ENDED] = ended

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        mark(conn, False)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn: Any) -> None:
        mark(conn, True)

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        mark(context.connection, False)  # e.g. the rollback itself failed

    @event.listens_for(engine, "reset")
    def _reset(dbapi_connection: Any, record: Any, state: Any) -> None:
        if not state.transaction_was_reset and not record.info.get(ENDED, False):
            dbapi_connection.rollback()
