"""`make demo`'s dispute scenario, on the time-skipping server: what it prints is what moved."""

from __future__ import annotations

import pytest

from db import ledger
from scripts.demo import dispute_resolved_with_a_partial_refund
from scripts.seed import seed_demo
from tests.stack import Stack


async def test_the_demo_shows_a_dispute_resolved_with_a_partial_refund(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # rules X3 X4
    seed_demo(stack.engine)
    await dispute_resolved_with_a_partial_refund(stack.service, stack.engine, pace=0)
    out = capsys.readouterr().out
    assert "opens a dispute" in out
    # 880,000 fen and a 5 % fee of 44,000: a third of the price back, 14,666.65 of the fee
    # rounded down.
    assert "client 3,079.99 yuan back" in out  # 293,333 + 14,666 fen
    assert "creator 5,866.67 yuan, platform 293.34 yuan; escrow 0.00 yuan" in out
    assert ledger.check_invariants(stack.engine) == []
