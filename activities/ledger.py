"""Escrow money movements of an order. Each has a fixed key per order, so a retried activity,
or a second caller, moves nothing twice (rules A2, A3)."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db import ledger
from db.ledger import Leg
from workflows.errors import ErrorKind
from workflows.messages import OrderTerms, SplitSettlement

# What a settlement that found the escrow already gone says it went to.
_SETTLED = {
    "refund": "refunded to the client",
    "release": "released",
    "split": "divided between the client and the payee",
}


class LedgerActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _transfer(self, key: str, kind: str, terms: OrderTerms, legs: list[Leg]) -> None:
        try:
            ledger.transfer(self._engine, key, kind, legs, order_id=terms.order_id)
        except ledger.InsufficientFunds as e:
            settled = (
                ledger.settled_as(self._engine, terms.order_id)
                if e.account == ledger.escrow_account(terms.order_id)
                else None
            )
            if settled is not None:
                raise ApplicationError(
                    f"nothing to {kind}: the escrow of order {terms.order_id} was already "
                    f"{_SETTLED[settled]}",
                    settled,
                    type=ErrorKind.ESCROW_ALREADY_SETTLED,
                    non_retryable=True,
                ) from e
            raise ApplicationError(
                str(e), type=ErrorKind.INSUFFICIENT_FUNDS, non_retryable=True
            ) from e
        except ledger.LedgerError as e:
            # A malformed or conflicting transfer is a bug: retrying cannot fix it.
            kind = (
                ErrorKind.TRANSFER_CONFLICT
                if isinstance(e, ledger.TransferConflict)
                else ErrorKind.LEDGER_ERROR
            )
            raise ApplicationError(str(e), type=kind, non_retryable=True) from e

    @activity.defn(name="freeze_escrow")
    def freeze(self, terms: OrderTerms) -> None:
        """Price plus service fee from the client's wallet into the order's escrow (O1)."""
        escrow = ledger.escrow_account(terms.order_id)
        self._transfer(
            ledger.order_key(terms.order_id, "freeze"),
            "freeze",
            terms,
            [
                Leg(ledger.client_account(terms.client_id), -terms.total_fen),
                Leg(escrow, terms.total_fen),
            ],
        )

    @activity.defn(name="refund_escrow")
    def refund(self, terms: OrderTerms) -> None:
        """The whole escrow back to the client (O2)."""
        escrow = ledger.escrow_account(terms.order_id)
        self._transfer(
            ledger.order_key(terms.order_id, "refund"),
            "refund",
            terms,
            [
                Leg(escrow, -terms.total_fen),
                Leg(ledger.client_account(terms.client_id), terms.total_fen),
            ],
        )

    @activity.defn(name="release_escrow")
    def release(self, terms: OrderTerms) -> None:
        """The price to the creator, or to the creator's MCN; the fee to the platform (O8)."""
        key = ledger.order_key(terms.order_id, "release")
        self._transfer(key, "release", terms, ledger.release_legs(terms))

    @activity.defn(name="split_escrow")
    def split(self, settlement: SplitSettlement) -> None:
        """X4: part of the price back to the client with its share of the fee, the rest to
        the payee (O8) and the platform; one transfer under the order's split key."""
        terms = settlement.terms
        try:
            legs = ledger.split_legs(terms, settlement.refund_fen)
        except ledger.LedgerError as e:
            raise ApplicationError(str(e), type=ErrorKind.LEDGER_ERROR, non_retryable=True) from e
        self._transfer(ledger.order_key(terms.order_id, "split"), "split", terms, legs)
