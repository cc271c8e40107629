"""SQLite allows one writer at a time. When many threads of one process write at once, SQLite's
busy handler makes the losers sleep (1, 2, 5, 10 ... ms) while the lock is often already free,
and a burst of guests adding to their carts stalls. Here the threads of one process queue on a
Python lock instead: a connection takes it before its first INSERT/UPDATE/DELETE and gives it
back right after its commit or rollback. Readers never take it (WAL lets them read alongside the
writer). Other processes on the same file still meet SQLite's own busy handling."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")
WAIT_SECONDS = 15.0  # like busy_timeout; past it the write goes on to SQLite's own locking


def _is_write(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(WRITE_VERBS)


def connection_factory() -> type[sqlite3.Connection]:
    """A sqlite3.Connection class whose connections share one writer lock (one per engine)."""
    lock = threading.Lock()

    class QueuedWriterCursor(sqlite3.Cursor):
        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            if _is_write(sql):
                self.connection._take_writer_lock()
            return super().execute(sql, parameters)

        def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:
            if _is_write(sql):
                self.connection._take_writer_lock()
            return super().executemany(sql, seq_of_parameters)

    class QueuedWriterConnection(sqlite3.Connection):
        _holds_writer_lock = False

        def cursor(self, factory: Any = QueuedWriterCursor) -> sqlite3.Cursor:
            return super().cursor(factory)

        def _take_writer_lock(self) -> None:
            if not self._holds_writer_lock and lock.acquire(timeout=WAIT_SECONDS):
                self._holds_writer_lock = True

        def _give_writer_lock(self) -> None:
            if self._holds_writer_lock:
                self._holds_writer_lock = False
                lock.release()

        def _then_give_writer_lock(self, finish: Callable[[], None]) -> None:
            try:
                finish()
            finally:
                self._give_writer_lock()

        def commit(self) -> None:
            self._then_give_writer_lock(super().commit)

        def rollback(self) -> None:
            self._then_give_writer_lock(super().rollback)

        def close(self) -> None:
            self._then_give_writer_lock(super().close)

    return QueuedWriterConnection
