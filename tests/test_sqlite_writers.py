"""SQLite writers of one process queue on a lock instead of failing or sleeping on SQLite's."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from shopqr.sqlite_writers import connection_factory


def _connect(path: Path, factory: type[sqlite3.Connection]) -> sqlite3.Connection:
    # timeout=0: without the queue a second writer fails at once with "database is locked"
    conn = sqlite3.connect(path, timeout=0, factory=factory, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "w.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
    return path


def test_plain_sqlite_refuses_a_second_writer(db_file: Path) -> None:
    """The failure the queue exists for (and proof this test set-up can show it)."""
    first = _connect(db_file, sqlite3.Connection)
    second = _connect(db_file, sqlite3.Connection)
    first.cursor().execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        second.cursor().execute("INSERT INTO t VALUES (2)")
    first.commit()


def test_second_writer_waits_for_the_first_commit(db_file: Path) -> None:
    factory = connection_factory()
    first, second = _connect(db_file, factory), _connect(db_file, factory)
    first.cursor().execute("INSERT INTO t VALUES (1)")
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            second.cursor().execute("INSERT INTO t VALUES (2)")
            second.commit()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    assert not done.wait(0.3), "the second writer did not wait for the first"
    first.commit()
    assert done.wait(5)
    thread.join()
    assert errors == []
    rows = sqlite3.connect(db_file).execute("SELECT n FROM t ORDER BY rowid").fetchall()
    assert rows == [(1,), (2,)]


def write_at_once(conn: sqlite3.Connection, sql: str) -> None:
    """Write and commit in another thread; fail unless it is done within 2 s. A writer still
    queued behind a lock nobody gave back would wait WAIT_SECONDS (15 s) and then go on to
    SQLite's own locking, which is free by then: only the time shows the queue was held."""
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            conn.cursor().execute(sql)
            conn.commit()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert done.wait(2), "the writer is still queued: the lock was not given back"
    assert errors == []


def test_rollback_and_failed_statements_release_the_queue(db_file: Path) -> None:
    factory = connection_factory()
    first, second = _connect(db_file, factory), _connect(db_file, factory)
    first.cursor().execute("INSERT INTO t VALUES (1)")
    first.rollback()
    write_at_once(second, "INSERT INTO t VALUES (2)")
    with pytest.raises(sqlite3.OperationalError):
        first.cursor().execute("INSERT INTO missing VALUES (1)")
    first.rollback()
    write_at_once(second, "UPDATE t SET n = 3")
    assert sqlite3.connect(db_file).execute("SELECT n FROM t").fetchall() == [(3,)]


def test_readers_are_never_queued(db_file: Path) -> None:
    factory = connection_factory()
    writer, reader = _connect(db_file, factory), _connect(db_file, factory)
    writer.cursor().execute("INSERT INTO t VALUES (1)")
    result: list[tuple] = []
    thread = threading.Thread(
        target=lambda: result.append(reader.cursor().execute("SELECT count(*) FROM t").fetchone()))
    thread.start()
    thread.join(2)
    assert result == [(0,)]  # read at once, before the writer committed
    writer.commit()
