"""What every version of the order workflow shares with its callers: search attributes, the
error types an update fails with (the API maps them to HTTP), and the retry policy of money and
the video platform. No I/O: imported inside the workflow sandbox."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy, SearchAttributeKey

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
CLIENT_ID = SearchAttributeKey.for_keyword("ClientId")
CREATOR_ID = SearchAttributeKey.for_keyword("CreatorId")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
# A review left past its deadline (D2): flagged for ops, never approved automatically.
ESCALATED = SearchAttributeKey.for_bool("Escalated")

# Error types an update fails with; the API maps them to HTTP statuses.
INVALID_STATE = "InvalidState"
FORBIDDEN = "Forbidden"
# The acting user is not the order's client or creator: callers answer "no such order".
NOT_A_PARTY = "NotAParty"
INVALID_INPUT = "InvalidInput"
REQUEST_ID_REUSED = "RequestIdReused"
INSUFFICIENT_FUNDS = "InsufficientFunds"

# Money and the video platform must eventually succeed: retry until they do, slowly.
PERSISTENT = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[
        INSUFFICIENT_FUNDS,
        "TransferConflict",
        "LedgerError",
        "VideoNotFound",
        "VideoLinkedElsewhere",
    ],
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)
