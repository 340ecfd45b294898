"""The double-entry ledger on SQLite and on PostgreSQL (rules A2, A3)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from db import ledger
from db.ledger import EXTERNAL, InsufficientFunds, LedgerError, Leg, TransferConflict
from db.schema import accounts, entries, orders, transfers
from services.wallets import credit_top_up

ALICE = ledger.client_account("alice")
ESCROW = ledger.escrow_account("o-1")


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(table)).all())  # type: ignore[call-overload]


def test_a_transfer_moves_money_between_accounts(engine: Engine) -> None:
    # rule A3
    credit_top_up(engine, "alice", 10_000, "t1")
    result = ledger.transfer(
        engine, "o-1:freeze", "freeze", [Leg(ALICE, -2_500), Leg(ESCROW, 2_500)], "o-1"
    )
    assert result.created
    assert ledger.balances(engine, [ALICE, ESCROW, EXTERNAL]) == {
        ALICE: 7_500,
        ESCROW: 2_500,
        EXTERNAL: -10_000,
    }
    assert ledger.check_invariants(engine) == []


def test_the_same_key_moves_money_once(engine: Engine) -> None:
    # rule A2
    credit_top_up(engine, "alice", 10_000, "t1")
    legs = [Leg(ALICE, -2_500), Leg(ESCROW, 2_500)]
    first = ledger.transfer(engine, "o-1:freeze", "freeze", legs)
    again = ledger.transfer(engine, "o-1:freeze", "freeze", list(reversed(legs)))
    assert again.transfer_id == first.transfer_id
    assert not again.created
    assert ledger.balance(engine, ALICE) == 7_500
    assert count(engine, transfers) == 2  # the top-up and the freeze


def test_a_key_reused_with_other_legs_is_a_conflict(engine: Engine) -> None:
    # rule A2
    credit_top_up(engine, "alice", 10_000, "t1")
    ledger.transfer(engine, "k", "freeze", [Leg(ALICE, -1), Leg(ESCROW, 1)])
    with pytest.raises(TransferConflict):
        ledger.transfer(engine, "k", "freeze", [Leg(ALICE, -2), Leg(ESCROW, 2)])
    assert ledger.balance(engine, ALICE) == 9_999


def test_insufficient_balance_moves_nothing(engine: Engine) -> None:
    # rules O1 A3
    credit_top_up(engine, "alice", 1_000, "t1")
    with pytest.raises(InsufficientFunds) as refused:
        ledger.transfer(engine, "o-1:freeze", "freeze", [Leg(ALICE, -1_001), Leg(ESCROW, 1_001)])
    assert (refused.value.needed, refused.value.available) == (1_001, 1_000)
    assert ledger.balance(engine, ALICE) == 1_000
    assert ledger.balance(engine, ESCROW) == 0
    assert count(engine, transfers) == 1
    # The key stays free: the same transfer can go through once the money is there.
    credit_top_up(engine, "alice", 1, "t2")
    assert ledger.transfer(
        engine, "o-1:freeze", "freeze", [Leg(ALICE, -1_001), Leg(ESCROW, 1_001)]
    ).created


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        ([Leg(ALICE, -5), Leg(ESCROW, 4)], "unbalanced"),
        ([Leg(ALICE, 0), Leg(ESCROW, 0)], "non-zero int"),
        ([Leg(ALICE, -1.5), Leg(ESCROW, 1.5)], "non-zero int"),  # type: ignore[arg-type]
        ([Leg(ALICE, -1), Leg(ALICE, 1)], "each account once"),
        ([Leg(ALICE, -1)], "two legs"),
        ([Leg("bank:alice", -1), Leg(ESCROW, 1)], "unknown account"),
    ],
)
def test_malformed_transfers_are_refused(engine: Engine, legs: list[Leg], message: str) -> None:
    # rule A3
    credit_top_up(engine, "alice", 100, "t1")
    with pytest.raises(LedgerError, match=message):
        ledger.transfer(engine, "bad", "freeze", legs)
    assert count(engine, transfers) == 1


def test_concurrent_transfers_with_one_key_move_money_once(engine: Engine) -> None:
    # rule A2
    credit_top_up(engine, "alice", 10_000, "t1")
    legs = [Leg(ALICE, -3_000), Leg(ESCROW, 3_000)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: ledger.transfer(engine, "same", "freeze", legs), range(16))
        )
    assert sum(r.created for r in results) == 1
    assert len({r.transfer_id for r in results}) == 1
    assert ledger.balance(engine, ALICE) == 7_000


def test_concurrent_spending_never_overdraws(engine: Engine) -> None:
    # rule A3
    credit_top_up(engine, "alice", 10_000, "t1")

    def spend(i: int) -> bool:
        escrow = ledger.escrow_account(f"o-{i}")
        try:
            ledger.transfer(
                engine, f"spend-{i}", "freeze", [Leg(ALICE, -3_000), Leg(escrow, 3_000)]
            )
        except InsufficientFunds:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        spent = list(pool.map(spend, range(12)))
    assert sum(spent) == 3
    assert ledger.balance(engine, ALICE) == 1_000
    assert ledger.check_invariants(engine) == []


def test_invariant_check_finds_a_tampered_balance(engine: Engine) -> None:
    # rule A3
    credit_top_up(engine, "alice", 500, "t1")
    with engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.id == ALICE).values(balance=600))
    problems = ledger.check_invariants(engine)
    assert "accounts sum to 100 fen, not 0" in problems
    assert f"{ALICE} holds 600 fen but its entries sum to 500" in problems
    with engine.begin() as conn:  # restore, so the fixture's own check passes
        conn.execute(update(accounts).where(accounts.c.id == ALICE).values(balance=500))


def test_invariant_check_finds_money_left_in_a_finished_orders_escrow(engine: Engine) -> None:
    # rule A3
    credit_top_up(engine, "alice", 500, "t1")
    ledger.transfer(engine, "o-1:freeze", "freeze", [Leg(ALICE, -500), Leg(ESCROW, 500)])
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            orders.insert().values(
                id="o-1",
                client_id="alice",
                creator_id="bob",
                status="completed",
                price_fen=500,
                fee_fen=0,
                skip_script=False,
                retention_days=30,
                brief={},
                next_actions=[],
                last_seq=1,
                created_at=now,
                updated_at=now,
            )
        )
    assert ledger.check_invariants(engine) == ["finished order o-1 still holds 500 fen in escrow"]
    ledger.transfer(engine, "o-1:refund", "refund", [Leg(ESCROW, -500), Leg(ALICE, 500)])
    assert ledger.check_invariants(engine) == []


def test_the_database_itself_refuses_a_negative_user_balance(engine: Engine) -> None:
    # rule A3: a constraint, not only the code, keeps user accounts at or above zero
    credit_top_up(engine, "alice", 5, "t1")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.id == ALICE).values(balance=-1))
    assert count(engine, entries) == 2
