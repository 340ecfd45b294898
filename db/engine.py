"""Engines for SQLite (the embedded default) and PostgreSQL (production and CI)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

# Marks a connection whose transaction only reads (see `reading`).
_READ_ONLY = "xigua_read_only"
BUSY_TIMEOUT_S = 30
# One per SQLite file, shared by every engine of this process on that file.
_write_locks: dict[Path, threading.Lock] = {}
_write_locks_guard = threading.Lock()


class _SerializedWriter(sqlite3.Connection):
    """A pysqlite connection whose write transactions queue on a lock of this process.

    SQLite admits one writer at a time and makes the others poll: its busy handler sleeps
    1, 2, 5, 10 … 100 ms between tries, so under load a writer sleeps on past the moment the
    lock frees, with the CPU idle. Writers of one process (the worker's 16 activity threads)
    queue on a mutex instead and go the instant the previous one commits; SQLite's own lock
    still orders them against other processes, and is what correctness rests on.
    """

    write_lock: threading.Lock  # set on the subclass made for each file
    _holds_write_lock = False

    def take_write_turn(self) -> None:
        """Wait for this process's other writers, as long as SQLite would wait for a lock."""
        if not self.write_lock.acquire(timeout=BUSY_TIMEOUT_S):
            # Wrapped as SQLAlchemy wraps SQLite's own "database is locked", so callers (the
            # API's 503, the activities' retries) see the same error either way.
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        self._holds_write_lock = True

    # Every way a transaction ends gives the turn back, also when it raises.
    def commit(self) -> None:
        self._ending(super().commit)

    def rollback(self) -> None:
        self._ending(super().rollback)

    def close(self) -> None:
        self._ending(super().close)

    def _ending(self, end: Callable[[], None]) -> None:
        try:
            end()
        finally:
            self.release_write_turn()

    def release_write_turn(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            self.write_lock.release()


def _writer_class(database: Path) -> type[_SerializedWriter]:
    with _write_locks_guard:
        lock = _write_locks.setdefault(database.resolve(), threading.Lock())
    return type("SerializedWriter", (_SerializedWriter,), {"write_lock": lock})


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine whose transactions are safe for concurrent writers on either database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)

    connect_args: dict[str, Any] = {"timeout": BUSY_TIMEOUT_S}
    if parsed.database and parsed.database != ":memory:":
        database = Path(parsed.database)
        database.parent.mkdir(parents=True, exist_ok=True)
        connect_args["factory"] = _writer_class(database)
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below start transactions, not pysqlite.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_READ_ONLY):
            # Under WAL a deferred read transaction sees a snapshot and never waits for a writer.
            conn.exec_driver_sql("BEGIN")
        else:
            # Take the write lock up front: a deferred transaction that later writes can fail
            # with SQLITE_BUSY without waiting, which would surface as a spurious failure.
            writer = conn.connection.dbapi_connection
            if not isinstance(writer, _SerializedWriter):  # an in-memory database
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            writer.take_write_turn()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                writer.release_write_turn()
                raise

    return engine


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only: on SQLite it does not take the write lock, so reads never
    queue behind the ledger's and the projection's writes. Writes go through `engine.begin()`."""
    with engine.connect() as conn:
        conn.execution_options(**{_READ_ONLY: True})
        yield conn
