"""Settling a split (rule X4) on SQLite and PostgreSQL: one balanced, keyed transfer that
empties the escrow, the fee refunded pro rata and rounded down, a retry moving nothing more."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError

from activities.ledger import LedgerActivities
from db import ledger
from db.ledger import PLATFORM_FEES, LedgerError, Leg, TransferConflict
from services.wallets import credit_top_up
from workflows.errors import ErrorKind
from workflows.messages import Brief, OrderTerms, SplitSettlement

BRIEF = Brief(product="Tea", requirements="Pour it")
CLIENT = ledger.client_account("alice")
CREATOR = ledger.creator_account("bob")
MCN = ledger.mcn_account("agency")


def frozen(engine: Engine, price: int, fee: int, mcn_id: str | None = None) -> OrderTerms:
    """An order whose price and fee are in escrow, as placement leaves it."""
    terms = OrderTerms(
        order_id=f"o-{price}-{fee}",
        client_id="alice",
        creator_id="bob",
        mcn_id=mcn_id,
        price_fen=price,
        fee_fen=fee,
        brief=BRIEF,
    )
    credit_top_up(engine, "alice", terms.total_fen, f"top-up-{terms.order_id}")
    escrow = ledger.escrow_account(terms.order_id)
    legs = [Leg(CLIENT, -terms.total_fen), Leg(escrow, terms.total_fen)]
    ledger.transfer(engine, ledger.order_key(terms.order_id, "freeze"), "freeze", legs)
    return terms


def money(engine: Engine, terms: OrderTerms) -> dict[str, int]:
    escrow = ledger.escrow_account(terms.order_id)
    found = ledger.balances(engine, [CLIENT, CREATOR, MCN, PLATFORM_FEES, escrow])
    return {"escrow" if k == escrow else k: v for k, v in found.items()}


def assert_sound(engine: Engine, terms: OrderTerms) -> None:
    # rule A3: every account sums to zero, the escrow is empty, one split transfer
    assert ledger.check_invariants(engine) == []
    assert money(engine, terms)["escrow"] == 0
    assert ledger.transfer_count(engine, terms.order_id, "split") == 1
    legs = ledger.legs_of(engine, ledger.order_key(terms.order_id, "split"))
    assert legs is not None
    assert sum(leg.amount for leg in legs) == 0


@pytest.mark.parametrize(
    ("price", "fee", "refund", "to_client", "to_creator", "to_platform"),
    [
        (1, 0, 0, 0, 1, 0),  # price 1 fen, nothing back
        (1, 0, 1, 1, 0, 0),  # price 1 fen, all back
        (100_000, 5_000, 0, 0, 100_000, 5_000),  # r = 0: as a release
        (100_000, 5_000, 100_000, 105_000, 0, 0),  # r = p: as a full refund
        (100_000, 0, 40_000, 40_000, 60_000, 0),  # no fee
        # f x r / p = 5000 x 33333 / 100000 = 1666.65: the client gets 1666 of the fee back
        (100_000, 5_000, 33_333, 33_333 + 1_666, 66_667, 5_000 - 1_666),
        # 1 x 1 / 3 rounds down to nothing: the platform keeps its one fen
        (3, 1, 1, 1, 2, 1),
        (3, 1, 2, 2, 1, 1),
        (7, 3, 5, 5 + 2, 2, 1),  # 3 x 5 / 7 = 2.14
    ],
)
def test_a_split_divides_price_and_fee_as_the_spec_says(
    engine: Engine,
    price: int,
    fee: int,
    refund: int,
    to_client: int,
    to_creator: int,
    to_platform: int,
) -> None:
    # rule X4
    terms = frozen(engine, price, fee)
    result = ledger.settle_split(engine, terms, refund)
    assert result.created
    assert money(engine, terms) == {
        CLIENT: to_client,
        CREATOR: to_creator,
        MCN: 0,
        PLATFORM_FEES: to_platform,
        "escrow": 0,
    }
    assert_sound(engine, terms)


def test_a_retried_split_moves_nothing_more(engine: Engine) -> None:
    # rules X4 A2
    terms = frozen(engine, 100_001, 5_000)
    first = ledger.settle_split(engine, terms, 50_000)
    after = money(engine, terms)
    again = ledger.settle_split(engine, terms, 50_000)
    assert (again.transfer_id, again.created) == (first.transfer_id, False)
    assert money(engine, terms) == after
    # The same key with another refund is a bug, never a second settlement.
    with pytest.raises(TransferConflict):
        ledger.settle_split(engine, terms, 1)
    assert money(engine, terms) == after
    assert_sound(engine, terms)


def test_an_mcn_creator_s_share_goes_to_the_mcn(engine: Engine) -> None:
    # rules X4 O8
    terms = frozen(engine, 10_000, 500, mcn_id="agency")
    ledger.settle_split(engine, terms, 2_500)
    found = money(engine, terms)
    assert (found[MCN], found[CREATOR]) == (7_500, 0)
    assert (found[CLIENT], found[PLATFORM_FEES]) == (2_500 + 125, 375)
    assert_sound(engine, terms)


@pytest.mark.parametrize("refund", [-1, 10_001])
def test_a_refund_outside_the_price_is_refused_and_moves_nothing(
    engine: Engine, refund: int
) -> None:
    # rule X4
    terms = frozen(engine, 10_000, 500)
    with pytest.raises(LedgerError, match="0 to 10000 fen"):
        ledger.settle_split(engine, terms, refund)
    assert money(engine, terms)["escrow"] == 10_500
    ledger.settle_split(engine, terms, 10_000)  # the books close for the fixture's check


def test_a_split_racing_a_settled_escrow_moves_nothing(engine: Engine) -> None:
    # rules X4 A2: an escrow refunded (by ops, for a stopped order) cannot be divided after
    terms = frozen(engine, 10_000, 500)
    assert ledger.refund_frozen(engine, terms.order_id) is not None
    activities = LedgerActivities(engine)
    with pytest.raises(ApplicationError) as settled:
        activities.split(SplitSettlement(terms=terms, refund_fen=4_000))
    assert settled.value.type == ErrorKind.ESCROW_ALREADY_SETTLED
    assert settled.value.details == ("refund",)
    assert money(engine, terms)[CLIENT] == 10_500
    assert ledger.transfer_count(engine, terms.order_id, "split") == 0


def test_a_refund_or_release_after_a_split_finds_the_escrow_divided(engine: Engine) -> None:
    # rules X4 A2
    terms = frozen(engine, 10_000, 500)
    activities = LedgerActivities(engine)
    activities.split(SplitSettlement(terms=terms, refund_fen=4_000))
    activities.split(SplitSettlement(terms=terms, refund_fen=4_000))  # a retried activity
    after = money(engine, terms)
    for settle in (activities.refund, activities.release):
        with pytest.raises(ApplicationError) as settled:
            settle(terms)
        assert settled.value.type == ErrorKind.ESCROW_ALREADY_SETTLED
        assert settled.value.details == ("split",)
        assert "divided" in settled.value.message
    assert money(engine, terms) == after
    assert ledger.settled_as(engine, terms.order_id) == "split"
    assert_sound(engine, terms)
