"""SQLite transactions: writers take the lock up front, readers never wait for a writer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from db import engine as engine_module
from db import ledger
from db.engine import reading
from db.schema import accounts
from services.wallets import credit_top_up

ALICE = ledger.client_account("alice")


def test_a_read_sees_the_last_commit_while_a_writer_holds_the_lock(sqlite_engine: Engine) -> None:
    credit_top_up(sqlite_engine, "alice", 10_000, "t1")
    with sqlite_engine.connect() as writer, writer.begin() as transaction:
        # The writer holds SQLite's write lock (BEGIN IMMEDIATE) with an uncommitted change.
        writer.execute(accounts.update().where(accounts.c.id == ALICE).values(balance=1))
        # A reader waiting for that lock would block for the 30 s busy timeout, then fail.
        with reading(sqlite_engine) as conn:
            balance = conn.execute(select(accounts.c.balance).where(accounts.c.id == ALICE))
            assert balance.scalar() == 10_000
        transaction.rollback()


def _top_ups(engine: Engine, prefix: str, count: int) -> None:
    for i in range(count):
        credit_top_up(engine, "alice", 1, f"{prefix}-{i}")


def _balance(engine: Engine) -> int:
    with reading(engine) as conn:
        balance = conn.execute(select(accounts.c.balance).where(accounts.c.id == ALICE))
        return int(balance.scalar_one())


def test_concurrent_writers_of_one_process_all_commit(sqlite_engine: Engine) -> None:
    # rule A3
    # The worker's 16 activity threads write at once; each must get its turn, none may fail
    # with "database is locked", and no write may be lost.
    with ThreadPoolExecutor(max_workers=16) as pool:
        for future in [pool.submit(_top_ups, sqlite_engine, f"t{n}", 25) for n in range(16)]:
            future.result()
    assert _balance(sqlite_engine) == 16 * 25


def test_a_failed_write_transaction_lets_the_next_writer_in(sqlite_engine: Engine) -> None:
    credit_top_up(sqlite_engine, "alice", 100, "first")

    def failing_activity() -> None:
        with sqlite_engine.begin() as conn:
            conn.execute(accounts.update().where(accounts.c.id == ALICE).values(balance=0))
            raise RuntimeError("the activity failed mid-transaction")

    with pytest.raises(RuntimeError):
        failing_activity()
    # From another thread, as the next activity would be: it must not wait for a writer
    # that is gone (it would fail after the 30 s busy timeout).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(credit_top_up, sqlite_engine, "alice", 5, "second").result(timeout=10)
    assert _balance(sqlite_engine) == 105


def test_a_writer_that_waits_too_long_gets_the_database_error_callers_handle(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The API answers sqlalchemy's OperationalError with 503 and activities retry on it; a
    # writer that gives up waiting for this process's other writers must raise the same.
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_S", 0.2)
    credit_top_up(sqlite_engine, "alice", 100, "first")
    with sqlite_engine.connect() as holder, holder.begin() as holding:
        holder.execute(accounts.update().where(accounts.c.id == ALICE).values(balance=7))
        with ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(credit_top_up, sqlite_engine, "alice", 5, "second")
            with pytest.raises(OperationalError, match="database is locked"):
                waiting.result(timeout=10)
        holding.rollback()
    credit_top_up(sqlite_engine, "alice", 5, "third")
    assert _balance(sqlite_engine) == 105
