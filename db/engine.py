"""Engines for SQLite (the embedded default) and PostgreSQL (production and CI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

# Marks a connection whose transaction only reads (see `reading`).
_READ_ONLY = "xigua_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine whose transactions are safe for concurrent writers on either database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below start transactions, not pysqlite.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_READ_ONLY):
            # Under WAL a deferred read transaction sees a snapshot and never waits for a writer.
            conn.exec_driver_sql("BEGIN")
        else:
            # Take the write lock up front: a deferred transaction that later writes can fail
            # with SQLITE_BUSY without waiting, which would surface as a spurious failure.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only: on SQLite it does not take the write lock, so reads never
    queue behind the ledger's and the projection's writes. Writes go through `engine.begin()`."""
    with engine.connect() as conn:
        conn.execution_options(**{_READ_ONLY: True})
        yield conn
