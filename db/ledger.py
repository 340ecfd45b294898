"""Double-entry ledger in integer fen (rules A2, A3).

A transfer is a set of legs that sum to zero, stored with a unique key: writing the same key
twice returns the first transfer and moves nothing. Balances are kept on the accounts and
changed with conditional updates, so no account but the external one can go below zero even
under concurrent writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, String, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from db.engine import reading
from db.schema import accounts, entries, orders, payments, transfers
from db.sql import insert_ignore
from workflows.messages import FINAL_STATUSES, OrderTerms

ACCOUNT_KINDS = frozenset({"client", "creator", "mcn", "escrow", "payout", "platform", "external"})
PLATFORM_FEES = "platform:fees"
EXTERNAL = "external:payments"


def client_account(user_id: str) -> str:
    return f"client:{user_id}"


def creator_account(user_id: str) -> str:
    return f"creator:{user_id}"


def mcn_account(user_id: str) -> str:
    return f"mcn:{user_id}"


def escrow_account(order_id: str) -> str:
    return f"escrow:{order_id}"


ESCROW_PREFIX = escrow_account("")


def order_key(order_id: str, kind: str) -> str:
    """The key of an order's escrow transfer of one kind (freeze, refund, release, split): each
    happens at most once per order, whoever asks for it."""
    return f"order:{order_id}:{kind}"


class LedgerError(Exception):
    pass


class InsufficientFunds(LedgerError):
    def __init__(self, account: str, needed: int, available: int) -> None:
        super().__init__(
            f"insufficient balance in {account}: needs {needed} fen, has {available} fen"
        )
        self.account, self.needed, self.available = account, needed, available


class TransferConflict(LedgerError):
    """The key was already used for a transfer with other legs: a bug, never retried away."""


@dataclass(frozen=True, order=True)
class Leg:
    account: str
    amount: int


@dataclass(frozen=True)
class TransferResult:
    transfer_id: int
    key: str
    created: bool


def _validate(key: str, legs: Sequence[Leg]) -> None:
    if not key or len(key) > 200:
        raise LedgerError("a transfer needs a key of 1 to 200 characters")
    if len(legs) < 2:
        raise LedgerError("a transfer needs at least two legs")
    for leg in legs:
        if type(leg.amount) is not int or leg.amount == 0:
            raise LedgerError(f"leg amount must be a non-zero int of fen, got {leg.amount!r}")
        if leg.account.split(":", 1)[0] not in ACCOUNT_KINDS or ":" not in leg.account:
            raise LedgerError(f"unknown account {leg.account!r}")
    if len({leg.account for leg in legs}) != len(legs):
        raise LedgerError("a transfer names each account once")
    if sum(leg.amount for leg in legs) != 0:
        raise LedgerError(
            f"unbalanced transfer {key}: legs sum to {sum(leg.amount for leg in legs)}"
        )


def ensure_account(conn: Connection, account_id: str) -> None:
    kind = account_id.split(":", 1)[0]
    insert_ignore(
        conn,
        accounts,
        {"id": account_id, "kind": kind, "balance": 0, "created_at": datetime.now(UTC)},
    )


def _existing(conn: Connection, key: str) -> tuple[int, list[Leg]] | None:
    row = conn.execute(select(transfers.c.id).where(transfers.c.key == key)).first()
    if row is None:
        return None
    legs = conn.execute(
        select(entries.c.account_id, entries.c.amount).where(entries.c.transfer_id == row.id)
    ).all()
    return row.id, sorted(Leg(a, m) for a, m in legs)


def _replay(key: str, found: tuple[int, list[Leg]], legs: Sequence[Leg]) -> TransferResult:
    transfer_id, stored = found
    if stored != sorted(legs):
        raise TransferConflict(f"transfer key {key} was already used with other legs")
    return TransferResult(transfer_id, key, created=False)


def transfer(
    engine: Engine, key: str, kind: str, legs: Sequence[Leg], order_id: str | None = None
) -> TransferResult:
    """Move money once per key. Raises InsufficientFunds and moves nothing if a leg would
    take a non-external account below zero."""
    _validate(key, legs)
    try:
        with engine.begin() as conn:
            found = _existing(conn, key)
            if found is not None:
                return _replay(key, found, legs)
            transfer_id = conn.execute(
                transfers.insert()
                .values(key=key, kind=kind, order_id=order_id, created_at=datetime.now(UTC))
                .returning(transfers.c.id)
            ).scalar_one()
            # A fixed order of row locks, so two transfers over the same accounts never deadlock.
            for leg in sorted(legs):
                ensure_account(conn, leg.account)
                moved = conn.execute(
                    update(accounts)
                    .where(
                        accounts.c.id == leg.account,
                        or_(accounts.c.kind == "external", accounts.c.balance + leg.amount >= 0),
                    )
                    .values(balance=accounts.c.balance + leg.amount)
                ).rowcount
                if moved != 1:
                    available = balance_in(conn, leg.account)
                    raise InsufficientFunds(leg.account, -leg.amount, available)
            conn.execute(
                entries.insert(),
                [
                    {"transfer_id": transfer_id, "account_id": leg.account, "amount": leg.amount}
                    for leg in legs
                ],
            )
            return TransferResult(transfer_id, key, created=True)
    except IntegrityError:
        # A concurrent writer committed the same key first: answer with its transfer.
        with reading(engine) as conn:
            found = _existing(conn, key)
        if found is None:
            raise
        return _replay(key, found, legs)


def balance_in(conn: Connection, account_id: str) -> int:
    value = conn.execute(select(accounts.c.balance).where(accounts.c.id == account_id)).scalar()
    return int(value or 0)


def balance(engine: Engine, account_id: str) -> int:
    with reading(engine) as conn:
        return balance_in(conn, account_id)


def balances(engine: Engine, account_ids: Iterable[str]) -> dict[str, int]:
    ids = list(account_ids)
    with reading(engine) as conn:
        rows = conn.execute(select(accounts.c.id, accounts.c.balance).where(accounts.c.id.in_(ids)))
        found = {row.id: int(row.balance) for row in rows}
    return {account_id: found.get(account_id, 0) for account_id in ids}


def legs_of(engine: Engine, key: str) -> list[Leg] | None:
    with reading(engine) as conn:
        found = _existing(conn, key)
    return found[1] if found else None


# The ways an order's escrow is settled, each at most once per order and only one of them:
# all back to the client, all paid out, or divided between them (X4).
SETTLEMENTS = ("refund", "release", "split")


def settled_as(engine: Engine, order_id: str) -> str | None:
    """Which settlement took the order's escrow ("refund", "release" or "split"), if one did."""
    for kind in SETTLEMENTS:
        if legs_of(engine, order_key(order_id, kind)) is not None:
            return kind
    return None


