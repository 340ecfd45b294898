"""The steps of a withdrawal (workflows/withdrawal.py), each keyed by the withdrawal id."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.payments import PayoutProvider
from db import ledger
from db.ledger import Leg
from services.wallets import EXTERNAL_PAYOUTS, finish_payment
from workflows.errors import ErrorKind
from workflows.messages import PayoutOutcome, WithdrawalInput


def payout_account(withdrawal_id: str) -> str:
    return f"payout:{withdrawal_id}"


class WithdrawalActivities:
    def __init__(self, engine: Engine, provider: PayoutProvider) -> None:
        self._engine = engine
        self._provider = provider

    @activity.defn(name="hold_withdrawal")
    def hold(self, w: WithdrawalInput) -> None:
        """Move the amount out of the wallet into a hold, so it cannot be spent twice."""
        legs = [
            Leg(w.account_id, -w.amount_fen),
            Leg(payout_account(w.withdrawal_id), w.amount_fen),
        ]
        try:
            ledger.transfer(
                self._engine, f"withdrawal:{w.withdrawal_id}:hold", "withdrawal_hold", legs
            )
        except ledger.InsufficientFunds as e:
            raise ApplicationError(
                str(e), type=ErrorKind.INSUFFICIENT_FUNDS, non_retryable=True
            ) from e

    @activity.defn(name="pay_out")
    def pay_out(self, w: WithdrawalInput) -> PayoutOutcome:
        """Ask the bank to pay; the withdrawal id is the provider's idempotency key."""
        result = self._provider.pay_out(w.withdrawal_id, w.amount_fen, w.bank_account)
        return PayoutOutcome(
            succeeded=result.succeeded, reference=result.reference, failure=result.failure
        )

    @activity.defn(name="close_withdrawal")
    def close(self, w: WithdrawalInput, outcome: PayoutOutcome, holding: bool) -> None:
        """Paid: the hold leaves the system. Refused: the hold returns to the wallet."""
        if holding:
            hold = payout_account(w.withdrawal_id)
            if outcome.succeeded:
                key, kind, to = (
                    f"withdrawal:{w.withdrawal_id}:paid",
                    "withdrawal_paid",
                    EXTERNAL_PAYOUTS,
                )
            else:
                key, kind, to = (
                    f"withdrawal:{w.withdrawal_id}:returned",
                    "withdrawal_returned",
                    w.account_id,
                )
            ledger.transfer(
                self._engine, key, kind, [Leg(hold, -w.amount_fen), Leg(to, w.amount_fen)]
            )
        finish_payment(
            self._engine, w.withdrawal_id, outcome.succeeded, outcome.reference, outcome.failure
        )
