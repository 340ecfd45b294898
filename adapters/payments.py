"""Payment rails: charging a client's card for a top-up, paying a creator's bank account.

Both calls carry our request id, which the provider uses to deduplicate: a retried call
returns the first outcome and never charges or pays twice (that is how real providers'
idempotency keys work, and what the simulator does too).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine, select

from db.engine import reading
from db.schema import provider_requests
from db.sql import insert_ignore

# Bank accounts starting with this are refused by the simulated payout rail, as payment
# providers' published test numbers are: a way to demo and test a failed payout.
FAILING_BANK_PREFIX = "0000"
# The simulated card network declines any single charge above this.
MAX_SIMULATED_CHARGE_FEN = 50_000_000


@dataclass(frozen=True)
class ProviderResult:
    succeeded: bool
    reference: str
    failure: str | None = None


class PaymentProvider(Protocol):
    def charge(self, request_id: str, amount_fen: int) -> ProviderResult: ...


class PayoutProvider(Protocol):
    def pay_out(self, request_id: str, amount_fen: int, bank_account: str) -> ProviderResult: ...


class SimulatedPaymentRails:
    """Both rails, recording every request by id in the app database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def charge(self, request_id: str, amount_fen: int) -> ProviderResult:
        ok = amount_fen <= MAX_SIMULATED_CHARGE_FEN
        return self._once(request_id, "charge", amount_fen, ok, "card declined: over the limit")

    def pay_out(self, request_id: str, amount_fen: int, bank_account: str) -> ProviderResult:
        ok = not bank_account.startswith(FAILING_BANK_PREFIX)
        return self._once(request_id, "payout", amount_fen, ok, "the bank refused the transfer")

    def _once(
        self, request_id: str, kind: str, amount_fen: int, ok: bool, failure: str
    ) -> ProviderResult:
        reference = f"sim-{kind}-{hashlib.sha256(request_id.encode()).hexdigest()[:16]}"
        with self._engine.begin() as conn:
            insert_ignore(
                conn,
                provider_requests,
                {
                    "request_id": request_id,
                    "kind": kind,
                    "amount_fen": amount_fen,
                    "status": "succeeded" if ok else "failed",
                    "reference": reference,
                    "created_at": datetime.now(UTC),
                },
            )
            row = conn.execute(
                select(provider_requests).where(provider_requests.c.request_id == request_id)
            ).one()
        succeeded = row.status == "succeeded"
        return ProviderResult(succeeded, row.reference, None if succeeded else failure)

    def requests_made(self, kind: str) -> int:
        """How many distinct requests reached the rail (what a test checks for double pay)."""
        with reading(self._engine) as conn:
            return len(
                conn.execute(
                    select(provider_requests.c.request_id).where(provider_requests.c.kind == kind)
                ).all()
            )
