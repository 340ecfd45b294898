"""SQLite transactions: writers take the lock up front, readers never wait for a writer."""

from __future__ import annotations

from sqlalchemy import Engine, select

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