def held_in_escrow(engine: Engine) -> dict[str, int]:
    """Every order whose escrow holds money, with the amount: running orders, and any
    whose workflow stopped before settling."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(accounts.c.id, accounts.c.balance).where(
                accounts.c.kind == "escrow", accounts.c.balance > 0
            )
        ).all()
    return {row.id.removeprefix(ESCROW_PREFIX): int(row.balance) for row in rows}


def refunded_unrecorded(engine: Engine) -> list[str]:
    """Orders refunded whose row still shows a status that is not final: a settlement of a
    stopped order that refunded and then failed before recording it."""
    finished = [status.value for status in FINAL_STATUSES]
    with reading(engine) as conn:
        rows = conn.execute(
            select(orders.c.id)
            .select_from(orders.join(transfers, transfers.c.order_id == orders.c.id))
            .where(transfers.c.kind == "refund", orders.c.status.not_in(finished))
        ).all()
    return [row.id for row in rows]


def refund_frozen(engine: Engine, order_id: str) -> TransferResult | None:
    """The order's freeze reversed under the order's refund key: the very transfer the
    order's own refund makes, so whichever comes second moves nothing. None if nothing was
    frozen. Raises InsufficientFunds if the escrow was released meanwhile."""
    frozen = legs_of(engine, order_key(order_id, "freeze"))
    if frozen is None:
        return None
    legs = [Leg(leg.account, -leg.amount) for leg in frozen]
    return transfer(engine, order_key(order_id, "refund"), "refund", legs, order_id=order_id)


def payee_account(terms: OrderTerms) -> str:
    """Who is paid the price: the creator, or the creator's MCN at placement (O8)."""
    return mcn_account(terms.mcn_id) if terms.mcn_id else creator_account(terms.creator_id)


def release_legs(terms: OrderTerms) -> list[Leg]:
    """The order's escrow paid out: the price to the payee (O8), the fee to the platform."""
    legs = [Leg(escrow_account(terms.order_id), -terms.total_fen)]
    legs.append(Leg(payee_account(terms), terms.price_fen))
    if terms.fee_fen:
        legs.append(Leg(PLATFORM_FEES, terms.fee_fen))
    return legs


@dataclass(frozen=True)
class Split:
    """Where an order's escrow goes when r fen of the price p go back to the client (X4)."""

    to_client: int
    to_payee: int
    to_platform: int


def split_of(terms: OrderTerms, refund_fen: int) -> Split:
    """X4: the client gets r of the price and floor(f x r / p) of the fee back; the payee
    p - r; the platform keeps the rest of the fee. Integers only: the fee's remainder stays
    with the platform, and the three parts always add up to the escrow."""
    price, fee = terms.price_fen, terms.fee_fen
    if type(refund_fen) is not int or not 0 <= refund_fen <= price:
        raise LedgerError(f"a split refunds 0 to {price} fen of the price, not {refund_fen!r}")
    fee_back = fee * refund_fen // price
    return Split(refund_fen + fee_back, price - refund_fen, fee - fee_back)


def split_legs(terms: OrderTerms, refund_fen: int) -> list[Leg]:
    """The escrow emptied in one transfer; a part of nothing is no leg."""
    split = split_of(terms, refund_fen)
    parts = (
        (client_account(terms.client_id), split.to_client),
        (payee_account(terms), split.to_payee),
        (PLATFORM_FEES, split.to_platform),
    )
    return [Leg(escrow_account(terms.order_id), -terms.total_fen)] + [
        Leg(account, amount) for account, amount in parts if amount
    ]


def settle_split(engine: Engine, terms: OrderTerms, refund_fen: int) -> TransferResult:
    """X4: one balanced transfer under the order's split key, so a retry moves nothing more
    (and one with another refund is a TransferConflict). Raises InsufficientFunds if the
    escrow was already refunded or released."""
    key = order_key(terms.order_id, "split")
    legs = split_legs(terms, refund_fen)
    return transfer(engine, key, "split", legs, order_id=terms.order_id)


def release_frozen(engine: Engine, terms: OrderTerms) -> TransferResult:
    """The escrow released under the order's release key: the very transfer the order's own
    release makes, so whichever comes second moves nothing. Raises InsufficientFunds if the
    escrow was refunded meanwhile."""
    key = order_key(terms.order_id, "release")
    return transfer(engine, key, "release", release_legs(terms), order_id=terms.order_id)


def transfer_count(engine: Engine, order_id: str, kind: str | None = None) -> int:
    query = select(func.count()).select_from(transfers).where(transfers.c.order_id == order_id)
    if kind is not None:
        query = query.where(transfers.c.kind == kind)
    with reading(engine) as conn:
        return int(conn.execute(query).scalar_one())


def check_invariants(engine: Engine) -> list[str]:
    """Every broken ledger invariant, in words; an empty list means the books are sound."""
    problems: list[str] = []
    with reading(engine) as conn:
        total = conn.execute(select(func.coalesce(func.sum(accounts.c.balance), 0))).scalar_one()
        if total != 0:
            problems.append(f"accounts sum to {total} fen, not 0")

        unbalanced = conn.execute(
            select(entries.c.transfer_id, func.sum(entries.c.amount))
            .group_by(entries.c.transfer_id)
            .having(func.sum(entries.c.amount) != 0)
        ).all()
        problems += [f"transfer {t} sums to {s} fen" for t, s in unbalanced]

        entry_sums = (
            select(entries.c.account_id, func.sum(entries.c.amount).label("total"))
            .group_by(entries.c.account_id)
            .subquery()
        )
        drifted = conn.execute(
            select(accounts.c.id, accounts.c.balance, entry_sums.c.total)
            .select_from(accounts.outerjoin(entry_sums, entry_sums.c.account_id == accounts.c.id))
            .where(accounts.c.balance != func.coalesce(entry_sums.c.total, 0))
        ).all()
        problems += [f"{a} holds {b} fen but its entries sum to {t or 0}" for a, b, t in drifted]

        negative = conn.execute(
            select(accounts.c.id, accounts.c.balance).where(
                accounts.c.kind != "external", accounts.c.balance < 0
            )
        ).all()
        problems += [f"{a} is negative: {b} fen" for a, b in negative]

        finished = [status.value for status in FINAL_STATUSES]
        escrow_id = literal("escrow:", String) + orders.c.id
        left_in_escrow = conn.execute(
            select(orders.c.id, accounts.c.balance)
            .select_from(orders.join(accounts, accounts.c.id == escrow_id))
            .where(orders.c.status.in_(finished), accounts.c.balance != 0)
        ).all()
        problems += [f"finished order {o} still holds {b} fen in escrow" for o, b in left_in_escrow]

        hold_id = literal("payout:", String) + payments.c.id
        left_on_hold = conn.execute(
            select(payments.c.id, accounts.c.balance)
            .select_from(payments.join(accounts, accounts.c.id == hold_id))
            .where(payments.c.status != "pending", accounts.c.balance != 0)
        ).all()
        problems += [f"finished withdrawal {w} still holds {b} fen" for w, b in left_on_hold]
    return problems
