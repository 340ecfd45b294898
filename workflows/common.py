"""What every version of the order workflow shares with its callers: search attributes, the
error types an update fails with (the API maps them to HTTP), and the retry policy of money and
the video platform. No I/O: imported inside the workflow sandbox."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy, SearchAttributeKey

from workflows.errors import ErrorKind

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
CLIENT_ID = SearchAttributeKey.for_keyword("ClientId")
CREATOR_ID = SearchAttributeKey.for_keyword("CreatorId")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
# A review left past its deadline (D2): flagged for ops, never approved automatically.
ESCALATED = SearchAttributeKey.for_bool("Escalated")
# An open dispute (X3): its deadlines are paused until ops resolve it.
DISPUTED = SearchAttributeKey.for_bool("Disputed")

# Error types an update fails with: short names of the one vocabulary (workflows/errors.py),
# which api/errors.py maps to HTTP statuses.
INVALID_STATE = ErrorKind.INVALID_STATE
FORBIDDEN = ErrorKind.FORBIDDEN
NOT_A_PARTY = ErrorKind.NOT_A_PARTY
INVALID_INPUT = ErrorKind.INVALID_INPUT
REQUEST_ID_REUSED = ErrorKind.REQUEST_ID_REUSED
INSUFFICIENT_FUNDS = ErrorKind.INSUFFICIENT_FUNDS
ESCROW_ALREADY_SETTLED = ErrorKind.ESCROW_ALREADY_SETTLED

# Money and the video platform must eventually succeed: retry until they do, slowly.
PERSISTENT = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[
        INSUFFICIENT_FUNDS,
        ErrorKind.TRANSFER_CONFLICT,
        ErrorKind.LEDGER_ERROR,
        ErrorKind.VIDEO_NOT_FOUND,
        ErrorKind.VIDEO_LINKED_ELSEWHERE,
    ],
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
