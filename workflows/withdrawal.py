"""WithdrawalWorkflow: money from a creator's or an MCN's wallet to their bank account."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.errors import ErrorKind
    from workflows.messages import PayoutOutcome, WithdrawalInput, WithdrawalResult

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[
        ErrorKind.INSUFFICIENT_FUNDS,
        ErrorKind.TRANSFER_CONFLICT,
        ErrorKind.LEDGER_ERROR,
    ],
)
TIMEOUT = timedelta(seconds=30)


@workflow.defn
class WithdrawalWorkflow:
    """Hold the amount, ask the bank to pay it, then settle it or give it back.

    Every step is keyed by the withdrawal id (ledger keys, the payout request id), so a retried
    step, or the same withdrawal requested twice, pays once. No messages: the caller awaits the
    result.
    """

    @workflow.run
    async def run(self, input: WithdrawalInput) -> WithdrawalResult:
        try:
            await workflow.execute_activity(
                "hold_withdrawal", input, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
            )
        except ActivityError as e:
            cause = e.cause
            if not (
                isinstance(cause, ApplicationError) and cause.type == ErrorKind.INSUFFICIENT_FUNDS
            ):
                raise
            outcome = PayoutOutcome(succeeded=False, failure=cause.message)
            await self._close(input, outcome, holding=False)
            return WithdrawalResult(
                withdrawal_id=input.withdrawal_id, succeeded=False, failure=outcome.failure
            )
        outcome = await workflow.execute_activity(
            "pay_out",
            input,
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
            result_type=PayoutOutcome,
        )
        await self._close(input, outcome, holding=True)
        return WithdrawalResult(
            withdrawal_id=input.withdrawal_id, succeeded=outcome.succeeded, failure=outcome.failure
        )

    async def _close(self, input: WithdrawalInput, outcome: PayoutOutcome, holding: bool) -> None:
        """Settle the held money with the bank, or return it to the wallet; record the end."""
        await workflow.execute_activity(
            "close_withdrawal",
            args=[input, outcome, holding],
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )
