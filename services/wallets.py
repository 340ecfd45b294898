"""Wallets: money entering (top-ups), leaving (withdrawals), and each account's statement.

A top-up charges the client through the payment provider, then credits the wallet, both keyed
by one payment id: retrying the request charges once and credits once. A withdrawal is a small
workflow (workflows/withdrawal.py) because it spans a hold, a slow bank transfer, and then the
settlement or the return of the money, each of which must happen exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, func, select, update

from adapters.payments import PaymentProvider
from db import ledger
from db.engine import reading
from db.ledger import Leg, TransferResult
from db.schema import entries, orders, payments, transfers
from db.sql import insert_ignore
from workflows.bounds import MAX_BALANCE_FEN, MAX_PAYMENT_FEN
from workflows.errors import ErrorKind, Refusal
from workflows.messages import Role

EXTERNAL_PAYOUTS = "external:payouts"


class WalletError(Refusal):
    """A wallet request that was not carried out."""


def account_of(user_id: str, role: Role) -> str:
    match role:
        case Role.CLIENT:
            return ledger.client_account(user_id)
        case Role.CREATOR:
            return ledger.creator_account(user_id)
        case Role.MCN:
            return ledger.mcn_account(user_id)
    raise WalletError(ErrorKind.FORBIDDEN, f"a {role} has no wallet")


def credit_top_up(
    engine: Engine, client_id: str, amount_fen: int, payment_id: str
) -> TransferResult:
    """Ledger side of a top-up: from the outside world into the client's wallet."""
    if type(amount_fen) is not int or amount_fen <= 0:
        raise WalletError(ErrorKind.INVALID_INPUT, "a top-up is a positive whole number of fen")
    return ledger.transfer(
        engine,
        f"topup:{payment_id}",
        "topup",
        [Leg(ledger.EXTERNAL, -amount_fen), Leg(ledger.client_account(client_id), amount_fen)],
    )


def top_up(
    engine: Engine, provider: PaymentProvider, client_id: str, amount_fen: int, payment_id: str
) -> Row[Any]:
    """Charge the client and credit the wallet, once per payment id. A wallet holds at most
    MAX_BALANCE_FEN, so that every sum of balances fits in the database's integers."""
    if type(amount_fen) is not int or not 0 < amount_fen <= MAX_PAYMENT_FEN:
        raise WalletError(ErrorKind.INVALID_INPUT, f"a top-up is 1 to {MAX_PAYMENT_FEN} fen")
    held = ledger.balance(engine, ledger.client_account(client_id))
    # A retried top-up that was already credited is answered, however full the wallet is now.
    if held + amount_fen > MAX_BALANCE_FEN and payment(engine, payment_id) is None:
        raise WalletError(
            ErrorKind.LIMIT_REACHED,
            f"a wallet holds at most {MAX_BALANCE_FEN} fen; it holds {held} fen now",
        )
    row = _start_payment(engine, payment_id, client_id, "top_up", amount_fen, None)
    if row.status != "pending":
        return row
    result = provider.charge(payment_id, amount_fen)
    if result.succeeded:
        credit_top_up(engine, client_id, amount_fen, payment_id)
    return finish_payment(engine, payment_id, result.succeeded, result.reference, result.failure)


def _start_payment(
    engine: Engine,
    payment_id: str,
    user_id: str,
    kind: str,
    amount_fen: int,
    bank_account: str | None,
) -> Row[Any]:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        insert_ignore(
            conn,
            payments,
            {
                "id": payment_id,
                "user_id": user_id,
                "kind": kind,
                "amount_fen": amount_fen,
                "status": "pending",
                "bank_account": bank_account,
                "created_at": now,
                "updated_at": now,
            },
        )
        row = conn.execute(select(payments).where(payments.c.id == payment_id)).one()
    if (row.user_id, row.kind, row.amount_fen) != (user_id, kind, amount_fen):
        raise WalletError(
            ErrorKind.CONFLICT, f"payment {payment_id} was requested with other details"
        )
    return row


def start_withdrawal(
    engine: Engine, withdrawal_id: str, user_id: str, amount_fen: int, bank_account: str
) -> Row[Any]:
    if type(amount_fen) is not int or amount_fen <= 0:
        raise WalletError(ErrorKind.INVALID_INPUT, "a withdrawal is a positive whole number of fen")
    return _start_payment(engine, withdrawal_id, user_id, "withdrawal", amount_fen, bank_account)


def finish_payment(
    engine: Engine, payment_id: str, succeeded: bool, reference: str | None, failure: str | None
) -> Row[Any]:
    with engine.begin() as conn:
        conn.execute(
            update(payments)
            .where(payments.c.id == payment_id, payments.c.status == "pending")
            .values(
                status="succeeded" if succeeded else "failed",
                provider_reference=reference,
                failure=failure,
                updated_at=datetime.now(UTC),
            )
        )
        return conn.execute(select(payments).where(payments.c.id == payment_id)).one()


def payment(engine: Engine, payment_id: str) -> Row[Any] | None:
    with reading(engine) as conn:
        return conn.execute(select(payments).where(payments.c.id == payment_id)).first()


# --------------------------------------------------------------------- statements


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    at: datetime
    kind: str
    amount_fen: int
    order_id: str | None


def statement(
    engine: Engine, account_id: str, limit: int, before_entry: int | None
) -> list[StatementLine]:
    """The account's ledger entries, newest first."""
    query = (
        select(
            entries.c.id,
            transfers.c.created_at,
            transfers.c.kind,
            entries.c.amount,
            transfers.c.order_id,
        )
        .join(transfers, transfers.c.id == entries.c.transfer_id)
        .where(entries.c.account_id == account_id)
    )
    if before_entry is not None:
        query = query.where(entries.c.id < before_entry)
    with reading(engine) as conn:
        rows = conn.execute(query.order_by(entries.c.id.desc()).limit(limit)).all()
    return [StatementLine(r[0], r[1], r[2], int(r[3]), r[4]) for r in rows]


@dataclass(frozen=True)
class CreatorEarnings:
    creator_id: str
    orders: int
    earned_fen: int


# The settlements that pay the payee of an order.
_PAYOUTS = ("release", "split")


def mcn_earnings(engine: Engine, mcn_id: str) -> list[CreatorEarnings]:
    """O8: what each of the MCN's creators earned it, from the released escrows and the
    payee's share of the divided ones (X4)."""
    query = (
        select(orders.c.creator_id, func.count(), func.sum(entries.c.amount))
        .select_from(entries)
        .join(transfers, transfers.c.id == entries.c.transfer_id)
        .join(orders, orders.c.id == transfers.c.order_id)
        .where(entries.c.account_id == ledger.mcn_account(mcn_id), transfers.c.kind.in_(_PAYOUTS))
        .group_by(orders.c.creator_id)
        .order_by(orders.c.creator_id)
    )
    with reading(engine) as conn:
        return [CreatorEarnings(c, int(n), int(s)) for c, n, s in conn.execute(query).all()]
