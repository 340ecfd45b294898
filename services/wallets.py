"""Money entering the system. The payment-provider adapter arrives with the wallet issue; for
now a top-up is a ledger transfer from the external account under the caller's key."""

from __future__ import annotations

from sqlalchemy import Engine

from db import ledger
from db.ledger import Leg, TransferResult


def top_up(engine: Engine, client_id: str, amount_fen: int, key: str) -> TransferResult:
    if type(amount_fen) is not int or amount_fen <= 0:
        raise ValueError("a top-up is a positive whole number of fen")
    return ledger.transfer(
        engine,
        f"topup:{key}",
        "topup",
        [Leg(ledger.EXTERNAL, -amount_fen), Leg(ledger.client_account(client_id), amount_fen)],
    )
