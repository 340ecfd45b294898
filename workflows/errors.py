"""Why a request was not carried out: one vocabulary from the workflow to HTTP.

The workflow's updates and the activities fail with `ApplicationError(type=kind)`, the services
raise `Refusal(kind, ...)`, and api/errors.py maps each kind to one HTTP status and problem type.
The values are the strings running orders and recorded histories already carry: never rename a
value, add a member.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    # Refusals of an action or request (rule A1).
    INVALID_STATE = "InvalidState"
    FORBIDDEN = "Forbidden"
    # The acting user is not the order's client or creator: callers answer "no such order".
    NOT_A_PARTY = "NotAParty"
    NOT_FOUND = "NotFound"
    INVALID_INPUT = "InvalidInput"
    REQUEST_ID_REUSED = "RequestIdReused"
    # The same id or key was used before for something else (an order, a payment, an account).
    CONFLICT = "Conflict"
    INSUFFICIENT_FUNDS = "InsufficientFunds"
    NOT_ORDERABLE = "NotOrderable"
    REFUSED = "Refused"
    PRICE_CHANGED = "PriceChanged"
    PAYMENT_DECLINED = "PaymentDeclined"
    # A wallet at the most it may hold.
    LIMIT_REACHED = "LimitReached"
    # A script holding wording the advertising-law term list forbids, in refuse mode (B2).
    AD_LAW_TERMS = "AdLawTerms"
    VIDEO_NOT_FOUND = "VideoNotFound"
    VIDEO_LINKED_ELSEWHERE = "VideoLinkedElsewhere"
    # A refund or release found the escrow already settled the other way: the workflow turns
    # it into a recorded outcome.
    ESCROW_ALREADY_SETTLED = "EscrowAlreadySettled"
    # A malformed or conflicting ledger transfer: a bug, which no retry can fix.
    TRANSFER_CONFLICT = "TransferConflict"
    LEDGER_ERROR = "LedgerError"
    # The HTTP layer's own: who is asking, how often, how much, and whether we can answer.
    UNAUTHENTICATED = "Unauthenticated"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    TOO_LARGE = "TooLarge"
    TOO_MANY_REQUESTS = "TooManyRequests"
    UNAVAILABLE = "Unavailable"
    # The request reached the order's workflow, which has not answered yet (rule A2).
    PENDING = "Pending"
    INTERNAL = "Internal"


class Refusal(Exception):
    """A request the services did not carry out; `kind` says why, for the API to map."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
